// worker.create{node = "HOST:PORT", ...}: a child on another node (DESIGN.md
// "Nodes"). worker.create has the transport start a local stand-in; the
// creator then calls it and waits here, yielding, for the outcome, so a
// script the node cannot start raises as a local one would. The handle is
// the stand-in's: everything a child handle does works on it.
#include "lua_vm/worker_calls.hpp"

namespace troupe::lua_vm::worker_detail {

namespace {

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

} // namespace

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

} // namespace troupe::lua_vm::worker_detail
