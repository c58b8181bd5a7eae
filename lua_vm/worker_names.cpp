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

// What lookup's second argument asks: a timeout in seconds, or
// {timeout = s, node = "HOST:PORT"}.
struct lookup_options {
  double timeout = -1;
  // In the options table (at 2), which stays on the stack.
  const char* node = nullptr;
};

// The reply of a node's agent, through the lookup actor: the handle, nil, or
// false and why the node could not be asked.
int remote_lookup_attempt(lua_State* L, int, lua_KContext) {
  raise_if_stopped(L);
  worker_context& c = context_of(L);
  switch (c.call.state) {
    case call_state::replied: {
      int base = lua_gettop(L);
      take_reply(L, "worker.lookup");
      if (lua_type(L, base + 1) == LUA_TBOOLEAN && !lua_toboolean(L, base + 1))
        return luaL_error(L, "%s",
                          luaL_optstring(L, base + 2, "worker.lookup: failed"));
      lua_settop(L, base + 1);
      return 1;
    }
    case call_state::ended:
      end_wait(L);
      end_call(c);
      return luaL_error(L, "worker.lookup: the node was lost before it "
                           "answered");
    default: break;
  }
  return host_yield(L, 0, remote_lookup_attempt);
}

// [-0, +1, e] worker.lookup(name, {node = ...}): asks the node's agent
// (yielding like worker.call), which waits up to `timeout` for the name.
int lookup_on_node(lua_State* L, const lookup_options& o) {
  check_can_wait(L, "lookup");
  worker_context& c = context_of(L);
  // The context's string, not a local one: luaL_error does not unwind.
  worker_id asker = c.transport.lookup_remote(o.node, c.error_text);
  if (asker == 0)
    return luaL_error(L, "worker.lookup: %s", c.error_text.c_str());
  lua_settop(L, 1);
  lua_pushnumber(L, o.timeout < 0 ? 0 : o.timeout);
  if (!c.encoder.encode_values(L, 1, 2, c.sink)
      || start_call(c, asker) != send_result::sent) {
    c.transport.cancel_lookup(asker);
    return luaL_error(L, "worker.lookup: the node could not be asked");
  }
  lua_settop(L, 0);
  begin_wait(L, wait_state::call, -1);
  return remote_lookup_attempt(L, LUA_OK, 0);
}

// [-0, +0, e] Lookup's second argument.
lookup_options lookup_args(lua_State* L) {
  lookup_options o;
  if (lua_type(L, 2) != LUA_TTABLE) {
    o.timeout = optional_timeout(L, 2);
    return o;
  }
  int type = lua_getfield(L, 2, "node");
  if (type != LUA_TNIL && type != LUA_TSTRING)
    luaL_error(L, "worker.lookup: option 'node' must be a string (HOST:PORT)");
  o.node = lua_tostring(L, -1);
  double t = -1;
  if (lua_getfield(L, 2, "timeout") != LUA_TNIL) {
    int ok = 0;
    t = lua_tonumberx(L, -1, &ok);
    if (ok == 0 || !(t >= 0))
      luaL_error(L, "worker.lookup: option 'timeout' must be a non-negative "
                    "number");
  }
  lua_pop(L, 1);
  if (o.node == nullptr) lua_pop(L, 1);
  o.timeout = t;
  return o;
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

// [-(1|2), +1, e] worker.lookup(name [, timeout | {timeout = s,
// node = "HOST:PORT"}]).
int l_lookup(lua_State* L) {
  std::size_t len = 0;
  check_name(L, 1, len);
  auto options = lookup_args(L);
  if (options.node != nullptr) return lookup_on_node(L, options);
  double timeout = options.timeout;
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
