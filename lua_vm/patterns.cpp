// string.find, string.match, string.gmatch and string.gsub with Lua 5.4's
// semantics (the reference manual, §6.4.1) over troupe's own matcher
// (pattern_matcher.hpp), so a pathological pattern ends at the deadline, on
// cancel or at the instruction budget, and depth is no limit. C-style code:
// Lua errors longjmp through every frame here (README.md).
#include "lua_vm/patterns.hpp"

#include <cctype>
#include <cstring>

#include "lua_vm/pattern_matcher.hpp"

namespace troupe::lua_vm {

namespace {

using pattern::matcher;
using pattern::push_capture;
using pattern::push_captures;
using pattern::release_stack;
using pattern::search;

using pattern::escape;
constexpr const char* specials = "^$*+?.([%-";

bool is_plain(const char* p, std::size_t lp) {
  for (std::size_t i = 0; i < lp; ++i)
    if (p[i] != '\0' && std::strchr(specials, p[i]) != nullptr) return false;
  return true;
}

// The first occurrence of p in s, by its first byte, then the rest.
const char* find_text(const char* s, std::size_t ls, const char* p,
                      std::size_t lp) {
  if (lp == 0) return s;
  if (lp > ls) return nullptr;
  const char* last_start = s + (ls - lp);
  for (const char* at = s; at <= last_start; ++at) {
    at = static_cast<const char*>(
      std::memchr(at, *p, static_cast<std::size_t>(last_start - at) + 1));
    if (at == nullptr) return nullptr;
    if (std::memcmp(at + 1, p + 1, lp - 1) == 0) return at;
  }
  return nullptr;
}

// The 0-based offset argument `arg` (1-based, negative from the end) asks
// for; past ls when it starts beyond the end.
std::size_t start_offset(lua_State* L, int arg, std::size_t ls) {
  lua_Integer i = luaL_optinteger(L, arg, 1);
  if (i > 0) return static_cast<std::size_t>(i) - 1;
  if (i == 0 || -i > static_cast<lua_Integer>(ls)) return 0;
  return ls - static_cast<std::size_t>(-i);
}

// string.find (positions first) and string.match (captures only).
int find_or_match(lua_State* L, bool positions) {
  std::size_t ls = 0;
  std::size_t lp = 0;
  const char* s = luaL_checklstring(L, 1, &ls);
  const char* p = luaL_checklstring(L, 2, &lp);
  std::size_t from = start_offset(L, 3, ls);
  if (from > ls) {
    lua_pushnil(L);
    return 1;
  }
  if (positions && (lua_toboolean(L, 4) != 0 || is_plain(p, lp))) {
    const char* hit = find_text(s + from, ls - from, p, lp);
    if (hit == nullptr) {
      lua_pushnil(L);
      return 1;
    }
    lua_pushinteger(L, hit - s + 1);
    lua_pushinteger(L, hit - s + static_cast<lua_Integer>(lp));
    return 2;
  }
  bool anchored = lp > 0 && *p == '^';
  matcher m;
  pattern::begin(m, L, s, ls, p + anchored, lp - anchored);
  for (const char* at = s + from;; ++at) {
    if (const char* e = search(m, at, p + anchored)) {
      release_stack(m);
      if (!positions) return push_captures(m, at, e, true);
      lua_pushinteger(L, at - s + 1);
      lua_pushinteger(L, e - s);
      return push_captures(m, nullptr, nullptr, false) + 2;
    }
    if (anchored || at >= m.subject_end) break;
  }
  release_stack(m);
  lua_pushnil(L);
  return 1;
}

int l_find(lua_State* L) {
  return find_or_match(L, true);
}

int l_match(lua_State* L) {
  return find_or_match(L, false);
}

// What a gmatch iterator keeps between calls (in a userdata, upvalue 3; the
// subject and the pattern are upvalues 1 and 2 and keep the text alive).
struct iteration {
  const char* next;
  const char* last_end;
  matcher m;
};

int gmatch_step(lua_State* L) {
  auto* it = static_cast<iteration*>(lua_touserdata(L, lua_upvalueindex(3)));
  if (it->next == nullptr) return 0;
  const char* p = lua_tostring(L, lua_upvalueindex(2));
  matcher& m = it->m;
  m.L = L;
  for (const char* at = it->next; at <= m.subject_end; ++at) {
    const char* e = search(m, at, p);
    release_stack(m);
    if (e != nullptr && e != it->last_end) {
      it->next = it->last_end = e;
      return push_captures(m, at, e, true);
    }
  }
  it->next = nullptr;
  return 0;
}

int l_gmatch(lua_State* L) {
  std::size_t ls = 0;
  std::size_t lp = 0;
  const char* s = luaL_checklstring(L, 1, &ls);
  const char* p = luaL_checklstring(L, 2, &lp);
  std::size_t from = start_offset(L, 3, ls);
  lua_settop(L, 2);
  auto* it = static_cast<iteration*>(
    lua_newuserdatauv(L, sizeof(iteration), 0));
  pattern::begin(it->m, L, s, ls, p, lp);
  // Starting past the end nothing matches, not even the empty string.
  it->next = from > ls ? nullptr : s + from;
  it->last_end = nullptr;
  lua_pushcclosure(L, gmatch_step, 3);
  return 1;
}

// Appends the replacement string (argument 3) for the match from s to e.
void append_template(matcher& m, luaL_Buffer& b, const char* s, const char* e) {
  std::size_t n = 0;
  const char* t = lua_tolstring(m.L, 3, &n);
  const char* t_end = t + n;
  while (t < t_end) {
    const auto* mark = static_cast<const char*>(
      std::memchr(t, escape, static_cast<std::size_t>(t_end - t)));
    if (mark == nullptr) {
      luaL_addlstring(&b, t, static_cast<std::size_t>(t_end - t));
      return;
    }
    luaL_addlstring(&b, t, static_cast<std::size_t>(mark - t));
    char what = mark + 1 < t_end ? mark[1] : '\0';
    if (what == escape) {
      luaL_addchar(&b, escape);
    } else if (what == '0') {
      luaL_addlstring(&b, s, static_cast<std::size_t>(e - s));
    } else if (std::isdigit(static_cast<unsigned char>(what)) != 0) {
      push_capture(m, what - '1', s, e);
      luaL_tolstring(m.L, -1, nullptr);
      lua_remove(m.L, -2);
      luaL_addvalue(&b);
    } else {
      luaL_error(m.L, "invalid use of '%c' in replacement string", escape);
    }
    t = mark + 2;
  }
}

// Appends what replaces the match from s to e (of kind `how`); false when the
// match stays as it was.
bool append_replacement(matcher& m, luaL_Buffer& b, const char* s,
                        const char* e, int how) {
  lua_State* L = m.L;
  if (how == LUA_TFUNCTION) {
    lua_pushvalue(L, 3);
    lua_call(L, push_captures(m, s, e, true), 1);
  } else if (how == LUA_TTABLE) {
    push_capture(m, 0, s, e);
    lua_gettable(L, 3);
  } else {
    append_template(m, b, s, e);
    return true;
  }
  if (lua_toboolean(L, -1) == 0) {
    lua_pop(L, 1);
    luaL_addlstring(&b, s, static_cast<std::size_t>(e - s));
    return false;
  }
  if (lua_isstring(L, -1) == 0)
    luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
  luaL_addvalue(&b);
  return true;
}

int l_gsub(lua_State* L) {
  std::size_t ls = 0;
  std::size_t lp = 0;
  const char* s = luaL_checklstring(L, 1, &ls);
  const char* p = luaL_checklstring(L, 2, &lp);
  int how = lua_type(L, 3);
  lua_Integer most = luaL_optinteger(L, 4, static_cast<lua_Integer>(ls) + 1);
  luaL_argexpected(L,
                   how == LUA_TNUMBER || how == LUA_TSTRING
                     || how == LUA_TFUNCTION || how == LUA_TTABLE,
                   3, "string/function/table");
  bool anchored = lp > 0 && *p == '^';
  p += anchored;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  // The matcher's spilled stack must not sit between the buffer and what is
  // added to it: it lives above the buffer only while a search runs.
  matcher m;
  pattern::begin(m, L, s, ls, p, lp - anchored);
  const char* at = s;
  const char* last_end = nullptr;
  lua_Integer count = 0;
  bool changed = false;
  while (count < most) {
    const char* e = search(m, at, p);
    release_stack(m);
    if (e != nullptr && e != last_end) {
      ++count;
      changed = append_replacement(m, b, at, e, how) || changed;
      at = last_end = e;
    } else if (at < m.subject_end) {
      luaL_addchar(&b, *at++);
    } else {
      break;
    }
    if (anchored) break;
  }
  if (changed) {
    luaL_addlstring(&b, at, static_cast<std::size_t>(m.subject_end - at));
    luaL_pushresult(&b);
  } else {
    lua_pushvalue(L, 1);
  }
  lua_pushinteger(L, count);
  return 2;
}

} // namespace

void install_interruptible_patterns(lua_State* L) {
  static const luaL_Reg functions[] = {{"find", l_find},
                                       {"match", l_match},
                                       {"gmatch", l_gmatch},
                                       {"gsub", l_gsub},
                                       {nullptr, nullptr}};
  lua_getglobal(L, LUA_STRLIBNAME);
  luaL_setfuncs(L, functions, 0);
  lua_pop(L, 1);
}

} // namespace troupe::lua_vm
