// Supervised script jobs on a real runtime: run keeps a key's target of
// instances alive and restarts them per policy (permanent, transient,
// temporary; backoff; the intensity limit and reset), lowering a target
// retires the newest instances; submit runs queued jobs at most target at a
// time, retries failures and resolves every future once, also at stop. A
// seeded fault-injection run moves targets while jobs fail at random. Waits
// are on events and counts, each bounded.
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "runtime_support.hpp"
#include "troupe/troupe.hpp"
#include "wait_support.hpp"

using namespace std::chrono_literals;
using troupe::job_event;
using troupe::job_event_kind;
using troupe::value;
using troupe::test::eventually;
using troupe::test::patience;
using troupe::test::two_threads;

namespace {

// Collects every event and lets the test wait for a condition on them.
class event_log {
public:
  std::function<void(const job_event&)> sink() {
    return [this](const job_event& e) {
      std::lock_guard held{mutex_};
      events_.push_back(e);
      changed_.notify_all();
    };
  }

  std::size_t count(const std::string& key, job_event_kind kind) const {
    std::lock_guard held{mutex_};
    return count_locked(key, kind);
  }

  bool wait_count(const std::string& key, job_event_kind kind, std::size_t n) {
    std::unique_lock held{mutex_};
    return changed_.wait_for(held, patience,
                             [&] { return count_locked(key, kind) >= n; });
  }

  std::vector<job_event> all() const {
    std::lock_guard held{mutex_};
    return events_;
  }

private:
  std::size_t count_locked(const std::string& key, job_event_kind kind) const {
    return static_cast<std::size_t>(
      std::count_if(events_.begin(), events_.end(), [&](const auto& e) {
        return e.key == key && e.kind == kind;
      }));
  }

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<job_event> events_;
};

troupe::job code(const std::string& source, std::vector<value> args = {}) {
  troupe::job j;
  j.code = troupe::compile(source, "job");
  j.args = std::move(args);
  return j;
}

const char* const waits_for_retirement = "while true do if worker.peek() == "
                                         "nil then return 'retired' end end";

} // namespace

TEST(supervised_jobs, run_keeps_the_target_alive_and_restarts_crashes) {
  troupe::runtime rt{two_threads()};
  event_log log;
  troupe::supervisor sup{rt, log.sink()};
  sup.set("ingest", 3);
  sup.run("ingest", code("worker.sleep(0.005) error('crash')"),
          {.intensity = 1000000});
  ASSERT_TRUE(log.wait_count("ingest", job_event_kind::restarted, 30));
  EXPECT_EQ(log.count("ingest", job_event_kind::started), 3u);
  EXPECT_LE(sup.counts("ingest").active, 3u);
  sup.stop();
  // Every restart answers a failure, and every failure was restarted but for
  // those the stop overtook: at most one per instance.
  auto failed = log.count("ingest", job_event_kind::failed);
  auto restarted = log.count("ingest", job_event_kind::restarted);
  EXPECT_GE(failed, restarted);
  EXPECT_LE(failed, restarted + 3);
  for (const auto& e : log.all()) {
    if (e.kind == job_event_kind::failed) {
      EXPECT_NE(e.reason.find("crash"), std::string::npos) << e.reason;
    }
  }
}

// A stop races the keeper restarting instances that crash at once: whichever
// way each race goes, the keeper's thread survives it (a lease refused
// because the supervisor stopped once ended the process) and every instance
// is gone after it.
TEST(supervised_jobs, stop_racing_restarts_ends_cleanly) {
  troupe::runtime rt{two_threads()};
  for (int round = 0; round < 40; ++round) {
    event_log log;
    troupe::supervisor sup{rt, log.sink()};
    sup.set("k", 4);
    sup.run("k", code("error('crash')"), {.intensity = 1000000});
    ASSERT_TRUE(log.wait_count("k", job_event_kind::restarted,
                               1 + static_cast<std::size_t>(round % 7)));
    sup.stop();
    EXPECT_EQ(sup.counts("k").active, 0u);
    EXPECT_THROW(sup.run("k", code("return 1")), troupe::stopped_error);
  }
}

TEST(supervised_jobs, lowering_the_target_retires_the_newest_instances) {
  troupe::runtime rt{two_threads()};
  event_log log;
  troupe::supervisor sup{rt, log.sink()};
  sup.run("k", code(waits_for_retirement));
  sup.set("k", 3);
  ASSERT_TRUE(log.wait_count("k", job_event_kind::started, 3));
  EXPECT_EQ(sup.counts("k").active, 3u);
  sup.set("k", 1);
  EXPECT_EQ(sup.counts("k").active, 1u);
  ASSERT_TRUE(log.wait_count("k", job_event_kind::exited, 2));
  std::vector<std::uint64_t> started;
  std::vector<std::uint64_t> exited;
  for (const auto& e : log.all()) {
    if (e.kind == job_event_kind::started) started.push_back(e.instance);
    if (e.kind == job_event_kind::exited) exited.push_back(e.instance);
  }
  std::sort(started.begin(), started.end());
  std::sort(exited.begin(), exited.end());
  EXPECT_EQ(exited, (std::vector<std::uint64_t>{started[1], started[2]}));
  EXPECT_EQ(log.count("k", job_event_kind::restarted), 0u);
  // Raising it again starts new ones at once.
  sup.set("k", 2);
  EXPECT_EQ(sup.counts("k").active, 2u);
}

// The keeper takes an instance's lease when it decides to start it, and reads,
// compiles and spawns it with no lock held: a script that takes a while to
// compile is still being started when the target drops. The extras go at
// once (their leases) and as they land (their workers), without a restart.
TEST(supervised_jobs, a_target_lowered_while_instances_start_retires_them) {
  std::string source = "local t = {}\n";
  for (int i = 0; i < 200000; ++i) source += "t[#t + 1] = 'padding'\n";
  source += waits_for_retirement;
  auto path = troupe::test::write_script("slow_compile", "slow.lua", source);
  troupe::runtime rt{two_threads()};
  event_log log;
  troupe::supervisor sup{rt, log.sink()};
  sup.set("k", 3);
  sup.run("k", troupe::job{.path = path});
  ASSERT_TRUE(eventually([&] { return sup.counts("k").active == 3; }));
  sup.set("k", 1);
  EXPECT_EQ(sup.counts("k").active, 1u);
  ASSERT_TRUE(log.wait_count("k", job_event_kind::exited, 2));
  EXPECT_EQ(log.count("k", job_event_kind::started), 3u);
  EXPECT_EQ(log.count("k", job_event_kind::restarted), 0u);
  EXPECT_EQ(log.count("k", job_event_kind::failed), 0u);
  EXPECT_EQ(sup.counts("k").active, 1u);
  EXPECT_EQ(rt.stats().alive, 1u);
}

TEST(supervised_jobs, stop_resolves_a_job_whose_worker_is_still_starting) {
  std::string source;
  for (int i = 0; i < 200000; ++i) source += "local _ = 'padding'\n";
  source += "worker.sleep(60)";
  auto path = troupe::test::write_script("slow_compile", "slow_job.lua",
                                         source);
  troupe::runtime rt{two_threads()};
  troupe::supervisor sup{rt};
  sup.set("k", 1);
  auto f = sup.submit("k", troupe::job{.path = path});
  ASSERT_TRUE(eventually([&] { return sup.counts("k").active == 1; }));
  sup.stop();
  ASSERT_EQ(f.wait_for(patience), std::future_status::ready);
  EXPECT_THROW(f.get(), troupe::cancelled_error);
  EXPECT_TRUE(eventually([&] { return rt.stats().alive == 0; }));
}

TEST(supervised_jobs,
     a_retired_instance_that_ignores_it_is_cancelled_after_the_grace) {
  troupe::runtime rt{two_threads()};
  event_log log;
  troupe::supervisor sup{rt, log.sink()};
  sup.run("spin", code("while true do end"), {.grace = 50ms});
  sup.set("spin", 2);
  ASSERT_TRUE(log.wait_count("spin", job_event_kind::started, 2));
  sup.set("spin", 0);
  ASSERT_TRUE(log.wait_count("spin", job_event_kind::failed, 2));
  for (const auto& e : log.all()) {
    if (e.kind != job_event_kind::failed) continue;
    EXPECT_EQ(e.reason, "cancelled");
    EXPECT_TRUE(e.retired);
  }
  EXPECT_EQ(log.count("spin", job_event_kind::restarted), 0u);
  EXPECT_EQ(sup.counts("spin").active, 0u);
}

TEST(supervised_jobs, transient_and_temporary_instances) {
  troupe::runtime rt{two_threads()};
  event_log log;
  troupe::supervisor sup{rt, log.sink()};
  sup.set("transient", 2);
  sup.run("transient", code("local n = ... if n == nil then return 'done' end"),
          {.mode = troupe::restart_mode::transient});
  ASSERT_TRUE(log.wait_count("transient", job_event_kind::exited, 2));
  sup.set("temporary", 2);
  sup.run("temporary", code("error('once')"),
          {.mode = troupe::restart_mode::temporary});
  ASSERT_TRUE(log.wait_count("temporary", job_event_kind::failed, 2));
  sup.set("crashy", 1);
  sup.run("crashy", code("worker.sleep(0.002) error('again')"),
          {.mode = troupe::restart_mode::transient, .intensity = 1000});
  ASSERT_TRUE(log.wait_count("crashy", job_event_kind::restarted, 3));
  EXPECT_TRUE(eventually([&] { return sup.counts("transient").active == 0; }));
  EXPECT_TRUE(eventually([&] { return sup.counts("temporary").active == 0; }));
  EXPECT_EQ(log.count("transient", job_event_kind::restarted), 0u);
  EXPECT_EQ(log.count("temporary", job_event_kind::restarted), 0u);
}

TEST(supervised_jobs, the_intensity_limit_trips_exactly_and_reset_recovers) {
  troupe::runtime rt{two_threads()};
  event_log log;
  troupe::supervisor sup{rt, log.sink()};
  sup.set("bad", 1);
  sup.run("bad", code("error('always')"), {.intensity = 3, .period = 60s});
  ASSERT_TRUE(log.wait_count("bad", job_event_kind::gave_up, 1));
  EXPECT_TRUE(sup.failed("bad"));
  EXPECT_EQ(log.count("bad", job_event_kind::failed), 4u);
  EXPECT_EQ(log.count("bad", job_event_kind::restarted), 3u);
  EXPECT_EQ(sup.counts("bad").active, 0u);
  sup.reset("bad");
  ASSERT_TRUE(log.wait_count("bad", job_event_kind::gave_up, 2));
  EXPECT_EQ(log.count("bad", job_event_kind::failed), 8u);
  EXPECT_EQ(log.count("bad", job_event_kind::restarted), 6u);
  for (const auto& e : log.all()) {
    if (e.kind == job_event_kind::gave_up) {
      EXPECT_EQ(e.reason, "more than 3 restarts in 60000 ms");
    }
  }
}

TEST(supervised_jobs, a_key_gives_up_once_whatever_its_target) {
  troupe::runtime rt{two_threads()};
  event_log log;
  troupe::supervisor sup{rt, log.sink()};
  sup.set("bad", 3);
  sup.run("bad", code("error('always')"), {.intensity = 1, .period = 60s});
  ASSERT_TRUE(log.wait_count("bad", job_event_kind::gave_up, 1));
  // Every instance of the key ends (the three first and each restart, of
  // which there is one or none: the second failure gives up); none of them
  // restarts or gives up again.
  EXPECT_TRUE(eventually([&] {
    return sup.counts("bad").active == 0
           && log.count("bad", job_event_kind::failed)
                == 3 + log.count("bad", job_event_kind::restarted);
  }));
  EXPECT_LE(log.count("bad", job_event_kind::restarted), 1u);
  EXPECT_EQ(log.count("bad", job_event_kind::gave_up), 1u);
}

TEST(supervised_jobs, an_error_too_large_for_a_message_resolves_the_job) {
  troupe::runtime rt{two_threads()};
  troupe::supervisor sup{rt};
  sup.set("huge", 1);
  auto f = sup.submit("huge", code("error(string.rep('x', 65 * 1024 * 1024))"));
  // 65 MB take seconds to make and describe under the sanitizers.
  ASSERT_EQ(f.wait_for(6 * patience), std::future_status::ready);
  try {
    f.get();
    FAIL() << "no error";
  } catch (const troupe::script_error& e) {
    EXPECT_NE(e.message().find("bytes in all)"), std::string::npos);
  }
  // The key goes on: its next job runs.
  auto next = sup.submit("huge", code("return 'next'"));
  ASSERT_EQ(next.wait_for(patience), std::future_status::ready);
  EXPECT_EQ(next.get(), value{"next"});
}

TEST(supervised_jobs, backoff_spaces_the_restarts) {
  // Each instance prints when it starts (the scripts' clock is the host's
  // steady clock), then fails.
  std::mutex mutex;
  std::vector<double> starts;
  auto config = two_threads();
  config.output = [&](std::string_view line) {
    std::lock_guard held{mutex};
    starts.push_back(std::stod(std::string{line}));
  };
  troupe::runtime rt{config};
  troupe::supervisor sup{rt};
  sup.set("slow", 1);
  sup.run("slow",
          code("print(string.format('%.6f', worker.time())) error('x')"),
          {.backoff_min = 50ms,
           .backoff_max = 10s,
           .jitter = 0,
           .intensity = 100});
  ASSERT_TRUE(eventually([&] {
    std::lock_guard held{mutex};
    return starts.size() >= 4;
  }));
  // Each restart waits twice as long as the one before: 50, 100, 200 ms at
  // least from one start to the next (the wait begins after the failure; a run
  // longer than backoff_max would start the doubling again, and none is that
  // long). A backoff that did not double would start them 50 ms apart.
  std::lock_guard held{mutex};
  double wait = 0.050;
  for (std::size_t i = 1; i < 4; ++i, wait *= 2)
    EXPECT_GE(starts[i] - starts[i - 1], wait) << "restart " << i;
}

TEST(supervised_jobs, keys_are_run_or_submit_and_never_anonymous) {
  troupe::runtime rt{two_threads()};
  troupe::supervisor sup{rt};
  sup.run("r", code(waits_for_retirement));
  EXPECT_THROW(sup.submit("r", code("return 1")), troupe::error);
  auto f = sup.submit("s", code("return 1"));
  EXPECT_THROW(sup.run("s", code("return 1")), troupe::error);
  EXPECT_THROW(sup.run("x", troupe::job{}), std::invalid_argument);
  sup.set("r", 1);
  sup.set("s", 1);
  EXPECT_EQ(f.get(), value{1});
  sup.set("plain", 1);
  auto l = sup.try_acquire(1s);
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->key(), "plain");
  EXPECT_FALSE(sup.try_acquire(20ms).has_value());
  troupe::supervisor leases_only;
  EXPECT_THROW(leases_only.run("k", code("return 1")), troupe::error);
}

TEST(supervised_jobs,
     submit_runs_at_most_target_at_once_and_gets_every_result) {
  troupe::runtime rt{two_threads()};
  event_log log;
  troupe::supervisor sup{rt, log.sink()};
  sup.set("jobs", 2);
  std::vector<std::future<value>> results;
  for (int i = 0; i < 40; ++i)
    results.push_back(
      sup.submit("jobs",
                 code("local n = ... worker.sleep(0.001) return n * 2", {i})));
  for (int i = 0; i < 40; ++i) {
    ASSERT_EQ(results[i].wait_for(patience), std::future_status::ready);
    EXPECT_EQ(results[i].get(), value{2 * i});
  }
  int running = 0;
  int most = 0;
  for (const auto& e : log.all()) {
    if (e.kind == job_event_kind::started) most = std::max(most, ++running);
    if (e.kind == job_event_kind::exited || e.kind == job_event_kind::failed)
      --running;
  }
  EXPECT_EQ(most, 2);
}

TEST(supervised_jobs, a_failed_job_is_retried_then_fails_with_its_last_error) {
  troupe::runtime rt{two_threads()};
  event_log log;
  troupe::supervisor sup{rt, log.sink()};
  sup.set("k", 1);
  auto f = sup.submit("k", code("error('nope')"), {.retries = 2});
  ASSERT_EQ(f.wait_for(patience), std::future_status::ready);
  try {
    f.get();
    FAIL() << "no error";
  } catch (const troupe::script_error& e) {
    EXPECT_NE(e.message().find("nope"), std::string::npos);
  }
  EXPECT_EQ(log.count("k", job_event_kind::failed), 3u);
  auto missing = sup.submit("k", troupe::job{.path = "no/such/file.lua"},
                            {.retries = 1});
  EXPECT_THROW(missing.get(), troupe::error);
}

TEST(supervised_jobs, stop_resolves_queued_and_running_jobs_as_cancelled) {
  troupe::runtime rt{two_threads()};
  event_log log;
  troupe::supervisor sup{rt, log.sink()};
  sup.set("busy", 1);
  std::vector<std::future<value>> jobs;
  for (int i = 0; i < 5; ++i)
    jobs.push_back(sup.submit("busy", code("while true do end")));
  ASSERT_TRUE(log.wait_count("busy", job_event_kind::started, 1));
  sup.stop();
  for (auto& f : jobs) EXPECT_THROW(f.get(), troupe::cancelled_error);
  EXPECT_THROW(sup.submit("busy", code("return 1")), troupe::stopped_error);
}

TEST(supervised_jobs, a_runtime_that_stops_first_resolves_every_job) {
  auto rt = std::make_unique<troupe::runtime>(two_threads());
  troupe::supervisor sup{*rt};
  sup.set("k", 1);
  auto f = sup.submit("k", code("while true do end"));
  auto queued = sup.submit("k", code("return 1"));
  // The running job holds the key's one lease: a hand acquire must wait.
  ASSERT_TRUE(eventually([&] { return sup.counts("k").active == 1; }));
  std::exception_ptr waited;
  std::thread waiter{[&] {
    try {
      auto l = sup.acquire("k");
    } catch (...) {
      waited = std::current_exception();
    }
  }};
  EXPECT_TRUE(eventually([&] { return sup.waiting() == 1; }));
  rt.reset();
  EXPECT_THROW(f.get(), troupe::cancelled_error);
  EXPECT_THROW(queued.get(), troupe::cancelled_error);
  waiter.join();
  ASSERT_TRUE(waited) << "the waiter was granted a lease";
  EXPECT_THROW(std::rethrow_exception(waited), troupe::stopped_error);
  EXPECT_THROW(sup.try_acquire("k", 0ms), troupe::stopped_error);
}

TEST(supervised_jobs, events_queue_up_without_a_callback) {
  troupe::runtime rt{two_threads()};
  troupe::supervisor sup{rt};
  sup.set("k", 1);
  auto f = sup.submit("k", code("return 7"));
  EXPECT_EQ(f.get(), value{7});
  std::vector<job_event> seen;
  EXPECT_TRUE(eventually([&] {
    for (auto& e : sup.events()) seen.push_back(e);
    return seen.size() >= 2;
  }));
  EXPECT_EQ(seen[0].kind, job_event_kind::started);
  EXPECT_EQ(seen[1].kind, job_event_kind::exited);
  EXPECT_STREQ(to_string(seen[1].kind), "exited");
}

// Seeded fault injection: run and submit keys whose jobs fail at random for a
// couple of seconds while the targets move up and down.
TEST(supervised_jobs, seeded_fault_injection_keeps_every_promise) {
  std::mt19937 random{20261123};
  troupe::runtime rt{two_threads()};
  event_log log;
  troupe::supervisor sup{rt, log.sink()};
  // Each run draws its own fate (every state's random generator is seeded
  // apart); the test's own choices come from the seeded generator.
  const char* flaky = "while true do "
                      "local v, why = worker.peek(math.random() * 0.01) "
                      "if v == nil and why == nil then return 'retired' end "
                      "if math.random() < 0.2 then error('injected') end "
                      "end";
  std::uniform_int_distribution<int> seeds{1, 1 << 30};
  sup.run("workers", code(flaky), {.intensity = 1000000, .grace = 200ms});
  std::vector<std::future<value>> submitted;
  std::size_t targets_checked = 0;
  for (int round = 0; round < 60; ++round) {
    std::size_t target = std::uniform_int_distribution<std::size_t>{0,
                                                                    6}(random);
    sup.set("workers", target);
    EXPECT_LE(sup.counts("workers").active, target);
    sup.set("batch", std::uniform_int_distribution<std::size_t>{1, 4}(random));
    for (int i = 0; i < 5; ++i)
      submitted.push_back(sup.submit("batch",
                                     code("local seed = ... "
                                          "if math.random() < 0.3 then "
                                          "error('injected') end return seed",
                                          {seeds(random)}),
                                     {.retries = 20}));
    // Back at target promptly after each change, and never above it.
    EXPECT_TRUE(eventually([&] {
      auto c = sup.counts("workers");
      EXPECT_LE(c.active, c.target);
      return c.active == target;
    }))
      << "round " << round << " target " << target;
    ++targets_checked;
    // Let instances fail at this target before it moves again.
    if (target > 0) {
      auto failures = log.count("workers", job_event_kind::failed);
      EXPECT_TRUE(
        log.wait_count("workers", job_event_kind::failed, failures + 3));
    }
  }
  std::size_t resolved = 0;
  for (auto& f : submitted) {
    ASSERT_EQ(f.wait_for(patience), std::future_status::ready);
    EXPECT_TRUE(f.get().is_int());
    ++resolved;
  }
  sup.stop();
  EXPECT_EQ(resolved, submitted.size());
  EXPECT_EQ(targets_checked, 60u);
  // Permanent with zero backoff: every failure of an instance that was not
  // retired was restarted.
  std::size_t restartable = 0;
  for (const auto& e : log.all())
    if (e.key == "workers" && e.kind == job_event_kind::failed && !e.retired)
      ++restartable;
  EXPECT_GT(restartable, 0u);
  EXPECT_EQ(log.count("workers", job_event_kind::restarted), restartable);
}
