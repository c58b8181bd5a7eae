// Message timers (worker.after, worker.every, worker.cancel_timer) on the real
// runtime: the value arrives from the worker itself, never early, in due-time
// order; every repeats until cancelled; a worker's timers end with it; the
// memory they hold is the worker's; the bad input.
#include <gtest/gtest.h>

#include "actors/runtime_access.hpp"
#include "actors/runtime_core.hpp"
#include "runtime_support.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;
using troupe::value;
using troupe::test::run_script;

TEST(message_timers, the_value_comes_from_self_at_or_after_its_time) {
  troupe::runtime rt{troupe::test::two_threads()};
  auto got = run_script(rt, R"lua(
    local t0 = worker.time()
    local id = worker.after(0.05, {n = 1})
    assert(math.type(id) == "integer")
    local v, from, call = worker.peek(10)
    local waited = worker.time() - t0
    assert(v.n == 1 and from == worker.self() and call == nil)
    assert(waited >= 0.05, "early: " .. waited)
    assert(worker.cancel_timer(id) == false, "a fired timer is not pending")
    return true)lua");
  EXPECT_EQ(got, std::vector<value>{true});
}

TEST(message_timers, timers_fire_in_due_time_order) {
  troupe::runtime rt{troupe::test::two_threads()};
  auto got = run_script(rt, R"lua(
    worker.after(0.06, "c")
    worker.after(0.02, "a")
    worker.after(0.04, "b")
    worker.after(0.02, "a2")
    worker.after(0, "now")
    local seen = {}
    for i = 1, 5 do seen[i] = worker.peek(10) end
    return table.concat(seen, " "))lua");
  EXPECT_EQ(got, std::vector<value>{"now a a2 b c"});
}

TEST(message_timers, every_repeats_until_cancelled) {
  troupe::runtime rt{troupe::test::two_threads()};
  auto got = run_script(rt, R"lua(
    local id = worker.every(0.005, "tick")
    for i = 1, 3 do assert(worker.peek(10) == "tick") end
    assert(worker.cancel_timer(id) == true)
    assert(worker.cancel_timer(id) == false)
    -- Ticks queued before the cancel come first; none after the end marker.
    worker.after(0.05, "end")
    repeat local v = worker.peek(10) until v == "end"
    return worker.peek(0.05) == nil)lua");
  EXPECT_EQ(got, std::vector<value>{true});
}

TEST(message_timers, a_workers_timers_end_with_it) {
  troupe::runtime rt{troupe::test::two_threads()};
  auto core = troupe::detail::runtime_access::core(rt);
  auto w = rt.spawn_source(R"lua(
    for i = 1, 1000 do worker.after(30, i) end
    worker.every(30, "x")
    worker.message("armed")
    worker.peek())lua",
                           "timers");
  EXPECT_EQ(rt.receive(w, 20s), value{"armed"});
  EXPECT_EQ(core->pending_message_timers(), 1001u);
  w.cancel();
  rt.join(w, 20s);
  EXPECT_EQ(core->pending_message_timers(), 0u);
}

TEST(message_timers, pending_timers_cost_memory_only) {
  troupe::runtime rt{troupe::test::two_threads()};
  auto core = troupe::detail::runtime_access::core(rt);
  auto w = rt.spawn_source(R"lua(
    local ids = {}
    for i = 1, 100000 do ids[i] = worker.after(3600, i) end
    worker.message("armed")
    assert(worker.peek() == "cancel")
    for i = 1, 100000 do assert(worker.cancel_timer(ids[i])) end
    worker.after(0, "still on time")
    return (worker.peek(10)))lua",
                           "many");
  EXPECT_EQ(rt.receive(w, 20s), value{"armed"});
  EXPECT_EQ(core->pending_message_timers(), 100000u);
  w.send("cancel");
  auto end = rt.join(w, 20s);
  ASSERT_TRUE(end && end->ok) << (end && end->error ? end->error->what() : "");
  EXPECT_EQ(end->values, std::vector<value>{"still on time"});
}

TEST(message_timers, the_memory_they_hold_is_the_workers) {
  troupe::runtime rt{troupe::test::two_threads()};
  troupe::spawn_options options;
  options.memory = 4 << 20;
  auto w = rt.spawn_source(R"lua(
    local payload = string.rep("x", 200)
    for i = 1, 1000000 do worker.after(3600, payload) end)lua",
                           "hoarder", {}, options);
  auto end = rt.join(w, 20s);
  ASSERT_TRUE(end);
  ASSERT_FALSE(end->ok);
  EXPECT_NE(std::string{end->error->what()}.find("memory limit exceeded"),
            std::string::npos)
    << end->error->what();
}

TEST(message_timers, cancelled_and_fired_timers_give_their_memory_back) {
  troupe::runtime rt{troupe::test::two_threads()};
  troupe::spawn_options options;
  options.memory = 4 << 20;
  auto w = rt.spawn_source(R"lua(
    local payload = string.rep("x", 200)
    for round = 1, 10 do
      local ids = {}
      for i = 1, 5000 do ids[i] = worker.after(3600, payload) end
      for i = 1, 5000 do worker.cancel_timer(ids[i]) end
      for i = 1, 5000 do worker.after(0, i) end
      for i = 1, 5000 do worker.peek() end
    end
    return "done")lua",
                           "cycler", {}, options);
  auto end = rt.join(w, 60s);
  ASSERT_TRUE(end);
  ASSERT_TRUE(end->ok) << end->error->what();
  EXPECT_EQ(end->values, std::vector<value>{"done"});
}

TEST(message_timers, bad_input) {
  troupe::runtime rt{troupe::test::two_threads()};
  auto got = run_script(rt, R"lua(
    local function err(f, ...)
      local ok, e = pcall(f, ...)
      assert(not ok)
      return e
    end
    return err(worker.every, 0, "x"), err(worker.every, -1, "x"),
           err(worker.after, -0.5, "x"), err(worker.after, 0 / 0, "x"),
           err(worker.after, 1, print), err(worker.cancel_timer, 1.5),
           err(worker.after, "soon", 1))lua");
  ASSERT_EQ(got.size(), 7u);
  EXPECT_EQ(got[0],
            value{"bad argument #1 to 'worker.every' (positive number of "
                  "seconds expected)"});
  EXPECT_EQ(got[1], got[0]);
  EXPECT_EQ(got[2],
            value{"bad argument #1 to 'worker.after' (non-negative number "
                  "of seconds expected)"});
  EXPECT_EQ(got[3], got[2]);
  EXPECT_EQ(got[4], value{"worker.after: argument #2 is a function; only nil, "
                          "booleans, numbers, strings and tables can be "
                          "sent"});
  EXPECT_EQ(got[5],
            value{"bad argument #1 to 'worker.cancel_timer' (number has no "
                  "integer representation)"});
  EXPECT_EQ(got[6],
            value{"bad argument #1 to 'worker.after' (number expected, got "
                  "string)"});
}
