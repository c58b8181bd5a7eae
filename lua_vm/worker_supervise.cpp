// worker.supervise and what a supervisor's state has beyond the worker
// module. The supervisor itself is Lua (supervisor.lua): worker.supervise is
// that chunk's library function, loaded into the calling state on first use,
// and each supervisor is a child worker running the chunk. Only a state
// spawned that way (worker_identity::supervises) reaches the internal
// functions: holding names for its children, giving up, the backoff.
#include <chrono>
#include <cmath>

#include "lua_vm/backoff.hpp"
#include "lua_vm/chunk.hpp"
#include "lua_vm/supervisor_source.hpp"
#include "lua_vm/worker_calls.hpp"

namespace troupe::lua_vm {

const bytecode& supervisor_chunk() {
  static const bytecode chunk = compile(supervisor_source,
                                        "troupe/supervisor.lua");
  return chunk;
}

namespace worker_detail {

namespace {

// Spawns a supervisor whose arguments are the two values on top of the stack
// ("run" and the spec). On failure context.error_text says why. [-0, +0]
worker_id spawn_supervisor(lua_State* L) noexcept {
  worker_context& c = context_of(L);
  try {
    control& ctl = control_of(L);
    for (permission p : {permission::worker, permission::load}) {
      if (!ctl.permissions.has(p)) {
        ctl.denied = true;
        c.error_text = std::string{"permission denied: "}
                       + permission_set::name(p) + " (worker.supervise)";
        return 0;
      }
    }
    if (!c.encoder.encode_values(L, lua_gettop(L) - 1, 2, c.sink)) {
      c.error_text = "worker.supervise: " + c.encoder.error().describe(0);
      return 0;
    }
    child_options options;
    options.permissions = ctl.permissions;
    options.home = ctl.home;
    options.supervises = true;
    std::string error;
    worker_id id = c.transport.spawn_child(supervisor_chunk(),
                                           std::string{c.sink.view()}, options,
                                           error);
    if (id == 0) {
      c.error_text = "worker.supervise: " + error;
      return 0;
    }
    c.children.add(id);
    return id;
  } catch (const std::exception& e) {
    c.error_text = std::string{"worker.supervise: "} + e.what();
    return 0;
  }
}

// [-1, +1, e] The library's spawn(spec): the new supervisor's handle.
int l_spawn_supervisor(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_pushliteral(L, "run");
  lua_insert(L, 1);
  worker_id id = spawn_supervisor(L);
  if (id == 0) return luaL_error(L, "%s", context_of(L).error_text.c_str());
  push_handle(L, id);
  return 1;
}

// [-1, +1] worker._hold(name): true, or false when another worker has or
// holds the name.
int l_hold(lua_State* L) {
  std::size_t len = 0;
  const char* name = luaL_checklstring(L, 1, &len);
  auto got = context_of(L).transport.hold_name({name, len});
  if (got == name_result::failed)
    return luaL_error(L, "worker._hold: not enough memory");
  lua_pushboolean(L, got == name_result::registered);
  return 1;
}

// [-2, +0] worker._bind(name, child).
int l_bind(lua_State* L) {
  std::size_t len = 0;
  const char* name = luaL_checklstring(L, 1, &len);
  worker_id child = check_child(L, 2);
  if (!context_of(L).transport.bind_name({name, len}, child))
    return luaL_error(L, "worker._bind: the name '%s' is not held here", name);
  return 0;
}

// [-1, +0] worker._release(name).
int l_release(lua_State* L) {
  std::size_t len = 0;
  const char* name = luaL_checklstring(L, 1, &len);
  context_of(L).transport.release_name({name, len});
  return 0;
}

// [-1, +0, v] worker._give_up(message): ends the supervisor with an error of
// kind "gave_up".
int l_give_up(lua_State* L) {
  luaL_checkstring(L, 1);
  control_of(L).gave_up = true;
  lua_settop(L, 1);
  return lua_error(L);
}

std::chrono::nanoseconds seconds_arg(lua_State* L, int arg) {
  double s = luaL_checknumber(L, arg);
  luaL_argcheck(L, s >= 0 && std::isfinite(s), arg, "non-negative seconds");
  return std::chrono::nanoseconds{
    static_cast<std::int64_t>(std::min(s, 1e9) * 1e9)};
}

// [-5, +1] worker._backoff(min, max, jitter, streak, spread): seconds.
int l_backoff(lua_State* L) {
  auto min = seconds_arg(L, 1);
  auto max = seconds_arg(L, 2);
  double jitter = luaL_checknumber(L, 3);
  lua_Integer streak = luaL_checkinteger(L, 4);
  double spread = luaL_checknumber(L, 5);
  auto delay = backoff_delay(min, max, jitter,
                             static_cast<std::size_t>(
                               std::max<lua_Integer>(streak, 0)),
                             spread);
  lua_pushnumber(L, std::chrono::duration<double>(delay).count());
  return 1;
}

} // namespace

const luaL_Reg supervisor_functions[] = {
  {"_hold", l_hold},       {"_bind", l_bind},       {"_release", l_release},
  {"_give_up", l_give_up}, {"_backoff", l_backoff}, {nullptr, nullptr},
};

void push_supervise(lua_State* L) {
  const bytecode* chunk = nullptr;
  try {
    chunk = &supervisor_chunk();
  } catch (...) {
    // Compiled on first use: only memory can fail it.
  }
  if (chunk == nullptr) luaL_error(L, "worker.supervise: not enough memory");
  if (load(L, *chunk) != LUA_OK) lua_error(L);
  lua_pushliteral(L, "library");
  lua_pushcfunction(L, l_spawn_supervisor);
  lua_call(L, 2, 1);
}

} // namespace worker_detail

} // namespace troupe::lua_vm
