// A fake worker_transport for tests of lua_vm's worker module and script
// runner without the actor runtime, a runner configuration over it, and a
// helper that encodes values as messages.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <unistd.h>

#include "lua_vm/script_runner.hpp"
#include "lua_vm/worker_context.hpp"
#include "serialization/value_codec.hpp"
#include "troupe/bytecode.hpp"

namespace troupe::test {

/// A worker_transport that records what the worker module asks of it: files
/// it may load, messages to the parent and children, cancels and timers.
struct fake_transport : lua_vm::worker_transport {
  std::map<std::string, std::string> files;
  std::vector<std::string> to_parent;
  std::map<lua_vm::worker_id, std::vector<std::string>> to_child;
  std::vector<lua_vm::worker_id> cancelled;
  std::vector<std::uint64_t> timers;
  lua_vm::worker_id next = 1;
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
  lua_vm::worker_id spawn_child(const bytecode&, std::string,
                                const lua_vm::child_options&,
                                std::string&) noexcept override {
    return next++;
  }
  bool send_to_child(lua_vm::worker_id child,
                     std::string_view bytes) noexcept override {
    if (inbox_full) return false;
    to_child[child].emplace_back(bytes);
    return true;
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
  void inbox_taken(std::size_t) noexcept override {}
};

/// A script runner's configuration for scripts in /scripts (the fake
/// transport's files) allowed `allow`.
inline lua_vm::script_runner_config
runner_config(const std::vector<std::string>& allow = {"worker", "load"}) {
  lua_vm::script_runner_config c;
  c.permissions = lua_vm::permission_set::parse(allow);
  c.home = "/scripts";
  return c;
}

/// msgpack of `v`, as a message carries it.
inline std::string bytes_of(const value& v) {
  serialization::byte_sink sink;
  serialization::encode(v, sink);
  return std::string{sink.view()};
}

} // namespace troupe::test
