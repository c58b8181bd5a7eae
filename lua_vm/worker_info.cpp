// worker.info([h]): a worker's metrics as a table (DESIGN.md "Shared dicts,
// timers, metrics"): status ("running" or "waiting"), inbox (messages not
// taken yet), messages_in, messages_out, bytes_out, cpu (seconds it has run),
// memory (bytes its state holds), script and names; nil once it has ended.
// Without an argument: the calling worker's own. The transport reads the
// meters into this thread's scratch; the shell then builds the table.
#include "lua_vm/meters.hpp"
#include "lua_vm/worker_calls.hpp"

namespace troupe::lua_vm {

namespace {

worker_info& scratch() noexcept {
  thread_local worker_info info;
  return info;
}

// The meters of `id` into the scratch; false when it has ended (or memory
// ran out copying its names).
bool read_info(worker_context& c, worker_id id) noexcept {
  return c.transport.info(id, scratch());
}

void set_integer(lua_State* L, const char* field, std::uint64_t v) {
  lua_pushinteger(L, static_cast<lua_Integer>(v));
  lua_setfield(L, -2, field);
}

// [-0, +1, m]
void push_info(lua_State* L, const worker_info& info) {
  lua_createtable(L, 0, 9);
  lua_pushstring(L, info.waiting ? "waiting" : "running");
  lua_setfield(L, -2, "status");
  set_integer(L, "inbox", info.inbox);
  set_integer(L, "messages_in", info.messages_in);
  set_integer(L, "messages_out", info.messages_out);
  set_integer(L, "bytes_out", info.bytes_out);
  lua_pushnumber(L, info.cpu_seconds);
  lua_setfield(L, -2, "cpu");
  set_integer(L, "memory", info.memory);
  lua_pushlstring(L, info.script.data(), info.script.size());
  lua_setfield(L, -2, "script");
  lua_createtable(L, static_cast<int>(info.names.size()), 0);
  for (std::size_t i = 0; i < info.names.size(); ++i) {
    lua_pushlstring(L, info.names[i].data(), info.names[i].size());
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
  lua_setfield(L, -2, "names");
}

int l_info(lua_State* L) {
  worker_context& c = worker_detail::context_of(L);
  worker_id id = lua_isnoneornil(L, 1) ? c.identity.self
                                       : worker_detail::check_target(L, 1);
  if (id == 0 || !read_info(c, id)) {
    lua_pushnil(L);
    return 1;
  }
  push_info(L, scratch());
  return 1;
}

} // namespace

namespace worker_detail {

const luaL_Reg info_functions[] = {
  {"info", l_info},
  {nullptr, nullptr},
};

} // namespace worker_detail

} // namespace troupe::lua_vm
