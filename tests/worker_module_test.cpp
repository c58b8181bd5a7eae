// The worker module on its own, with a fake transport instead of the actor
// runtime: calls reach the transport with the right bytes, a wait yields the
// root coroutine and resumes when its condition holds, and timeouts end a wait.
// No CAF involved: this is lua_vm's contract with whatever runs it.
#include <gtest/gtest.h>

#include "fake_transport.hpp"
#include "lua_vm/script_runner.hpp"
#include "serialization/value_codec.hpp"

namespace lv = troupe::lua_vm;
using troupe::value;
using troupe::test::bytes_of;

namespace {

// A runner of `source` with the worker module over a fake transport, started
// by its first resume.
struct harness {
  troupe::test::fake_transport transport;
  lv::script_runner runner;
  lv::worker_context& context;
  troupe::bytecode chunk;
  std::string args = bytes_of(value::array());
  bool started = false;

  explicit harness(const std::string& source)
      : runner(transport, troupe::test::runner_config()),
        context(runner.context()),
        chunk(troupe::compile(source, "script")) {
    transport.files["/scripts/child.lua"] = "return 1";
  }

  // The script's first run, then each wake-up; a preemption is gone on from.
  lv::run_status resume() {
    if (started)
      runner.wake();
    else
      runner.start(chunk, args);
    started = true;
    auto status = runner.status();
    while (runner.resume()) status = runner.status();
    if (status == lv::run_status::ended) {
      auto end = runner.take_end();
      if (!end.ok)
        ADD_FAILURE() << troupe::to_string(
          troupe::serialization::decode_value(end.bytes));
    }
    return status;
  }
};

} // namespace

TEST(worker_module, create_resolves_paths_and_reports_missing_files) {
  harness h{"local c = worker.create('child.lua', 1) local ok, err = "
            "pcall(worker.create, 'nope.lua') "
            "worker.message({status = worker.status(c), err = err})"};
  ASSERT_EQ(h.resume(), lv::run_status::ended);
  ASSERT_EQ(h.transport.to_parent.size(), 1u);
  EXPECT_EQ(troupe::serialization::decode_value(h.transport.to_parent[0]),
            value::map(
              {{"status", "running"},
               {"err", "worker.create: cannot open /scripts/nope.lua"}}));
}

TEST(worker_module, send_and_cancel_reach_the_transport) {
  harness h{"local c = worker.create('child.lua') assert(worker.send(c, {x = "
            "1})) worker.cancel(c)"};
  ASSERT_EQ(h.resume(), lv::run_status::ended);
  ASSERT_EQ(h.transport.to_child[1].size(), 1u);
  EXPECT_EQ(troupe::serialization::decode_value(h.transport.to_child[1][0]),
            value::map({{"x", 1}}));
  EXPECT_EQ(h.transport.cancelled, std::vector<lv::worker_id>{1});
}

TEST(worker_module, a_full_inbox_raises) {
  harness h{"local c = worker.create('child.lua') local ok, err = "
            "pcall(worker.send, c, 1) worker.message(err)"};
  h.transport.inbox_full = true;
  ASSERT_EQ(h.resume(), lv::run_status::ended);
  EXPECT_EQ(troupe::serialization::decode_value(h.transport.to_parent.at(0)),
            value{"worker.send: inbox full"});
}

TEST(worker_module, receive_yields_until_a_message_arrives) {
  harness h{"local c = worker.create('child.lua') local v = worker.receive(c) "
            "worker.message(v + 1)"};
  ASSERT_EQ(h.resume(), lv::run_status::waiting);
  EXPECT_EQ(h.context.wait.kind, lv::wait_state::receive);
  EXPECT_FALSE(h.context.ready());
  h.context.children.on_message(1, bytes_of(41));
  ASSERT_TRUE(h.context.ready());
  ASSERT_EQ(h.resume(), lv::run_status::ended);
  EXPECT_EQ(troupe::serialization::decode_value(h.transport.to_parent.at(0)),
            value{42});
}

TEST(worker_module, a_timer_ends_a_wait_with_timeout) {
  harness h{"local v, why = worker.peek(0.5) worker.message(why)"};
  ASSERT_EQ(h.resume(), lv::run_status::waiting);
  ASSERT_EQ(h.transport.timers.size(), 1u);
  // A timer armed for earlier (an older wait's) neither ends this wait nor
  // arms another while this wait's own is pending.
  EXPECT_FALSE(h.context.on_timer(h.transport.timers[0] - 1));
  EXPECT_EQ(h.transport.timers.size(), 1u);
  EXPECT_TRUE(h.context.on_timer(h.transport.timers[0]));
  ASSERT_EQ(h.resume(), lv::run_status::ended);
  EXPECT_EQ(troupe::serialization::decode_value(h.transport.to_parent.at(0)),
            value{"timeout"});
}

TEST(worker_module, waits_answered_in_time_share_one_timer) {
  harness h{"for i = 1, 100 do worker.peek(10) end worker.message('done')"};
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(h.resume(), lv::run_status::waiting);
    h.context.push_inbox({}, bytes_of(i));
    ASSERT_TRUE(h.context.ready());
  }
  ASSERT_EQ(h.resume(), lv::run_status::ended);
  EXPECT_EQ(h.transport.timers.size(), 1u);
  // When it fires, the wait then running (none here) decides; a later wait
  // that outlives it gets a timer of its own.
  EXPECT_FALSE(h.context.on_timer(h.transport.timers[0]));
}

TEST(worker_module, a_timer_that_fires_before_the_deadline_is_armed_again) {
  harness h{"worker.peek(10) local v, why = worker.peek(10) "
            "worker.message(why)"};
  ASSERT_EQ(h.resume(), lv::run_status::waiting);
  h.context.push_inbox({}, bytes_of(1));
  ASSERT_EQ(h.resume(), lv::run_status::waiting);
  ASSERT_EQ(h.transport.timers.size(), 1u);
  // The first wait's timer fires during the second wait, whose deadline is
  // later: it is armed again for that deadline, which then ends the wait.
  EXPECT_FALSE(h.context.on_timer(h.transport.timers[0]));
  ASSERT_EQ(h.transport.timers.size(), 2u);
  EXPECT_GE(h.transport.timers[1], h.transport.timers[0]);
  EXPECT_TRUE(h.context.on_timer(h.transport.timers[1]));
  ASSERT_EQ(h.resume(), lv::run_status::ended);
  EXPECT_EQ(troupe::serialization::decode_value(h.transport.to_parent.at(0)),
            value{"timeout"});
}

TEST(worker_module, peek_gives_nil_once_the_parent_is_gone) {
  harness h{"worker.message(worker.peek() == nil)"};
  ASSERT_EQ(h.resume(), lv::run_status::waiting);
  h.context.parent_gone = true;
  ASSERT_TRUE(h.context.ready());
  ASSERT_EQ(h.resume(), lv::run_status::ended);
  EXPECT_EQ(troupe::serialization::decode_value(h.transport.to_parent.at(0)),
            value{true});
}

TEST(worker_module, a_collected_handle_lets_the_parent_forget_its_child) {
  harness h{"do local c = worker.create('child.lua') end collectgarbage() "
            "collectgarbage() "
            "local kept = worker.create('child.lua') collectgarbage() "
            "worker.message(worker.status(kept))"};
  ASSERT_EQ(h.resume(), lv::run_status::ended);
  h.context.children.on_message(1, bytes_of(1));
  h.context.children.on_end(1, {true, bytes_of(value::array())});
  EXPECT_FALSE(h.context.children.contains(1));
  EXPECT_TRUE(h.context.children.contains(2));
  h.context.children.on_end(2, {true, bytes_of(value::array())});
  EXPECT_TRUE(h.context.children.contains(2));
}

namespace {

// A handle's bytes: fixext 16, type 1, the runtime's tag, the id.
std::string handle_bytes(std::uint64_t tag, std::uint64_t id) {
  std::string out{"\xd8\x01", 2};
  for (std::uint64_t word : {tag, id})
    for (int i = 7; i >= 0; --i) out += static_cast<char>(word >> (8 * i));
  return out;
}

} // namespace

TEST(worker_module, a_handle_in_a_message_is_checked_by_its_tag) {
  harness h{"local me, from = worker.peek() "
            "assert(me == worker.self() and from == nil) "
            "local ok, err = pcall(worker.peek) worker.message(err) "
            "ok, err = pcall(worker.peek) worker.message(err)"};
  const std::uint64_t tag = troupe::test::runner_config().identity.tag;
  h.context.push_inbox({}, handle_bytes(tag, 100));
  h.context.push_inbox({}, handle_bytes(tag + 1, 100));
  std::string garbled = handle_bytes(tag, 100);
  garbled[1] = 2;
  h.context.push_inbox({}, garbled);
  ASSERT_EQ(h.resume(), lv::run_status::ended);
  ASSERT_EQ(h.transport.to_parent.size(), 2u);
  EXPECT_EQ(troupe::serialization::decode_value(h.transport.to_parent[0]),
            value{"worker.peek: malformed message at byte 0: handle of "
                  "another runtime (or forged)"});
  EXPECT_EQ(troupe::serialization::decode_value(h.transport.to_parent[1]),
            value{"worker.peek: malformed message at byte 0: malformed "
                  "handle"});
}

TEST(worker_module, a_call_waits_for_its_reply_and_a_reply_once) {
  harness h{"local c = worker.create('child.lua') "
            "local a, b = worker.call(c, 'q') worker.message({a, b})"};
  ASSERT_EQ(h.resume(), lv::run_status::waiting);
  ASSERT_EQ(h.transport.calls_to[1].size(), 1u);
  std::uint64_t call = h.transport.calls_to[1][0];
  EXPECT_NE(call, 0u);
  EXPECT_EQ(h.transport.awaiting, call);
  EXPECT_EQ(h.transport.watches.size(), 1u) << "the target is watched";
  h.context.on_reply(call + 1, bytes_of(value::array({"stale"})));
  EXPECT_FALSE(h.context.ready()) << "a reply to another call is ignored";
  h.context.on_reply(call, bytes_of(value::array({"x", 2})));
  ASSERT_EQ(h.resume(), lv::run_status::ended);
  EXPECT_EQ(troupe::serialization::decode_value(h.transport.to_parent[0]),
            value::array({"x", 2}));
  EXPECT_EQ(h.transport.awaiting, 0u);
  EXPECT_TRUE(h.transport.watches.empty()) << "the watch goes with the call";
}
