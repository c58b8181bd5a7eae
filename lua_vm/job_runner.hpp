// lua_vm::job_runner: one state that runs job after job, as a pool worker
// does. A job is compiled bytecode plus a context (the global `ctx`); it runs
// in a coroutine, so the time slice can preempt it, under the state's hook,
// so a deadline or a cancel ends it even inside pcall. Each job sees fresh
// globals (isolation.hpp); after a job that changed shared state the runner
// replaces its state. The functions of bytecode it has seen stay loaded (a
// bounded LRU), so a repeated job does not load again. No CAF: the pool's
// actor drives it.
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "lua_vm/error_value.hpp"
#include "lua_vm/failure.hpp"
#include "lua_vm/plain_handles.hpp"
#include "lua_vm/state.hpp"
#include "serialization/byte_sink.hpp"
#include "serialization/lua_codec.hpp"
#include "serialization/value_handles.hpp"
#include "troupe/value.hpp"

namespace troupe::lua_vm {

/// How a runner makes its state and treats its jobs.
struct job_runner_config {
  /// Bytes the state may hold (0: no cap).
  std::size_t memory_limit = 0;
  /// Where print sends its lines; nullptr: stdout.
  line_sink print = nullptr;
  /// Passed to `print`.
  void* print_context = nullptr;
  /// The flag that stops the running job (set from any thread).
  std::shared_ptr<std::atomic<bool>> cancel;
  /// Functions of distinct bytecode kept loaded.
  std::size_t cache_size = 64;
  /// How long a job runs before it is preempted.
  clock::duration time_slice = std::chrono::milliseconds{1};
  /// Fresh globals per job (turned off only to measure what it costs).
  bool isolate = true;
  /// What jobs may do.
  permission_set permissions;
  /// Where their relative paths resolve (empty: the current directory).
  std::string home;
  /// Where require finds modules (nullptr: the home directory only).
  std::shared_ptr<const module_catalog> modules;
  /// The host's native functions, for jobs with the permission "host"
  /// (nullptr: none).
  const host_functions* functions = nullptr;
  /// The runtime's shared dicts, for jobs with the permission "shared"
  /// (worker.shared; nullptr: none).
  decltype(control::dicts) dicts = nullptr;
  /// The tag of the runtime whose handles ctx and results may carry (0:
  /// none), and how results turn them into troupe::worker values.
  std::uint64_t handle_tag = 0;
  const serialization::value_handles* value_handles = nullptr;
  /// Bytes a state may grow past its size after its last full collection
  /// before the runner collects in full after a job (garbage a job left in its
  /// globals goes this way).
  std::size_t collect_above = std::size_t{8} << 20;
};

/// How a job ended.
struct job_outcome {
  /// True when the job returned.
  bool ok = false;
  /// Its return values: nil for none, the value for one, an array for more.
  value result;
  /// Its error, when !ok.
  error_info error;
  /// The error value as the job raised it, when it could be sent (else nil).
  value raised;
  /// Why the hook stopped it (none when it ended by itself or raised).
  stop_reason stop = stop_reason::none;
  /// What kind of failure it was, when !ok.
  failure kind = failure::error;
};

/// One Lua state running job after job, each with fresh globals.
class job_runner {
public:
  /// Makes the state; throws troupe::limit_error when memory_limit cannot
  /// hold it.
  explicit job_runner(job_runner_config config);
  job_runner(const job_runner&) = delete;
  job_runner& operator=(const job_runner&) = delete;
  ~job_runner();

  /// Starts `chunk` with `ctx` (a msgpack map, the global `ctx`; empty: an
  /// empty table) and `args` (its `...`, an array as encode_values writes
  /// it; empty: none) and runs it until it ends (true: see outcome()) or is
  /// preempted (false: call resume()). `deadline` ends it with
  /// stop_reason::deadline.
  bool start(const bytecode& chunk, std::string_view ctx,
             clock::time_point deadline, std::string_view args = {});
  /// Goes on running a preempted job; same result as start().
  bool resume();
  /// The outcome of the job that ended.
  job_outcome& outcome() noexcept {
    return outcome_;
  }
  /// Cleans up after the job that ended: fresh state if it changed shared
  /// state, a full collection if it left much garbage. Throws like the
  /// constructor when a new state cannot be made.
  void end_job();

  /// Bytes the state holds.
  std::size_t memory_used() noexcept {
    return vm_->memory_used();
  }
  /// Functions loaded from bytecode so far (cache misses).
  std::size_t loads() const noexcept {
    return loads_;
  }
  /// States replaced because a job changed shared state.
  std::size_t replacements() const noexcept {
    return replacements_;
  }

private:
  struct cached {
    bytecode chunk;
    int ref;
    std::list<const void*>::iterator position;
  };

  void make_state();
  bool push_function(const bytecode& chunk);
  bool run(int nargs);
  void finish(int status, int results);
  bool new_coroutine();
  void forget_job_globals() noexcept;

  job_runner_config config_;
  std::optional<state> vm_;
  lua_State* co_ = nullptr;
  std::unordered_map<const void*, cached> cache_;
  std::list<const void*> recent_;
  serialization::lua_encoder encoder_;
  serialization::byte_sink sink_;
  std::unique_ptr<plain_handles> handles_;
  job_outcome outcome_;
  int last_ref_ = LUA_NOREF;
  std::size_t collected_size_ = 0;
  std::size_t replacements_ = 0;
  std::size_t loads_ = 0;
};

} // namespace troupe::lua_vm
