// The `worker` Lua module (DESIGN.md "The worker module"): status, message,
// cancel, time, and the module's registration; create is in
// worker_create.cpp, the calls that wait are in worker_waits.cpp, handles,
// send, call and names in worker_addresses.cpp. Each lua_CFunction is a shell:
// it checks its arguments, calls noexcept helpers that do the C++ work against
// the worker_context, and raises or yields only after they have returned (see
// lua_vm/README.md). A call that waits records its wait in the context and
// yields the root coroutine with a continuation; the actor resumes it when
// ready() says so, and the continuation tries again. Messages stay msgpack
// bytes until the call that takes them decodes them.
#include <cmath>

#include "lua_vm/coroutines.hpp"
#include "lua_vm/interrupt.hpp"
#include "lua_vm/sandbox.hpp"
#include "lua_vm/worker_calls.hpp"
#include "lua_vm/worker_context.hpp"
#include "serialization/value_codec.hpp"

namespace troupe::lua_vm {

namespace worker_detail {

worker_context& context_of(lua_State* L) {
  return *static_cast<worker_context*>(control_of(L).worker);
}

worker_id check_child(lua_State* L, int arg) {
  auto* h = static_cast<handle*>(luaL_checkudata(L, arg, handle_type));
  if (!context_of(L).children.contains(h->id))
    luaL_argerror(L, arg, "not a child of this worker");
  return h->id;
}

// A stop (cancel, limit) that arrived while the script was suspended ends it as
// soon as it resumes.
void raise_if_stopped(lua_State* L) {
  stop_reason r = control_of(L).tripped;
  if (r != stop_reason::none) {
    lua_pushstring(L, stop_message(r));
    lua_error(L);
  }
}

void check_can_wait(lua_State* L, const char* fn) {
  if (!can_host_yield(L))
    luaL_error(L,
               "worker.%s cannot wait here: inside a metamethod or another "
               "call that cannot yield",
               fn);
}

// Suspends the script until the actor resumes it, passing through the
// script's own coroutines (see coroutines.cpp).
int host_yield(lua_State* L, lua_KContext context, lua_KFunction k) {
  control_of(L).host_yield = true;
  return lua_yieldk(L, 0, context, k);
}

int raise_malformed(lua_State* L, const char* what,
                    const serialization::decode_status& st) {
  char buf[160];
  return luaL_error(L, "%s: %s", what,
                    serialization::describe(st, buf, sizeof buf));
}

// [-0, +1] Decodes `bytes` (one value); raises on malformed bytes or memory.
void push_decoded(lua_State* L, std::string_view bytes, const char* what) {
  worker_context& c = context_of(L);
  auto st = serialization::decode(L, bytes, c.encoder.limits_applied(),
                                  &c.handles);
  if (!st) raise_malformed(L, what, st);
}

// [-0, +1] The error table of a child: {message, traceback, worker} with
// __tostring.
void push_error(lua_State* L, std::string_view bytes, int handle_index) {
  push_decoded(L, bytes, "worker.receive");
  if (lua_type(L, -1) != LUA_TTABLE) {
    lua_createtable(L, 0, 3);
    lua_insert(L, -2);
    lua_setfield(L, -2, "message");
  }
  lua_pushvalue(L, handle_index);
  lua_setfield(L, -2, "worker");
  luaL_setmetatable(L, error_type);
}

int error_tostring(lua_State* L) {
  lua_getfield(L, 1, "message");
  if (lua_type(L, -1) != LUA_TSTRING)
    lua_pushliteral(L, "(worker error without a message)");
  return 1;
}

double optional_timeout(lua_State* L, int arg) {
  if (lua_isnoneornil(L, arg)) return -1;
  double t = luaL_checknumber(L, arg);
  luaL_argcheck(L, t >= 0 && !std::isnan(t), arg,
                "timeout must be a non-negative number");
  return t;
}

namespace {

// ---- status, message, send, cancel, time

bool alive(worker_context& c, worker_id id) noexcept {
  if (c.children.contains(id)) return !c.children.dead(id);
  return c.joined_end(id) == nullptr && c.transport.alive(id);
}

// For a child: dead once its end has arrived; for any other actor: once it
// has ended.
int l_status(lua_State* L) {
  auto* h = static_cast<handle*>(luaL_checkudata(L, 1, handle_type));
  lua_pushstring(L, alive(context_of(L), h->id) ? "running" : "dead");
  return 1;
}

bool send_to_parent(lua_State* L) noexcept {
  worker_context& c = context_of(L);
  return c.transport.send_to_parent(c.sink.view());
}

int l_message(lua_State* L) {
  luaL_argexpected(L, !lua_isnoneornil(L, 1), 1, "non-nil value");
  if (!encode_one(L, 1, "message", 1))
    return luaL_error(L, "%s", context_of(L).error_text.c_str());
  if (!send_to_parent(L))
    return luaL_error(L, "worker.message: the parent's queue of this worker's "
                         "unread messages is full");
  return 0;
}

int l_cancel(lua_State* L) {
  worker_id id = check_child(L, 1);
  context_of(L).children.note_cancel(id);
  context_of(L).transport.cancel_child(id);
  return 0;
}

int l_time(lua_State* L) {
  auto now = clock::now().time_since_epoch();
  lua_pushnumber(L, std::chrono::duration<double>(now).count());
  return 1;
}

} // namespace

void set_encode_error(lua_State* L, const char* fn, int argn) noexcept {
  worker_context& c = context_of(L);
  try {
    c.error_text = std::string{"worker."} + fn + ": "
                   + c.encoder.error().describe(argn);
  } catch (...) {
    c.error_text = "worker: not enough memory";
  }
}

bool encode_one(lua_State* L, int idx, const char* fn, int argn) noexcept {
  worker_context& c = context_of(L);
  if (c.encoder.encode(L, idx, c.sink)) return true;
  set_encode_error(L, fn, argn);
  return false;
}

namespace {

// [-0, +(0|1)] The function of `list` named `key`, if there is one.
bool push_listed(lua_State* L, const luaL_Reg* list, const char* key) {
  for (const luaL_Reg* f = list; f->name != nullptr; ++f) {
    if (std::strcmp(f->name, key) != 0) continue;
    lua_pushcfunction(L, f->func);
    return true;
  }
  return false;
}

// [-0, +1, e] The worker table's __index: [t, k] -> the address, timer,
// dict, info or supervise function named k (kept in t from now on), or nil.
int module_index(lua_State* L) {
  if (lua_type(L, 2) != LUA_TSTRING) {
    lua_pushnil(L);
    return 1;
  }
  const char* key = lua_tostring(L, 2);
  bool found = false;
  for (const luaL_Reg* list :
       {address_functions, timer_functions, dict_functions, info_functions})
    found = found || push_listed(L, list, key);
  if (!found && context_of(L).identity.supervises)
    found = push_listed(L, supervisor_functions, key);
  if (!found && std::strcmp(key, "supervise") == 0) {
    push_supervise(L);
    found = true;
  }
  if (!found) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushvalue(L, 2);
  lua_pushvalue(L, 3);
  lua_rawset(L, 1);
  return 1;
}

} // namespace

} // namespace worker_detail

using namespace worker_detail;

void open_worker_module(lua_State* L, worker_context& context) {
  control_of(L).worker = &context;
  context.ctl = &control_of(L);
  open_addresses(L, context);
  luaL_newmetatable(L, error_type);
  lua_pushcfunction(L, error_tostring);
  lua_setfield(L, -2, "__tostring");
  protect_metatable(L, -1, error_type);
  lua_pop(L, 1);
  static const luaL_Reg functions[] = {
    {"create", l_create},   {"status", l_status}, {"message", l_message},
    {"receive", l_receive}, {"peek", l_peek},     {"join", l_join},
    {"cancel", l_cancel},   {"sleep", l_sleep},   {"time", l_time},
    {nullptr, nullptr},
  };
  luaL_newlib(L, functions);
  // The address functions join the table as they are first read: a module
  // table of all eighteen would take a hash part twice the size in every
  // state.
  lua_createtable(L, 0, 2);
  lua_pushcfunction(L, module_index);
  lua_setfield(L, -2, "__index");
  protect_metatable(L, -1, "worker");
  lua_setmetatable(L, -2);
  // Registered as a loaded module too, so argument errors in calls through
  // pcall name 'worker.send'.
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_pushvalue(L, -2);
  lua_setfield(L, -2, "worker");
  lua_pop(L, 1);
  lua_setglobal(L, "worker");
}

} // namespace troupe::lua_vm
