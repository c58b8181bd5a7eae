// Limits per worker on the real runtime: memory, instructions and wall time
// (also for a worker that waits), set as runtime defaults, per spawn from C++
// and per worker.create from Lua, where a child never gets more than its
// parent's own; the caps on live workers per runtime and per parent; and the
// bound on what a worker may queue at its parent. Each ends only the worker
// that went past it, with the error its parent sees.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "troupe/troupe.hpp"

using namespace std::chrono_literals;
using troupe::value;

namespace {

constexpr auto patience = 10s;

troupe::runtime_config config() {
  troupe::runtime_config c;
  c.threads = 2;
  c.permissions = {"worker", "load"};
  return c;
}

const char* const grow = "local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(64) "
                         ".. i end";

std::string receive_error(troupe::runtime& rt, const troupe::worker& w) {
  try {
    auto got = rt.receive({w}, patience);
    return got.timed_out() ? "no end within the patience" : "no error";
  } catch (const troupe::error& e) {
    return e.what();
  }
}

} // namespace

TEST(worker_limits, spawn_options_bound_memory_instructions_and_time) {
  troupe::runtime rt{config()};
  auto sibling = rt.spawn_source("while true do local v = worker.peek() if v "
                                 "== nil then return end worker.message(v) end",
                                 "sibling");
  auto big = rt.spawn_source(grow, "big", {}, {.memory = 8 << 20});
  EXPECT_THROW(rt.receive(big), troupe::limit_error);
  auto busy = rt.spawn_source("while true do end", "busy", {},
                              {.instructions = 1000000});
  EXPECT_EQ(receive_error(rt, busy), "instruction limit exceeded");
  auto spinner = rt.spawn_source("while true do pcall(function() while true "
                                 "do end end) end",
                                 "spinner", {}, {.timeout = 100ms});
  EXPECT_THROW(rt.receive(spinner), troupe::timeout_error);
  auto waiter = rt.spawn_source("worker.peek()", "waiter", {},
                                {.timeout = 100ms});
  EXPECT_EQ(receive_error(rt, waiter), "time limit exceeded");
  EXPECT_TRUE(sibling.send(7));
  EXPECT_EQ(rt.receive(sibling), value{7});
}

TEST(worker_limits, runtime_defaults_apply_to_every_worker) {
  auto c = config();
  c.limits.memory = 8 << 20;
  troupe::runtime rt{c};
  EXPECT_THROW(rt.receive(rt.spawn_source(grow, "big")), troupe::limit_error);
  auto free = rt.spawn_source(grow, "free", {}, {.memory = 0});
  free.cancel();
  auto end = rt.join(free);
  ASSERT_FALSE(end.ok);
  EXPECT_EQ(end.error->message(), "cancelled");
}

TEST(worker_limits,
     worker_create_options_set_a_childs_limits_within_its_parents) {
  auto dir = std::filesystem::path{::testing::TempDir()};
  std::ofstream{dir / "limits_child.lua"}
    << "local t = {} for i = 1, 16 do t[i] = ('x'):rep(1 << 20) .. i end "
       "return 'allocated 16 MB'";
  const std::string parent_source
    = "local c = worker.create{path = ..., memory = 64e6}\n"
      "local ok, result = worker.join(c)\n"
      "if ok then return result end return result.message";
  auto child = (dir / "limits_child.lua").string();
  troupe::runtime rt{config()};
  // Under no limit of its parent's, the child gets the 64 MB it asked for.
  auto free = rt.join(rt.spawn_source(parent_source, "free", {child}));
  ASSERT_TRUE(free.ok) << free.error->message();
  EXPECT_EQ(free.values.at(0), value{"allocated 16 MB"});
  // Under a parent of 8 MB it gets 8 MB.
  auto bounded = rt.join(
    rt.spawn_source(parent_source, "bounded", {child}, {.memory = 8 << 20}));
  ASSERT_TRUE(bounded.ok) << bounded.error->message();
  EXPECT_EQ(bounded.values.at(0), value{"memory limit exceeded"});

  auto options = rt.spawn_source(
    "local ok, err = pcall(worker.create, {path = 'x', memory = -1})\n"
    "assert(not ok and err:find(\"option 'memory' must be a positive "
    "number\"), err)\n"
    "ok, err = pcall(worker.create, {path = 'x', timeout = 'soon'})\n"
    "assert(not ok and err:find(\"option 'timeout' must be a positive "
    "number\"), err)\n"
    "ok, err = pcall(worker.create, {path = 'x', cpu = 1})\n"
    "assert(not ok and err:find(\"unknown option 'cpu'\"), err)\n"
    "return 'checked'",
    "options");
  auto checked = rt.join(options);
  ASSERT_TRUE(checked.ok) << checked.error->message();
  EXPECT_EQ(checked.values, (std::vector<value>{"checked"}));
}

TEST(worker_limits, caps_on_live_workers_per_runtime_and_per_parent) {
  auto c = config();
  c.max_workers = 4;
  c.max_children = 3;
  troupe::runtime rt{c};
  std::vector<troupe::worker> held;
  for (int i = 0; i < 3; ++i)
    held.push_back(rt.spawn_source("worker.peek()", "idle"));
  try {
    rt.spawn_source("worker.peek()", "one too many");
    FAIL() << "the per-parent cap did not hold";
  } catch (const troupe::limit_error& e) {
    EXPECT_STREQ(e.what(), "worker limit reached (3)");
  }
  for (auto& w : held) w.cancel();
  for (auto& w : held) rt.join(w);
}

TEST(worker_limits, a_script_past_the_cap_gets_an_error_from_create) {
  auto c = config();
  c.max_children = 2;
  troupe::runtime rt{c};
  auto dir = std::filesystem::path{::testing::TempDir()};
  std::ofstream{dir / "cap_idle.lua"} << "worker.peek()";
  auto w = rt.spawn_source("local path = ...\n"
                           "local a = worker.create(path)\n"
                           "local b = worker.create(path)\n"
                           "local ok, err = pcall(worker.create, path)\n"
                           "worker.cancel(a) worker.cancel(b)\n"
                           "return err",
                           "capped", {(dir / "cap_idle.lua").string()});
  auto end = rt.join(w);
  ASSERT_TRUE(end.ok) << end.error->message();
  EXPECT_NE(end.values.at(0).as_string().find(
              "worker.create: worker limit reached (2)"),
            std::string::npos)
    << end.values.at(0);
}

TEST(worker_limits,
     a_flood_to_the_parent_stops_at_the_bound_and_loses_nothing) {
  auto c = config();
  c.inbox_limit = 100;
  troupe::runtime rt{c};
  auto flood = rt.spawn_source("for i = 1, 1e6 do worker.message(i) end",
                               "flood");
  auto end = rt.join(flood);
  ASSERT_FALSE(end.ok);
  EXPECT_NE(end.error->message().find("the parent's queue of this worker's "
                                      "unread messages is full"),
            std::string::npos);
  for (int i = 1; i <= 100; ++i) EXPECT_EQ(rt.receive(flood), value{i});
  EXPECT_THROW(rt.receive(flood), troupe::script_error);
  EXPECT_EQ(rt.receive(flood), std::nullopt);
}
