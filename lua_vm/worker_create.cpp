// worker.create (DESIGN.md "The worker module", "Nodes"): its options, the
// script it starts (found and compiled here beneath the worker's fs:read
// scope, or, for a node, by the node beneath its root) and the child. A child
// on another node is a local stand-in's: the creator then calls the stand-in
// and waits, yielding, for the outcome, so a script the node cannot start
// raises as a local one would; the handle then works as any child's.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include <fcntl.h>

#include "lua_vm/fs_access.hpp"
#include "lua_vm/sandbox.hpp"
#include "lua_vm/worker_calls.hpp"

namespace troupe::lua_vm::worker_detail {

namespace {

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

// The stand-in's answer: true (push its handle) or why the node refused.
int start_attempt(lua_State* L, int, lua_KContext context) {
  raise_if_stopped(L);
  worker_context& c = context_of(L);
  auto id = static_cast<worker_id>(context);
  switch (c.call.state) {
    case call_state::replied: {
      int base = lua_gettop(L);
      take_reply(L, "worker.create");
      if (lua_type(L, base + 1) == LUA_TBOOLEAN && lua_toboolean(L, base + 1)) {
        lua_settop(L, base);
        push_handle(L, id);
        return 1;
      }
      c.children.forget(id);
      return luaL_error(L, "%s",
                        luaL_optstring(L, base + 1,
                                       "worker.create: "
                                       "refused"));
    }
    case call_state::ended:
      end_wait(L);
      end_call(c);
      c.children.forget(id);
      return luaL_error(L, "worker.create: the remote worker ended before it "
                           "started");
    default: break;
  }
  return host_yield(L, context, start_attempt);
}

// [-k, +1, e] The end of worker.create{node = ...}: waits (yielding) until
// the stand-in `id` says the node has started the worker, then pushes its
// handle; raises what the node said when it could not.
int await_remote_start(lua_State* L, worker_id id) {
  worker_context& c = context_of(L);
  lua_pushboolean(L, 1);
  bool encoded = encode_one(L, -1, "create", 1);
  lua_pop(L, 1);
  if (!encoded || start_call(c, id) != send_result::sent) {
    c.children.forget(id);
    c.transport.cancel_child(id);
    return luaL_error(L, "worker.create: the remote worker ended before it "
                         "started");
  }
  lua_settop(L, 0);
  begin_wait(L, wait_state::call, -1);
  return start_attempt(L, LUA_OK, static_cast<lua_KContext>(id));
}

} // namespace

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

} // namespace troupe::lua_vm::worker_detail
