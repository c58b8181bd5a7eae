// Addresses in the `worker` module (DESIGN.md "Addresses"): handles as values
// (one userdata per actor and state, sent and received as msgpack ext types),
// self and parent, send to any actor or name, call and reply, monitors (names
// are in worker_names.cpp).
// The shells follow lua_vm/README.md: checks, a noexcept helper against the
// context and transport, then raise or yield.
#include <cstring>

#include "lua_vm/sandbox.hpp"
#include "lua_vm/worker_calls.hpp"
#include "lua_vm/worker_end.hpp"

namespace troupe::lua_vm {

namespace worker_detail {

namespace {

// The registry key of the weak table that maps an actor's id to its handle
// userdata, so one actor is one userdata in a state.
const char handles_key = 0;

// The last userdata of `id` went: its queues and cached link can go.
void forget_handle(worker_context& c, worker_id id) noexcept {
  if (c.children.contains(id)) c.children.forget(id);
  if (c.joins) c.joins->ends.erase(id);
  c.transport.forget_peer(id);
}

// Lua clears a weak value before it runs the finalizer of what it held, so a
// handle of `id` made since this one became garbage is in the table already:
// then `id` still has a handle here.
int handle_gc(lua_State* L) {
  auto* h = static_cast<handle*>(lua_touserdata(L, 1));
  auto* c = static_cast<worker_context*>(control_of(L).worker);
  if (c == nullptr) return 0;
  bool replaced = lua_rawgetp(L, LUA_REGISTRYINDEX, &handles_key) == LUA_TTABLE
                  && lua_rawgeti(L, -1, static_cast<lua_Integer>(h->id))
                       == LUA_TUSERDATA;
  if (!replaced) forget_handle(*c, h->id);
  return 0;
}

int handle_tostring(lua_State* L) {
  auto* h = static_cast<handle*>(luaL_checkudata(L, 1, handle_type));
  lua_pushfstring(L, "worker: %I", static_cast<lua_Integer>(h->id));
  return 1;
}

int token_tostring(lua_State* L) {
  auto* t = static_cast<reply_token*>(luaL_checkudata(L, 1, token_type));
  lua_pushfstring(L, "call: %I/%I", static_cast<lua_Integer>(t->caller),
                  static_cast<lua_Integer>(t->call));
  return 1;
}

void push_new_token(lua_State* L, worker_id caller, std::uint64_t call);

// The codec's side of this state's handles (serialization::lua_handles).
void push_address(lua_State* L, void*, const serialization::address& a) {
  if (a.kind == serialization::address::actor)
    push_handle(L, a.id);
  else
    push_new_token(L, a.id, a.call);
}

bool read_address(lua_State* L, int idx, void* context,
                  serialization::address& out) {
  const auto& c = *static_cast<const worker_context*>(context);
  if (lua_getmetatable(L, idx) == 0) return false;
  const void* mt = lua_topointer(L, -1);
  lua_pop(L, 1);
  if (mt == c.handle_metatable) {
    out = {serialization::address::actor,
           static_cast<const handle*>(lua_touserdata(L, idx))->id, 0};
    return true;
  }
  if (mt == c.token_metatable) {
    const auto* t = static_cast<const reply_token*>(lua_touserdata(L, idx));
    out = {serialization::address::reply, t->caller, t->call};
    return true;
  }
  return false;
}

// [-0, +1, m] A reply token; its metatable is made with the state's first
// token (most workers are never called).
void push_new_token(lua_State* L, worker_id caller, std::uint64_t call) {
  worker_context& c = context_of(L);
  if (c.token_metatable == nullptr)
    c.token_metatable = make_userdata_type(L, token_type, token_tostring);
  auto* t = static_cast<reply_token*>(
    lua_newuserdatauv(L, sizeof(reply_token), 0));
  t->caller = caller;
  t->call = call;
  luaL_setmetatable(L, token_type);
}

} // namespace

[[noreturn]] void raise_call_error(lua_State* L, const char* kind,
                                   const char* message) {
  lua_createtable(L, 0, 2);
  lua_pushstring(L, message);
  lua_setfield(L, -2, "message");
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
  luaL_setmetatable(L, error_type);
  lua_error(L);
  __builtin_unreachable();
}

namespace {

// ---- send

int l_self(lua_State* L) {
  push_handle(L, context_of(L).identity.self);
  return 1;
}

int l_parent(lua_State* L) {
  worker_id parent = context_of(L).identity.parent;
  if (parent == 0)
    lua_pushnil(L);
  else
    push_handle(L, parent);
  return 1;
}

send_result send_to(lua_State* L, worker_id id, std::uint64_t call) noexcept {
  worker_context& c = context_of(L);
  return c.transport.send_to(id, call, c.sink.view());
}

int l_send(lua_State* L) {
  worker_id id = check_target(L, 1);
  luaL_argexpected(L, !lua_isnoneornil(L, 2), 2, "non-nil value");
  worker_context& c = context_of(L);
  if (id == 0 || (c.children.contains(id) && c.children.dead(id))) {
    lua_pushboolean(L, 0);
    return 1;
  }
  if (!encode_one(L, 2, "send", 2))
    return luaL_error(L, "%s", c.error_text.c_str());
  switch (send_to(L, id, 0)) {
    case send_result::sent: lua_pushboolean(L, 1); return 1;
    case send_result::dead: lua_pushboolean(L, 0); return 1;
    case send_result::full: return luaL_error(L, "worker.send: inbox full");
    case send_result::failed: break;
  }
  return luaL_error(L, "worker.send: not enough memory");
}

// ---- call and reply

} // namespace

void end_call(worker_context& c) noexcept {
  c.transport.awaiting_reply(0);
  c.transport.unwatch(c.call.target,
                      watch_token(c.call.number, watch_kind::call));
  c.call.state = call_state::none;
  c.call.reply.clear();
}

send_result start_call(worker_context& c, worker_id target) noexcept {
  c.call.number = c.next_number++;
  c.call.target = target;
  c.call.state = call_state::waiting;
  c.transport.awaiting_reply(c.call.number);
  // Watched before it is sent: an end that comes first still fails the call.
  send_result r = send_result::dead;
  if (c.transport.watch(target, watch_token(c.call.number, watch_kind::call)))
    r = c.transport.send_to(target, c.call.number, c.sink.view());
  if (r != send_result::sent) end_call(c);
  return r;
}

namespace {} // namespace

int take_reply(lua_State* L, const char* what) {
  worker_context& c = context_of(L);
  end_wait(L);
  int base = lua_gettop(L);
  int count = 0;
  auto st = serialization::decode_values(L, c.call.reply,
                                         c.encoder.limits_applied(), count,
                                         &c.handles);
  end_call(c);
  if (!st) return raise_malformed(L, what, st);
  return lua_gettop(L) - base;
}

namespace {

int call_attempt(lua_State* L, int, lua_KContext) {
  raise_if_stopped(L);
  worker_context& c = context_of(L);
  switch (c.call.state) {
    case call_state::replied: return take_reply(L, "worker.call");
    case call_state::ended:
      end_wait(L);
      end_call(c);
      raise_call_error(L, "ended",
                       "worker.call: the worker ended before it replied");
    default: break;
  }
  if (c.wait.timed_out) {
    end_wait(L);
    end_call(c);
    raise_call_error(L, "timeout", "worker.call: timeout");
  }
  return host_yield(L, 0, call_attempt);
}

// [-(2|3), +n, e] worker.call(target, v [, timeout]).
int l_call(lua_State* L) {
  worker_id id = check_target(L, 1);
  luaL_argexpected(L, !lua_isnoneornil(L, 2), 2, "non-nil value");
  double timeout = optional_timeout(L, 3);
  check_can_wait(L, "call");
  worker_context& c = context_of(L);
  if (id == 0)
    raise_call_error(L, "unknown",
                     lua_pushfstring(L, "worker.call: no worker is named '%s'",
                                     lua_tostring(L, 1)));
  // It would wait for a reply only it could give.
  if (id == c.identity.self)
    return luaL_error(L, "worker.call: a worker cannot call itself");
  if (!encode_one(L, 2, "call", 2))
    return luaL_error(L, "%s", c.error_text.c_str());
  switch (start_call(c, id)) {
    case send_result::sent: break;
    case send_result::dead:
      raise_call_error(L, "ended", "worker.call: the worker has ended");
    case send_result::full: return luaL_error(L, "worker.call: inbox full");
    case send_result::failed:
      return luaL_error(L, "worker.call: not enough memory");
  }
  lua_settop(L, 0);
  begin_wait(L, wait_state::call, timeout);
  return call_attempt(L, LUA_OK, 0);
}

bool reply_to(lua_State* L, const reply_token& t) noexcept {
  worker_context& c = context_of(L);
  return c.transport.reply_to(t.caller, t.call, c.sink.view());
}

// [-n, +1, e] worker.reply(call, ...).
int l_reply(lua_State* L) {
  auto* t = static_cast<reply_token*>(luaL_checkudata(L, 1, token_type));
  worker_context& c = context_of(L);
  if (!c.encoder.encode_values(L, 2, lua_gettop(L) - 1, c.sink)) {
    set_encode_error(L, "reply", 2);
    return luaL_error(L, "%s", c.error_text.c_str());
  }
  lua_pushboolean(L, reply_to(L, *t) ? 1 : 0);
  return 1;
}

// ---- monitors

// Watches `id` for a monitor; an actor that has ended already gets its down
// queued at once. False on memory failure.
bool monitor(worker_context& c, worker_id id) noexcept {
  if (c.transport.watch(id, watch_token(c.next_number++, watch_kind::monitor)))
    return true;
  try {
    c.push_inbox({id, 0, inbox_meta::down_failed},
                 encode_end_error({"worker " + std::to_string(id)
                                     + " had ended before it was monitored",
                                   "",
                                   failure::error,
                                   {}}));
    return true;
  } catch (...) {
    return false;
  }
}

int l_monitor(lua_State* L) {
  auto* h = static_cast<handle*>(luaL_checkudata(L, 1, handle_type));
  if (!monitor(context_of(L), h->id))
    return luaL_error(L, "worker.monitor: not enough memory");
  lua_pushboolean(L, 1);
  return 1;
}

// [-0, +1, m] The weak table of handles, made with the state's first handle.
void push_handle_table(lua_State* L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &handles_key) == LUA_TTABLE) return;
  lua_pop(L, 1);
  lua_newtable(L);
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "v");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &handles_key);
}

} // namespace

void push_token(lua_State* L, worker_id caller, std::uint64_t call) {
  push_new_token(L, caller, call);
}

// [-0, +1, m]
void push_handle(lua_State* L, worker_id id) {
  push_handle_table(L);
  if (lua_rawgeti(L, -1, static_cast<lua_Integer>(id)) == LUA_TUSERDATA) {
    lua_remove(L, -2);
    return;
  }
  lua_pop(L, 1);
  auto* h = static_cast<handle*>(lua_newuserdatauv(L, sizeof(handle), 0));
  h->id = id;
  luaL_setmetatable(L, handle_type);
  lua_pushvalue(L, -1);
  lua_rawseti(L, -3, static_cast<lua_Integer>(id));
  lua_remove(L, -2);
}

worker_id check_target(lua_State* L, int arg) {
  if (lua_type(L, arg) == LUA_TSTRING) {
    std::size_t len = 0;
    const char* name = lua_tolstring(L, arg, &len);
    return context_of(L).transport.lookup({name, len});
  }
  return static_cast<handle*>(luaL_checkudata(L, arg, handle_type))->id;
}

void open_addresses(lua_State* L, worker_context& c) {
  c.handle_metatable = make_userdata_type(L, handle_type, handle_tostring,
                                          handle_gc);
  c.handles = {c.identity.tag, &c, push_address, read_address};
  c.encoder.use_handles(&c.handles);
}

const luaL_Reg address_functions[] = {
  {"self", l_self},     {"parent", l_parent},   {"send", l_send},
  {"call", l_call},     {"reply", l_reply},     {"register", l_register},
  {"lookup", l_lookup}, {"monitor", l_monitor}, {nullptr, nullptr},
};

} // namespace worker_detail

} // namespace troupe::lua_vm
