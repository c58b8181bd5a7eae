// string.find, string.match, string.gmatch and string.gsub with Lua 5.4's
// pattern semantics (the reference manual, §6.4.1), written so that a match
// can be stopped. Lua's own matcher backtracks inside one C call, out of the
// interrupt hook's reach: `("a*"):rep(6) .. "b"` against 3,000 "a"s would hold
// a scheduler thread for ages. This one counts its steps and, every
// `check_every` of them, asks poll_limits whether the script must stop
// (cancel, deadline, instruction budget). Every frame here holds only
// trivially destructible data, so errors may longjmp through (README.md).
#include "lua_vm/patterns.hpp"

#include <cctype>
#include <cstddef>
#include <cstring>

#include "lua_vm/control.hpp"
#include "lua_vm/interrupt.hpp"

namespace troupe::lua_vm {

namespace {

constexpr int max_captures = 32;
constexpr int max_depth = 200;
constexpr int check_every = 1024;
constexpr std::ptrdiff_t capture_open = -1;
constexpr std::ptrdiff_t capture_position = -2;
constexpr char escape = '%';

unsigned char byte(char c) {
  return static_cast<unsigned char>(c);
}

struct match_state {
  const char* src_init;
  const char* src_end;
  const char* p_end;
  lua_State* L;
  int depth;
  int level;
  int countdown;
  struct {
    const char* init;
    std::ptrdiff_t len;
  } capture[max_captures];
};

void prepare(match_state& ms, lua_State* L, const char* s, std::size_t ls,
             const char* p, std::size_t lp) {
  ms.L = L;
  ms.src_init = s;
  ms.src_end = s + ls;
  ms.p_end = p + lp;
  ms.depth = max_depth;
  ms.level = 0;
  ms.countdown = check_every;
}

void restart(match_state& ms) {
  ms.level = 0;
  ms.depth = max_depth;
}

// One step of work; every check_every steps the script's limits are polled.
void step(match_state& ms) {
  if (--ms.countdown > 0) return;
  ms.countdown = check_every;
  stop_point(ms.L, check_every);
}

const char* match(match_state& ms, const char* s, const char* p);

int check_capture(match_state& ms, int l) {
  l -= '1';
  if (l < 0 || l >= ms.level || ms.capture[l].len == capture_open)
    return luaL_error(ms.L, "invalid capture index %%%d", l + 1);
  return l;
}

int capture_to_close(match_state& ms) {
  for (int level = ms.level - 1; level >= 0; --level)
    if (ms.capture[level].len == capture_open) return level;
  return luaL_error(ms.L, "invalid pattern capture");
}

const char* class_end(match_state& ms, const char* p) {
  switch (*p++) {
    case escape:
      if (p == ms.p_end) luaL_error(ms.L, "malformed pattern (ends with '%%')");
      return p + 1;
    case '[':
      if (*p == '^') ++p;
      do {
        if (p == ms.p_end) luaL_error(ms.L, "malformed pattern (missing ']')");
        if (*(p++) == escape && p < ms.p_end) ++p;
      } while (*p != ']');
      return p + 1;
    default: return p;
  }
}

bool match_class(int c, int cl) {
  bool res = false;
  switch (std::tolower(cl)) {
    case 'a': res = std::isalpha(c) != 0; break;
    case 'c': res = std::iscntrl(c) != 0; break;
    case 'd': res = std::isdigit(c) != 0; break;
    case 'g': res = std::isgraph(c) != 0; break;
    case 'l': res = std::islower(c) != 0; break;
    case 'p': res = std::ispunct(c) != 0; break;
    case 's': res = std::isspace(c) != 0; break;
    case 'u': res = std::isupper(c) != 0; break;
    case 'w': res = std::isalnum(c) != 0; break;
    case 'x': res = std::isxdigit(c) != 0; break;
    case 'z': res = c == 0; break; // deprecated, still in Lua 5.4
    default: return cl == c;
  }
  return std::isupper(cl) != 0 ? !res : res;
}

// Whether c is in the set [p .. ec] (p at '[', ec at the closing ']').
bool match_bracket(int c, const char* p, const char* ec) {
  bool in = true;
  if (*(p + 1) == '^') {
    in = false;
    ++p;
  }
  while (++p < ec) {
    if (*p == escape) {
      ++p;
      if (match_class(c, byte(*p))) return in;
    } else if (*(p + 1) == '-' && p + 2 < ec) {
      p += 2;
      if (byte(*(p - 2)) <= c && c <= byte(*p)) return in;
    } else if (byte(*p) == c) {
      return in;
    }
  }
  return !in;
}

bool single_match(match_state& ms, const char* s, const char* p,
                  const char* ep) {
  if (s >= ms.src_end) return false;
  int c = byte(*s);
  switch (*p) {
    case '.': return true;
    case escape: return match_class(c, byte(*(p + 1)));
    case '[': return match_bracket(c, p, ep - 1);
    default: return byte(*p) == c;
  }
}

const char* match_balance(match_state& ms, const char* s, const char* p) {
  if (p >= ms.p_end - 1)
    luaL_error(ms.L, "malformed pattern (missing arguments to '%%b')");
  if (s >= ms.src_end || *s != *p) return nullptr;
  char open = *p;
  char close = *(p + 1);
  int depth = 1;
  while (++s < ms.src_end) {
    step(ms);
    if (*s == close) {
      if (--depth == 0) return s + 1;
    } else if (*s == open) {
      ++depth;
    }
  }
  return nullptr;
}

const char* max_expand(match_state& ms, const char* s, const char* p,
                       const char* ep) {
  std::ptrdiff_t i = 0;
  while (single_match(ms, s + i, p, ep)) ++i;
  for (; i >= 0; --i)
    if (const char* res = match(ms, s + i, ep + 1)) return res;
  return nullptr;
}

const char* min_expand(match_state& ms, const char* s, const char* p,
                       const char* ep) {
  for (;;) {
    if (const char* res = match(ms, s, ep + 1)) return res;
    if (!single_match(ms, s, p, ep)) return nullptr;
    ++s;
  }
}

const char* start_capture(match_state& ms, const char* s, const char* p,
                          std::ptrdiff_t what) {
  if (ms.level >= max_captures) luaL_error(ms.L, "too many captures");
  ms.capture[ms.level].init = s;
  ms.capture[ms.level].len = what;
  ++ms.level;
  const char* res = match(ms, s, p);
  if (res == nullptr) --ms.level;
  return res;
}

const char* end_capture(match_state& ms, const char* s, const char* p) {
  int l = capture_to_close(ms);
  ms.capture[l].len = s - ms.capture[l].init;
  const char* res = match(ms, s, p);
  if (res == nullptr) ms.capture[l].len = capture_open;
  return res;
}

const char* match_capture(match_state& ms, const char* s, int l) {
  l = check_capture(ms, l);
  std::ptrdiff_t len = ms.capture[l].len;
  if (ms.src_end - s >= len
      && std::memcmp(ms.capture[l].init, s, static_cast<std::size_t>(len)) == 0)
    return s + len;
  return nullptr;
}

// After a single-character class at p (ending at ep) matched or not, with
// an optional quantifier at ep.
const char* match_item(match_state& ms, const char* s, const char* p,
                       const char* ep, bool& go_on, const char*& next) {
  go_on = false;
  if (!single_match(ms, s, p, ep)) {
    if (*ep == '*' || *ep == '?' || *ep == '-') {
      go_on = true;
      next = ep + 1;
      return s;
    }
    return nullptr;
  }
  switch (*ep) {
    case '?': {
      if (const char* res = match(ms, s + 1, ep + 1)) return res;
      go_on = true;
      next = ep + 1;
      return s;
    }
    case '+': return max_expand(ms, s + 1, p, ep);
    case '*': return max_expand(ms, s, p, ep);
    case '-': return min_expand(ms, s, p, ep);
    default:
      go_on = true;
      next = ep;
      return s + 1;
  }
}

const char* match(match_state& ms, const char* s, const char* p) {
  if (ms.depth-- == 0) luaL_error(ms.L, "pattern too complex");
  step(ms);
  for (bool go_on = true; go_on && p != ms.p_end;) {
    go_on = false;
    bool plain = false;
    switch (*p) {
      case '(':
        s = *(p + 1) == ')' ? start_capture(ms, s, p + 2, capture_position)
                            : start_capture(ms, s, p + 1, capture_open);
        break;
      case ')': s = end_capture(ms, s, p + 1); break;
      case '$':
        if (p + 1 != ms.p_end) {
          plain = true;
          break;
        }
        s = s == ms.src_end ? s : nullptr;
        break;
      case escape:
        if (*(p + 1) == 'b') {
          s = match_balance(ms, s, p + 2);
          if (s != nullptr) {
            p += 4;
            go_on = true;
          }
        } else if (*(p + 1) == 'f') {
          p += 2;
          if (*p != '[') luaL_error(ms.L, "missing '[' after '%%f' in pattern");
          const char* ep = class_end(ms, p);
          int previous = s == ms.src_init ? '\0' : byte(*(s - 1));
          int current = s < ms.src_end ? byte(*s) : '\0';
          if (!match_bracket(previous, p, ep - 1)
              && match_bracket(current, p, ep - 1)) {
            p = ep;
            go_on = true;
          } else {
            s = nullptr;
          }
        } else if (std::isdigit(byte(*(p + 1))) != 0) {
          s = match_capture(ms, s, byte(*(p + 1)));
          if (s != nullptr) {
            p += 2;
            go_on = true;
          }
        } else {
          plain = true;
        }
        break;
      default: plain = true;
    }
    if (plain) s = match_item(ms, s, p, class_end(ms, p), go_on, p);
  }
  ++ms.depth;
  return s;
}

// [-0, +1] Capture i of a match from s to e (the whole match for i == 0 with
// no captures).
void push_capture(match_state& ms, int i, const char* s, const char* e) {
  if (i >= ms.level) {
    if (i != 0) luaL_error(ms.L, "invalid capture index %%%d", i + 1);
    lua_pushlstring(ms.L, s, static_cast<std::size_t>(e - s));
    return;
  }
  std::ptrdiff_t len = ms.capture[i].len;
  if (len == capture_open) luaL_error(ms.L, "unfinished capture");
  if (len == capture_position)
    lua_pushinteger(ms.L, ms.capture[i].init - ms.src_init + 1);
  else
    lua_pushlstring(ms.L, ms.capture[i].init, static_cast<std::size_t>(len));
}

int push_captures(match_state& ms, const char* s, const char* e) {
  int n = ms.level == 0 && s != nullptr ? 1 : ms.level;
  luaL_checkstack(ms.L, n, "too many captures");
  for (int i = 0; i < n; ++i) push_capture(ms, i, s, e);
  return n;
}

bool has_specials(const char* p, std::size_t lp) {
  for (std::size_t i = 0; i < lp; ++i)
    if (std::strchr("^$*+?.([%-", p[i]) != nullptr && p[i] != '\0') return true;
  return false;
}

const char* find_plain(const char* s, std::size_t ls, const char* p,
                       std::size_t lp) {
  if (lp == 0) return s;
  if (lp > ls) return nullptr;
  const char* last = s + (ls - lp);
  for (const char* at = s; at <= last; ++at) {
    at = static_cast<const char*>(
      std::memchr(at, *p, static_cast<std::size_t>(last - at) + 1));
    if (at == nullptr) return nullptr;
    if (std::memcmp(at + 1, p + 1, lp - 1) == 0) return at;
  }
  return nullptr;
}

// A 1-based start position, negative from the end, clipped to 1.
std::size_t start_position(lua_State* L, int arg, std::size_t len) {
  lua_Integer pos = luaL_optinteger(L, arg, 1);
  if (pos > 0) return static_cast<std::size_t>(pos);
  if (pos == 0 || pos < -static_cast<lua_Integer>(len)) return 1;
  return len + static_cast<std::size_t>(pos) + 1;
}

int find_or_match(lua_State* L, bool find) {
  std::size_t ls = 0;
  std::size_t lp = 0;
  const char* s = luaL_checklstring(L, 1, &ls);
  const char* p = luaL_checklstring(L, 2, &lp);
  std::size_t init = start_position(L, 3, ls);
  if (init > ls + 1) {
    lua_pushnil(L);
    return 1;
  }
  if (find && (lua_toboolean(L, 4) != 0 || !has_specials(p, lp))) {
    if (const char* at = find_plain(s + init - 1, ls - init + 1, p, lp)) {
      lua_pushinteger(L, at - s + 1);
      lua_pushinteger(L, at - s + static_cast<lua_Integer>(lp));
      return 2;
    }
  } else {
    match_state ms;
    bool anchor = lp > 0 && *p == '^';
    if (anchor) {
      ++p;
      --lp;
    }
    prepare(ms, L, s, ls, p, lp);
    const char* from = s + init - 1;
    do {
      restart(ms);
      if (const char* e = match(ms, from, p)) {
        if (!find) return push_captures(ms, from, e);
        lua_pushinteger(L, from - s + 1);
        lua_pushinteger(L, e - s);
        return push_captures(ms, nullptr, nullptr) + 2;
      }
    } while (from++ < ms.src_end && !anchor);
  }
  lua_pushnil(L);
  return 1;
}

int l_find(lua_State* L) {
  return find_or_match(L, true);
}

int l_match(lua_State* L) {
  return find_or_match(L, false);
}

struct gmatch_state {
  const char* src;
  const char* p;
  const char* last;
  match_state ms;
};

// Upvalues: the subject, the pattern, the gmatch_state.
int gmatch_next(lua_State* L) {
  auto* gm = static_cast<gmatch_state*>(lua_touserdata(L, lua_upvalueindex(3)));
  if (gm->src == nullptr) return 0;
  gm->ms.L = L;
  for (const char* from = gm->src; from <= gm->ms.src_end; ++from) {
    restart(gm->ms);
    const char* e = match(gm->ms, from, gm->p);
    if (e != nullptr && e != gm->last) {
      gm->src = gm->last = e;
      return push_captures(gm->ms, from, e);
    }
  }
  return 0;
}

int l_gmatch(lua_State* L) {
  std::size_t ls = 0;
  std::size_t lp = 0;
  const char* s = luaL_checklstring(L, 1, &ls);
  const char* p = luaL_checklstring(L, 2, &lp);
  std::size_t init = start_position(L, 3, ls);
  lua_settop(L, 2);
  auto* gm = static_cast<gmatch_state*>(
    lua_newuserdatauv(L, sizeof(gmatch_state), 0));
  prepare(gm->ms, L, s, ls, p, lp);
  // Starting past the end, nothing matches (not even the empty string).
  gm->src = init > ls + 1 ? nullptr : s + init - 1;
  gm->p = p;
  gm->last = nullptr;
  lua_pushcclosure(L, gmatch_next, 3);
  return 1;
}

// The replacement string (argument 3) for the match s..e.
void add_string(match_state& ms, luaL_Buffer& b, const char* s, const char* e) {
  lua_State* L = ms.L;
  std::size_t l = 0;
  const char* news = lua_tolstring(L, 3, &l);
  const char* p = nullptr;
  while ((p = static_cast<const char*>(std::memchr(news, escape, l)))
         != nullptr) {
    luaL_addlstring(&b, news, static_cast<std::size_t>(p - news));
    ++p;
    if (*p == escape) {
      luaL_addchar(&b, *p);
    } else if (*p == '0') {
      luaL_addlstring(&b, s, static_cast<std::size_t>(e - s));
    } else if (std::isdigit(byte(*p)) != 0) {
      push_capture(ms, *p - '1', s, e);
      luaL_tolstring(L, -1, nullptr);
      lua_remove(L, -2);
      luaL_addvalue(&b);
    } else {
      luaL_error(L, "invalid use of '%c' in replacement string", escape);
    }
    l -= static_cast<std::size_t>(p + 1 - news);
    news = p + 1;
  }
  luaL_addlstring(&b, news, l);
}

// Adds the replacement of the match s..e; false when the match is kept.
bool add_value(match_state& ms, luaL_Buffer& b, const char* s, const char* e,
               int kind) {
  lua_State* L = ms.L;
  switch (kind) {
    case LUA_TFUNCTION: {
      lua_pushvalue(L, 3);
      int n = push_captures(ms, s, e);
      lua_call(L, n, 1);
      break;
    }
    case LUA_TTABLE:
      push_capture(ms, 0, s, e);
      lua_gettable(L, 3);
      break;
    default: add_string(ms, b, s, e); return true;
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
  const char* src = luaL_checklstring(L, 1, &ls);
  const char* p = luaL_checklstring(L, 2, &lp);
  const char* last = nullptr;
  int kind = lua_type(L, 3);
  lua_Integer max_n = luaL_optinteger(L, 4, static_cast<lua_Integer>(ls) + 1);
  luaL_argexpected(L,
                   kind == LUA_TNUMBER || kind == LUA_TSTRING
                     || kind == LUA_TFUNCTION || kind == LUA_TTABLE,
                   3, "string/function/table");
  bool anchor = lp > 0 && *p == '^';
  if (anchor) {
    ++p;
    --lp;
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  match_state ms;
  prepare(ms, L, src, ls, p, lp);
  lua_Integer n = 0;
  bool changed = false;
  while (n < max_n) {
    restart(ms);
    const char* e = match(ms, src, p);
    if (e != nullptr && e != last) {
      ++n;
      changed = add_value(ms, b, src, e, kind) || changed;
      src = last = e;
    } else if (src < ms.src_end) {
      luaL_addchar(&b, *src++);
    } else {
      break;
    }
    if (anchor) break;
  }
  if (!changed) {
    lua_pushvalue(L, 1);
  } else {
    luaL_addlstring(&b, src, static_cast<std::size_t>(ms.src_end - src));
    luaL_pushresult(&b);
  }
  lua_pushinteger(L, n);
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
