// plain_handles (see plain_handles.hpp).
#include "lua_vm/plain_handles.hpp"

#include "lua_vm/sandbox.hpp"

namespace troupe::lua_vm {

namespace {

constexpr const char* actor_type = "worker";
constexpr const char* reply_type = "worker.call";

int plain_tostring(lua_State* L) {
  const auto* a = static_cast<const serialization::address*>(
    lua_touserdata(L, 1));
  if (a->kind == serialization::address::actor)
    lua_pushfstring(L, "worker: %I", static_cast<lua_Integer>(a->id));
  else
    lua_pushfstring(L, "call: %I/%I", static_cast<lua_Integer>(a->id),
                    static_cast<lua_Integer>(a->call));
  return 1;
}

} // namespace

plain_handles::plain_handles(std::uint64_t tag) noexcept
    : handles_{tag, this, push, read} {}

void plain_handles::open(lua_State* L) {
  actor_metatable_ = make_userdata_type(L, actor_type, plain_tostring);
  reply_metatable_ = make_userdata_type(L, reply_type, plain_tostring);
}

void plain_handles::push(lua_State* L, void*, const serialization::address& a) {
  auto* u = static_cast<serialization::address*>(
    lua_newuserdatauv(L, sizeof(serialization::address), 0));
  *u = a;
  luaL_setmetatable(L, a.kind == serialization::address::actor ? actor_type
                                                               : reply_type);
}

bool plain_handles::read(lua_State* L, int idx, void* self,
                         serialization::address& out) {
  const auto& h = *static_cast<const plain_handles*>(self);
  if (lua_getmetatable(L, idx) == 0) return false;
  const void* mt = lua_topointer(L, -1);
  lua_pop(L, 1);
  if (mt != h.actor_metatable_ && mt != h.reply_metatable_) return false;
  out = *static_cast<const serialization::address*>(lua_touserdata(L, idx));
  return true;
}

} // namespace troupe::lua_vm
