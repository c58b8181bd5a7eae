// string.rep, table.move, table.insert, table.remove and table.concat with Lua
// 5.4's semantics (the reference manual, §6.4 and §6.6), written so that their
// loops can be stopped. Lua's own versions loop inside one C call, out of the
// interrupt hook's reach: `string.rep("", 1e17)` or `table.move({}, 1, 1e17,
// 1)` would hold a scheduler thread past every limit, and so would an insert
// into a table whose __len claims 1e17 elements. These count their iterations
// and poll the state's limits every `poll_every` of them (stop_point);
// string.rep copies by doubling and polls between chunks of a megabyte, and an
// empty repetition costs nothing at all. C-style code: Lua errors longjmp
// through every frame here (README.md).
#include "lua_vm/library_loops.hpp"

#include <algorithm>
#include <climits>
#include <cstring>

#include "lua_vm/interrupt.hpp"

namespace troupe::lua_vm {

namespace {

constexpr int poll_every = 1024;

// Counts one iteration; every poll_every of them the limits are polled.
void tick(lua_State* L, int& countdown) {
  if (--countdown > 0) return;
  countdown = poll_every;
  stop_point(L, poll_every);
}

// string.rep(s, n [, sep])
int l_rep(lua_State* L) {
  std::size_t len = 0;
  std::size_t sep_len = 0;
  const char* s = luaL_checklstring(L, 1, &len);
  lua_Integer n = luaL_checkinteger(L, 2);
  const char* sep = luaL_optlstring(L, 3, "", &sep_len);
  if (n <= 0 || len + sep_len == 0) {
    lua_pushliteral(L, "");
    return 1;
  }
  // Lua keeps string results within an int.
  constexpr auto most = static_cast<std::size_t>(INT_MAX);
  auto count = static_cast<lua_Unsigned>(n);
  if (len + sep_len > most || count > most / (len + sep_len))
    return luaL_error(L, "resulting string too large");
  std::size_t total = count * len + (count - 1) * sep_len;
  luaL_Buffer b;
  char* out = luaL_buffinitsize(L, &b, total);
  // One period (the string and a separator) written, then what is written so
  // far copied onto its end, doubling, in whole periods of about a megabyte at
  // most between polls: the buffer always holds a run of whole periods, until
  // the last copy stops short of the final separator.
  std::memcpy(out, s, len);
  if (count > 1) {
    const std::size_t period = len + sep_len;
    const std::size_t chunk = std::max(period, (std::size_t{1} << 20) / period
                                                 * period);
    std::memcpy(out + len, sep, sep_len);
    for (std::size_t done = period; done < total;) {
      std::size_t step = std::min({done, total - done, chunk});
      std::memcpy(out + done, out, step);
      done += step;
      stop_point(L, static_cast<int>(step / 1024) + 1);
    }
  }
  luaL_pushresultsize(&b, total);
  return 1;
}

// Raises unless the value at `arg` is a table or has the metamethods a table
// function needs (`need`: 'r' __index, 'w' __newindex, 'l' __len).
void check_table(lua_State* L, int arg, const char* need) {
  if (lua_type(L, arg) == LUA_TTABLE) return;
  if (lua_getmetatable(L, arg) == 0) luaL_checktype(L, arg, LUA_TTABLE);
  int metatable = lua_gettop(L);
  for (const char* n = need; *n != '\0'; ++n) {
    const char* field = *n == 'r'   ? "__index"
                        : *n == 'w' ? "__newindex"
                                    : "__len";
    bool has = lua_getfield(L, metatable, field) != LUA_TNIL;
    lua_pop(L, 1);
    if (!has) luaL_checktype(L, arg, LUA_TTABLE);
  }
  lua_pop(L, 1);
}

// The length of the table at 1, as `#` gives it (its __len included).
lua_Integer length_of(lua_State* L, const char* need) {
  check_table(L, 1, need);
  return luaL_len(L, 1);
}

// table.move(a1, f, e, t [, a2])
int l_move(lua_State* L) {
  lua_Integer f = luaL_checkinteger(L, 2);
  lua_Integer e = luaL_checkinteger(L, 3);
  lua_Integer t = luaL_checkinteger(L, 4);
  int to = lua_isnoneornil(L, 5) ? 1 : 5;
  check_table(L, 1, "r");
  check_table(L, to, "w");
  if (e >= f) {
    luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3,
                  "too many elements to move");
    lua_Integer n = e - f;
    luaL_argcheck(L, t <= LUA_MAXINTEGER - n, 4, "destination wrap around");
    bool overlaps = t > f && t <= e
                    && (to == 1 || lua_compare(L, 1, to, LUA_OPEQ) != 0);
    int countdown = poll_every;
    for (lua_Integer i = 0; i <= n; ++i) {
      lua_Integer k = overlaps ? n - i : i;
      lua_geti(L, 1, f + k);
      lua_seti(L, to, t + k);
      tick(L, countdown);
    }
  }
  lua_pushvalue(L, to);
  return 1;
}

// table.insert(t, [pos,] v)
int l_insert(lua_State* L) {
  lua_Integer end = length_of(L, "rwl") + 1;
  lua_Integer pos = end;
  switch (lua_gettop(L)) {
    case 2: break;
    case 3: {
      pos = luaL_checkinteger(L, 2);
      luaL_argcheck(L,
                    static_cast<lua_Unsigned>(pos) - 1u
                      < static_cast<lua_Unsigned>(end),
                    2, "position out of bounds");
      int countdown = poll_every;
      for (lua_Integer i = end; i > pos; --i) {
        lua_geti(L, 1, i - 1);
        lua_seti(L, 1, i);
        tick(L, countdown);
      }
      break;
    }
    default: return luaL_error(L, "wrong number of arguments to 'insert'");
  }
  lua_seti(L, 1, pos);
  return 0;
}

// table.remove(t [, pos])
int l_remove(lua_State* L) {
  lua_Integer size = length_of(L, "rwl");
  lua_Integer pos = luaL_optinteger(L, 2, size);
  if (pos != size)
    luaL_argcheck(L,
                  static_cast<lua_Unsigned>(pos) - 1u
                    <= static_cast<lua_Unsigned>(size),
                  1, "position out of bounds"); // argument #1, as Lua 5.4.4
  lua_geti(L, 1, pos);
  int countdown = poll_every;
  for (; pos < size; ++pos) {
    lua_geti(L, 1, pos + 1);
    lua_seti(L, 1, pos);
    tick(L, countdown);
  }
  lua_pushnil(L);
  lua_seti(L, 1, pos);
  return 1;
}

// table.concat(t [, sep [, i [, j]]])
int l_concat(lua_State* L) {
  lua_Integer last_default = length_of(L, "rl");
  std::size_t sep_len = 0;
  const char* sep = luaL_optlstring(L, 2, "", &sep_len);
  lua_Integer i = luaL_optinteger(L, 3, 1);
  lua_Integer last = luaL_optinteger(L, 4, last_default);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  int countdown = poll_every;
  for (; i <= last; ++i) {
    lua_geti(L, 1, i);
    if (lua_isstring(L, -1) == 0)
      return luaL_error(L,
                        "invalid value (%s) at index %I in table for "
                        "'concat'",
                        luaL_typename(L, -1), static_cast<LUAI_UACINT>(i));
    luaL_addvalue(&b);
    if (i < last) luaL_addlstring(&b, sep, sep_len);
    tick(L, countdown);
    if (i == LUA_MAXINTEGER) break;
  }
  luaL_pushresult(&b);
  return 1;
}

} // namespace

void install_stoppable_loops(lua_State* L) {
  lua_getglobal(L, LUA_STRLIBNAME);
  lua_pushcfunction(L, l_rep);
  lua_setfield(L, -2, "rep");
  lua_pop(L, 1);
  static const luaL_Reg table_functions[] = {{"move", l_move},
                                             {"insert", l_insert},
                                             {"remove", l_remove},
                                             {"concat", l_concat},
                                             {nullptr, nullptr}};
  lua_getglobal(L, LUA_TABLIBNAME);
  luaL_setfuncs(L, table_functions, 0);
  lua_pop(L, 1);
}

} // namespace troupe::lua_vm
