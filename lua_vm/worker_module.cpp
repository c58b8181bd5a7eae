// The `worker` Lua module (DESIGN.md "The worker module"): create, status,
// message, cancel, time, and the module's registration; the calls that wait
// are in worker_waits.cpp, handles, send, call and names in
// worker_addresses.cpp. Each lua_CFunction is a shell: it checks
// its arguments, calls noexcept helpers that do the C++ work against the
// worker_context, and raises or yields only after they have returned (see
// lua_vm/README.md). A call that waits records its wait in the context and
// yields the root coroutine with a continuation; the actor resumes it when
// ready() says so, and the continuation tries again. Messages stay msgpack
// bytes until the call that takes them decodes them.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include <fcntl.h>
#include <type_traits>

#include "lua_vm/coroutines.hpp"
#include "lua_vm/fs_access.hpp"
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

// ---- create

// What worker.create's options ask for. Trivially destructible: it lives in
// the frame of l_create, which Lua errors cross.
struct create_options {
  std::size_t inbox_limit = 0;
  vm_limits limits;
  /// "HOST:PORT" of the node to start it on (nullptr: here); points into
  /// the options table.
  const char* node = nullptr;
};
static_assert(std::is_trivially_destructible_v<create_options>);

bool is_absolute(const char* path) {
  return path[0] == '/';
}

// Sets the refusal of `p` for worker.create of `path`; returns 0.
worker_id deny(lua_State* L, permission p, const char* path) noexcept {
  worker_context& c = context_of(L);
  control_of(L).denied = true;
  try {
    c.error_text = std::string{"permission denied: "} + permission_set::name(p)
                   + " (worker.create \"" + path + "\")";
  } catch (...) {
    c.error_text.clear();
  }
  return 0;
}

// The script at `full` (`path` as the script named it), compiled; nullopt
// with error_text set when it cannot be had. A scoped fs:read bounds the
// scripts a worker may start too: a script compiled already is checked by
// its resolved path, any other is opened beneath the scope, as io.open opens,
// before a byte of it is read.
std::optional<bytecode> find_script(lua_State* L, const char* path,
                                    const std::string& full) {
  worker_context& c = context_of(L);
  control& ctl = control_of(L);
  bool reads = ctl.permissions.has(permission::fs_read);
  std::string canonical;
  std::string scope;
  std::string error;
  auto chunk = c.transport.cached_script(full, canonical);
  if (chunk && reads
      && !ctl.permissions.covers(permission::fs_read, canonical, scope)) {
    deny(L, permission::fs_read, path);
    return std::nullopt;
  }
  if (!chunk) {
    int fd = -1;
    if (reads) {
      fs_result opened = open_for_script(ctl, full.c_str(),
                                         O_RDONLY | O_NONBLOCK, 0, true, false);
      if (opened.denied) {
        deny(L, permission::fs_read, path);
        return std::nullopt;
      }
      if (opened.fd < 0) {
        c.error_text = "worker.create: cannot open " + full + ": "
                       + std::strerror(opened.error);
        return std::nullopt;
      }
      fd = opened.fd;
    }
    chunk = c.transport.load_script(full, fd, error);
  }
  if (!chunk) c.error_text = "worker.create: " + error;
  return chunk;
}

// Encodes the args (stack slots first..first+count-1), loads the script (or,
// for a node, leaves that to the node) and spawns the child. On failure
// context.error_text says why. [-0, +0]
worker_id create_child(lua_State* L, const char* path, int first, int count,
                       bool in_options, const create_options& asked) noexcept {
  worker_context& c = context_of(L);
  try {
    control& ctl = control_of(L);
    for (permission p : {permission::worker, permission::load})
      if (!ctl.permissions.has(p)) return deny(L, p, path);
    if (!c.encoder.encode_values(L, first, count, c.sink)) {
      serialization::encode_error err = c.encoder.error();
      if (in_options) {
        std::string inner = err.path;
        err.path = "args[" + std::to_string(err.index) + "]";
        if (!inner.empty()) err.path += (inner[0] == '[' ? "" : ".") + inner;
        err.index = 1;
        c.error_text = "worker.create: " + err.describe(1);
      } else {
        c.error_text = "worker.create: " + err.describe(2);
      }
      return 0;
    }
    child_options options;
    options.inbox_limit = asked.inbox_limit;
    options.limits = asked.limits;
    options.permissions = ctl.permissions;
    std::string error;
    worker_id id = 0;
    if (asked.node != nullptr) {
      // The node resolves and compiles the path beneath its root.
      id = c.transport.spawn_remote(asked.node, path,
                                    std::string{c.sink.view()}, options, error);
    } else {
      std::string full = is_absolute(path) || ctl.home.empty()
                           ? std::string{path}
                           : ctl.home + "/" + path;
      auto chunk = find_script(L, path, full);
      if (!chunk) return 0;
      id = c.transport.spawn_child(*chunk, std::string{c.sink.view()}, options,
                                   error);
    }
    if (id == 0) {
      c.error_text = "worker.create: " + error;
      return 0;
    }
    c.children.add(id);
    return id;
  } catch (const std::exception& e) {
    c.error_text = std::string{"worker.create: "} + e.what();
    return 0;
  }
}

// A positive number option of worker.create (absent: 0).
double positive_option(lua_State* L, const char* name) {
  double v = 0;
  if (lua_getfield(L, 1, name) != LUA_TNIL) {
    int ok = 0;
    v = lua_tonumberx(L, -1, &ok);
    if (ok == 0 || !(v > 0) || std::isinf(v))
      luaL_error(L, "worker.create: option '%s' must be a positive number",
                 name);
  }
  lua_pop(L, 1);
  return v;
}

// worker.create{path = ..., args = {...}, inbox = n, memory = bytes,
// instructions = n, timeout = seconds}: [-0, +k] pushes the args, returns
// their count.
int unpack_options(lua_State* L, const char** path, create_options& options) {
  static const char* const known[] = {"path",   "args",         "inbox",
                                      "memory", "instructions", "timeout",
                                      "node"};
  lua_pushnil(L);
  while (lua_next(L, 1) != 0) {
    lua_pop(L, 1);
    const char* key = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                                                     : nullptr;
    bool is_known = false;
    for (const char* k : known)
      is_known = is_known || (key != nullptr && std::string_view{key} == k);
    if (!is_known)
      luaL_error(L, "worker.create: unknown option %s",
                 key != nullptr ? lua_pushfstring(L, "'%s'", key)
                                : luaL_tolstring(L, -1, nullptr));
  }
  std::size_t len = 0;
  if (lua_getfield(L, 1, "path") != LUA_TSTRING)
    luaL_error(L, "worker.create: option 'path' must be a string");
  *path = lua_tolstring(L, -1, &len);
  if (std::strlen(*path) != len)
    luaL_error(L, "worker.create: option 'path' contains a NUL byte");
  lua_pop(L, 1);
  if (int t = lua_getfield(L, 1, "node"); t != LUA_TNIL) {
    if (t != LUA_TSTRING)
      luaL_error(L, "worker.create: option 'node' must be a string "
                    "(HOST:PORT)");
    // The options table at slot 1 keeps the string alive.
    options.node = lua_tostring(L, -1);
  }
  lua_pop(L, 1);
  if (lua_getfield(L, 1, "inbox") != LUA_TNIL) {
    lua_Integer n = lua_tointeger(L, -1);
    if (!lua_isinteger(L, -1) || n < 1)
      luaL_error(L, "worker.create: option 'inbox' must be a positive integer");
    options.inbox_limit = static_cast<std::size_t>(n);
  }
  lua_pop(L, 1);
  options.limits.memory = static_cast<std::size_t>(
    std::min(positive_option(L, "memory"), 1e18));
  options.limits.instructions = static_cast<std::uint64_t>(
    std::min(positive_option(L, "instructions"), 1e18));
  options.limits.wall_time = std::chrono::nanoseconds{static_cast<std::int64_t>(
    std::min(positive_option(L, "timeout"), 1e9) * 1e9)};
  int args = lua_getfield(L, 1, "args");
  if (args == LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  if (args != LUA_TTABLE)
    luaL_error(L, "worker.create: option 'args' must be a table");
  int n = static_cast<int>(luaL_len(L, -1));
  luaL_checkstack(L, n, "too many args");
  int table = lua_gettop(L);
  for (int i = 1; i <= n; ++i) lua_geti(L, table, i);
  lua_remove(L, table);
  return n;
}

int l_create(lua_State* L) {
  create_options options;
  const char* path = nullptr;
  worker_id id;
  if (lua_type(L, 1) == LUA_TTABLE && lua_gettop(L) == 1) {
    int base = lua_gettop(L);
    int n = unpack_options(L, &path, options);
    // Before the child exists: a create that cannot wait starts nothing.
    if (options.node != nullptr) check_can_wait(L, "create");
    id = create_child(L, path, base + 1, n, true, options);
    if (id != 0 && options.node != nullptr) return await_remote_start(L, id);
  } else {
    std::size_t len = 0;
    path = luaL_checklstring(L, 1, &len);
    luaL_argcheck(L, std::strlen(path) == len, 1, "path contains a NUL byte");
    id = create_child(L, path, 2, lua_gettop(L) - 1, false, options);
  }
  if (id == 0) return luaL_error(L, "%s", context_of(L).error_text.c_str());
  push_handle(L, id);
  return 1;
}

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
