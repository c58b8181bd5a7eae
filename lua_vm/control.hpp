// The per-state control block: memory accounting for the allocator, the limits
// and cancel flag the interrupt hook enforces, the time slice it preempts on,
// and where `print` writes. It lives at a stable address owned by lua_vm::state
// and is reachable from any thread of the state through lua_getextraspace, so
// the hook and the allocator find it without a lookup. Only `cancel` may be
// touched from another thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <lua.hpp>

#include "lua_vm/permissions.hpp"

namespace troupe::lua_vm {

struct module_catalog;
struct host_functions;
struct host_scratch;
class dict_store;

/// The clock every deadline and slice is measured on.
using clock = std::chrono::steady_clock;

/// The longest wait or limit troupe measures: a longer one (up to
/// nanoseconds::max()) is as good as forever, and is cut to this so that no
/// deadline overflows.
inline constexpr std::chrono::nanoseconds longest_wait = std::chrono::hours{
  24 * 365 * 100};

/// `d`, at most longest_wait and at least zero.
constexpr std::chrono::nanoseconds
saturated(std::chrono::nanoseconds d) noexcept {
  return d < std::chrono::nanoseconds::zero() ? std::chrono::nanoseconds::zero()
         : d > longest_wait                   ? longest_wait
                                              : d;
}

/// The time `d` from now, for any `d` (see saturated).
inline clock::time_point deadline_in(std::chrono::nanoseconds d) noexcept {
  return clock::now()
         + std::chrono::duration_cast<clock::duration>(saturated(d));
}

/// `d` in whole milliseconds, as error messages write it: "250 ms".
inline std::string in_ms(std::chrono::nanoseconds d) {
  return std::to_string(
           std::chrono::duration_cast<std::chrono::milliseconds>(d).count())
         + " ms";
}

/// Why the hook stopped a script (none while it may run).
enum class stop_reason : std::uint8_t {
  none,
  cancelled,
  deadline,
  instructions,
  memory
};

/// The error message for a stop reason: "cancelled", "time limit exceeded", ...
const char* stop_message(stop_reason r) noexcept;

/// Where `print` sends each complete line (without its newline). Must not throw
/// or call into Lua.
using line_sink = void (*)(void* context, std::string_view line) noexcept;

/// Per-state limits. Zero means unlimited.
struct vm_limits {
  /// Bytes the state may allocate in all (its libraries included).
  std::size_t memory = 0;
  /// VM instructions the state may execute, counted in steps of the hook
  /// interval.
  std::uint64_t instructions = 0;
  /// Wall time from the start of the run.
  std::chrono::nanoseconds wall_time{0};
};

/// Each limit of `a` and `b`, the smaller where both set one (zero: none).
inline vm_limits tighter(const vm_limits& a, const vm_limits& b) noexcept {
  auto pick = [](auto x, auto y) {
    if (x == decltype(x){}) return y;
    if (y == decltype(y){}) return x;
    return x < y ? x : y;
  };
  return {pick(a.memory, b.memory), pick(a.instructions, b.instructions),
          pick(a.wall_time, b.wall_time)};
}

/// The state's control block (see file comment).
struct control {
  /// Instructions between two hook checks while nothing has tripped.
  static constexpr int hook_interval = 1000;
  /// Bytes allowed past the memory cap once it has tripped, so the error and
  /// its traceback can be built.
  static constexpr std::size_t error_headroom = std::size_t{64} * 1024;

  // Allocator accounting.
  std::size_t used = 0;
  std::size_t memory_cap = 0;
  bool retry_pending = false;
  /// The cap refused an allocation (a "not enough memory" error that ends the
  /// script then counts as the memory limit).
  bool cap_refused = false;
  /// Where the state's first blocks are carved (see allocator.hpp); freed
  /// after lua_close.
  std::unique_ptr<std::byte[]> slab;
  std::byte* slab_next = nullptr;
  std::byte* slab_end = nullptr;
  /// What the state's small blocks have asked of a slab so far (the first
  /// state's figure once its libraries are open sizes every later slab).
  std::size_t slab_wanted = 0;

  // Interrupt hook.
  /// Set by anyone (another thread, a parent) to stop the script; shared so a
  /// parent can hold it before the state exists.
  std::shared_ptr<std::atomic<bool>>
    cancel = std::make_shared<std::atomic<bool>>(false);
  /// The worker module's context when the state runs as a worker
  /// (lua_vm::worker_context), else nullptr.
  void* worker = nullptr;
  stop_reason tripped = stop_reason::none;
  std::uint64_t instruction_budget = 0;
  std::uint64_t executed = 0;
  int hook_step = hook_interval;
  clock::duration wall_time{0};
  clock::time_point deadline = clock::time_point::max();
  /// The end of the running slice: max() when none runs, min() when one has
  /// started but the hook has not yet read the clock for it (most slices end
  /// in a wait long before the first hook, and never pay for a clock read).
  clock::time_point slice_end = clock::time_point::max();
  clock::duration slice_length{0};
  bool preempted = false;
  /// Set by a host yield (a waiting worker call, preemption) just before it
  /// yields, so the coroutine library passes the yield through to the root;
  /// cleared when the root is resumed.
  bool host_yield = false;
  /// While a script coroutine runs: whether every resume above it can yield
  /// (see coroutines.cpp).
  bool chain_yieldable = true;
  lua_State* root = nullptr;
  /// Set when a script changed state that outlives it under job isolation (a
  /// library table, the string metatable, the random seed): the job runner
  /// then replaces the state (see isolation.hpp).
  bool shared_state_changed = false;

  // Permissions.
  /// What the script may do (pledge narrows it).
  permission_set permissions;
  /// The directory relative file paths resolve against (the script's own);
  /// empty: the current directory.
  std::string home;
  /// The runtime's module search path, preloads and module directories
  /// (modules.hpp); nullptr: the script's directory only.
  std::shared_ptr<const module_catalog> modules;
  /// The host's native functions (host_functions.hpp); nullptr: none.
  const host_functions* functions = nullptr;
  /// The runtime's shared dicts by name (dict_store.hpp); nullptr: none.
  const std::map<std::string, std::shared_ptr<dict_store>, std::less<>>* dicts
    = nullptr;
  /// What host calls keep between calls (made by the first).
  std::shared_ptr<host_scratch> host_calls;
  /// Set when a call was refused for want of a permission, so the host can
  /// tell such an end (troupe::permission_error) from other errors.
  bool denied = false;
  /// Set by a supervisor that gives up, just before it raises (its end is then
  /// of kind "gave_up").
  bool gave_up = false;

  // Output.
  line_sink print = nullptr;
  void* print_context = nullptr;
  bool warnings_on = false;
};

/// The control block of the state `L` belongs to (any of its threads: new
/// threads copy the extra space).
inline control& control_of(lua_State* L) noexcept {
  return **static_cast<control**>(lua_getextraspace(L));
}

} // namespace troupe::lua_vm
