// troupe's scheduler (see scheduler.hpp).
#include "actors/scheduler.hpp"

#include <pthread.h>

namespace troupe::detail {

namespace {

// Idle rounds that spin on the CPU before the rest yield it.
constexpr std::size_t spin_rounds = 64;

// Takes from the front between two looks at the clock.
constexpr std::size_t streak_check = 64;

} // namespace

scheduler_thread::scheduler_thread(scheduler& owner, std::size_t index)
    : caf::execution_unit(&owner.system()), owner_(owner), index_(index) {}

void scheduler_thread::exec_later(caf::resumable* job) {
  {
    std::lock_guard guard{lock_};
    queue_.push_front(job);
    owner_.queued_.fetch_add(1);
  }
  owner_.wake_one();
}

void scheduler_thread::push_back(caf::resumable* job) {
  {
    std::lock_guard guard{lock_};
    queue_.push_back(job);
    owner_.queued_.fetch_add(1);
  }
  owner_.wake_one();
}

caf::resumable* scheduler_thread::steal() {
  std::lock_guard guard{lock_};
  if (queue_.empty()) return nullptr;
  auto* job = queue_.back();
  queue_.pop_back();
  owner_.queued_.fetch_sub(1);
  return job;
}

caf::resumable* scheduler_thread::take_local() {
  std::lock_guard guard{lock_};
  if (queue_.empty()) {
    streak_began_ = {};
    front_takes_ = 0;
    return nullptr;
  }
  caf::resumable* job;
  if (++front_takes_ == streak_check && streak_used_up()) {
    job = queue_.back();
    queue_.pop_back();
  } else {
    job = queue_.front();
    queue_.pop_front();
  }
  owner_.queued_.fetch_sub(1);
  return job;
}

bool scheduler_thread::streak_used_up() noexcept {
  front_takes_ = 0;
  auto now = std::chrono::steady_clock::now();
  if (streak_began_ == std::chrono::steady_clock::time_point{}) {
    streak_began_ = now;
    return false;
  }
  if (now - streak_began_ < owner_.settings_.fair_share) return false;
  // The next streak is timed from its own first check, not from before the
  // job about to run from the back.
  streak_began_ = {};
  return true;
}

caf::resumable* scheduler_thread::next_job() {
  for (;;) {
    if (auto* job = take_local()) return job;
    // At least one look before blocking: a job queued at a thread that
    // sleeps is found only by stealing it.
    for (std::size_t round = 0;; ++round) {
      if (owner_.queued_.load(std::memory_order_relaxed) > 0)
        if (auto* job = owner_.steal_for(index_)) return job;
      if (round >= owner_.settings_.poll_attempts) break;
      // A short spin catches the hand-offs of actors that talk to each other;
      // past it, yielding lets the host's threads (and anything else on the
      // machine) have the CPU while this one still answers within
      // microseconds.
      if (round < spin_rounds)
        cpu_pause();
      else
        std::this_thread::yield();
    }
    if (!owner_.idle_wait()) return nullptr;
  }
}

void scheduler_thread::rescue_stuck() {
  for (auto& other : owner_.threads_) {
    if (other.get() == this) continue;
    std::uint64_t seen = other->progress();
    sighting& s = sightings_[other->index_];
    // Between jobs, or on to another job since the last look: not stuck. The
    // clock is read only for a thread found inside the same job twice.
    if ((seen & 1) == 0 || seen != s.progress) {
      s.progress = seen;
      s.since = {};
      continue;
    }
    auto now = std::chrono::steady_clock::now();
    if (s.since == std::chrono::steady_clock::time_point{}) {
      s.since = now;
      continue;
    }
    if (now - s.since < 2 * owner_.settings_.fair_share) continue;
    while (auto* job = other->steal()) {
      std::lock_guard guard{lock_};
      queue_.push_front(job);
      owner_.queued_.fetch_add(1);
    }
  }
}

void scheduler_thread::run() {
  owner_.system().thread_started();
  pthread_setname_np(pthread_self(), "troupe.worker");
  sightings_.resize(owner_.threads_.size());
  const std::size_t throughput = owner_.max_throughput();
  std::size_t since_look = 0;
  while (auto* job = next_job()) {
    progress_.fetch_add(1, std::memory_order_relaxed);
    auto outcome = job->resume(this, throughput);
    progress_.fetch_add(1, std::memory_order_relaxed);
    switch (outcome) {
      case caf::resumable::resume_later: push_back(job); break;
      case caf::resumable::awaiting_message:
      case caf::resumable::done:
      case caf::resumable::shutdown_execution_unit:
        caf::intrusive_ptr_release(job);
        break;
    }
    // A preempted script (resume_later) has used a time slice: look then, and
    // every streak_check jobs otherwise.
    if (outcome == caf::resumable::resume_later
        || ++since_look == streak_check) {
      since_look = 0;
      rescue_stuck();
    }
  }
  owner_.system().thread_terminates();
}

void scheduler_thread::start() {
  thread_ = std::thread{[this] { run(); }};
}

void scheduler_thread::join() {
  thread_.join();
}

scheduler::scheduler(caf::actor_system& system, scheduler_settings settings)
    : caf::scheduler::abstract_coordinator(system), settings_(settings) {}

scheduler::~scheduler() = default;

void scheduler::enqueue(caf::resumable* job) {
  threads_[next_worker_.fetch_add(1) % threads_.size()]->push_back(job);
}

caf::actor_clock& scheduler::clock() noexcept {
  return clock_;
}

void scheduler::start() {
  for (std::size_t i = 0; i < num_workers(); ++i)
    threads_.push_back(std::make_unique<scheduler_thread>(*this, i));
  for (auto& t : threads_) t->start();
  clock_thread_ = std::thread{[this] {
    system().thread_started();
    clock_.run_dispatch_loop();
    system().thread_terminates();
  }};
  abstract_coordinator::start();
}

void scheduler::stop() {
  {
    std::lock_guard lock{sleep_mutex_};
    stopping_ = true;
  }
  sleep_cv_.notify_all();
  for (auto& t : threads_) t->join();
  stop_actors();
  // The clock first: a delayed message it fires (the middleman's heartbeat
  // ticks, every 200 ms) enqueues its receiver, and a job queued after the
  // drain would keep its actor forever.
  clock_.cancel_dispatch_loop();
  clock_thread_.join();
  // Until nothing is left: releasing an actor may queue others (its
  // monitors' downs, its last messages).
  for (std::size_t drained = 1; drained > 0;) {
    drained = 0;
    for (auto& t : threads_) drained += t->drain(&cleanup_and_release);
  }
}

void scheduler::wake_one() {
  // Pairs with idle_wait: a thread counts itself a sleeper before it looks
  // at queued_ one last time, an enqueuer counts its job before it looks at
  // sleepers_, so one of the two always sees the other.
  if (sleepers_.load() == 0) return;
  {
    std::lock_guard lock{sleep_mutex_};
    ++wake_epoch_;
  }
  sleep_cv_.notify_one();
}

bool scheduler::idle_wait() {
  std::unique_lock lock{sleep_mutex_};
  if (stopping_) return false;
  const std::uint64_t epoch = wake_epoch_;
  sleepers_.fetch_add(1);
  if (queued_.load() == 0)
    sleep_cv_.wait(lock, [&] { return stopping_ || wake_epoch_ != epoch; });
  sleepers_.fetch_sub(1);
  return !stopping_;
}

caf::resumable* scheduler::steal_for(std::size_t thief) {
  const std::size_t n = threads_.size();
  for (std::size_t k = 1; k <= n; ++k)
    if (auto* job = threads_[(thief + k) % n]->steal()) return job;
  return nullptr;
}

} // namespace troupe::detail
