// troupe's scheduler: the threads that run the runtime's actors, in place of
// CAF's work-stealing coordinator. CAF's worker loop, as Debian builds it,
// spends about a tenth of a message hop on logger bookkeeping (a dynamic_cast
// and two hashed lookups per resume), allocates a queue node per wake-up, and
// an idle thread sleeps 50 µs between polls, which every wake-up from the host
// pays. Here a thread keeps a local deque: an actor woken by the one running
// goes to the front (it runs next, with warm caches), one that used up its
// turn goes to the back; after a time slice of serving the front, the back
// gets a turn (Go's scheduler lets a woken goroutine inherit the slice the
// same way). Idle threads steal from the back of others' queues,
// and block on a condition variable only while nothing is queued anywhere
// (every enqueue that finds a blocked thread signals one). So a thread stuck
// in a long C call never holds back the actors it woke.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/detail/thread_safe_actor_clock.hpp>
#include <caf/execution_unit.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

#include "actors/sets_no_timeouts.hpp"
#include "lua_vm/spin_lock.hpp"

namespace troupe::detail {

class scheduler;

/// How the scheduler's threads look for work and share it.
struct scheduler_settings {
  /// Rounds over the other threads' queues before an idle thread blocks
  /// (runtime_config::poll_attempts).
  std::size_t poll_attempts = 0;
  /// How long a thread may keep running actors woken by the ones it ran
  /// before the oldest job in its queue gets a turn
  /// (runtime_config::time_slice).
  std::chrono::nanoseconds fair_share{};
};

/// CAF's clock of delayed messages, less one call for troupe's many
/// short-lived actors: every actor that ends asks the clock to cancel its
/// timeouts, which wakes the clock's thread (a futex wake and a context
/// switch for each actor, a fifth of a short-lived worker's life on two
/// cores). Actors marked sets_no_timeouts skip it; the others (CAF's own, the
/// middleman's, a remote worker's stand-in, which makes requests) must not,
/// or their timeouts keep them alive.
class actor_clock final : public caf::detail::thread_safe_actor_clock {
public:
  /// Cancels unless `self` is marked sets_no_timeouts.
  void cancel_timeouts(caf::abstract_actor* self) override {
    if (dynamic_cast<sets_no_timeouts*>(self) == nullptr)
      thread_safe_actor_clock::cancel_timeouts(self);
  }
};

/// One scheduler thread: its queue and its loop.
class scheduler_thread final : public caf::execution_unit {
public:
  /// A thread of `owner`, not yet started.
  scheduler_thread(scheduler& owner, std::size_t index);

  /// Queues `job`, woken by the actor this thread runs, to run next.
  void exec_later(caf::resumable* job) override;

  /// Queues `job` behind what this thread already has.
  void push_back(caf::resumable* job);

  /// The oldest job of this thread, for another thread to run; or nullptr.
  caf::resumable* steal();

  /// Starts the OS thread.
  void start();

  /// Waits for the OS thread to end (after scheduler::stop asked it to).
  void join();

  /// Hands every job still queued to `f` (after join); returns how many.
  /// What `f` queues meanwhile (an actor it releases may send on its way
  /// out) waits for the next drain.
  template<class F>
  std::size_t drain(F f) {
    std::deque<caf::resumable*> jobs;
    {
      std::lock_guard guard{lock_};
      jobs.swap(queue_);
    }
    for (auto* job : jobs) f(job);
    return jobs.size();
  }

  /// Counts the start and the end of every job this thread runs: odd while
  /// it is inside one. Others read it to see a thread stuck in a long call.
  std::uint64_t progress() const noexcept {
    return progress_.load(std::memory_order_relaxed);
  }

private:
  void run();
  caf::resumable* take_local();
  bool streak_used_up() noexcept;
  caf::resumable* next_job();
  /// Takes the queued jobs of any other thread that has been inside one job
  /// for two time slices (a long C call): they would wait behind it however
  /// busy this thread is, since only an idle thread steals.
  void rescue_stuck();

  /// What this thread last saw of another one's progress, and since when.
  struct sighting {
    std::uint64_t progress = 0;
    std::chrono::steady_clock::time_point since{};
  };

  scheduler& owner_;
  std::size_t index_;
  spin_lock lock_;
  std::deque<caf::resumable*> queue_;
  alignas(64) std::atomic<std::uint64_t> progress_{0};
  std::vector<sighting> sightings_;
  /// Since when this thread has served only woken actors from the front (two
  /// that keep waking each other would starve the rest); read every
  /// `streak_check` takes, and unset while the queue runs empty.
  std::chrono::steady_clock::time_point streak_began_{};
  std::size_t front_takes_ = 0;
  std::thread thread_;
};

/// The coordinator CAF's actor system runs its actors with (loaded as the
/// system's scheduler module).
class scheduler final : public caf::scheduler::abstract_coordinator {
public:
  /// A scheduler for `system` (threads from "scheduler.max-threads").
  scheduler(caf::actor_system& system, scheduler_settings settings);
  ~scheduler() override;

  /// Queues `job` from outside the scheduler's threads (round robin).
  void enqueue(caf::resumable* job) override;

  /// The clock of delayed sends.
  caf::actor_clock& clock() noexcept override;

  /// Starts the threads and the clock.
  void start() override;

  /// Stops the threads (all actors have ended), then the clock.
  void stop() override;

  /// Threads blocked for lack of work.
  int blocked_threads() const noexcept {
    return sleepers_.load();
  }

private:
  friend class scheduler_thread;

  /// Signals a blocked thread, if any, that work was queued.
  void wake_one();
  /// Blocks the calling thread while nothing is queued. False once the
  /// scheduler stops.
  bool idle_wait();
  /// A job stolen from a thread other than `thief`, or nullptr.
  caf::resumable* steal_for(std::size_t thief);

  scheduler_settings settings_;
  std::vector<std::unique_ptr<scheduler_thread>> threads_;
  std::atomic<std::size_t> queued_{0};
  std::atomic<int> sleepers_{0};
  std::mutex sleep_mutex_;
  std::condition_variable sleep_cv_;
  std::uint64_t wake_epoch_ = 0;
  bool stopping_ = false;
  actor_clock clock_;
  std::thread clock_thread_;
};

} // namespace troupe::detail
