// coroutine.resume and coroutine.wrap that pass host yields through (DESIGN.md
// "Threading model"). A host yield (a worker call that waits, or preemption)
// marks control::host_yield before it yields. When a coroutine the script
// resumed comes back with that mark, the resume does not return to the script:
// it yields its own coroutine in turn, up to the root and the actor; when the
// actor resumes the root, each resume on the way down resumes its coroutine
// again. So a script's coroutine never sees a yield that is not its own.
// control::chain_yieldable tells a coroutine whether every resume above it can
// yield (one called from a non-yieldable C call, a table.sort comparator say,
// cannot); where it cannot, waits raise and preemption lets the code run on.
#include "lua_vm/coroutines.hpp"

#include "lua_vm/control.hpp"
#include "lua_vm/interrupt.hpp"
#include "lua_vm/sandbox.hpp"

namespace troupe::lua_vm {

namespace {

// [-0, +0, v] The coroutine at `arg`; raises a bad argument otherwise.
lua_State* check_coroutine(lua_State* L, int arg) {
  lua_State* co = lua_tothread(L, arg);
  luaL_argexpected(L, co != nullptr, arg, "coroutine");
  return co;
}

// [-0, +(n|1|0), m] Resumes `co` (its arguments already moved onto it).
// Returns the number n of results moved onto L, -1 with the error pushed on L,
// or -2 (nothing pushed) for a host yield that L must pass on.
int resume_once(lua_State* L, lua_State* co, int nargs) {
  control& c = control_of(L);
  bool outer = c.chain_yieldable;
  c.chain_yieldable = outer && lua_isyieldable(L);
  int results = 0;
  int status = lua_resume(co, L, nargs, &results);
  c.chain_yieldable = outer;
  if (status == LUA_YIELD && c.host_yield) {
    lua_pop(co, results);
    return -2;
  }
  if (status == LUA_OK || status == LUA_YIELD) {
    if (!lua_checkstack(L, results + 1)) {
      lua_pop(co, results);
      lua_pushliteral(L, "too many results to resume");
      return -1;
    }
    lua_xmove(co, L, results);
    return results;
  }
  lua_xmove(co, L, 1);
  // A stop raised inside co's hook left co with hooks off (Lua restores them
  // only where a pcall catches): no code may run on it again, and the resumer
  // must raise the stop at its next instruction, not a hook interval later.
  if (c.tripped != stop_reason::none) trip_and_arm(L, c.tripped);
  return -1;
}

int resume_continue(lua_State* L, int status, lua_KContext);

// [-0, +(n+1|2), m] [co, args...]: the body shared by the first call and
// every continuation; pushes true and the results, or false and the error.
int resume_step(lua_State* L, int nargs) {
  lua_State* co = lua_tothread(L, 1);
  int n = resume_once(L, co, nargs);
  if (n == -2) return lua_yieldk(L, 0, 0, resume_continue);
  if (n < 0) {
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
  }
  lua_pushboolean(L, 1);
  lua_insert(L, -(n + 1));
  return n + 1;
}

// [-0, +(n+1|2), m] resume_step after a host yield passed through.
int resume_continue(lua_State* L, int, lua_KContext) {
  control_of(L).host_yield = false;
  return resume_step(L, 0);
}

// [-(nargs+1), +(n+1|2), m] coroutine.resume(co, ...).
int l_resume(lua_State* L) {
  lua_State* co = check_coroutine(L, 1);
  int nargs = lua_gettop(L) - 1;
  if (!lua_checkstack(co, nargs)) {
    lua_pushboolean(L, 0);
    lua_pushliteral(L, "too many arguments to resume");
    return 2;
  }
  lua_xmove(L, co, nargs);
  return resume_step(L, nargs);
}

int wrap_continue(lua_State* L, int status, lua_KContext);

// [-0, +n, e] [args...] with the coroutine as upvalue 1: like resume_step,
// raising errors as coroutine.wrap does.
int wrap_step(lua_State* L, int nargs) {
  lua_State* co = lua_tothread(L, lua_upvalueindex(1));
  int base = lua_gettop(L);
  int n = resume_once(L, co, nargs);
  if (n == -2) return lua_yieldk(L, 0, 0, wrap_continue);
  if (n < 0) {
    if (lua_status(co) != LUA_OK && lua_status(co) != LUA_YIELD
        && control_of(L).tripped == stop_reason::none) {
      lua_resetthread(co);
      if (lua_type(L, -1) == LUA_TSTRING) {
        luaL_where(L, 1);
        lua_insert(L, -2);
        lua_concat(L, 2);
      }
    }
    return lua_error(L);
  }
  return lua_gettop(L) - base;
}

// [-0, +n, e] wrap_step after a host yield passed through.
int wrap_continue(lua_State* L, int, lua_KContext) {
  control_of(L).host_yield = false;
  return wrap_step(L, 0);
}

// [-nargs, +n, e] A function coroutine.wrap made: resumes its coroutine.
int wrapped_call(lua_State* L) {
  lua_State* co = lua_tothread(L, lua_upvalueindex(1));
  int nargs = lua_gettop(L);
  if (!lua_checkstack(co, nargs))
    return luaL_error(L, "too many arguments to resume");
  lua_xmove(L, co, nargs);
  return wrap_step(L, nargs);
}

// [-1, +1, m] coroutine.wrap(f).
int l_wrap(lua_State* L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_State* co = lua_newthread(L);
  lua_pushvalue(L, 1);
  lua_xmove(L, co, 1);
  lua_pushcclosure(L, wrapped_call, 1);
  return 1;
}

// [-n, +?, e] coroutine.yield refusing the root: the root coroutine stands for
// the main thread of a plain Lua program, and a yield there would reach the
// actor as a yield nobody resumes.
int l_yield(lua_State* L) {
  if (L == control_of(L).root)
    return luaL_error(L, "attempt to yield from outside a coroutine");
  return lua_yield(L, lua_gettop(L));
}

// [-1, +(1|2), e] coroutine.close refusing to run a coroutine's __close
// handlers once the state has tripped: a coroutine the stop killed has hooks
// off (see resume_once).
int l_close(lua_State* L) {
  stop_point(L, 0);
  return call_wrapped(L);
}

// [-0, +1, v] coroutine.isyieldable([co]), false for the root.
int l_isyieldable(lua_State* L) {
  lua_State* co = lua_isnone(L, 1) ? L : check_coroutine(L, 1);
  lua_pushboolean(L, co != control_of(L).root && lua_isyieldable(co));
  return 1;
}

} // namespace

void install_passthrough_coroutines(lua_State* L) {
  lua_getglobal(L, LUA_COLIBNAME);
  lua_pushcfunction(L, l_yield);
  lua_setfield(L, -2, "yield");
  lua_pushcfunction(L, l_isyieldable);
  lua_setfield(L, -2, "isyieldable");
  lua_pushcfunction(L, l_resume);
  lua_setfield(L, -2, "resume");
  lua_pushcfunction(L, l_wrap);
  lua_setfield(L, -2, "wrap");
  lua_getfield(L, -1, "close");
  lua_pushcclosure(L, l_close, 1);
  lua_setfield(L, -2, "close");
  lua_pop(L, 1);
}

bool can_host_yield(lua_State* L) noexcept {
  const control& c = control_of(L);
  return lua_isyieldable(L) && (L == c.root || c.chain_yieldable);
}

} // namespace troupe::lua_vm
