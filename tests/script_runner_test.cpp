// The script runner without the actor runtime: a script's run ends, waits or
// is preempted, and its end (values, or the error with its kind, traceback
// and raised value) comes out as the bytes a parent reads. What the script
// actor adds on top is only the mailbox that decides when to call.
#include <gtest/gtest.h>

#include "fake_transport.hpp"
#include "lua_vm/script_runner.hpp"
#include "lua_vm/worker_end.hpp"
#include "serialization/value_codec.hpp"

namespace lv = troupe::lua_vm;
using troupe::value;
using troupe::test::bytes_of;

namespace {

struct runner_fixture {
  troupe::test::fake_transport transport;
  std::string no_args = bytes_of(value::array());

  static lv::script_runner_config
  config(const std::vector<std::string>& allow = {"worker", "load"}) {
    return troupe::test::runner_config(allow);
  }
};

// Runs `source` to its end, going on after every preemption; the end decoded.
struct ended {
  bool ok;
  value end;
  bool cancelled;
  int preemptions;
};

ended run_to_end(lv::script_runner& r, const std::string& source,
                 const std::string& args) {
  auto status = r.start(troupe::compile(source, "script"), args);
  int preemptions = 0;
  while (status == lv::run_status::preempted) {
    ++preemptions;
    EXPECT_TRUE(r.resume());
    status = r.status();
  }
  EXPECT_EQ(status, lv::run_status::ended);
  auto e = r.take_end();
  return {e.ok, troupe::serialization::decode_value(e.bytes), e.cancelled,
          preemptions};
}

} // namespace

TEST(script_runner, a_script_that_returns_ends_with_its_values) {
  runner_fixture f;
  lv::script_runner r{f.transport, f.config()};
  auto e = run_to_end(r, "local a, b = ... return a + 1, b .. '!'",
                      bytes_of(value::array({41, "hi"})));
  ASSERT_TRUE(e.ok);
  EXPECT_EQ(e.end, value::array({42, "hi!"}));
}

TEST(script_runner, an_error_ends_with_message_traceback_and_value) {
  runner_fixture f;
  lv::script_runner r{f.transport, f.config()};
  auto e = run_to_end(r,
                      "local function inner() error({code = 7}) end\n"
                      "inner()",
                      f.no_args);
  ASSERT_FALSE(e.ok);
  EXPECT_FALSE(e.cancelled);
  EXPECT_NE(e.end["message"].as_string().find("table"), std::string::npos);
  EXPECT_NE(e.end["traceback"].as_string().find("inner"), std::string::npos);
  EXPECT_EQ(e.end["value"], value::map({{"code", 7}}));
  EXPECT_TRUE(e.end["kind"].is_nil());
}

TEST(script_runner, a_preempted_script_is_not_woken_as_if_it_waited) {
  runner_fixture f;
  auto config = f.config();
  config.time_slice = std::chrono::milliseconds{1};
  lv::script_runner r{f.transport, std::move(config)};
  auto status = r.start(troupe::compile("local t = worker.time() "
                                        "while worker.time() - t < 0.05 do end",
                                        "script"),
                        f.no_args);
  ASSERT_EQ(status, lv::run_status::preempted);
  // A message arriving meanwhile runs nothing: the preemption's own
  // continue does.
  r.context().push_inbox({}, bytes_of(1));
  EXPECT_FALSE(r.wake());
  EXPECT_EQ(r.status(), lv::run_status::preempted);
  while (r.status() == lv::run_status::preempted) ASSERT_TRUE(r.resume());
  EXPECT_EQ(r.status(), lv::run_status::ended);
  EXPECT_TRUE(r.take_end().ok);
}

TEST(script_runner, a_long_run_is_preempted_and_resumed_to_its_end) {
  runner_fixture f;
  auto config = f.config();
  config.time_slice = std::chrono::milliseconds{1};
  lv::script_runner r{f.transport, std::move(config)};
  auto e = run_to_end(r,
                      "local t = worker.time() local n = 0 "
                      "while worker.time() - t < 0.05 do n = n + 1 end "
                      "return n > 0",
                      f.no_args);
  ASSERT_TRUE(e.ok);
  EXPECT_EQ(e.end, value::array({true}));
  EXPECT_GE(e.preemptions, 1);
}

TEST(script_runner, a_wait_yields_and_wakes_only_when_it_is_over) {
  runner_fixture f;
  lv::script_runner r{f.transport, f.config()};
  ASSERT_EQ(r.start(troupe::compile("return worker.peek() * 2", "script"),
                    f.no_args),
            lv::run_status::waiting);
  EXPECT_EQ(r.context().wait.kind, lv::wait_state::peek);
  // Nothing runs until the wait is over: not woken early, not resumed as if
  // preempted.
  EXPECT_FALSE(r.wake());
  EXPECT_FALSE(r.resume());
  EXPECT_EQ(r.status(), lv::run_status::waiting);
  r.context().push_inbox({}, bytes_of(21));
  ASSERT_TRUE(r.wake());
  ASSERT_EQ(r.status(), lv::run_status::ended);
  EXPECT_FALSE(r.wake());
  EXPECT_FALSE(r.stop(lv::stop_reason::cancelled));
  auto e = r.take_end();
  ASSERT_TRUE(e.ok);
  EXPECT_EQ(troupe::serialization::decode_value(e.bytes), value::array({42}));
}

TEST(script_runner, a_stop_ends_a_waiting_script_even_inside_pcall) {
  runner_fixture f;
  lv::script_runner r{f.transport, f.config()};
  ASSERT_EQ(r.start(troupe::compile("while true do pcall(worker.peek) end",
                                    "script"),
                    f.no_args),
            lv::run_status::waiting);
  ASSERT_TRUE(r.stop(lv::stop_reason::cancelled));
  ASSERT_EQ(r.status(), lv::run_status::ended);
  auto e = r.take_end();
  EXPECT_FALSE(e.ok);
  EXPECT_TRUE(e.cancelled);
  auto end = troupe::serialization::decode_value(e.bytes);
  EXPECT_EQ(end["message"], value{"cancelled"});
  EXPECT_EQ(end["kind"], value{"cancelled"});
}

TEST(script_runner, a_passed_deadline_ends_the_script_as_a_timeout) {
  runner_fixture f;
  auto config = f.config();
  config.deadline = lv::clock::now();
  lv::script_runner r{f.transport, std::move(config)};
  auto e = run_to_end(r, "while true do end", f.no_args);
  ASSERT_FALSE(e.ok);
  EXPECT_FALSE(e.cancelled);
  EXPECT_EQ(e.end["message"], value{"time limit exceeded"});
  EXPECT_EQ(e.end["kind"], value{"timeout"});
}

TEST(script_runner, the_memory_cap_ends_the_script_as_a_limit) {
  runner_fixture f;
  auto config = f.config();
  config.state.limits.memory = std::size_t{4} << 20;
  lv::script_runner r{f.transport, std::move(config)};
  auto e = run_to_end(r,
                      "local t = {} for i = 1, 1e8 do t[i] = ('x'):rep(64) "
                      ".. i end",
                      f.no_args);
  ASSERT_FALSE(e.ok);
  EXPECT_EQ(e.end["message"], value{"memory limit exceeded"});
  EXPECT_EQ(e.end["kind"], value{"limit"});
}

TEST(script_runner, a_cap_too_small_for_the_state_is_a_limit_error) {
  runner_fixture f;
  auto config = f.config();
  config.state.limits.memory = 1024;
  EXPECT_THROW((lv::script_runner{f.transport, std::move(config)}),
               troupe::limit_error);
}

TEST(script_runner, a_refusal_ends_the_script_as_a_permission_failure) {
  runner_fixture f;
  lv::script_runner r{f.transport, f.config({})};
  auto e = run_to_end(r, "worker.create('child.lua')", f.no_args);
  ASSERT_FALSE(e.ok);
  EXPECT_NE(e.end["message"].as_string().find("permission denied: worker"),
            std::string::npos);
  EXPECT_EQ(e.end["kind"], value{"permission"});
}

TEST(script_runner, a_refusal_caught_and_replaced_is_a_plain_error) {
  runner_fixture f;
  lv::script_runner r{f.transport, f.config({})};
  auto e = run_to_end(r, "pcall(worker.create, 'child.lua') error('mine', 0)",
                      f.no_args);
  ASSERT_FALSE(e.ok);
  EXPECT_EQ(e.end["message"], value{"mine"});
  EXPECT_TRUE(e.end["kind"].is_nil());
}

TEST(script_runner, return_values_that_cannot_be_sent_are_the_error) {
  runner_fixture f;
  lv::script_runner r{f.transport, f.config()};
  auto e = run_to_end(r, "return 1, print", f.no_args);
  ASSERT_FALSE(e.ok);
  EXPECT_EQ(e.end["message"],
            value{"the worker's return values cannot be sent: argument #2 "
                  "is a function; only nil, booleans, numbers, strings and "
                  "tables can be sent"});
}

TEST(script_runner, a_failed_end_carries_its_kind) {
  auto e = lv::failed_end("cancelled", lv::failure::cancelled);
  EXPECT_FALSE(e.ok);
  EXPECT_TRUE(e.cancelled);
  auto end = troupe::serialization::decode_value(e.bytes);
  EXPECT_EQ(end["kind"], value{"cancelled"});
  EXPECT_THROW(std::rethrow_exception(lv::end_exception(e.bytes)),
               troupe::cancelled_error);
}

// One mapping for all: the kind a script reads names the failure, and the
// host throws the exception of that failure.
TEST(failure, each_kind_reads_back_as_its_name_and_its_exception) {
  auto check = [](lv::failure f, auto expected) {
    using expected_t = decltype(expected);
    const char* name = lv::kind_name(f);
    EXPECT_EQ(lv::failure_named(name ? value{name} : value{}), f);
    auto bytes = lv::encode_end_error({"text", "", f, {}});
    EXPECT_THROW(std::rethrow_exception(lv::end_exception(bytes)), expected_t);
    EXPECT_THROW(std::rethrow_exception(lv::failure_exception(f, "text")),
                 expected_t);
  };
  check(lv::failure::error, troupe::script_error{"", ""});
  check(lv::failure::permission, troupe::permission_error{""});
  check(lv::failure::limit, troupe::limit_error{""});
  check(lv::failure::timeout, troupe::timeout_error{""});
  check(lv::failure::cancelled, troupe::cancelled_error{""});
  EXPECT_EQ(lv::failure_named(value{"no such kind"}), lv::failure::error);
  EXPECT_EQ(lv::failure_of(lv::stop_reason::memory), lv::failure::limit);
  EXPECT_EQ(lv::failure_of(lv::stop_reason::instructions), lv::failure::limit);
  EXPECT_EQ(lv::failure_of(lv::stop_reason::deadline), lv::failure::timeout);
  EXPECT_EQ(lv::failure_of(lv::stop_reason::none), lv::failure::error);
}
