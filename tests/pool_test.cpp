// troupe::pool on a real runtime: results and errors, the context, timeouts
// and stop requests (also of a script stuck in a C call, whose worker is
// replaced), the queue bound, shutdown and shutdown_now, isolation between
// jobs, the memory cap, many submitting threads, and a runtime that goes
// first. Scripts signal "I am running" by printing to an output sink the
// test watches, so nothing waits on a sleep.
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "leak_cases.hpp"
#include "output_probe.hpp"
#include "troupe/troupe.hpp"
#include "wait_support.hpp"

using namespace std::chrono_literals;
using troupe::bytecode;
using troupe::compile;
using troupe::context;
using troupe::value;
using troupe::test::eventually;
using troupe::test::output_probe;
using troupe::test::patience;

namespace {

troupe::runtime_config config_with(output_probe& probe) {
  troupe::runtime_config config;
  config.threads = 2;
  config.output = probe.sink();
  return config;
}

// Waits (boundedly) for the future and returns its value or rethrows.
value get(std::future<value>& f) {
  EXPECT_EQ(f.wait_for(patience), std::future_status::ready);
  return f.get();
}

const bytecode spin = compile("print('spinning') while true do "
                              "pcall(function() while true do end end) end",
                              "spin");
const bytecode hold = compile("print('hold') return 'released'", "hold");

class pool_test : public ::testing::Test {
protected:
  output_probe probe;
  troupe::runtime rt{config_with(probe)};
};

} // namespace

TEST_F(pool_test, the_seed_example) {
  auto bc = compile("return ctx.message .. ' from Lua'", "script");
  context ctx;
  ctx.set("message", "Hello");
  ctx.set("params", value::map({{"id", "123"}}));
  EXPECT_EQ(ctx.get("message"), value{"Hello"});
  EXPECT_TRUE(ctx.get("missing").is_nil());
  troupe::pool pool{rt, 4};
  EXPECT_EQ(pool.submit(bc, ctx), value{"Hello from Lua"});
  EXPECT_EQ(pool.submit(bc, ctx, 1s), value{"Hello from Lua"});
  EXPECT_EQ(pool.submit(compile("return ctx.params.id, ctx.nothing", "p"), ctx),
            value::array({"123", value{}}));
  EXPECT_EQ(pool.active_workers(), 4u);
}

TEST_F(pool_test, bad_configurations_are_invalid_arguments) {
  EXPECT_THROW((troupe::pool{rt, 0}), std::invalid_argument);
  EXPECT_THROW((troupe::pool{rt, troupe::pool_config{.workers = 0}}),
               std::invalid_argument);
  EXPECT_THROW((troupe::pool{rt, troupe::pool_config{.queue_limit = 0}}),
               std::invalid_argument);
  EXPECT_THROW((troupe::pool{rt, troupe::pool_config{.memory_limit = 1000}}),
               std::invalid_argument);
  troupe::pool pool{rt, 1};
  EXPECT_THROW(pool.submit(bytecode{}), std::invalid_argument);
  EXPECT_THROW(pool.submit_async(bytecode{}), std::invalid_argument);
}

TEST_F(pool_test, return_values_and_context_values) {
  troupe::pool pool{rt, 2};
  EXPECT_TRUE(pool.submit(compile("local x = 1", "none")).is_nil());
  EXPECT_EQ(pool.submit(compile("return 1, 2.5, 'x'", "many")),
            value::array({1, 2.5, "x"}));
  EXPECT_EQ(pool.submit(compile("return {n = ctx.list[2]}", "map"),
                        context{}.set("list", value::array({1, 2}))),
            value::map({{"n", 2}}));
  context ctx;
  ctx.set("gone", 1).set("gone", nullptr);
  EXPECT_TRUE(ctx.get("gone").is_nil());
  EXPECT_EQ(pool.submit(compile("return next(ctx) == nil", "empty"), ctx),
            value{true});
}

TEST_F(pool_test,
       a_script_error_has_message_and_traceback_and_the_worker_goes_on) {
  troupe::pool pool{rt, 1};
  try {
    pool.submit(
      compile("local function f() error('bad input') end f()", "job"));
    FAIL() << "no error";
  } catch (const troupe::script_error& e) {
    EXPECT_NE(e.message().find("job:1: bad input"), std::string::npos);
    EXPECT_NE(e.traceback().find("stack traceback:"), std::string::npos);
  }
  EXPECT_EQ(pool.submit(compile("return 'next'", "next")), value{"next"});
  EXPECT_EQ(pool.stats().failed, 1u);
}

TEST_F(pool_test, a_timeout_ends_a_loop_inside_pcall_and_the_worker_is_reused) {
  // A generous replace_after, so a loaded machine cannot make the worker look
  // stuck.
  troupe::pool pool{rt, troupe::pool_config{.replace_after = 60s}};
  EXPECT_THROW(pool.submit(spin, {}, 50ms), troupe::timeout_error);
  auto f = pool.submit_async(spin, {}, {.timeout = 50ms});
  EXPECT_THROW(get(f), troupe::timeout_error);
  EXPECT_EQ(pool.submit(compile("return 3", "after")), value{3});
  auto s = pool.stats();
  EXPECT_EQ(s.timed_out, 2u);
  EXPECT_EQ(s.replaced, 0u);
  EXPECT_EQ(pool.active_workers(), 1u);
}

TEST_F(pool_test, the_default_timeout_applies_and_a_job_may_override_it) {
  troupe::pool pool{rt, troupe::pool_config{.timeout = 50ms}};
  EXPECT_THROW(pool.submit(spin), troupe::timeout_error);
  auto loop = compile("for i = 1, 3e6 do end return 'done'", "loop");
  EXPECT_EQ(pool.submit(loop, {}, 30s), value{"done"});
}

TEST_F(pool_test, a_stop_request_cancels_a_running_job) {
  troupe::pool pool{rt, 1};
  std::stop_source stop;
  auto f = pool.submit_async(spin, {}, {.stop = stop.get_token()});
  ASSERT_TRUE(probe.wait_for("spinning"));
  EXPECT_EQ(pool.busy_workers(), 1u);
  stop.request_stop();
  EXPECT_THROW(get(f), troupe::cancelled_error);
  EXPECT_EQ(pool.submit(compile("return 4", "after")), value{4});
  EXPECT_EQ(pool.stats().cancelled, 1u);
}

TEST_F(pool_test, a_stop_request_cancels_a_queued_job_and_one_made_before) {
  troupe::pool pool{rt, 1};
  std::stop_source busy, queued, early;
  early.request_stop();
  auto first = pool.submit_async(spin, {}, {.stop = busy.get_token()});
  ASSERT_TRUE(probe.wait_for("spinning"));
  auto second = pool.submit_async(compile("return 1", "q"), {},
                                  {.stop = queued.get_token()});
  auto third = pool.submit_async(compile("return 1", "e"), {},
                                 {.stop = early.get_token()});
  EXPECT_THROW(get(third), troupe::cancelled_error);
  EXPECT_EQ(pool.stats().queued, 1u);
  queued.request_stop();
  EXPECT_THROW(get(second), troupe::cancelled_error);
  EXPECT_EQ(pool.stats().queued, 0u);
  busy.request_stop();
  EXPECT_THROW(get(first), troupe::cancelled_error);
  auto s = pool.stats();
  EXPECT_EQ(s.submitted, 3u);
  EXPECT_EQ(s.cancelled, 3u);
}

TEST_F(
  pool_test,
  a_job_stuck_in_a_c_call_fails_at_its_deadline_and_its_worker_is_replaced) {
  troupe::pool pool{rt, 1};
  auto stuck = pool.submit_async(hold, {}, {.timeout = 50ms});
  ASSERT_TRUE(probe.wait_for("hold"));
  EXPECT_THROW(get(stuck), troupe::timeout_error);
  // The stuck worker still sits in print; the replacement serves.
  EXPECT_EQ(pool.submit(compile("return 'served'", "next")), value{"served"});
  EXPECT_TRUE(eventually([&] { return pool.stats().replaced == 1; }));
  EXPECT_EQ(pool.active_workers(), 1u);
  probe.release();
  EXPECT_EQ(pool.submit(compile("return 'still'", "after")), value{"still"});
}

TEST_F(pool_test, a_stop_request_fails_a_stuck_job_at_once) {
  troupe::pool pool{rt, 1};
  std::stop_source stop;
  auto stuck = pool.submit_async(hold, {}, {.stop = stop.get_token()});
  ASSERT_TRUE(probe.wait_for("hold"));
  stop.request_stop();
  EXPECT_THROW(get(stuck), troupe::cancelled_error);
  EXPECT_EQ(pool.submit(compile("return 'served'", "next")), value{"served"});
  probe.release();
}

TEST_F(pool_test, a_jobs_error_value_travels_with_its_error) {
  troupe::pool pool{rt, 1};
  try {
    pool.submit(compile("error({code = 42, reason = 'no stock'})", "stock"));
    FAIL() << "no error";
  } catch (const troupe::script_error& e) {
    EXPECT_EQ(e.value(), value::map({{"code", 42}, {"reason", "no stock"}}));
  }
}

TEST_F(pool_test, shutdown_now_returns_while_a_job_is_stuck_in_a_c_call) {
  troupe::pool pool{rt,
                    troupe::pool_config{.workers = 1, .replace_after = 10ms}};
  auto stuck = pool.submit_async(hold, {});
  ASSERT_TRUE(probe.wait_for("hold"));
  auto stopping = std::async(std::launch::async, [&] { pool.shutdown_now(); });
  EXPECT_THROW(get(stuck), troupe::cancelled_error);
  EXPECT_EQ(stopping.wait_for(patience), std::future_status::ready)
    << "shutdown_now waits for the worker stuck in print";
  probe.release();
  stopping.wait();
}

TEST_F(pool_test, a_full_queue_fails_submit_async_and_makes_submit_wait) {
  troupe::pool pool{rt, troupe::pool_config{.workers = 1, .queue_limit = 2}};
  std::stop_source stop;
  auto running = pool.submit_async(spin, {}, {.stop = stop.get_token()});
  ASSERT_TRUE(probe.wait_for("spinning"));
  auto one = compile("return 1", "one");
  auto a = pool.submit_async(one);
  auto b = pool.submit_async(one);
  EXPECT_THROW(pool.submit_async(one), troupe::limit_error);
  std::atomic<bool> submitted{false};
  std::thread waiter{[&] {
    EXPECT_EQ(pool.submit(one), value{1});
    submitted = true;
  }};
  // Blocked in submit, not merely slow to get there.
  EXPECT_TRUE(eventually([&] { return pool.stats().blocked_submitters == 1; }));
  EXPECT_FALSE(submitted.load());
  EXPECT_EQ(pool.stats().queued, 2u);
  stop.request_stop();
  waiter.join();
  EXPECT_TRUE(submitted.load());
  EXPECT_EQ(get(a), value{1});
  EXPECT_EQ(get(b), value{1});
}

TEST_F(pool_test, shutdown_finishes_queued_and_running_jobs_then_refuses) {
  troupe::pool pool{rt, 1};
  auto slow = compile("print('slow') local n = 0 for i = 1, 2e6 do n = n + 1 "
                      "end return n",
                      "slow");
  std::vector<std::future<value>> futures;
  for (int i = 0; i < 5; ++i) futures.push_back(pool.submit_async(slow));
  ASSERT_TRUE(probe.wait_for("slow"));
  pool.shutdown();
  for (auto& f : futures) EXPECT_EQ(get(f), value{2000000});
  EXPECT_EQ(pool.active_workers(), 0u);
  EXPECT_THROW(pool.submit(slow), troupe::stopped_error);
  EXPECT_THROW(pool.submit_async(slow), troupe::stopped_error);
  pool.shutdown();
  pool.shutdown_now();
  EXPECT_EQ(pool.stats().completed, 5u);
}

TEST_F(pool_test, shutdown_now_cancels_running_and_queued_jobs) {
  troupe::pool pool{rt, 1};
  auto running = pool.submit_async(spin);
  ASSERT_TRUE(probe.wait_for("spinning"));
  auto queued = pool.submit_async(compile("return 1", "q"));
  pool.shutdown_now();
  EXPECT_THROW(get(running), troupe::cancelled_error);
  EXPECT_THROW(get(queued), troupe::cancelled_error);
  EXPECT_EQ(pool.active_workers(), 0u);
  EXPECT_THROW(pool.submit(spin), troupe::stopped_error);
  pool.shutdown_now();
  pool.shutdown();
  EXPECT_EQ(pool.stats().cancelled, 2u);
}

TEST_F(pool_test, the_destructor_lets_submitted_jobs_finish) {
  std::future<value> f;
  {
    troupe::pool pool{rt, 1};
    f = pool.submit_async(compile("for i = 1, 1e6 do end return 'kept'", "k"));
  }
  EXPECT_EQ(get(f), value{"kept"});
}

class pool_isolation
    : public pool_test,
      public ::testing::WithParamInterface<troupe::test::leak_case> {};

TEST_P(pool_isolation, nothing_reaches_the_next_job) {
  troupe::pool pool{rt, 1};
  EXPECT_NO_THROW(pool.submit(compile(GetParam().attempt, "attempt")));
  EXPECT_EQ(pool.submit(compile(GetParam().check, "check")), value{true});
}

INSTANTIATE_TEST_SUITE_P(attempts, pool_isolation,
                         ::testing::ValuesIn(troupe::test::leak_cases),
                         [](const auto& test) {
                           return std::string{test.param.name};
                         });

TEST_F(pool_test, a_big_table_left_in_a_global_is_gone_with_its_memory) {
  troupe::pool pool{rt, 1};
  pool.submit(compile("return 1", "warm"));
  auto before = pool.stats().memory;
  pool.submit(compile("big = {} for i = 1, 1e6 do big[i] = ('x'):rep(80) .. i "
                      "end",
                      "big"));
  EXPECT_LT(pool.stats().memory, before + (std::size_t{4} << 20));
  EXPECT_EQ(pool.submit(compile("return big == nil", "after")), value{true});
}

TEST_F(pool_test, a_job_past_the_memory_limit_fails_and_harms_no_one) {
  troupe::pool pool{rt,
                    troupe::pool_config{.workers = 2,
                                        .memory_limit = std::size_t{16} << 20}};
  std::stop_source stop;
  auto neighbour = pool.submit_async(
    compile("print('neighbour') local t = {} for i = 1, 1e9 do t[i % 1000 + 1] "
            "= i end",
            "n"),
    {}, {.stop = stop.get_token()});
  ASSERT_TRUE(probe.wait_for("neighbour"));
  auto grow = compile("local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(64) .. "
                      "i "
                      "end",
                      "grow");
  EXPECT_THROW(pool.submit(grow), troupe::limit_error);
  EXPECT_EQ(pool.submit(compile("return #('y'):rep(1000)", "small")),
            value{1000});
  EXPECT_EQ(pool.busy_workers(), 1u);
  stop.request_stop();
  EXPECT_THROW(get(neighbour), troupe::cancelled_error);
  EXPECT_EQ(pool.stats().failed, 1u);
}

TEST_F(pool_test, a_refused_call_is_a_permission_error) {
  troupe::pool pool{rt, 1};
  EXPECT_THROW(pool.submit(compile("return io.open('/etc/passwd')", "nosy")),
               troupe::permission_error);
  EXPECT_THROW(pool.submit(compile("return os.getenv('HOME')", "env")),
               troupe::permission_error);
  EXPECT_EQ(pool.submit(compile("return (pcall(os.getenv, 'HOME'))", "ok")),
            value{false});
}

TEST_F(pool_test,
       jobs_may_be_given_permissions_and_keep_their_modules_to_themselves) {
  auto dir = std::filesystem::path{::testing::TempDir()} / "troupe_pool_perm";
  std::filesystem::create_directories(dir);
  std::ofstream{dir / "data.txt"} << "payload";
  std::ofstream{dir / "counter.lua"} << "return {n = 0}";
  auto config = config_with(probe);
  config.base_dir = dir;
  troupe::runtime local{config};
  troupe::pool pool{local,
                    troupe::pool_config{
                      .permissions = {"fs:read=" + dir.string(), "load"}}};
  EXPECT_EQ(pool.submit(
              compile("return io.open('data.txt'):read('a')", "read")),
            value{"payload"});
  EXPECT_THROW(pool.submit(compile("return io.open('/etc/passwd')", "out")),
               troupe::permission_error);
  // A module one job changed is not what the next job gets.
  auto bump = compile("local m = require('counter') m.n = m.n + 1 return m.n",
                      "bump");
  EXPECT_EQ(pool.submit(bump), value{1});
  EXPECT_EQ(pool.submit(bump), value{1});
  // The file handle's metatable is the sandbox's, shared by every job: no job
  // may reach it to change how the next one reads.
  EXPECT_EQ(pool.submit(compile("local mt = getmetatable(io.open('data.txt')) "
                                "if type(mt) == 'table' then mt.__index.read = "
                                "function() "
                                "return 'PWNED' end end return mt",
                                "tamper")),
            value{"FILE*"});
  EXPECT_EQ(pool.submit(
              compile("return io.open('data.txt'):read('a')", "read")),
            value{"payload"});
  EXPECT_THROW((troupe::pool{local,
                             troupe::pool_config{.permissions = {"fly"}}}),
               std::invalid_argument);
}

TEST_F(pool_test, eight_threads_submitting_100000_jobs_get_every_result_right) {
  troupe::pool pool{rt, 2};
  auto twice = compile("return {ctx.n * 2, ctx.tag}", "twice");
  constexpr int threads = 8;
  constexpr int per_thread = 12500;
  std::atomic<int> wrong{0};
  std::vector<std::thread> submitters;
  for (int t = 0; t < threads; ++t) {
    submitters.emplace_back([&, t] {
      std::vector<std::future<value>> batch;
      for (int i = 0; i < per_thread; ++i) {
        context ctx;
        ctx.set("n", t * per_thread + i).set("tag", "t" + std::to_string(t));
        if (i % 2 == 0) {
          auto r = pool.submit(twice, ctx);
          if (r
              != value::array(
                {2 * (t * per_thread + i), "t" + std::to_string(t)}))
            ++wrong;
        } else {
          batch.push_back(pool.submit_async(twice, ctx));
        }
      }
      for (int i = 1, k = 0; i < per_thread; i += 2, ++k)
        if (batch[k].get()
            != value::array(
              {2 * (t * per_thread + i), "t" + std::to_string(t)}))
          ++wrong;
    });
  }
  for (auto& s : submitters) s.join();
  EXPECT_EQ(wrong.load(), 0);
  auto s = pool.stats();
  EXPECT_EQ(s.submitted, 100000u);
  EXPECT_EQ(s.completed, 100000u);
}

TEST_F(pool_test, a_runtime_that_stops_first_fails_what_the_pool_holds) {
  std::future<value> f;
  auto local = std::make_unique<troupe::runtime>(config_with(probe));
  troupe::pool pool{*local, 1};
  f = pool.submit_async(spin);
  ASSERT_TRUE(probe.wait_for("spinning"));
  local.reset();
  EXPECT_THROW(get(f), troupe::cancelled_error);
  EXPECT_THROW(pool.submit(spin), troupe::stopped_error);
  EXPECT_EQ(pool.active_workers(), 0u);
}
