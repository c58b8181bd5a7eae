// The supervisor's second layer: it keeps a key's target of script instances
// running (run) or feeds a key's queue of jobs to at most target workers at
// once (submit). Each instance is a host worker holding a lease of its key;
// its end comes back through spawn_request::on_end. Every decision is taken
// under the keeper's mutex, mostly on its own thread (ends, reset and the
// timers of backoff wake it; a target change decides on the caller's thread,
// so extras are retired before set returns). A decision to start an instance
// takes its lease at once and becomes a launch: the keeper's thread resolves
// and compiles the script and spawns the worker with no lock held, then
// records the instance. Events are handed out afterwards, with no lock held.
#pragma once

#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "actors/lease_table.hpp"
#include "actors/pool_core.hpp"
#include "actors/runtime_core.hpp"
#include "troupe/supervisor.hpp"

namespace troupe::detail {

/// Keeps each supervised key's instances running, or its submitted jobs
/// fed to at most its target of workers.
class job_keeper : public runtime_service,
                   public std::enable_shared_from_this<job_keeper> {
public:
  /// Keeps jobs on `rt`, leasing from `table`; `on_event` (may be empty: the
  /// events are queued) gets every event on the keeper's thread.
  job_keeper(std::shared_ptr<runtime_core> rt,
             std::shared_ptr<lease_table> table,
             std::function<void(const job_event&)> on_event);
  ~job_keeper() override;

  /// Registers with the runtime and starts the thread.
  void start();

  /// See supervisor::run.
  void run(std::string_view key, job j, const restart_policy& policy);
  /// See supervisor::submit.
  std::future<value> submit(std::string_view key, job j,
                            const restart_policy& policy);
  /// See supervisor::use_pool.
  void use_pool(std::string_view key, std::shared_ptr<pool_core> pool);
  /// Sets the target of `key` when it is a supervised key, acting on it at
  /// once (extras are retired before this returns); false for other keys.
  bool set_target(std::string_view key, std::size_t target);
  /// See supervisor::reset.
  void reset(std::string_view key);
  /// See supervisor::failed.
  bool failed(std::string_view key) const;
  /// See supervisor::events.
  std::vector<job_event> events();
  /// Stops the lease table, cancels every instance, fails every unfinished
  /// submission, stops the thread. Idempotent.
  void stop() noexcept;
  void runtime_stopping() noexcept override;

private:
  using clock = std::chrono::steady_clock;

  struct submission {
    job work;
    std::promise<value> promise;
    std::size_t attempts = 0;
  };

  struct instance {
    child_link link; // a worker's
    std::shared_ptr<pool_job> pooled; // or a pool's job
    lease_key* lease = nullptr;
    std::shared_ptr<submission> work;
    bool retiring = false;
    clock::time_point started = clock::now();
  };

  struct key_state {
    bool submits = false;
    std::shared_ptr<const job> work; // run keys
    lease_key* lease = nullptr; // the key's leases, once one was granted
    restart_policy policy;
    std::map<std::uint64_t, instance> running; // by id: newest last
    std::size_t waiting_restarts = 0; // delayed by backoff
    std::size_t due_restarts = 0; // to start now
    std::size_t ended_for_good = 0; // places the policy gave up
    std::size_t streak = 0; // failures in a row
    std::size_t starting = 0; // launches not recorded yet
    std::size_t abandoned = 0; // of those, retired before they were recorded
    std::deque<clock::time_point> restarts;
    bool failed = false;
    std::deque<std::shared_ptr<submission>> queue;
    std::shared_ptr<pool_core> pool; // submit keys: where jobs run, if set
  };

  // An instance's end: a worker's (`end`), or a pool job's (`pooled`: its
  // `result`, or `error`).
  struct ended {
    std::string key;
    std::uint64_t id;
    lua_vm::child_end end;
    bool pooled = false;
    value result;
    std::exception_ptr error;
  };

  struct timer {
    std::string key;
    std::shared_ptr<submission> retry; // nullptr: a restart
  };

  // An instance decided on, holding its lease, not started yet.
  struct launch {
    std::string key;
    std::shared_ptr<const job> work;
    std::shared_ptr<submission> submitted; // nullptr: an instance of a run key
    lease_key* lease;
    job_event_kind kind;
    std::shared_ptr<pool_core> pool;
    std::uint64_t number = 0; // a pool job's instance number
  };

  // What starting a launch gave.
  struct launched {
    child_link link;
    std::shared_ptr<pool_job> pooled;
    worker_id id = 0;
    std::exception_ptr error; // nullptr: started
  };

  struct outcome {
    std::shared_ptr<submission> work;
    std::exception_ptr error; // nullptr: `result`
    value result;
  };

  key_state& claim(std::string_view key, bool submits);
  void loop();
  void reconcile(const std::string& name, key_state& k);
  bool plan_start(const std::string& name, key_state& k,
                  std::shared_ptr<submission> work, job_event_kind kind);
  void launch_all(std::unique_lock<std::mutex>& held);
  launched start(const launch& l) noexcept;
  launched start_pooled(const launch& l);
  // Where an instance's end is handed in (any thread).
  void end_of(const std::string& key, std::uint64_t id, ended e) noexcept;
  void record(launch& l, launched& got, std::vector<outcome>& done);
  void start_failed(const std::string& name, key_state& k,
                    std::shared_ptr<submission> work, std::exception_ptr error);
  void handle(ended e);
  void handle_submission(const std::string& name, key_state& k,
                         std::shared_ptr<submission> work, ended& e);
  static void settle(std::vector<outcome>& done);
  void retry_later(const std::string& name, key_state& k,
                   std::shared_ptr<submission> work);
  void decide_restart(const std::string& name, key_state& k, bool ok,
                      clock::duration ran);
  void retire(const std::string& name, instance& i,
              const restart_policy& policy);
  clock::duration backoff(const restart_policy& policy, std::size_t streak);
  void emit(job_event e);
  void flush(std::unique_lock<std::mutex>& held);

  std::shared_ptr<runtime_core> rt_;
  std::shared_ptr<lease_table> table_;
  std::function<void(const job_event&)> on_event_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::unordered_map<std::string, key_state> keys_;
  std::deque<ended> ended_;
  std::vector<std::string> changed_;
  std::multimap<clock::time_point, timer> timers_;
  std::vector<job_event> pending_events_;
  std::vector<outcome> pending_outcomes_;
  std::vector<launch> launches_;
  std::deque<job_event> queued_events_;
  std::mt19937_64 random_{std::random_device{}()};
  bool stopping_ = false;
  // Numbers the pool jobs' instances (job_event::instance).
  std::uint64_t next_pooled_ = 1;
  std::thread thread_;
};

} // namespace troupe::detail
