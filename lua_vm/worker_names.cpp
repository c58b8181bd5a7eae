// Names in the `worker` module: worker.register and worker.lookup (which may
// wait for a name to be registered). The runtime keeps the names; a worker's
// go when it ends.
#include "lua_vm/worker_calls.hpp"

namespace troupe::lua_vm::worker_detail {

namespace {

constexpr std::size_t max_name = 256;

// [-0, +0, v] The name at `arg`: a non-empty string of at most max_name bytes.
const char* check_name(lua_State* L, int arg, std::size_t& len) {
  const char* name = luaL_checklstring(L, arg, &len);
  luaL_argcheck(L, len > 0, arg, "the name is empty");
  if (len > max_name)
    luaL_argerror(L, arg,
                  lua_pushfstring(L, "the name is longer than %d bytes",
                                  static_cast<int>(max_name)));
  return name;
}

// [-0, +(0|1)] The live actor named by the string at 1; false (nothing
// pushed) when there is none: a supervised child's name that names the
// instance that ended counts as not there yet.
bool push_named(lua_State* L) {
  std::size_t len = 0;
  const char* name = lua_tolstring(L, 1, &len);
  worker_context& c = context_of(L);
  worker_id id = c.transport.lookup({name, len});
  if (id == 0 || !c.transport.alive(id)) return false;
  push_handle(L, id);
  return true;
}

bool await_name(lua_State* L) noexcept {
  std::size_t len = 0;
  const char* name = lua_tolstring(L, 1, &len);
  return context_of(L).transport.await_name({name, len});
}

void forget_name_wait(lua_State* L) noexcept {
  std::size_t len = 0;
  const char* name = lua_tolstring(L, 1, &len);
  context_of(L).transport.forget_name_wait({name, len});
}

int lookup_attempt(lua_State* L, int, lua_KContext) {
  raise_if_stopped(L);
  worker_context& c = context_of(L);
  if (push_named(L)) {
    end_wait(L);
    return 1;
  }
  if (c.wait.timed_out) {
    end_wait(L);
    forget_name_wait(L);
    lua_pushnil(L);
    return 1;
  }
  // Named and gone again before this ran: wait for the next one.
  if (c.name_appeared) {
    c.name_appeared = false;
    if (!await_name(L))
      return luaL_error(L, "worker.lookup: not enough memory");
  }
  return host_yield(L, 0, lookup_attempt);
}

// The timeout of lookup's second argument: seconds, or {timeout = s}.
double lookup_timeout(lua_State* L) {
  if (lua_type(L, 2) != LUA_TTABLE) return optional_timeout(L, 2);
  if (lua_getfield(L, 2, "node") != LUA_TNIL)
    luaL_error(L, "worker.lookup: option 'node' needs nodes, which this "
                  "runtime does not run");
  double t = -1;
  if (lua_getfield(L, 2, "timeout") != LUA_TNIL) {
    int ok = 0;
    t = lua_tonumberx(L, -1, &ok);
    if (ok == 0 || !(t >= 0))
      luaL_error(L, "worker.lookup: option 'timeout' must be a non-negative "
                    "number");
  }
  lua_pop(L, 2);
  return t;
}

} // namespace

// [-1, +1, e] worker.register(name).
int l_register(lua_State* L) {
  std::size_t len = 0;
  const char* name = check_name(L, 1, len);
  switch (context_of(L).transport.register_name({name, len})) {
    case name_result::registered: lua_pushboolean(L, 1); return 1;
    case name_result::taken:
      return luaL_error(L, "worker.register: the name '%s' is taken", name);
    case name_result::failed: break;
  }
  return luaL_error(L, "worker.register: not enough memory");
}

// [-(1|2), +1, e] worker.lookup(name [, timeout | {timeout = s}]).
int l_lookup(lua_State* L) {
  std::size_t len = 0;
  check_name(L, 1, len);
  double timeout = lookup_timeout(L);
  lua_settop(L, 1);
  if (push_named(L)) return 1;
  if (timeout <= 0) {
    lua_pushnil(L);
    return 1;
  }
  check_can_wait(L, "lookup");
  worker_context& c = context_of(L);
  c.name_appeared = false;
  if (!await_name(L)) return luaL_error(L, "worker.lookup: not enough memory");
  begin_wait(L, wait_state::lookup, timeout);
  return lookup_attempt(L, LUA_OK, 0);
}

} // namespace troupe::lua_vm::worker_detail
