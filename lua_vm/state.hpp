// lua_vm::state: the one owner of a sandboxed lua_State. It creates the state
// with the counting allocator, the panic handler, the safe libraries and the
// interrupt hook, and closes it. No script code can run unbounded in lua_close:
// the sandbox refuses __gc metamethods, which Lua would run there with hooks
// disabled. Move-only; nothing else calls lua_close on it.
#pragma once

#include <memory>
#include <optional>

#include <lua.hpp>

#include "lua_vm/control.hpp"
#include "lua_vm/error_value.hpp"
#include "troupe/bytecode.hpp"

namespace troupe::lua_vm {

/// How to make a state.
struct state_config {
  /// Memory, instruction and wall-time limits (zero: none).
  vm_limits limits;
  /// Where print sends its lines; nullptr: stdout.
  line_sink print = nullptr;
  /// Passed to `print`.
  void* print_context = nullptr;
  /// The cancel flag to watch (shared with whoever may cancel); nullptr: a
  /// fresh one.
  std::shared_ptr<std::atomic<bool>> cancel;
  /// Where require finds modules (modules.hpp); nullptr: the script's
  /// directory only.
  std::shared_ptr<const module_catalog> modules;
  /// The host's native functions (host_functions.hpp); nullptr: none.
  const host_functions* functions = nullptr;
  /// The runtime's shared dicts (control::dicts); nullptr: none.
  decltype(control::dicts) dicts = nullptr;
};

/// The owning, move-only handle of one sandboxed Lua state.
class state {
public:
  /// Creates the state; throws troupe::limit_error when its memory cap cannot
  /// even hold the libraries.
  explicit state(const state_config& config = {});
  state(state&& other) noexcept;
  state& operator=(state&& other) noexcept;
  state(const state&) = delete;
  state& operator=(const state&) = delete;
  ~state();

  /// The main thread of the state.
  lua_State* get() const noexcept {
    return L_;
  }

  /// The control block (limits, counters, cancel flag).
  control& ctl() noexcept {
    return *control_;
  }

  /// Asks the script to stop at its next hook tick; safe from any thread.
  void cancel() noexcept {
    control_->cancel->store(true, std::memory_order_relaxed);
  }

  /// Bytes the state currently holds.
  std::size_t memory_used() const noexcept {
    return control_->used;
  }

  /// [-0, +1|0] Loads `bc` as a function. On failure pushes nothing and returns
  /// the error.
  std::optional<error_info> load(const bytecode& bc);

  /// [-(nargs+1), +nresults|0] Calls the function below `nargs` arguments in
  /// protected mode with a traceback. The first call starts the wall-time
  /// limit. Returns the error, or nullopt with the results pushed.
  std::optional<error_info> pcall(int nargs, int nresults);

private:
  void close() noexcept;

  std::unique_ptr<control> control_;
  lua_State* L_ = nullptr;
};

} // namespace troupe::lua_vm
