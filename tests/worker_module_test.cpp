// The worker module on its own, with a fake transport instead of the actor
// runtime: calls reach the transport with the right bytes, a wait yields the
// root coroutine and resumes when its condition holds, and timeouts end a wait.
// No CAF involved: this is lua_vm's contract with whatever runs it.
#include <map>

#include <unistd.h>

#include <gtest/gtest.h>

#include "lua_test_support.hpp"
#include "lua_vm/chunk.hpp"
#include "lua_vm/worker_context.hpp"
#include "serialization/value_codec.hpp"

namespace lv = troupe::lua_vm;
using troupe::value;

namespace {

struct fake_transport : lv::worker_transport {
  std::map<std::string, std::string> files;
  std::vector<std::string> to_parent;
  std::map<lv::worker_id, std::vector<std::string>> to_child;
  std::vector<lv::worker_id> cancelled;
  std::vector<std::uint64_t> timers;
  lv::worker_id next = 1;
  bool inbox_full = false;

  std::optional<troupe::bytecode>
  cached_script(const std::string&, std::string&) noexcept override {
    return std::nullopt;
  }
  std::optional<troupe::bytecode>
  load_script(const std::string& path, int fd,
              std::string& error) noexcept override {
    if (fd >= 0) ::close(fd);
    auto i = files.find(path);
    if (i == files.end()) {
      error = "cannot open " + path;
      return std::nullopt;
    }
    return troupe::compile(i->second, path);
  }
  lv::worker_id spawn_child(const troupe::bytecode&, std::string,
                            const lv::child_options&,
                            std::string&) noexcept override {
    return next++;
  }
  bool send_to_child(lv::worker_id child,
                     std::string_view bytes) noexcept override {
    if (inbox_full) return false;
    to_child[child].emplace_back(bytes);
    return true;
  }
  void cancel_child(lv::worker_id child) noexcept override {
    cancelled.push_back(child);
  }
  bool send_to_parent(std::string_view bytes) noexcept override {
    to_parent.emplace_back(bytes);
    return true;
  }
  void message_taken(lv::worker_id, std::size_t) noexcept override {}
  void start_timer(std::uint64_t token, lv::clock::duration) noexcept override {
    timers.push_back(token);
  }
  void inbox_taken(std::size_t) noexcept override {}
};

std::string bytes_of(const value& v) {
  troupe::serialization::byte_sink sink;
  troupe::serialization::encode(v, sink);
  return std::string{sink.view()};
}

// A state running `source` in its root coroutine with the worker module over a
// fake transport.
struct harness {
  fake_transport transport;
  lv::worker_context context{transport, {}};
  lv::state vm; // closed first: its handles' __gc reach the context
  lua_State* co = nullptr;

  explicit harness(const std::string& source) {
    vm.ctl().permissions = lv::permission_set::parse({"worker", "load"});
    vm.ctl().home = "/scripts";
    lv::open_worker_module(vm.get(), context);
    co = lua_newthread(vm.get());
    vm.ctl().root = co;
    transport.files["/scripts/child.lua"] = "return 1";
    EXPECT_EQ(lv::load(co, troupe::compile(source, "script")), LUA_OK);
  }

  int resume() {
    int results = 0;
    int status = lua_resume(co, vm.get(), 0, &results);
    if (status != LUA_OK && status != LUA_YIELD)
      ADD_FAILURE() << lua_tostring(co, -1);
    return status;
  }
};

} // namespace

TEST(worker_module, create_resolves_paths_and_reports_missing_files) {
  harness h{"local c = worker.create('child.lua', 1) local ok, err = "
            "pcall(worker.create, 'nope.lua') "
            "worker.message({status = worker.status(c), err = err})"};
  ASSERT_EQ(h.resume(), LUA_OK);
  ASSERT_EQ(h.transport.to_parent.size(), 1u);
  EXPECT_EQ(troupe::serialization::decode_value(h.transport.to_parent[0]),
            value::map(
              {{"status", "running"},
               {"err", "worker.create: cannot open /scripts/nope.lua"}}));
}

TEST(worker_module, send_and_cancel_reach_the_transport) {
  harness h{"local c = worker.create('child.lua') assert(worker.send(c, {x = "
            "1})) worker.cancel(c)"};
  ASSERT_EQ(h.resume(), LUA_OK);
  ASSERT_EQ(h.transport.to_child[1].size(), 1u);
  EXPECT_EQ(troupe::serialization::decode_value(h.transport.to_child[1][0]),
            value::map({{"x", 1}}));
  EXPECT_EQ(h.transport.cancelled, std::vector<lv::worker_id>{1});
}

TEST(worker_module, a_full_inbox_raises) {
  harness h{"local c = worker.create('child.lua') local ok, err = "
            "pcall(worker.send, c, 1) worker.message(err)"};
  h.transport.inbox_full = true;
  ASSERT_EQ(h.resume(), LUA_OK);
  EXPECT_EQ(troupe::serialization::decode_value(h.transport.to_parent.at(0)),
            value{"worker.send: inbox full"});
}

TEST(worker_module, receive_yields_until_a_message_arrives) {
  harness h{"local c = worker.create('child.lua') local v = worker.receive(c) "
            "worker.message(v + 1)"};
  ASSERT_EQ(h.resume(), LUA_YIELD);
  EXPECT_EQ(h.context.wait.kind, lv::wait_state::receive);
  EXPECT_FALSE(h.context.ready());
  h.context.children.on_message(1, bytes_of(41));
  ASSERT_TRUE(h.context.ready());
  ASSERT_EQ(h.resume(), LUA_OK);
  EXPECT_EQ(troupe::serialization::decode_value(h.transport.to_parent.at(0)),
            value{42});
}

TEST(worker_module, a_timer_ends_a_wait_with_timeout) {
  harness h{"local v, why = worker.peek(0.5) worker.message(why)"};
  ASSERT_EQ(h.resume(), LUA_YIELD);
  ASSERT_EQ(h.transport.timers.size(), 1u);
  // A timer armed for earlier (an older wait's) neither ends this wait nor
  // arms another while this wait's own is pending.
  EXPECT_FALSE(h.context.on_timer(h.transport.timers[0] - 1));
  EXPECT_EQ(h.transport.timers.size(), 1u);
  EXPECT_TRUE(h.context.on_timer(h.transport.timers[0]));
  ASSERT_EQ(h.resume(), LUA_OK);
  EXPECT_EQ(troupe::serialization::decode_value(h.transport.to_parent.at(0)),
            value{"timeout"});
}

TEST(worker_module, waits_answered_in_time_share_one_timer) {
  harness h{"for i = 1, 100 do worker.peek(10) end worker.message('done')"};
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(h.resume(), LUA_YIELD);
    h.context.inbox.push_back(bytes_of(i));
    ASSERT_TRUE(h.context.ready());
  }
  ASSERT_EQ(h.resume(), LUA_OK);
  EXPECT_EQ(h.transport.timers.size(), 1u);
  // When it fires, the wait then running (none here) decides; a later wait
  // that outlives it gets a timer of its own.
  EXPECT_FALSE(h.context.on_timer(h.transport.timers[0]));
}

TEST(worker_module, a_timer_that_fires_before_the_deadline_is_armed_again) {
  harness h{"worker.peek(10) local v, why = worker.peek(10) "
            "worker.message(why)"};
  ASSERT_EQ(h.resume(), LUA_YIELD);
  h.context.inbox.push_back(bytes_of(1));
  ASSERT_EQ(h.resume(), LUA_YIELD);
  ASSERT_EQ(h.transport.timers.size(), 1u);
  // The first wait's timer fires during the second wait, whose deadline is
  // later: it is armed again for that deadline, which then ends the wait.
  EXPECT_FALSE(h.context.on_timer(h.transport.timers[0]));
  ASSERT_EQ(h.transport.timers.size(), 2u);
  EXPECT_GE(h.transport.timers[1], h.transport.timers[0]);
  EXPECT_TRUE(h.context.on_timer(h.transport.timers[1]));
  ASSERT_EQ(h.resume(), LUA_OK);
  EXPECT_EQ(troupe::serialization::decode_value(h.transport.to_parent.at(0)),
            value{"timeout"});
}

TEST(worker_module, peek_gives_nil_once_the_parent_is_gone) {
  harness h{"worker.message(worker.peek() == nil)"};
  ASSERT_EQ(h.resume(), LUA_YIELD);
  h.context.parent_gone = true;
  ASSERT_TRUE(h.context.ready());
  ASSERT_EQ(h.resume(), LUA_OK);
  EXPECT_EQ(troupe::serialization::decode_value(h.transport.to_parent.at(0)),
            value{true});
}

TEST(worker_module, a_collected_handle_lets_the_parent_forget_its_child) {
  harness h{"do local c = worker.create('child.lua') end collectgarbage() "
            "collectgarbage() "
            "local kept = worker.create('child.lua') collectgarbage() "
            "worker.message(worker.status(kept))"};
  ASSERT_EQ(h.resume(), LUA_OK);
  h.context.children.on_message(1, bytes_of(1));
  h.context.children.on_end(1, {true, bytes_of(value::array())});
  EXPECT_FALSE(h.context.children.contains(1));
  EXPECT_TRUE(h.context.children.contains(2));
  h.context.children.on_end(2, {true, bytes_of(value::array())});
  EXPECT_TRUE(h.context.children.contains(2));
}
