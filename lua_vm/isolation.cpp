// Job isolation (see isolation.hpp). The wrappers keep Lua's semantics for the
// job: reading a library through its proxy, iterating it with pairs or next,
// rawget on it, and writing it all behave as on the real table; a job's globals
// table turns into a plain copy of the globals the moment a job iterates it or
// replaces its metatable. Every lua_CFunction here is C-style (no C++ objects):
// Lua errors longjmp through them.
#include "lua_vm/isolation.hpp"

#include "lua_vm/control.hpp"
#include "lua_vm/sandbox.hpp"

namespace troupe::lua_vm {

namespace {

// Registry keys (their addresses): proxy -> real table; the metatable of every
// job's globals; the pristine globals.
char guarded_key;
char job_globals_meta_key;
char pristine_key;

void mark_changed(lua_State* L) {
  control_of(L).shared_state_changed = true;
}

// [-0, +1] Pushes the real table behind the proxy at `idx`, or nil when the
// value there is not a guarded proxy. Returns the type pushed.
int push_real(lua_State* L, int idx) {
  if (lua_type(L, idx) != LUA_TTABLE) {
    lua_pushnil(L);
    return LUA_TNIL;
  }
  lua_rawgetp(L, LUA_REGISTRYINDEX, &guarded_key);
  lua_pushvalue(L, idx);
  int type = lua_rawget(L, -2);
  lua_remove(L, -2);
  return type;
}

// Whether the value at `idx` is a job's globals table still backed by the
// pristine globals.
bool is_job_globals(lua_State* L, int idx) {
  if (lua_type(L, idx) != LUA_TTABLE || lua_getmetatable(L, idx) == 0)
    return false;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &job_globals_meta_key);
  bool same = lua_rawequal(L, -1, -2) != 0;
  lua_pop(L, 2);
  return same;
}

// [-0, +0] Copies into the table at `to` every field of the table at `from`
// that it lacks (both absolute indices).
void fill_missing(lua_State* L, int to, int from) {
  lua_pushnil(L);
  while (lua_next(L, from) != 0) {
    lua_pushvalue(L, -2);
    if (lua_rawget(L, to) == LUA_TNIL) {
      lua_pop(L, 1);
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, to);
    } else {
      lua_pop(L, 2);
    }
  }
}

// [-0, +0] The job's globals at `idx` become a plain table holding every
// global, as in plain Lua.
void materialize_globals(lua_State* L, int idx) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &pristine_key);
  fill_missing(L, idx, lua_gettop(L));
  lua_pop(L, 1);
  lua_pushnil(L);
  lua_setmetatable(L, idx);
}

// [-0, +0] The proxy at `idx` becomes a plain copy of its real table, no
// longer guarded (the state is replaced after the job anyway).
void materialize_proxy(lua_State* L, int idx) {
  push_real(L, idx);
  fill_missing(L, idx, lua_gettop(L));
  lua_pop(L, 1);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &guarded_key);
  lua_pushvalue(L, idx);
  lua_pushnil(L);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

int guarded_next(lua_State* L) {
  if (push_real(L, 1) != LUA_TNIL) {
    lua_replace(L, 1);
  } else {
    lua_pop(L, 1);
    if (is_job_globals(L, 1)) materialize_globals(L, 1);
  }
  return call_wrapped(L);
}

int guarded_rawget(lua_State* L) {
  luaL_checkany(L, 2);
  lua_settop(L, 2);
  if (push_real(L, 1) == LUA_TNIL) {
    lua_pop(L, 1);
    return call_wrapped(L);
  }
  lua_insert(L, 2);
  lua_rawget(L, 2);
  return 1;
}

int guarded_rawset(lua_State* L) {
  luaL_checkany(L, 3);
  lua_settop(L, 3);
  if (push_real(L, 1) == LUA_TNIL) {
    lua_pop(L, 1);
    return call_wrapped(L);
  }
  mark_changed(L);
  lua_insert(L, 2);
  lua_rawset(L, 2);
  lua_settop(L, 1);
  return 1;
}

int guarded_getmetatable(lua_State* L) {
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  bool hidden = is_job_globals(L, 1) || push_real(L, 1) != LUA_TNIL;
  lua_settop(L, 1);
  if (hidden) {
    lua_pushnil(L);
    return 1;
  }
  return call_wrapped(L);
}

int guarded_setmetatable(lua_State* L) {
  if (is_job_globals(L, 1)) {
    materialize_globals(L, 1);
  } else if (push_real(L, 1) != LUA_TNIL) {
    lua_pop(L, 1);
    mark_changed(L);
    materialize_proxy(L, 1);
  } else {
    lua_pop(L, 1);
  }
  return call_wrapped(L);
}

int guarded_randomseed(lua_State* L) {
  mark_changed(L);
  return call_wrapped(L);
}

// __newindex of a proxy (real table in upvalue 1): the write goes through, and
// the state is marked for replacement.
int proxy_newindex(lua_State* L) {
  mark_changed(L);
  lua_settop(L, 3);
  lua_rawset(L, lua_upvalueindex(1));
  return 0;
}

// __pairs of a proxy: iterates the real table through the guarded next (upvalue
// 1), so the real table is never handed out.
int proxy_pairs(lua_State* L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

// __pairs of a job's globals (the original next in upvalue 1).
int job_globals_pairs(lua_State* L) {
  materialize_globals(L, 1);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

// [-0, +1] A proxy of the table at `real`, iterated through the function at
// `next`.
void push_proxy(lua_State* L, int real, int next) {
  lua_newtable(L);
  lua_createtable(L, 0, 3);
  lua_pushvalue(L, real);
  lua_setfield(L, -2, "__index");
  lua_pushvalue(L, real);
  lua_pushcclosure(L, proxy_newindex, 1);
  lua_setfield(L, -2, "__newindex");
  lua_pushvalue(L, next);
  lua_pushcclosure(L, proxy_pairs, 1);
  lua_setfield(L, -2, "__pairs");
  lua_setmetatable(L, -2);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &guarded_key);
  lua_pushvalue(L, -2);
  lua_pushvalue(L, real);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

// [-0, +0] Replaces global `name` of the table at `t` by `f` closed over it.
void wrap_field(lua_State* L, int t, const char* name, lua_CFunction f) {
  lua_getfield(L, t, name);
  lua_pushcclosure(L, f, 1);
  lua_setfield(L, t, name);
}

// [-0, +0] Puts every library table among the globals at `g` behind a proxy.
void guard_libraries(lua_State* L, int g, int next) {
  lua_pushnil(L);
  while (lua_next(L, g) != 0) {
    if (lua_type(L, -1) == LUA_TTABLE && !lua_rawequal(L, -1, g)) {
      push_proxy(L, lua_gettop(L), next);
      lua_pushvalue(L, -3);
      lua_insert(L, -2);
      lua_rawset(L, g);
    }
    lua_pop(L, 1);
  }
}

// [-0, +0] String methods go through the string proxy, and
// getmetatable("") gives a proxy of the string metatable.
void guard_string_metatable(lua_State* L, int g, int next) {
  lua_pushliteral(L, "");
  lua_getmetatable(L, -1);
  int meta = lua_gettop(L);
  lua_getfield(L, g, LUA_STRLIBNAME);
  lua_setfield(L, meta, "__index");
  push_proxy(L, meta, next);
  lua_setfield(L, meta, "__metatable");
  lua_pop(L, 2);
}

} // namespace

int install_isolation(lua_State* L) {
  lua_newtable(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &guarded_key);
  lua_pushglobaltable(L);
  int g = lua_gettop(L);
  lua_pushvalue(L, g);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &pristine_key);

  lua_createtable(L, 0, 2);
  lua_pushvalue(L, g);
  lua_setfield(L, -2, "__index");
  lua_getfield(L, g, "next");
  lua_pushcclosure(L, job_globals_pairs, 1);
  lua_setfield(L, -2, "__pairs");
  lua_rawsetp(L, LUA_REGISTRYINDEX, &job_globals_meta_key);

  lua_getfield(L, g, LUA_MATHLIBNAME);
  wrap_field(L, lua_gettop(L), "randomseed", guarded_randomseed);
  lua_pop(L, 1);
  wrap_field(L, g, "next", guarded_next);
  wrap_field(L, g, "rawget", guarded_rawget);
  wrap_field(L, g, "rawset", guarded_rawset);
  wrap_field(L, g, "getmetatable", guarded_getmetatable);
  wrap_field(L, g, "setmetatable", guarded_setmetatable);

  lua_getfield(L, g, "next");
  int next = lua_gettop(L);
  guard_libraries(L, g, next);
  guard_string_metatable(L, g, next);
  lua_settop(L, g - 1);
  return 0;
}

void push_job_globals(lua_State* L) {
  lua_createtable(L, 0, 4);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &job_globals_meta_key);
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_setfield(L, -2, "_G");
}

void set_globals(lua_State* L, int idx) noexcept {
  lua_pushvalue(L, idx);
  lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
}

void restore_globals(lua_State* L) noexcept {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &pristine_key);
  lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
}

} // namespace troupe::lua_vm
