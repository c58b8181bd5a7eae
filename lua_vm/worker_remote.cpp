// worker.create{node = "HOST:PORT", ...}: a child on another node (DESIGN.md
// "Nodes"). The transport starts a local stand-in; the creator then calls it
// and waits, yielding, for the outcome, so a script the node cannot start
// raises here as a local one would. The handle is the stand-in's: everything
// a child handle does works on it.
#include "lua_vm/worker_calls.hpp"

#include "lua_vm/sandbox.hpp"

namespace troupe::lua_vm::worker_detail {

namespace {

// Encodes the arguments and starts the stand-in; 0 with error_text set on
// failure. [-0, +0]
worker_id start_stand_in(lua_State* L, const char* node, const char* path,
                         int first, int count, std::size_t inbox_limit,
                         const vm_limits& limits) noexcept {
  worker_context& c = context_of(L);
  try {
    control& ctl = control_of(L);
    for (permission p : {permission::worker, permission::load}) {
      if (!ctl.permissions.has(p)) {
        ctl.denied = true;
        c.error_text = std::string{"permission denied: "}
                       + permission_set::name(p) + " (worker.create \"" + path
                       + "\")";
        return 0;
      }
    }
    if (!c.encoder.encode_values(L, first, count, c.sink)) {
      serialization::encode_error err = c.encoder.error();
      std::string inner = err.path;
      err.path = "args[" + std::to_string(err.index) + "]";
      if (!inner.empty()) err.path += (inner[0] == '[' ? "" : ".") + inner;
      err.index = 1;
      c.error_text = "worker.create: " + err.describe(1);
      return 0;
    }
    child_options asked;
    asked.inbox_limit = inbox_limit;
    asked.limits = limits;
    asked.permissions = ctl.permissions;
    std::string error;
    worker_id id = c.transport.spawn_remote(node, path,
                                            std::string{c.sink.view()}, asked,
                                            error);
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

// The stand-in's answer: true (push its handle) or why the node refused.
int start_attempt(lua_State* L, int, lua_KContext context) {
  raise_if_stopped(L);
  worker_context& c = context_of(L);
  auto id = static_cast<worker_id>(context);
  switch (c.call.state) {
    case call_state::replied: {
      end_wait(L);
      int base = lua_gettop(L);
      int count = 0;
      auto st = serialization::decode_values(L, c.call.reply,
                                             c.encoder.limits_applied(), count,
                                             &c.handles);
      end_call(c);
      if (!st) return raise_malformed(L, "worker.create", st);
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

int create_remote(lua_State* L, const char* node, const char* path, int first,
                  int count, std::size_t inbox_limit, const vm_limits& limits) {
  check_can_wait(L, "create");
  worker_id id = start_stand_in(L, node, path, first, count, inbox_limit,
                                limits);
  worker_context& c = context_of(L);
  if (id == 0) return luaL_error(L, "%s", c.error_text.c_str());
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
