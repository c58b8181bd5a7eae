// The worker calls that wait: receive (a select), peek, join and sleep, and the
// root function that runs a worker's chunk. Each records what it waits for in
// the worker_context and yields with a continuation that tries again when the
// actor resumes it (see worker_module.cpp for the module as a whole).
#include <cmath>
#include <string>

#include "lua_vm/worker_calls.hpp"
#include "serialization/lua_codec.hpp"

namespace troupe::lua_vm {

namespace worker_detail {

// A full collection first, the first time.
void begin_wait(lua_State* L, wait_state::kind_t kind,
                double timeout) noexcept {
  // A worker's first wait is when it may start idling: collect what starting
  // it left behind (the os library's unused functions, the loader's
  // garbage), so an idle worker holds only what it uses. Spawning stays
  // free of a collection.
  if (!context_of(L).settled) {
    context_of(L).settled = true;
    lua_gc(L, LUA_GCCOLLECT);
  }
  try {
    context_of(L).begin_wait(kind, timeout);
  } catch (...) {
    context_of(L).wait.kind = kind;
  }
}

void end_wait(lua_State* L) noexcept {
  worker_context& c = context_of(L);
  c.wait.kind = wait_state::none;
  c.wait.timed_out = false;
}

namespace {

// [-0, +0] Records the ids of the handles at first..top as the wait's list.
// False on memory failure.
bool set_wait_ids(lua_State* L, int first) noexcept {
  worker_context& c = context_of(L);
  try {
    c.wait.ids.clear();
    for (int i = first; i <= lua_gettop(L); ++i)
      c.wait.ids.push_back(static_cast<handle*>(lua_touserdata(L, i))->id);
    return true;
  } catch (...) {
    return false;
  }
}

// [-0, +(nils+1), m] Ends the wait; returns `nils` nils and "timeout".
int return_timeout(lua_State* L, int nils) {
  end_wait(L);
  luaL_checkstack(L, nils + 1, "too many workers");
  for (int i = 0; i < nils; ++i) lua_pushnil(L);
  lua_pushliteral(L, "timeout");
  return nils + 1;
}

int receive_attempt(lua_State* L, int status, lua_KContext first_handle);

// [-0, +n, m] One value or nil for each of the n handles at first..top,
// taking the messages.
int receive_take(lua_State* L, int first) {
  worker_context& c = context_of(L);
  int n = lua_gettop(L) - first + 1;
  luaL_checkstack(L, n + 1, "too many workers");
  for (int i = 0; i < n; ++i) {
    worker_id id = c.wait.ids[static_cast<std::size_t>(i)];
    if (c.children.has_message(id)) {
      std::string_view bytes = c.children.front_message(id);
      push_decoded(L, bytes, "worker.receive");
      c.transport.message_taken(id, bytes.size());
      c.children.pop_message(id);
    } else {
      lua_pushnil(L);
    }
  }
  return n;
}

// [-0, +(n|n+1), e] receive's try (and its continuation): the values, all
// nils, the timeout, a raised child error, or a yield until the next try.
int receive_attempt(lua_State* L, int, lua_KContext first_handle) {
  raise_if_stopped(L);
  worker_context& c = context_of(L);
  int first = static_cast<int>(first_handle);
  int n = lua_gettop(L) - first + 1;
  auto d = c.children.select(c.wait.ids);
  switch (d.kind) {
    case child_table::decision::take:
      end_wait(L);
      return receive_take(L, first);
    case child_table::decision::raise: {
      end_wait(L);
      int handle_index = first + static_cast<int>(d.index);
      push_error(L, c.children.take_error(c.wait.ids[d.index]), handle_index);
      return lua_error(L);
    }
    case child_table::decision::all_drained:
      end_wait(L);
      luaL_checkstack(L, n, "too many workers");
      for (int i = 0; i < n; ++i) lua_pushnil(L);
      return n;
    case child_table::decision::wait: break;
  }
  if (c.wait.timed_out) return return_timeout(L, n);
  return host_yield(L, first_handle, receive_attempt);
}

// [-0, +1] A monitor's down: {event = "down", worker = <the handle at
// `from`>, ok = <boolean>, error = <error table or nil>}.
void push_down(lua_State* L, const inbox_meta& meta, std::string_view bytes,
               int from) {
  lua_createtable(L, 0, 4);
  lua_pushliteral(L, "down");
  lua_setfield(L, -2, "event");
  lua_pushvalue(L, from);
  lua_setfield(L, -2, "worker");
  lua_pushboolean(L, meta.kind == inbox_meta::down_ok);
  lua_setfield(L, -2, "ok");
  if (meta.kind == inbox_meta::down_failed) {
    push_error(L, bytes, from);
    lua_setfield(L, -2, "error");
  }
}

// [-0, +(3|4)] The inbox's next entry: the message (or down), its sender's
// handle (nil for the host), its reply token (nil unless a call), and in a
// supervisor's state what kind of entry it was.
int take_inbox(lua_State* L) {
  worker_context& c = context_of(L);
  luaL_checkstack(L, 5, "worker.peek");
  std::string_view entry = c.inbox.front();
  inbox_meta meta = inbox_meta::read(entry);
  std::string_view bytes = entry.substr(inbox_meta::size);
  if (meta.from == 0)
    lua_pushnil(L);
  else
    push_handle(L, meta.from);
  int from = lua_gettop(L);
  if (meta.kind == inbox_meta::message
      || meta.kind == inbox_meta::child_message) {
    auto st = serialization::decode(L, bytes, c.encoder.limits_applied(),
                                    &c.handles);
    if (meta.kind == inbox_meta::message)
      c.transport.inbox_taken(bytes.size());
    else
      c.transport.message_taken(meta.from, bytes.size());
    if (!st) {
      // Taken all the same: a message that cannot be read must not stop
      // every later one.
      c.inbox.pop_front();
      return raise_malformed(L, "worker.peek", st);
    }
  } else {
    push_down(L, meta, bytes, from);
  }
  lua_insert(L, from);
  if (meta.call == 0) {
    lua_pushnil(L);
  } else {
    push_token(L, meta.from, meta.call);
  }
  c.inbox.pop_front();
  if (!c.identity.supervises) return 3;
  // A supervisor's peek also says what the entry is: a child's message or a
  // monitor's down cannot pass for the other.
  switch (meta.kind) {
    case inbox_meta::child_message: lua_pushliteral(L, "child"); break;
    case inbox_meta::message: lua_pushliteral(L, "message"); break;
    default: lua_pushliteral(L, "down");
  }
  return 4;
}

// [-0, +(1|2|3), e] peek's try: the next inbox message with its sender and
// call, nil once the parent has gone, nil and "timeout", or a yield until the
// next try.
int peek_attempt(lua_State* L, int, lua_KContext) {
  raise_if_stopped(L);
  worker_context& c = context_of(L);
  if (!c.inbox.empty()) {
    end_wait(L);
    return take_inbox(L);
  }
  if (c.parent_gone) {
    end_wait(L);
    lua_pushnil(L);
    return 1;
  }
  if (c.wait.timed_out) return return_timeout(L, 1);
  return host_yield(L, 0, peek_attempt);
}

// The end of `id`, a child or an actor joined through a watch.
const child_end* end_of(worker_context& c, worker_id id) {
  if (c.children.contains(id)) return c.children.end_of(id);
  return c.joined_end(id);
}

// [-0, +(n+1|2), e] join's try: true and the return values, false and the
// error, nil and "timeout", or a yield until the next try.
int join_attempt(lua_State* L, int, lua_KContext) {
  raise_if_stopped(L);
  worker_context& c = context_of(L);
  worker_id id = static_cast<handle*>(lua_touserdata(L, 1))->id;
  if (const child_end* end = end_of(c, id)) {
    end_wait(L);
    if (!end->ok) {
      lua_pushboolean(L, 0);
      push_error(L, end->bytes, 1);
      return 2;
    }
    int base = lua_gettop(L);
    lua_pushboolean(L, 1);
    int count = 0;
    auto st = serialization::decode_values(L, end->bytes,
                                           c.encoder.limits_applied(), count,
                                           &c.handles);
    if (!st) return raise_malformed(L, "worker.join", st);
    return lua_gettop(L) - base;
  }
  if (c.wait.timed_out) return return_timeout(L, 1);
  return host_yield(L, 0, join_attempt);
}

// [-0, +0, e] sleep's try: returns once its timer has fired.
int sleep_attempt(lua_State* L, int, lua_KContext) {
  raise_if_stopped(L);
  if (context_of(L).wait.timed_out) {
    end_wait(L);
    return 0;
  }
  return host_yield(L, 0, sleep_attempt);
}

// [-0, +0] The chunk's results, all that is left on the stack.
int run_chunk_continue(lua_State* L, int, lua_KContext) {
  return lua_gettop(L);
}

} // namespace

// [-(n|n+1), +(n|n+1), e] worker.receive([timeout,] w1, ...).
int l_receive(lua_State* L) {
  double timeout = -1;
  int first = 1;
  if (lua_type(L, 1) == LUA_TNUMBER) {
    timeout = optional_timeout(L, 1);
    first = 2;
  }
  luaL_argexpected(L, lua_gettop(L) >= first, first, handle_type);
  for (int i = first; i <= lua_gettop(L); ++i) check_child(L, i);
  if (!set_wait_ids(L, first))
    return luaL_error(L, "worker.receive: not enough memory");
  auto d = context_of(L).children.select(context_of(L).wait.ids);
  if (d.kind == child_table::decision::wait) {
    check_can_wait(L, "receive");
    begin_wait(L, wait_state::receive, timeout);
  }
  return receive_attempt(L, LUA_OK, first);
}

// [-(0|1), +(1|2), e] worker.peek([timeout]).
int l_peek(lua_State* L) {
  double timeout = optional_timeout(L, 1);
  lua_settop(L, 0);
  worker_context& c = context_of(L);
  if (c.inbox.empty() && !c.parent_gone) {
    check_can_wait(L, "peek");
    begin_wait(L, wait_state::peek, timeout);
  }
  return peek_attempt(L, LUA_OK, 0);
}

// Watches `id` for a join unless a watch or its end is there already. False
// when it has ended before it could be watched (its end is not known here),
// or on memory failure.
bool watch_for_join(worker_context& c, worker_id id) noexcept {
  if (c.children.contains(id) || c.joined_end(id) != nullptr) return true;
  try {
    if (!c.joins) c.joins = std::make_unique<worker_context::joined>();
    if (!c.joins->watching.insert(id).second) return true;
  } catch (...) {
    return false;
  }
  if (c.transport.watch(id, watch_token(c.next_number++, watch_kind::join)))
    return true;
  c.joins->watching.erase(id);
  return false;
}

// [-(1|2), +(n+1|2), e] worker.join(w [, timeout]): for a child, or any actor
// (whose end then comes by a watch).
int l_join(lua_State* L) {
  worker_id id = static_cast<handle*>(luaL_checkudata(L, 1, handle_type))->id;
  double timeout = optional_timeout(L, 2);
  lua_settop(L, 1);
  worker_context& c = context_of(L);
  if (!watch_for_join(c, id)) {
    lua_pushboolean(L, 0);
    lua_createtable(L, 0, 3);
    lua_pushfstring(L,
                    "worker.join: worker %I had ended before it was "
                    "joined; its end is not known here",
                    static_cast<lua_Integer>(id));
    lua_setfield(L, -2, "message");
    lua_pushliteral(L, "ended");
    lua_setfield(L, -2, "kind");
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "worker");
    luaL_setmetatable(L, error_type);
    return 2;
  }
  if (end_of(c, id) == nullptr) {
    if (!set_wait_ids(L, 1))
      return luaL_error(L, "worker.join: not enough memory");
    check_can_wait(L, "join");
    begin_wait(L, wait_state::join, timeout);
  }
  return join_attempt(L, LUA_OK, 0);
}

// [-1, +0, e] worker.sleep(seconds).
int l_sleep(lua_State* L) {
  double seconds = luaL_checknumber(L, 1);
  luaL_argcheck(L, seconds >= 0 && !std::isnan(seconds), 1,
                "seconds must be a non-negative number");
  lua_settop(L, 0);
  check_can_wait(L, "sleep");
  begin_wait(L, wait_state::sleep, seconds);
  return sleep_attempt(L, LUA_OK, 0);
}

} // namespace worker_detail

using namespace worker_detail;

int run_chunk(lua_State* L) {
  const auto* args = static_cast<const std::string*>(lua_touserdata(L, 2));
  lua_settop(L, 1);
  int count = 0;
  worker_context& c = context_of(L);
  auto st = serialization::decode_values(L, *args, serialization::limits{},
                                         count, &c.handles);
  if (!st) {
    return raise_malformed(L, "worker arguments", st);
  }
  lua_callk(L, count, LUA_MULTRET, 0, run_chunk_continue);
  return run_chunk_continue(L, LUA_OK, 0);
}

} // namespace troupe::lua_vm
