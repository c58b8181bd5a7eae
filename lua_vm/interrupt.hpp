// The interrupt hook: a count hook that enforces cancellation, the deadline,
// the instruction budget and the memory cap, and preempts the root coroutine
// when its time slice is used up. Once anything trips it the hook re-arms
// itself to fire on every instruction of every thread, raising the same error
// each time, so `pcall` cannot swallow the stop.
#pragma once

#include "lua_vm/control.hpp"

namespace troupe::lua_vm {

/// Installs the hook on `L` with the normal interval (threads created later
/// inherit it).
void arm_hook(lua_State* L) noexcept;

/// Counts `steps` more instructions (or steps of work a long C function did)
/// and checks the cancel flag, the instruction budget and the deadline, as the
/// hook does: the reason to stop, or none. An earlier trip is returned as is.
stop_reason poll_limits(control& c, int steps) noexcept;

/// For C loops that never return to the VM: counts `steps` of work as
/// poll_limits does and, when the script must stop, trips the state and raises
/// the stop (a Lua error: only where Lua errors may longjmp).
void stop_point(lua_State* L, int steps);

/// Records `reason` as the state's stop (the first reason wins); the hook
/// raises it at its next tick.
void trip(control& c, stop_reason reason) noexcept;

/// trip(), and makes the hook of thread `L` fire at its next instruction (for a
/// stop that arrives while the script is suspended: it must not run on for up
/// to a hook interval after it resumes).
void trip_and_arm(lua_State* L, stop_reason reason) noexcept;

/// Starts a time slice of `length` for the root coroutine; when it is used up
/// the hook yields the root (when it is yieldable) and sets control::preempted.
/// The slice is timed from the hook's first run in it, at most
/// control::hook_interval instructions late.
void start_slice(control& c, clock::duration length) noexcept;

} // namespace troupe::lua_vm
