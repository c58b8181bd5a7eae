// lua_vm::script_runner: a worker's script in its own state, driven the way
// the script actor drives it. The script runs in the state's root coroutine
// with the `worker` module over a worker_transport; a run goes until the
// script ends, waits (a worker call yielded: resume it with wake() once the
// context says the wait is over) or is preempted at the end of its time slice
// (resume()). Its end comes out as the bytes a parent reads: the return
// values, or the error with its kind (worker_end.hpp). No CAF: what the
// actor adds is only the mailbox that decides when to call.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "lua_vm/failure.hpp"
#include "lua_vm/meters.hpp"
#include "lua_vm/state.hpp"
#include "lua_vm/worker_context.hpp"

namespace troupe::lua_vm {

/// How a script runner makes its state.
struct script_runner_config {
  /// Limits, print sink and cancel flag of the state.
  state_config state;
  /// What the script may do.
  permission_set permissions;
  /// Where its relative paths resolve.
  std::string home;
  /// How long it runs before it is preempted.
  clock::duration time_slice = std::chrono::milliseconds{1};
  /// When the hook ends it (max: never).
  clock::time_point deadline = clock::time_point::max();
  /// Its id, its parent's, its runtime's handle tag.
  worker_identity identity;
  /// Where each run counts its time, memory and whether it waits (nullptr:
  /// nowhere); outlives the runner.
  worker_meters* meters = nullptr;
};

/// How far a run of the script got.
enum class run_status : std::uint8_t {
  /// It waits in a worker call (context().wait says for what).
  waiting,
  /// Its time slice ran out; resume() goes on.
  preempted,
  /// It ended: take_end() gives its end.
  ended,
};

/// A worker's end as its parent reads it.
struct script_end {
  /// It returned (bytes: its return values) rather than failed (bytes: the
  /// error, see encode_end_error).
  bool ok = false;
  /// msgpack of the return values or of the error.
  std::string bytes;
  /// It was cancelled.
  bool cancelled = false;
};

/// The end of a worker that failed before or outside its script, with
/// `message` and kind `kind`. Throws only std::bad_alloc.
script_end failed_end(std::string message, failure kind = failure::error);

/// One worker's script in its state: started, resumed after a preemption,
/// woken when its wait is over, stopped; its end as bytes.
class script_runner {
public:
  /// Makes the state and opens the worker module over `transport`. Throws
  /// troupe::limit_error when the memory cap cannot hold the state, and
  /// std::bad_alloc.
  script_runner(worker_transport& transport, script_runner_config config);
  script_runner(const script_runner&) = delete;
  script_runner& operator=(const script_runner&) = delete;
  ~script_runner();

  /// Runs `chunk` with `args` (the encoded array of the chunk's `...`); once
  /// only. The runner reads neither after it returns. Returns how far the
  /// script got.
  run_status start(const bytecode& chunk, const std::string& args);
  /// Goes on after a preemption; false (nothing run) unless it was preempted.
  /// After a run, status() says how far it got.
  bool resume();
  /// Resumes a waiting script whose wait is over; false (nothing run)
  /// otherwise.
  bool wake();
  /// Stops a suspended script with `reason` (its error is the stop's); false
  /// when it is not suspended (a running one stops at its next hook tick by
  /// its flag anyway).
  bool stop(stop_reason reason);

  /// Where it stands.
  run_status status() const noexcept {
    return status_;
  }
  /// The end, once ended (moved out: call once).
  script_end take_end() noexcept {
    return std::move(end_);
  }
  /// The worker module's per-state data (its inbox, children, wait).
  worker_context& context() noexcept {
    return *context_;
  }
  /// The state's control block.
  control& ctl() noexcept {
    return vm_->ctl();
  }

private:
  void run(int nargs);
  void end_with_values(int results);
  void end_with_error();
  void end_failed(std::string message, std::string traceback,
                  std::string raised = {});

  // An idle worker keeps every byte here: nothing of the config but this.
  clock::duration time_slice_;
  worker_meters* meters_;
  std::unique_ptr<worker_context> context_;
  std::optional<state> vm_; // closed first: its handles' __gc reach the context
  lua_State* co_ = nullptr;
  run_status status_ = run_status::waiting;
  bool started_ = false;
  script_end end_;
};

} // namespace troupe::lua_vm
