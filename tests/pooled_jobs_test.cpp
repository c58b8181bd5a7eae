// Supervised jobs on a pool (supervisor::use_pool): a key's jobs run on the
// pool's workers with their args as `...`, at most the key's target at once,
// with fresh globals each; failures are retried as on any key; a job's
// timeout is its limits.timeout; stop cancels what runs; a pool shut down
// fails the jobs that reach it; a run key cannot have a pool. Waits are on
// futures and events, each bounded.
#include <algorithm>
#include <mutex>

#include <gtest/gtest.h>

#include "runtime_support.hpp"
#include "troupe/troupe.hpp"
#include "wait_support.hpp"

using namespace std::chrono_literals;
using troupe::job_event;
using troupe::job_event_kind;
using troupe::value;
using troupe::test::patience;
using troupe::test::two_threads;

namespace {

troupe::job code(const std::string& source, std::vector<value> args = {}) {
  troupe::job j;
  j.code = troupe::compile(source, "job");
  j.args = std::move(args);
  return j;
}

// The events of a supervisor, kept for the test to read.
struct events {
  std::mutex mutex;
  std::vector<job_event> seen;
  std::function<void(const job_event&)> sink() {
    return [this](const job_event& e) {
      std::lock_guard held{mutex};
      seen.push_back(e);
    };
  }
  std::vector<job_event> all() {
    std::lock_guard held{mutex};
    return seen;
  }
};

// A runtime, a pool of `workers`, and a supervisor (its events in `log`)
// whose key "k" runs on the pool at `target`.
struct pooled_key {
  pooled_key(std::size_t workers, std::size_t target,
             troupe::runtime_config config = two_threads())
      : rt{std::move(config)}, pool{rt, workers}, sup{rt, log.sink()} {
    sup.use_pool("k", pool);
    sup.set("k", target);
  }
  troupe::runtime rt;
  troupe::pool pool;
  events log;
  troupe::supervisor sup;
};

value result_of(std::future<value>& f) {
  EXPECT_EQ(f.wait_for(patience), std::future_status::ready);
  return f.get();
}

} // namespace

TEST(pooled_jobs, run_on_the_pool_at_most_target_at_once) {
  pooled_key p{4, 3};
  auto& [rt, pool, log, sup] = p;
  std::vector<std::future<value>> results;
  for (int i = 0; i < 200; ++i)
    results.push_back(
      sup.submit("k",
                 code("local a, b = ... return a * b, ctx ~= nil", {i, 3})));
  for (int i = 0; i < 200; ++i)
    EXPECT_EQ(result_of(results[i]), value::array({3 * i, true}));
  EXPECT_EQ(pool.stats().submitted, 200u) << "every job ran on the pool";
  EXPECT_EQ(pool.stats().completed, 200u);
  int running = 0;
  int most = 0;
  std::vector<std::uint64_t> instances;
  for (const auto& e : log.all()) {
    if (e.kind == job_event_kind::started) {
      most = std::max(most, ++running);
      instances.push_back(e.instance);
    }
    if (e.kind == job_event_kind::exited) --running;
  }
  EXPECT_LE(most, 3);
  EXPECT_GE(most, 1);
  std::sort(instances.begin(), instances.end());
  EXPECT_EQ(std::unique(instances.begin(), instances.end()), instances.end())
    << "each job has an instance number of its own";
  EXPECT_EQ(instances.size(), 200u);
}

TEST(pooled_jobs, each_job_sees_fresh_globals) {
  pooled_key p{1, 1};
  auto& [rt, pool, log, sup] = p;
  for (int i = 0; i < 5; ++i) {
    auto f = sup.submit("k", code("seen = (seen or 0) + 1 return seen"));
    EXPECT_EQ(result_of(f), value{1});
  }
}

TEST(pooled_jobs, failures_are_retried_then_fail_with_the_last_error) {
  pooled_key p{2, 2};
  auto& [rt, pool, log, sup] = p;
  auto f = sup.submit("k", code("error('nope')"), {.retries = 2});
  ASSERT_EQ(f.wait_for(patience), std::future_status::ready);
  try {
    f.get();
    FAIL() << "no error";
  } catch (const troupe::script_error& e) {
    EXPECT_NE(e.message().find("nope"), std::string::npos) << e.what();
  }
  auto all = log.all();
  auto failed = std::count_if(all.begin(), all.end(), [](const auto& e) {
    return e.kind == job_event_kind::failed;
  });
  EXPECT_EQ(failed, 3);
  for (const auto& e : all) {
    if (e.kind == job_event_kind::failed) {
      EXPECT_NE(e.reason.find("nope"), std::string::npos);
    }
  }
}

TEST(pooled_jobs, limits_timeout_is_the_jobs_time_limit) {
  pooled_key p{1, 1};
  auto& [rt, pool, log, sup] = p;
  auto j = code("while true do end");
  j.limits.timeout = 50ms;
  auto f = sup.submit("k", std::move(j), {.retries = 0});
  ASSERT_EQ(f.wait_for(patience), std::future_status::ready);
  EXPECT_THROW(f.get(), troupe::timeout_error);
  auto after = sup.submit("k", code("return 'free again'"));
  EXPECT_EQ(result_of(after), value{"free again"});
}

TEST(pooled_jobs, a_path_job_runs_on_the_pool) {
  auto config = two_threads();
  auto file = troupe::test::write_script("troupe_pooled_jobs_test",
                                         "double.lua", "return (...) * 2");
  config.base_dir = file.parent_path();
  pooled_key p{1, 1, config};
  auto& [rt, pool, log, sup] = p;
  auto f = sup.submit("k", troupe::job{.path = "double.lua", .args = {21}});
  EXPECT_EQ(result_of(f), value{42});
  auto missing = sup.submit("k", troupe::job{.path = "nope.lua"},
                            {.retries = 0});
  ASSERT_EQ(missing.wait_for(patience), std::future_status::ready);
  EXPECT_THROW(missing.get(), troupe::error);
}

TEST(pooled_jobs, stop_cancels_running_and_queued_jobs) {
  pooled_key p{2, 1};
  auto& [rt, pool, log, sup] = p;
  std::vector<std::future<value>> jobs;
  for (int i = 0; i < 5; ++i)
    jobs.push_back(sup.submit("k", code("while true do end")));
  ASSERT_TRUE(
    troupe::test::eventually([&] { return pool.busy_workers() == 1; }));
  sup.stop();
  for (auto& f : jobs) {
    ASSERT_EQ(f.wait_for(patience), std::future_status::ready);
    EXPECT_THROW(f.get(), troupe::cancelled_error);
  }
  // The pool itself goes on: the stopped job let go of its worker.
  EXPECT_EQ(pool.submit(troupe::compile("return 5", "after")), value{5});
}

TEST(pooled_jobs, a_pool_shut_down_fails_the_jobs_that_reach_it) {
  pooled_key p{1, 1};
  auto& [rt, pool, log, sup] = p;
  pool.shutdown();
  auto f = sup.submit("k", code("return 1"), {.retries = 1});
  ASSERT_EQ(f.wait_for(patience), std::future_status::ready);
  EXPECT_THROW(f.get(), troupe::stopped_error);
}

TEST(pooled_jobs, a_run_key_cannot_use_a_pool) {
  troupe::runtime rt{two_threads()};
  troupe::pool pool{rt, 1};
  troupe::supervisor sup{rt};
  sup.run("instances", code("return"));
  EXPECT_THROW(sup.use_pool("instances", pool), troupe::error);
  troupe::supervisor leases_only;
  EXPECT_THROW(leases_only.use_pool("k", pool), troupe::error);
}
