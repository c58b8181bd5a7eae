// A fake worker_transport for tests of lua_vm's worker module and script
// runner without the actor runtime, a runner configuration over it, and a
// helper that encodes values as messages.
#pragma once

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include "lua_vm/script_runner.hpp"
#include "lua_vm/worker_context.hpp"
#include "serialization/value_codec.hpp"
#include "troupe/bytecode.hpp"

namespace troupe::test {

/// A worker_transport that records what the worker module asks of it: files
/// it may load, messages to the parent and to any actor (with their call
/// numbers), replies, watches, names, cancels, timers and message timers.
/// Actors in `dead` have ended.
struct fake_transport : lua_vm::worker_transport {
  using worker_id = lua_vm::worker_id;
  std::map<std::string, std::string> files;
  std::vector<std::string> to_parent;
  std::map<worker_id, std::vector<std::string>> to_child;
  std::map<worker_id, std::vector<std::uint64_t>> calls_to;
  std::vector<worker_id> cancelled;
  std::vector<std::uint64_t> timers;
  std::vector<std::uint64_t> message_timers;
  std::set<worker_id> dead;
  std::uint64_t awaiting = 0;
  std::set<std::pair<worker_id, std::uint64_t>> answered;
  std::vector<std::string> replies;
  std::vector<std::pair<worker_id, std::uint64_t>> watches;
  std::map<std::string, worker_id, std::less<>> names;
  std::vector<std::string> awaited;
  std::vector<worker_id> forgotten;
  worker_id self = 100;
  worker_id next = 1;
  bool inbox_full = false;

  std::optional<bytecode> cached_script(const std::string&,
                                        std::string&) noexcept override {
    return std::nullopt;
  }
  std::optional<bytecode> load_script(const std::string& path, int fd,
                                      std::string& error) noexcept override {
    if (fd >= 0) ::close(fd);
    auto i = files.find(path);
    if (i == files.end()) {
      error = "cannot open " + path;
      return std::nullopt;
    }
    return compile(i->second, path);
  }
  lua_vm::worker_id spawn_remote(std::string_view, const std::string&,
                                 std::string, const lua_vm::child_options&,
                                 std::string& error) noexcept override {
    error = "the fake transport has no nodes";
    return 0;
  }
  lua_vm::worker_id lookup_remote(std::string_view,
                                  std::string& error) noexcept override {
    error = "the fake transport has no nodes";
    return 0;
  }
  void cancel_lookup(lua_vm::worker_id) noexcept override {}
  lua_vm::worker_id spawn_child(const bytecode&, std::string,
                                const lua_vm::child_options&,
                                std::string&) noexcept override {
    return next++;
  }
  lua_vm::send_result send_to(worker_id to, std::uint64_t call,
                              std::string_view bytes) noexcept override {
    if (dead.contains(to)) return lua_vm::send_result::dead;
    if (inbox_full) return lua_vm::send_result::full;
    to_child[to].emplace_back(bytes);
    calls_to[to].push_back(call);
    return lua_vm::send_result::sent;
  }
  void awaiting_reply(std::uint64_t call) noexcept override {
    awaiting = call;
  }
  bool reply_to(worker_id caller, std::uint64_t call,
                std::string_view bytes) noexcept override {
    if (!answered.insert({caller, call}).second) return false;
    replies.emplace_back(bytes);
    return true;
  }
  bool watch(worker_id target, std::uint64_t token) noexcept override {
    if (dead.contains(target)) return false;
    watches.emplace_back(target, token);
    return true;
  }
  void unwatch(worker_id target, std::uint64_t token) noexcept override {
    std::erase(watches, std::pair{target, token});
  }
  bool alive(worker_id id) noexcept override {
    return !dead.contains(id);
  }
  lua_vm::name_result register_name(std::string_view name) noexcept override {
    return names.emplace(std::string{name}, self).second
             ? lua_vm::name_result::registered
             : lua_vm::name_result::taken;
  }
  lua_vm::name_result hold_name(std::string_view name) noexcept override {
    return names.emplace(std::string{name}, 0).second
             ? lua_vm::name_result::registered
             : lua_vm::name_result::taken;
  }
  bool bind_name(std::string_view name, worker_id child) noexcept override {
    auto i = names.find(name);
    if (i == names.end()) return false;
    i->second = child;
    return true;
  }
  void release_name(std::string_view name) noexcept override {
    if (auto i = names.find(name); i != names.end()) names.erase(i);
  }
  worker_id lookup(std::string_view name) noexcept override {
    auto i = names.find(name);
    return i == names.end() ? 0 : i->second;
  }
  bool await_name(std::string_view name) noexcept override {
    awaited.emplace_back(name);
    return true;
  }
  void forget_name_wait(std::string_view name) noexcept override {
    std::erase(awaited, std::string{name});
  }
  void forget_peer(worker_id id) noexcept override {
    forgotten.push_back(id);
  }
  bool info(lua_vm::worker_id, lua_vm::worker_info&) noexcept override {
    return false;
  }
  void cancel_child(lua_vm::worker_id child) noexcept override {
    cancelled.push_back(child);
  }
  bool send_to_parent(std::string_view bytes) noexcept override {
    to_parent.emplace_back(bytes);
    return true;
  }
  void message_taken(lua_vm::worker_id, std::size_t) noexcept override {}
  void start_timer(std::uint64_t token,
                   lua_vm::clock::duration) noexcept override {
    timers.push_back(token);
  }
  bool arm_message_timer(std::uint64_t id,
                         lua_vm::clock::time_point) noexcept override {
    message_timers.push_back(id);
    return true;
  }
  void inbox_taken(std::size_t) noexcept override {}
};

/// A script runner's configuration for scripts in /scripts (the fake
/// transport's files) allowed `allow`.
inline lua_vm::script_runner_config
runner_config(const std::vector<std::string>& allow = {"worker", "load"}) {
  lua_vm::script_runner_config c;
  c.permissions = lua_vm::permission_set::parse(allow);
  c.home = "/scripts";
  c.identity = {100, 0, 0x7e57};
  return c;
}

/// msgpack of `v`, as a message carries it.
inline std::string bytes_of(const value& v) {
  serialization::byte_sink sink;
  serialization::encode(v, sink);
  return std::string{sink.view()};
}

} // namespace troupe::test
