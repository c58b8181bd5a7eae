// The shared state behind troupe::pool: the job queue, the worker slots, the
// watchdog and the counters, all under one mutex. A job moves new -> queued ->
// running -> done; whoever moves it to done (its worker, the watchdog at its
// deadline, a stop request, shutdown_now) settles its future, exactly once,
// after the mutex is released. Workers are actors (pool_worker) that take jobs
// while there are any and park in the idle list when there are none; submit
// wakes one idle worker with a message. One watchdog thread fails jobs at
// their deadline, also while a script is stuck in a C call, and replaces a
// worker that stays stuck after its job has ended.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "actors/runtime_core.hpp"
#include "lua_vm/job_runner.hpp"
#include "troupe/pool.hpp"

namespace troupe::detail {

class pool_core;
struct pool_job;

/// A stop request for one job (the callback of its std::stop_token).
struct pool_stop_request {
  std::weak_ptr<pool_core> core;
  std::weak_ptr<pool_job> job;
  void operator()() const noexcept;
};

/// One job and its future.
struct pool_job : std::enable_shared_from_this<pool_job> {
  /// Where a job is; guarded by pool_core's mutex.
  enum class phase : std::uint8_t { fresh, queued, running, done };

  /// Where a job's end goes instead of its promise (a supervised job):
  /// `result` for a value, else `error`.
  using done_function = std::function<void(value* result,
                                           std::exception_ptr error)>;

  bytecode chunk;
  std::string ctx;
  /// The chunk's `...`, encoded as an array (empty: none).
  std::string args;
  std::chrono::nanoseconds timeout{0};
  lua_vm::clock::time_point deadline = lua_vm::clock::time_point::max();
  /// Where the end goes unless `done` is set (a supervised job has none).
  std::optional<std::promise<value>> promise;
  phase where = phase::fresh;
  struct pool_slot* running_on = nullptr;
  /// Reset (outside the mutex) by whoever drops the job from the pool.
  std::optional<std::stop_callback<pool_stop_request>> on_stop;
  /// When set, the end goes here rather than to `promise` (it must not
  /// throw).
  done_function done;

  /// Ends the job with `v` (once, by whoever moved it to done).
  void resolve(value v);
  /// Ends the job with `e`.
  void reject(std::exception_ptr e);
};

/// One worker actor as the pool sees it; guarded by the mutex unless noted.
struct pool_slot {
  actor_ref actor;
  /// The running job's stop flag, read by the state's hook.
  std::shared_ptr<std::atomic<bool>>
    cancel = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<pool_job> job;
  bool idle = false;
  /// Replaced while stuck: it quits once its job returns.
  bool abandoned = false;
  /// When to see whether a worker whose job was ended from outside let go.
  lua_vm::clock::time_point stuck_check = lua_vm::clock::time_point::max();
  /// Bytes its state held after its last job (written by the worker alone).
  std::atomic<std::size_t> memory{0};
};

/// The pool's queue, slots, watchdog and counters under one mutex; each job
/// settled exactly once (see the file comment).
class pool_core : public runtime_service,
                  public std::enable_shared_from_this<pool_core> {
public:
  /// Checks `config` (throws std::invalid_argument); start() spawns the
  /// workers.
  pool_core(std::shared_ptr<runtime_core> rt, pool_config config);
  ~pool_core() override;

  /// Spawns the workers and the watchdog, and registers with the runtime.
  void start();

  /// Queues a job; see pool::submit_async. `wait`: wait for room in a full
  /// queue instead of throwing.
  std::future<value> submit(const bytecode& chunk, std::string ctx,
                            std::chrono::nanoseconds timeout,
                            const std::stop_token& stop, bool wait);
  /// Queues a job of `chunk` with `args` (its `...`, encoded) and an empty
  /// ctx whose end goes to `done` (called on the thread that ends it, with no
  /// lock of the pool's held); returns the job (for cancel). Throws as
  /// submit does, limit_error at once when the queue is full.
  std::shared_ptr<pool_job> submit_then(const bytecode& chunk, std::string args,
                                        std::chrono::nanoseconds timeout,
                                        pool_job::done_function done);
  /// Ends a job that is not done yet with cancelled_error.
  void cancel(pool_job& job);

  /// See pool::shutdown.
  void shutdown();
  /// See pool::shutdown_now.
  void shutdown_now();
  void runtime_stopping() noexcept override;

  /// How values carry the runtime's handles (ctx in, results out).
  const serialization::value_handles& handles() const noexcept {
    return rt_->value_handles();
  }
  /// Workers serving the pool.
  std::size_t active_workers() const;
  /// Workers running a job.
  std::size_t busy_workers() const;
  /// Counters.
  pool_stats stats() const;

  // The worker actors' side.

  /// What a worker's job runner is made with, stopped by `cancel`.
  lua_vm::job_runner_config
  runner_config(std::shared_ptr<std::atomic<bool>> cancel) const;
  /// How long a worker runs jobs before it lets other actors have its thread.
  lua_vm::clock::duration time_slice() const noexcept {
    return rt_->config.time_slice;
  }
  /// The next job for `slot`, or nullptr: then the slot is idle (a message
  /// will wake it) or, when `quit` is set, it must stop.
  std::shared_ptr<pool_job> take(pool_slot& slot, bool& quit);
  /// The job `slot` ran has ended with `outcome`. Returns false when the
  /// worker must stop.
  bool finish(pool_slot& slot, pool_job& job, lua_vm::job_outcome& outcome);
  /// The worker of `slot` has exited.
  void worker_exited(pool_slot& slot) noexcept;

private:
  enum class mode : std::uint8_t { running, draining, stopping };
  using clock = lua_vm::clock;
  using lock = std::unique_lock<std::mutex>;

  struct settlement {
    std::shared_ptr<pool_job> job;
    std::exception_ptr error;
  };

  // A job of `chunk` with its deadline, not queued yet.
  std::shared_ptr<pool_job> make_job(const bytecode& chunk,
                                     std::chrono::nanoseconds timeout) const;
  // Queues `job` (see submit).
  void enqueue(const std::shared_ptr<pool_job>& job, bool wait);
  void spawn_worker();
  void end_from_outside(pool_job& job, clock::time_point now);
  void drop_deadline(pool_job& job);
  void cancel_all(std::vector<settlement>& done,
                  std::deque<std::shared_ptr<pool_job>>& dropped);
  settlement expire(pool_job& job, clock::time_point now);
  void stop(bool cancel_jobs);
  void watch();
  clock::time_point next_wake() const;
  std::size_t serving() const;
  static void settle(std::vector<settlement>& done);

  std::shared_ptr<runtime_core> rt_;
  const pool_config config_;
  lua_vm::permission_set permissions_;

  mutable std::mutex mutex_;
  std::condition_variable room_;
  std::condition_variable workers_gone_;
  std::condition_variable watchdog_wake_;
  std::deque<std::shared_ptr<pool_job>> queue_;
  std::size_t queued_ = 0;
  std::size_t blocked_submitters_ = 0;
  std::vector<pool_slot*> idle_;
  std::vector<std::unique_ptr<pool_slot>> slots_;
  // Jobs with a deadline that are queued or running (so alive).
  std::set<std::pair<clock::time_point, pool_job*>> deadlines_;
  mode mode_ = mode::running;
  bool watchdog_stop_ = false;
  std::thread watchdog_;
  pool_stats counts_;
};

} // namespace troupe::detail
