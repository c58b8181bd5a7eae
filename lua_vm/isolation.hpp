// Isolation between the jobs that share one state (the job pool). Each job
// runs with a fresh global table whose misses fall through to the pristine
// globals, so its globals, `_G.x = 1`, `rawset(_G, ...)` and
// `setmetatable(_G, ...)` all die with it. What a fresh table cannot cover,
// the libraries and the string metatable, sits behind empty proxy tables:
// reads fall through to the real tables, and every way of writing them
// (assignment, rawset, setmetatable, `getmetatable("").__index = ...`,
// math.randomseed) sets control::shared_state_changed, so the job runner
// replaces a state that a job changed. Jobs that change nothing shared pay
// one table per job and nothing else. See docs/decisions.md.
#pragma once

#include <lua.hpp>

namespace troupe::lua_vm {

/// [-0, +0] Puts the libraries and the string metatable of a fresh sandboxed
/// state behind guarded proxies and wraps the base functions that could write
/// through them. Call once, in protected mode.
int install_isolation(lua_State* L);

/// [-0, +1] Pushes a fresh global table for one job: its `_G` is itself, its
/// misses read the pristine globals. Raises only a memory error.
void push_job_globals(lua_State* L);

/// [-0, +0] Makes the table at `idx` the globals of `load` and of
/// lua_pushglobaltable (the registry's LUA_RIDX_GLOBALS). Cannot raise.
void set_globals(lua_State* L, int idx) noexcept;

/// [-0, +0] Makes the pristine globals the globals again. Cannot raise.
void restore_globals(lua_State* L) noexcept;

} // namespace troupe::lua_vm
