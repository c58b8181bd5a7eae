// The argument checks and result pushes of the shared dicts' Lua methods
// (see dict_arguments.hpp).
#include "lua_vm/dict_arguments.hpp"

#include <cmath>

namespace troupe::lua_vm::dict_detail {

namespace {

// OpenResty's bound on key length.
constexpr std::size_t longest_key = 65535;

using kind = dict_scalar::kind;

} // namespace

dict_scalar& scratch() noexcept {
  thread_local dict_scalar out;
  return out;
}

dict_scalar& scratch_to_fill() {
  constexpr std::size_t kept = std::size_t{64} << 10;
  dict_scalar& out = scratch();
  if (out.text.capacity() > kept) std::string{}.swap(out.text);
  return out;
}

dict_store& check_dict(lua_State* L) {
  return *static_cast<dict_handle*>(luaL_checkudata(L, 1, dict_type))->store;
}

std::string_view check_key(lua_State* L, const char*& why) {
  if (lua_type(L, 2) != LUA_TSTRING) luaL_typeerror(L, 2, "string");
  std::size_t n = 0;
  const char* p = lua_tolstring(L, 2, &n);
  why = n == 0 ? "empty key" : n > longest_key ? "key too long" : nullptr;
  return {p, n};
}

dict_scalar_view check_value(lua_State* L, int i, bool nil_ok) {
  dict_scalar_view v;
  switch (lua_type(L, i)) {
    case LUA_TNIL:
    case LUA_TNONE:
      if (nil_ok) return v;
      break;
    case LUA_TBOOLEAN:
      v.type = kind::boolean;
      v.boolean = lua_toboolean(L, i) != 0;
      return v;
    case LUA_TNUMBER:
      if (lua_isinteger(L, i)) {
        v.type = kind::integer;
        v.integer = lua_tointeger(L, i);
      } else {
        v.type = kind::number;
        v.number = lua_tonumber(L, i);
      }
      return v;
    case LUA_TSTRING: {
      std::size_t n = 0;
      const char* p = lua_tolstring(L, i, &n);
      v.type = kind::string;
      v.text = {p, n};
      return v;
    }
    default: break;
  }
  luaL_typeerror(L, i,
                 nil_ok ? "nil, boolean, number or string"
                        : "boolean, number or string");
  return v;
}

dict_scalar_view check_number(lua_State* L, int i) {
  if (lua_type(L, i) != LUA_TNUMBER) luaL_typeerror(L, i, "number");
  return check_value(L, i, false);
}

clock::duration check_ttl(lua_State* L, int i) {
  if (lua_isnoneornil(L, i)) return clock::duration::zero();
  lua_Number s = luaL_checknumber(L, i);
  luaL_argcheck(L, !std::isnan(s) && s >= 0, i,
                "non-negative number of seconds expected");
  auto d = std::chrono::duration<double>(s);
  if (d >= longest_wait) return longest_wait;
  return std::chrono::duration_cast<clock::duration>(d);
}

void push_scalar(lua_State* L, const dict_scalar& v) {
  switch (v.type) {
    case kind::nil: lua_pushnil(L); return;
    case kind::boolean: lua_pushboolean(L, v.boolean); return;
    case kind::integer: lua_pushinteger(L, v.integer); return;
    case kind::number: lua_pushnumber(L, v.number); return;
    case kind::string: lua_pushlstring(L, v.text.data(), v.text.size()); return;
  }
}

int fail(lua_State* L, const char* why) {
  lua_pushnil(L);
  lua_pushstring(L, why);
  return 2;
}

int out_of_memory(lua_State* L) {
  return luaL_error(L, "not enough memory");
}

int push_outcome(lua_State* L, const dict_outcome& o) {
  lua_pushboolean(L, o.error == dict_error::none);
  if (o.error == dict_error::none)
    lua_pushnil(L);
  else
    lua_pushstring(L, dict_error_text(o.error));
  lua_pushboolean(L, o.forcible);
  return 3;
}

int push_scratch(lua_State* L) {
  push_scalar(L, scratch());
  return 1;
}

} // namespace troupe::lua_vm::dict_detail
