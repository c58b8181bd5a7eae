// detail::scheduler on its own, with plain jobs instead of actors (so it runs
// under ThreadSanitizer too): jobs queued from four outside threads, jobs that
// queue more jobs on their thread (exec_later), jobs that take several turns
// (resume_later); every turn runs exactly once, and the system then stops; a
// job queued behind one stuck in a long call is taken by the other thread even
// though that one is never idle.
#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/execution_unit.hpp>
#include <caf/ref_counted.hpp>
#include <caf/resumable.hpp>

#include "actors/scheduler.hpp"
#include "wait_support.hpp"

namespace {

// A resumable the scheduler holds by reference count, as it holds actors.
class counted : public caf::resumable, public caf::ref_counted {
public:
  void intrusive_ptr_add_ref_impl() override {
    ref();
  }

  void intrusive_ptr_release_impl() override {
    deref();
  }
};

struct tally {
  std::atomic<long> turns{0};
  std::atomic<long> finished{0};
};

// Takes `turns` turns; on its first, queues `children` more jobs of one turn
// on the thread that runs it.
class job final : public counted {
public:
  job(tally& t, int turns, int children)
      : tally_(t), turns_(turns), children_(children) {}

  resume_result resume(caf::execution_unit* unit, std::size_t) override {
    tally_.turns.fetch_add(1);
    for (; children_ > 0; --children_) unit->exec_later(new job(tally_, 1, 0));
    if (--turns_ > 0) return resume_later;
    tally_.finished.fetch_add(1);
    return done;
  }

private:
  tally& tally_;
  int turns_;
  int children_;
};

caf::actor_system_config with_troupe_scheduler() {
  caf::actor_system_config config;
  config.set("scheduler.max-threads", 2);
  config.set("scheduler.max-throughput", 1);
  config.module_factories.emplace_back(
    [](caf::actor_system& system) -> caf::actor_system::module* {
      return new troupe::detail::scheduler(system, {64});
    });
  return config;
}

} // namespace

TEST(scheduler_core, every_turn_of_every_job_runs_once) {
  constexpr int threads = 4;
  constexpr int per_thread = 5000;
  // Per outside job: 3 turns of its own and 2 children of one turn.
  constexpr long expected_jobs = threads * per_thread * 3L;
  constexpr long expected_turns = threads * per_thread * 5L;
  tally t;
  auto config = with_troupe_scheduler();
  {
    caf::actor_system system{config};
    std::vector<std::thread> producers;
    for (int p = 0; p < threads; ++p)
      producers.emplace_back([&] {
        for (int i = 0; i < per_thread; ++i)
          system.scheduler().enqueue(new job(t, 3, 2));
      });
    for (auto& p : producers) p.join();
    EXPECT_TRUE(troupe::test::eventually(
      [&] { return t.finished.load() == expected_jobs; }));
  }
  EXPECT_EQ(t.turns.load(), expected_turns);
  EXPECT_EQ(t.finished.load(), expected_jobs);
}

TEST(scheduler_core, threads_blocked_for_lack_of_work_wake_for_more) {
  tally t;
  auto config = with_troupe_scheduler();
  caf::actor_system system{config};
  auto& scheduler = static_cast<troupe::detail::scheduler&>(system.scheduler());
  for (long round = 1; round <= 50; ++round) {
    ASSERT_TRUE(troupe::test::eventually(
      [&] { return scheduler.blocked_threads() == 2; }));
    system.scheduler().enqueue(new job(t, 1, round % 2 == 0 ? 3 : 0));
    ASSERT_TRUE(troupe::test::eventually(
      [&] { return t.finished.load() == round + 3 * (round / 2); }));
  }
}

namespace {

// Takes turns (resume_later) until `stop` is set: preemptible work that keeps
// its thread from ever going idle.
class spinner final : public counted {
public:
  spinner(std::atomic<bool>& stop, std::atomic<long>& turns)
      : stop_(stop), turns_(turns) {}

  resume_result resume(caf::execution_unit*, std::size_t) override {
    turns_.fetch_add(1);
    return stop_.load() ? done : resume_later;
  }

private:
  std::atomic<bool>& stop_;
  std::atomic<long>& turns_;
};

// Queues `behind` on its own thread (as an actor waking another does), then
// holds the thread until `release` is set (a long C call).
class stuck final : public counted {
public:
  stuck(caf::resumable* behind, std::atomic<bool>& holding,
        std::atomic<bool>& release)
      : behind_(behind), holding_(holding), release_(release) {}

  resume_result resume(caf::execution_unit* unit, std::size_t) override {
    unit->exec_later(behind_);
    holding_ = true;
    while (!release_.load()) std::this_thread::yield();
    return done;
  }

private:
  caf::resumable* behind_;
  std::atomic<bool>& holding_;
  std::atomic<bool>& release_;
};

} // namespace

TEST(scheduler_core, a_job_queued_behind_a_stuck_one_runs_beside_busy_threads) {
  tally t;
  std::atomic<bool> stop{false};
  std::atomic<bool> holding{false};
  std::atomic<bool> release{false};
  std::atomic<long> turns[2] = {0, 0};
  auto config = with_troupe_scheduler();
  {
    caf::actor_system system{config};
    // Round robin: one spinner a thread, then the stuck job behind the first.
    system.scheduler().enqueue(new spinner(stop, turns[0]));
    system.scheduler().enqueue(new spinner(stop, turns[1]));
    ASSERT_TRUE(troupe::test::eventually(
      [&] { return turns[0].load() > 0 && turns[1].load() > 0; }));
    system.scheduler().enqueue(new stuck(new job(t, 1, 0), holding, release));
    ASSERT_TRUE(troupe::test::eventually([&] { return holding.load(); }));
    // Neither thread is ever idle; the job behind the stuck one must be taken
    // by the other while it is still stuck.
    EXPECT_TRUE(
      troupe::test::eventually([&] { return t.finished.load() == 1; }));
    release = true;
    stop = true;
  }
  EXPECT_EQ(t.finished.load(), 1);
}
