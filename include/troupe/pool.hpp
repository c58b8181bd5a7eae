// troupe::pool: runs precompiled scripts as jobs on a fixed set of worker
// actors, each owning one Lua state. A job is a troupe::bytecode plus a
// troupe::context, which the script sees as its global `ctx`; its return
// value comes back as a troupe::value. Jobs are isolated from each other (each
// sees fresh globals and untouched libraries), bounded in time (a timeout or a
// stop request ends even `while true do end`) and in memory, and a worker
// stuck inside one long C call is replaced. Safe to use from many threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <future>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "troupe/bytecode.hpp"
#include "troupe/export.hpp"
#include "troupe/value.hpp"

namespace troupe {

class runtime;

namespace detail {
class pool_core;
} // namespace detail

/// What a job is given: named values the script reads as its global table
/// `ctx` (`ctx.message`, `ctx.params.id`).
class TROUPE_API context {
public:
  /// An empty context (`ctx` is an empty table).
  context();

  /// Stores `v` under `key` (nil removes the key); returns *this.
  context& set(std::string_view key, value v);
  /// The value under `key`; nil when absent.
  const value& get(std::string_view key) const;
  /// Every entry, as a map value.
  const value& values() const noexcept {
    return values_;
  }

private:
  value values_;
};

/// How a pool runs.
struct pool_config {
  /// Worker actors, each with its own Lua state; 0 throws
  /// std::invalid_argument.
  std::size_t workers = 1;
  /// The time limit of a job that gives none, from its submission to its end
  /// (time spent queued counts); zero: none.
  std::chrono::nanoseconds timeout{0};
  /// Bytes each worker's Lua state may hold (0: no cap). A job that needs more
  /// fails with troupe::limit_error.
  std::size_t memory_limit = 0;
  /// Jobs waiting for a worker. When it is full, submit() waits for room and
  /// submit_async() throws troupe::limit_error at once.
  std::size_t queue_limit = 100000;
  /// Distinct bytecode whose loaded function each worker keeps (least recently
  /// used goes first).
  std::size_t cache_size = 64;
  /// What jobs may do, as runtime_config::permissions names it (relative
  /// scopes and paths resolve against the runtime's base_dir). Default: none.
  /// A job that requires a module gets a fresh state afterwards, so modules
  /// are not shared between jobs.
  std::vector<std::string> permissions{};
  /// How long a worker may take to let go of a job ended from outside (its
  /// timeout, a stop request, shutdown_now) before it counts as stuck in a long
  /// C call and is replaced.
  std::chrono::milliseconds replace_after{100};
};

/// Per-job options of submit_async.
struct submit_options {
  /// The job's time limit from submission; zero: the pool's default.
  std::chrono::nanoseconds timeout{0};
  /// A stop request ends the job (queued or running); its future then fails
  /// with troupe::cancelled_error.
  std::stop_token stop{};
};

/// Counters of a pool. Every submitted job ends up in exactly one of
/// completed, failed, timed_out and cancelled, or is still queued or running.
struct pool_stats {
  /// Jobs accepted.
  std::size_t submitted = 0;
  /// Jobs that returned a value.
  std::size_t completed = 0;
  /// Jobs that raised an error or hit a memory limit.
  std::size_t failed = 0;
  /// Jobs that ran out of time.
  std::size_t timed_out = 0;
  /// Jobs ended by a stop request or shutdown_now().
  std::size_t cancelled = 0;
  /// Jobs waiting for a worker now.
  std::size_t queued = 0;
  /// Callers of submit() waiting now for room in a full queue.
  std::size_t blocked_submitters = 0;
  /// Workers replaced because they stayed stuck in a job that had ended (a long
  /// C call) or failed.
  std::size_t replaced = 0;
  /// Bytes the workers' Lua states held after their last job.
  std::size_t memory = 0;
};

/// Runs compiled scripts as isolated, bounded jobs on a fixed set of worker
/// actors. Thread-safe.
class TROUPE_API pool {
public:
  /// A pool of `workers` workers on `rt`; 0 throws std::invalid_argument.
  pool(runtime& rt, std::size_t workers);
  /// A pool configured by `config`. Throws std::invalid_argument for 0 workers
  /// or a memory_limit too small for a Lua state.
  pool(runtime& rt, pool_config config);
  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;
  /// Calls shutdown().
  ~pool();

  /// Runs `chunk` with `ctx` and waits for its result: nil for no return
  /// value, the value for one, an array for several. Throws
  /// troupe::script_error (message and traceback) when it raises,
  /// troupe::timeout_error past the pool's default timeout,
  /// troupe::limit_error past the memory limit, troupe::stopped_error after
  /// shutdown, std::invalid_argument for an empty bytecode.
  value submit(const bytecode& chunk, const context& ctx = {});
  /// submit() with its own time limit.
  value submit(const bytecode& chunk, const context& ctx,
               std::chrono::nanoseconds timeout);
  /// Queues the job and returns its future, which holds the result or one of
  /// the errors submit() throws (troupe::cancelled_error after a stop request
  /// or shutdown_now()). A timed-out or cancelled job's future fails at its
  /// deadline even when the script is stuck in a long C call. Throws
  /// troupe::limit_error when the queue is full, and what submit() throws for a
  /// stopped pool or an empty bytecode.
  std::future<value> submit_async(const bytecode& chunk,
                                  const context& ctx = {},
                                  submit_options options = {});

  /// Takes no new jobs (a later submit throws troupe::stopped_error), lets the
  /// queued and running ones finish, then stops the workers. Waits for all of
  /// that. Idempotent.
  void shutdown();
  /// Takes no new jobs, fails the queued and running ones with
  /// troupe::cancelled_error (a running script is stopped at its next
  /// instruction), then stops the workers. Idempotent.
  void shutdown_now();

  /// Workers alive and serving the pool.
  std::size_t active_workers() const;
  /// Workers running a job now.
  std::size_t busy_workers() const;
  /// Counters.
  pool_stats stats() const;

private:
  // A supervisor's keys run their jobs on a pool (supervisor::use_pool).
  friend class supervisor;

  std::shared_ptr<detail::pool_core> core_;
};

} // namespace troupe
