// The safe libraries (see sandbox.hpp). Every lua_CFunction here is plain
// C-style code: Lua errors longjmp through them, so they hold no C++ object
// with a destructor (see lua_vm/README.md).
#include "lua_vm/sandbox.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "lua_vm/control.hpp"
#include "lua_vm/coroutines.hpp"
#include "lua_vm/library_loops.hpp"
#include "lua_vm/modules.hpp"
#include "lua_vm/patterns.hpp"

namespace troupe::lua_vm {

namespace {

// print(...): the whole line is built first and handed to the sink in one
// piece, so lines from many states never interleave.
int safe_print(lua_State* L) {
  int n = lua_gettop(L);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 1; i <= n; ++i) {
    if (i > 1) luaL_addchar(&b, '\t');
    luaL_tolstring(L, i, nullptr);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  std::size_t len = 0;
  const char* line = lua_tolstring(L, -1, &len);
  const control& c = control_of(L);
  if (c.print != nullptr) c.print(c.print_context, std::string_view{line, len});
  return 0;
}

// debug.traceback([thread,] [message [, level]]), the one debug function the
// sandbox keeps; written here so the state need not open (and then drop) the
// whole debug library. Same behaviour as Lua's: a message that is not a string
// (nor nil) is returned untouched.
int safe_traceback(lua_State* L) {
  int arg = 0;
  lua_State* target = L;
  if (lua_type(L, 1) == LUA_TTHREAD) {
    target = lua_tothread(L, 1);
    arg = 1;
  }
  const char* message = lua_tostring(L, arg + 1);
  if (message == nullptr && !lua_isnoneornil(L, arg + 1)) {
    lua_pushvalue(L, arg + 1);
    return 1;
  }
  auto level = static_cast<int>(
    luaL_optinteger(L, arg + 2, target == L ? 1 : 0));
  luaL_traceback(L, target, message, level);
  return 1;
}

// The mode text_only_load gives Lua's load for the chunk at 1 and the mode at
// 3: the script's mode without 'b', so binary chunks never load. A text string
// chunk with a mode that refuses text keeps the script's mode, so Lua refuses
// it with its own message ("attempt to load a text chunk (mode is 'b')").
void push_text_mode(lua_State* L) {
  const char* mode = luaL_optstring(L, 3, "bt");
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (const char* p = mode; *p != '\0'; ++p)
    if (*p != 'b') luaL_addchar(&b, *p);
  luaL_pushresult(&b);
  bool refuses_text = std::strchr(mode, 't') == nullptr;
  bool text_string = lua_type(L, 1) == LUA_TSTRING
                     && lua_tostring(L, 1)[0] != LUA_SIGNATURE[0];
  if (refuses_text && text_string) {
    lua_pop(L, 1);
    lua_pushstring(L, mode);
  }
}

// load(chunk [, chunkname [, mode [, env]]]) that never loads a binary chunk.
// An absent env must stay absent (none, not nil): load gives the chunk the
// globals only then.
int text_only_load(lua_State* L) {
  int n = lua_gettop(L) < 3 ? 3 : lua_gettop(L);
  lua_settop(L, n);
  push_text_mode(L);
  lua_replace(L, 3);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, n, LUA_MULTRET);
  return lua_gettop(L);
}

// setmetatable refusing __gc: Lua runs finalizers with hooks disabled, so a
// looping __gc could never be stopped. Lua reads __gc only here (rawly), so
// checking at this point closes the door.
int no_gc_setmetatable(lua_State* L) {
  lua_settop(L, 2);
  lua_pushliteral(L, "__gc");
  if (lua_type(L, 2) == LUA_TTABLE && lua_rawget(L, 2) != LUA_TNIL)
    return luaL_error(L, "setmetatable: __gc metamethods are not allowed "
                         "(finalizers cannot be interrupted)");
  lua_settop(L, 2);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, 2, 1);
  return 1;
}

// xpcall's message handler runs where the error is raised. For a stop that is
// inside the interrupt hook, where Lua runs no hooks, so a looping handler
// could never be stopped: the handler is wrapped, and once the state has
// tripped the error passes through it untouched.
int guarded_handler(lua_State* L) {
  if (control_of(L).tripped != stop_reason::none) return 1;
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

int finish_xpcall(lua_State* L, int status, lua_KContext results_base) {
  if (status != LUA_OK && status != LUA_YIELD) {
    lua_pushboolean(L, 0);
    lua_pushvalue(L, -2);
    return 2;
  }
  return lua_gettop(L) - static_cast<int>(results_base);
}

// xpcall(f, handler, ...), as Lua's, with the handler guarded. Yieldable.
int guarded_xpcall(lua_State* L) {
  int n = lua_gettop(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_pushvalue(L, 2);
  lua_pushcclosure(L, guarded_handler, 1);
  lua_replace(L, 2);
  lua_pushboolean(L, 1);
  lua_pushvalue(L, 1);
  lua_rotate(L, 3, 2); // [f, handler, true, f, args...]
  int status = lua_pcallk(L, n - 2, LUA_MULTRET, 2, 2, finish_xpcall);
  return finish_xpcall(L, status, 2);
}

// [-0, +1] Opens library `name` with `open` and pushes a new table holding
// only `keep` (nullptr-terminated) of it; the library leaves the loaded table.
void push_reduced(lua_State* L, const char* name, lua_CFunction open,
                  const char* const* keep) {
  luaL_requiref(L, name, open, 0);
  lua_newtable(L);
  for (; *keep != nullptr; ++keep) {
    lua_getfield(L, -2, *keep);
    lua_setfield(L, -2, *keep);
  }
  lua_remove(L, -2);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_pushnil(L);
  lua_setfield(L, -2, name);
  lua_pop(L, 1);
}

void warn_sink(void* ud, const char* message, int more) {
  auto& c = *static_cast<control*>(ud);
  static_cast<void>(more);
  if (message[0] == '@') {
    if (std::string_view{message} == "@on")
      c.warnings_on = true;
    else if (std::string_view{message} == "@off")
      c.warnings_on = false;
    return;
  }
  if (c.warnings_on) std::fprintf(stderr, "Lua warning: %s\n", message);
}

// [-0, +0] Seeds math.random with bits no other state shares. Lua seeds it from
// the time in seconds and the state's address, and freed states' addresses
// come back: workers made in the same second would draw the same numbers.
void seed_random(lua_State* L) {
  static std::atomic<std::uint64_t> sequence{0};
  auto mix = [](std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  };
  auto now = static_cast<std::uint64_t>(
    std::chrono::steady_clock::now().time_since_epoch().count());
  std::uint64_t n = sequence.fetch_add(1, std::memory_order_relaxed);
  lua_getglobal(L, LUA_MATHLIBNAME);
  lua_getfield(L, -1, "randomseed");
  lua_pushinteger(L, static_cast<lua_Integer>(mix(now ^ mix(n))));
  lua_pushinteger(L, static_cast<lua_Integer>(
                       mix(n ^ reinterpret_cast<std::uintptr_t>(L))));
  lua_call(L, 2, 0);
  lua_pop(L, 1);
}

} // namespace

void protect_metatable(lua_State* L, int idx, const char* name) {
  idx = lua_absindex(L, idx);
  lua_pushstring(L, name);
  lua_setfield(L, idx, "__metatable");
}

const void* make_userdata_type(lua_State* L, const char* name,
                               lua_CFunction tostring, lua_CFunction gc) {
  luaL_newmetatable(L, name);
  lua_pushcfunction(L, tostring);
  lua_setfield(L, -2, "__tostring");
  if (gc != nullptr) {
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
  }
  protect_metatable(L, -1, name);
  const void* mt = lua_topointer(L, -1);
  lua_pop(L, 1);
  return mt;
}

int call_wrapped(lua_State* L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

int open_safe_libraries(lua_State* L) {
  static const luaL_Reg full[] = {{LUA_GNAME, luaopen_base},
                                  {LUA_TABLIBNAME, luaopen_table},
                                  {LUA_STRLIBNAME, luaopen_string},
                                  {LUA_MATHLIBNAME, luaopen_math},
                                  {LUA_UTF8LIBNAME, luaopen_utf8},
                                  {LUA_COLIBNAME, luaopen_coroutine}};
  for (const auto& lib : full) {
    luaL_requiref(L, lib.name, lib.func, 1);
    lua_pop(L, 1);
  }
  static const char* const os_keep[] = {"time",    "clock",  "date", "difftime",
                                        "execute", "getenv", nullptr};
  lua_createtable(L, 0, 5);
  push_reduced(L, LUA_OSLIBNAME, luaopen_os, os_keep);
  open_gated_functions(L, lua_gettop(L) - 1, lua_gettop(L));
  lua_setglobal(L, LUA_OSLIBNAME);
  lua_setglobal(L, LUA_IOLIBNAME);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, safe_traceback);
  lua_setfield(L, -2, "traceback");
  lua_setglobal(L, LUA_DBLIBNAME);

  lua_getglobal(L, "load");
  lua_pushcclosure(L, text_only_load, 1);
  lua_setglobal(L, "load");
  open_package(L);
  install_passthrough_coroutines(L);
  install_interruptible_patterns(L);
  install_stoppable_loops(L);
  seed_random(L);
  lua_getglobal(L, "setmetatable");
  lua_pushcclosure(L, no_gc_setmetatable, 1);
  lua_setglobal(L, "setmetatable");
  lua_pushcfunction(L, guarded_xpcall);
  lua_setglobal(L, "xpcall");
  lua_pushcfunction(L, safe_print);
  lua_setglobal(L, "print");
  lua_setwarnf(L, warn_sink, &control_of(L));
  return 0;
}

} // namespace troupe::lua_vm
