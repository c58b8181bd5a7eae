// troupe::supervisor: keyed concurrency targets, and script jobs supervised
// by key. Work is grouped by key (a tenant, an endpoint, a queue); each key has
// a target, the number of leases of it that may be held at once, changeable at
// run time. acquire() blocks until a key has room and returns a lease that
// holds one unit of it until released: a plain lock-based table, acquiring
// costs a mutex, not an actor round trip. On a runtime, run(key, job, policy)
// keeps `target` instances of a script alive, each holding a lease, and
// restarts the ones that end as an Erlang/OTP supervisor would; submit(key,
// job) queues jobs of which at most `target` run at once, retrying failures.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "troupe/bytecode.hpp"
#include "troupe/export.hpp"
#include "troupe/pool.hpp"
#include "troupe/runtime.hpp"
#include "troupe/value.hpp"

namespace troupe {

namespace detail {
class lease_table;
struct lease_key;
class job_keeper;
} // namespace detail

/// What a supervised instance runs: a script file (relative to the runtime's
/// base_dir) or, when `path` is empty, compiled `code`; `args` arrive as its
/// `...`, `limits` bound each run.
struct job {
  /// The script file; empty: run `code`.
  std::filesystem::path path{};
  /// The compiled script, when `path` is empty.
  bytecode code{};
  /// The chunk's `...`.
  std::vector<value> args{};
  /// Memory, instructions, time and inbox of each run.
  spawn_options limits{};
};

/// Which ends of an instance are followed by a restart.
enum class restart_mode {
  /// Always.
  permanent,
  /// After an error only (a normal return ends the instance's place).
  transient,
  /// Never.
  temporary
};

/// How a key's instances are restarted, and a submitted job retried.
struct restart_policy {
  /// When to restart (run keys).
  restart_mode mode = restart_mode::permanent;
  /// The first restart after a failure waits this long; each further one in a
  /// row twice as long, up to backoff_max. A normal end, or a failure after a
  /// run longer than backoff_max, starts the count again.
  std::chrono::nanoseconds backoff_min{0};
  /// See backoff_min.
  std::chrono::nanoseconds backoff_max{std::chrono::seconds{5}};
  /// Each delay varies at random by up to this fraction (0.1: ±10%).
  double jitter = 0.1;
  /// More than `intensity` restarts within `period`: the key is marked failed,
  /// no more restarts (event gave_up) until reset(key).
  std::size_t intensity = 10;
  /// See intensity.
  std::chrono::nanoseconds period{std::chrono::seconds{10}};
  /// Retries of a submitted job that failed (at-least-once: a job may run
  /// again after a failure that happened after its side effects).
  std::size_t retries = 3;
  /// When a lowered target retires instances: how long they have to finish
  /// (their peek gives nil) before they are cancelled.
  std::chrono::nanoseconds grace{std::chrono::seconds{1}};
};

/// What happened to an instance.
enum class job_event_kind { started, exited, failed, restarted, gave_up };

/// One event of a supervised key.
struct job_event {
  /// The key.
  std::string key;
  /// The instance (a worker id; 0 for gave_up).
  std::uint64_t instance = 0;
  /// What happened.
  job_event_kind kind = job_event_kind::started;
  /// Why, for failed (the error message) and gave_up.
  std::string reason;
  /// For exited and failed: the instance had been retired (its target was
  /// lowered), so its end is not followed by a restart.
  bool retired = false;
};

/// The name of an event kind ("started", ...).
TROUPE_API const char* to_string(job_event_kind kind) noexcept;

/// A key's target and how many of its leases are held.
struct key_counts {
  /// Leases of the key that may be held at once.
  std::size_t target = 0;
  /// Leases of the key held now (may exceed target after the target was
  /// lowered).
  std::size_t active = 0;
};

/// One unit of a key's target, held until released. Move-only; the destructor
/// releases.
class TROUPE_API lease {
public:
  /// An empty lease (holds nothing), as a moved-from one.
  lease() noexcept = default;
  lease(lease&& other) noexcept;
  lease& operator=(lease&& other) noexcept;
  lease(const lease&) = delete;
  lease& operator=(const lease&) = delete;
  /// Releases the lease if it is still held.
  ~lease();

  /// The key this lease holds a unit of; throws troupe::error on an empty
  /// lease.
  const std::string& key() const;
  /// A number unique among the leases of its supervisor (never 0 for a granted
  /// lease).
  std::uint64_t id() const noexcept {
    return id_;
  }
  /// True while the lease holds its unit (not released, not moved from).
  bool held() const noexcept {
    return key_ != nullptr;
  }
  /// Gives the unit back and wakes a waiter that can use it. Idempotent; fine
  /// after the supervisor stopped or was destroyed.
  void release() noexcept;

private:
  friend class supervisor;
  lease(std::shared_ptr<detail::lease_table> table, detail::lease_key* key,
        std::uint64_t id) noexcept;

  std::shared_ptr<detail::lease_table> table_;
  detail::lease_key* key_ = nullptr;
  std::uint64_t id_ = 0;
};

/// Keyed concurrency targets and supervised jobs (see the file comment).
/// Thread-safe.
class TROUPE_API supervisor {
public:
  /// A supervisor of leases only (run and submit throw troupe::error).
  supervisor();
  /// A supervisor on `rt`. Events queue up for events().
  explicit supervisor(runtime& rt);
  /// A supervisor on `rt` that hands each event to `on_event`, on the
  /// supervisor's own thread, with no lock of troupe's held (it may call the
  /// supervisor; it should return quickly).
  supervisor(runtime& rt, std::function<void(const job_event&)> on_event);
  supervisor(const supervisor&) = delete;
  supervisor& operator=(const supervisor&) = delete;
  /// Stops (see stop()); leases still held stay valid and may be released
  /// later.
  ~supervisor();

  /// Sets the target of `key`. When it returns the target holds: after set(k,
  /// 0) no lease of k is granted. Lowering never revokes held leases; raising
  /// wakes waiters at once. A key whose target is 0 goes away once none of its
  /// leases is held.
  void set(std::string_view key, std::size_t target);

  /// Blocks until some key is below its target and returns a lease of it. When
  /// several keys have room, grants rotate among them. Throws
  /// troupe::stopped_error once stopped.
  lease acquire();
  /// Blocks until `key` is below its target; waiters on one key are served in
  /// arrival order.
  lease acquire(std::string_view key);
  /// acquire() with a time limit: nullopt when nothing was granted in time.
  std::optional<lease> try_acquire(std::chrono::nanoseconds timeout);
  /// acquire(key) with a time limit: nullopt when nothing was granted in time.
  std::optional<lease> try_acquire(std::string_view key,
                                   std::chrono::nanoseconds timeout);

  /// The target and active count of `key` ({0, 0} for an unknown key).
  key_counts counts(std::string_view key) const;
  /// The keys that have a target or held leases.
  std::vector<std::string> keys() const;
  /// How many acquire calls are blocked now.
  std::size_t waiting() const;
  /// Wakes every waiter with troupe::stopped_error; no lease is granted
  /// afterwards. Supervised instances are cancelled and every submitted job
  /// not done fails with troupe::cancelled_error.
  void stop();

  /// Keeps set(key)'s target of instances of `job` running, each holding a
  /// lease of `key`, restarting them per `policy`. Raising the target starts
  /// instances at once; lowering it retires the newest ones (their lease is
  /// released, their peek gives nil, and they are cancelled after
  /// policy.grace). Calling run again replaces the job and policy for
  /// instances started later. Throws troupe::error for a key used by submit.
  void run(std::string_view key, job job, restart_policy policy = {});
  /// Queues `job` on `key`: at most the key's target run at once, in order; a
  /// failure is retried up to policy.retries times with backoff. The future
  /// holds the job's return value (nil, one value, or an array of several) or
  /// its last error; it resolves exactly once, with troupe::cancelled_error at
  /// stop. Throws troupe::error for a key used by run.
  std::future<value> submit(std::string_view key, job job,
                            restart_policy policy = {});
  /// Runs the jobs submitted to `key` on `p`'s workers instead of a fresh
  /// worker each: a Lua state is reused, so a job costs what a pool job costs.
  /// Each job sees fresh globals (the pool's isolation), its `args` as `...`
  /// and an empty `ctx`; `limits.timeout` is its timeout, the pool's memory
  /// limit and permissions apply (its other limits do not). The target,
  /// retries and events stay as for any key. Jobs that need a state of their
  /// own (a script that keeps state, waits for messages, spawns children)
  /// belong on a key without a pool. Call it before the key's first submit;
  /// the pool must outlive the key's jobs (after its shutdown they fail with
  /// troupe::stopped_error). Throws troupe::error for a key used by run.
  void use_pool(std::string_view key, pool& p);
  /// Clears a key's failed mark and its restart history; it refills to target.
  void reset(std::string_view key);
  /// Whether `key` gave up (too many restarts).
  bool failed(std::string_view key) const;
  /// Takes the events queued so far (when no callback was given), oldest
  /// first. At most 100,000 are kept; older ones are dropped first.
  std::vector<job_event> events();

private:
  std::optional<lease>
  acquire_until(const std::string* key,
                std::optional<std::chrono::steady_clock::time_point> deadline);

  detail::job_keeper& keeper() const;

  std::shared_ptr<detail::lease_table> table_;
  std::shared_ptr<detail::job_keeper> keeper_;
};

} // namespace troupe
