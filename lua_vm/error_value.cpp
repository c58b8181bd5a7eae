// Error values to messages (see error_value.hpp). The handler runs inside the
// failing call, before the stack unwinds, which is the only moment a traceback
// can be taken.
#include "lua_vm/error_value.hpp"

#include "lua_vm/control.hpp"
#include "lua_vm/interrupt.hpp"
#include "serialization/stack_check.hpp"

namespace troupe::lua_vm {

namespace {

int call_tostring(lua_State* L) {
  luaL_tolstring(L, 1, nullptr);
  return 1;
}

// Instructions a __tostring may run while an error is described: describing
// happens where nothing else would stop a loop.
constexpr std::uint64_t tostring_budget = 1000000;

// [-1, +1] lua_pcall of call_tostring on the value on top, under
// tostring_budget; the script's own budget and stop are as before afterwards.
int pcall_tostring_bounded(lua_State* L) {
  control& c = control_of(L);
  std::uint64_t own_budget = c.instruction_budget;
  stop_reason own_stop = c.tripped;
  if (own_budget == 0 || own_budget - c.executed > tostring_budget)
    c.instruction_budget = c.executed + tostring_budget;
  lua_pushcfunction(L, call_tostring);
  lua_insert(L, -2);
  int status = lua_pcall(L, 1, 1, 0);
  c.instruction_budget = own_budget;
  if (own_stop == stop_reason::none && c.tripped == stop_reason::instructions) {
    c.tripped = stop_reason::none;
    lua_pop(L, 1);
    lua_pushliteral(L, "it did not finish");
  }
  if (c.tripped == stop_reason::none) arm_hook(L);
  return status;
}

// [-0, +1] A string describing the value at `idx`.
void push_description(lua_State* L, int idx) {
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) == LUA_TSTRING) {
    lua_pushvalue(L, idx);
    return;
  }
  if (luaL_getmetafield(L, idx, "__tostring") != LUA_TNIL) {
    lua_pop(L, 1);
    lua_pushvalue(L, idx);
    if (pcall_tostring_bounded(L) == LUA_OK) return;
    const char* why = lua_type(L, -1) == LUA_TSTRING
                        ? lua_tostring(L, -1)
                        : "an error that is not a string";
    lua_pushfstring(L,
                    "(error object is a %s value whose __tostring failed: %s)",
                    luaL_typename(L, idx), why);
    lua_remove(L, -2);
    return;
  }
  switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
    case LUA_TBOOLEAN: luaL_tolstring(L, idx, nullptr); return;
    case LUA_TNIL:
    case LUA_TNONE: lua_pushliteral(L, "(error object is a nil value)"); return;
    default:
      lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, idx));
  }
}

std::string to_std_string(lua_State* L, int idx) {
  std::size_t n = 0;
  const char* s = lua_tolstring(L, idx, &n);
  return s != nullptr ? bounded_error_text(s, n) : std::string{};
}

} // namespace

std::string bounded_error_text(const char* text, std::size_t n) {
  if (n <= max_error_text) return std::string{text, n};
  return std::string{text, max_error_text} + "... (cut: " + std::to_string(n)
         + " bytes in all)";
}

bool encode_error_value(lua_State* co, serialization::lua_encoder& encoder,
                        serialization::byte_sink& sink) noexcept {
  if (lua_type(co, -1) == LUA_TSTRING && lua_rawlen(co, -1) > max_error_value)
    return false;
  return encoder.encode(co, -1, sink) && sink.size() <= max_error_value;
}

int traceback_handler(lua_State* L) {
  lua_createtable(L, 0, 3);
  lua_pushboolean(L, 1);
  lua_rawsetp(L, -2, reinterpret_cast<const void*>(&traceback_handler));
  push_description(L, 1);
  lua_setfield(L, -2, "message");
  luaL_traceback(L, L, nullptr, 1);
  lua_setfield(L, -2, "traceback");
  return 1;
}

namespace {

// [error, coroutine] -> message, traceback
int describe_coroutine_error(lua_State* L) {
  lua_State* co = lua_tothread(L, 2);
  push_description(L, 1);
  luaL_traceback(L, co, nullptr, 0);
  return 2;
}

// A stopped script's error is its stop. Lua's auxiliary buffers raise "not
// enough memory" on the first refusal, without the collection and retry that
// would trip the hook: when the cap refused, that error is the memory limit.
void settle_stop(control& c, error_info& info) {
  if (c.tripped == stop_reason::none && c.cap_refused
      && info.message.find("not enough memory") != std::string::npos)
    trip(c, stop_reason::memory);
  if (c.tripped != stop_reason::none) info.message = stop_message(c.tripped);
}

} // namespace

error_info coroutine_error(lua_State* L, lua_State* co) {
  TROUPE_STACK_EFFECT(L, 0);
  error_info info;
  if (lua_checkstack(L, 4) && lua_checkstack(co, 2)) {
    lua_pushcfunction(L, describe_coroutine_error);
    lua_xmove(co, L, 1);
    lua_pushthread(co);
    lua_xmove(co, L, 1);
    if (lua_pcall(L, 2, 2, 0) == LUA_OK) {
      info.message = to_std_string(L, -2);
      info.traceback = to_std_string(L, -1);
      lua_pop(L, 2);
    } else {
      lua_pop(L, 1);
    }
  }
  if (info.message.empty())
    info.message = "(error object could not be described: not enough memory)";
  settle_stop(control_of(L), info);
  return info;
}

error_info pop_error(lua_State* L) {
  TROUPE_STACK_EFFECT(L, -1);
  error_info info;
  if (lua_type(L, -1) == LUA_TTABLE) {
    lua_rawgetp(L, -1, reinterpret_cast<const void*>(&traceback_handler));
    bool from_handler = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (from_handler) {
      lua_getfield(L, -1, "message");
      lua_getfield(L, -2, "traceback");
      info.message = to_std_string(L, -2);
      info.traceback = to_std_string(L, -1);
      lua_pop(L, 2);
    }
  }
  if (info.message.empty()) {
    if (lua_type(L, -1) == LUA_TSTRING)
      info.message = to_std_string(L, -1);
    else
      info.message = std::string{"(error object is a "} + luaL_typename(L, -1)
                     + " value)";
  }
  lua_pop(L, 1);
  settle_stop(control_of(L), info);
  return info;
}

} // namespace troupe::lua_vm
