// string.find, string.match, string.gmatch and string.gsub with Lua 5.4's
// pattern semantics (the reference manual, §6.4.1), as a matcher that can be
// stopped and has no depth limit. A match is a depth-first search over the
// pattern, run as a loop: every place where the search could go another way
// (a quantifier that could take fewer or more characters, an optional item)
// and every capture opened or closed on the way is an entry of an explicit
// backtracking stack; a dead end pops entries until one offers another way.
// Entries are taken at strictly increasing pattern positions along a path, so
// the stack never holds more than the pattern is long; it starts in the
// matcher and moves into a Lua userdata (counted against the memory cap) when
// it outgrows that. Every step counts, and every `poll_every` steps the
// state's limits are polled (stop_point), so a pathological pattern ends at
// the deadline, on cancel or at the instruction budget. Every frame holds only
// trivially destructible data, so Lua errors may longjmp through (README.md).
#include "lua_vm/patterns.hpp"

#include <cctype>
#include <cstddef>
#include <cstring>

#include "lua_vm/interrupt.hpp"

namespace troupe::lua_vm {

namespace {

constexpr int max_captures = 32;
constexpr int poll_every = 1024;
constexpr int inline_choices = 48;
constexpr char escape = '%';
constexpr const char* specials = "^$*+?.([%-";

// A capture's length while it is open, and for a position capture `()`.
constexpr std::ptrdiff_t open_capture = -1;
constexpr std::ptrdiff_t position_capture = -2;

int byte_at(const char* p) {
  return static_cast<unsigned char>(*p);
}

// Where the search can resume, or what to undo, when the path beyond fails.
struct choice {
  enum kind_t : std::uint8_t {
    fewer, // a greedy item: `count` characters fewer than tried so far
    one_more, // a lazy item: one character more than at `at`
    without, // an optional item: the same place without its character
    reopen, // the capture `index` was closed here: open it again
    unopen // the capture `index` was opened here: drop it
  } kind;
  int index;
  const char* at;
  const char* item;
  // Where the pattern goes on after the item (its quantifier passed).
  const char* next;
  std::ptrdiff_t count;
};

struct capture {
  const char* start;
  std::ptrdiff_t length;
};

// One search over one subject and pattern.
struct matcher {
  lua_State* L;
  const char* subject;
  const char* subject_end;
  const char* pattern_end;
  int countdown;
  int captures;
  capture capture_of[max_captures];
  choice* stack;
  int depth;
  int room;
  // Lua stack slot of the userdata holding `stack` once it outgrew the
  // inline entries (0 while inline).
  int spill_slot;
  choice inline_stack[inline_choices];
};

void begin(matcher& m, lua_State* L, const char* s, std::size_t ls,
           const char* p, std::size_t lp) {
  m.L = L;
  m.subject = s;
  m.subject_end = s + ls;
  m.pattern_end = p + lp;
  m.countdown = poll_every;
  m.captures = 0;
  m.stack = m.inline_stack;
  m.depth = 0;
  m.room = inline_choices;
  m.spill_slot = 0;
}

void step(matcher& m) {
  if (--m.countdown > 0) return;
  m.countdown = poll_every;
  stop_point(m.L, poll_every);
}

// [-0, +0|1] Moves the stack into a userdata twice its size: the first time
// one is pushed (and kept at spill_slot), later ones replace it.
[[gnu::noinline]] void grow_stack(matcher& m) {
  int room = m.room * 2;
  auto* bigger = static_cast<choice*>(
    lua_newuserdatauv(m.L, sizeof(choice) * static_cast<std::size_t>(room), 0));
  std::memcpy(bigger, m.stack,
              sizeof(choice) * static_cast<std::size_t>(m.depth));
  if (m.spill_slot == 0)
    m.spill_slot = lua_gettop(m.L);
  else
    lua_replace(m.L, m.spill_slot);
  m.stack = bigger;
  m.room = room;
}

void push_choice(matcher& m, const choice& c) {
  if (m.depth == m.room) grow_stack(m);
  m.stack[m.depth++] = c;
}

// [-(0|1), +0] Drops the spilled stack, if any (before results are pushed).
void release_stack(matcher& m) {
  if (m.spill_slot != 0) lua_remove(m.L, m.spill_slot);
  m.spill_slot = 0;
  m.stack = m.inline_stack;
  m.room = inline_choices;
  m.depth = 0;
}

// ---- single-character classes

bool in_class(int c, int letter) {
  bool yes = false;
  // ASCII letters only differ in bit 5 between cases (the sandbox keeps the C
  // locale).
  switch (letter | 0x20) {
    case 'a': yes = std::isalpha(c) != 0; break;
    case 'c': yes = std::iscntrl(c) != 0; break;
    case 'd': yes = std::isdigit(c) != 0; break;
    case 'g': yes = std::isgraph(c) != 0; break;
    case 'l': yes = std::islower(c) != 0; break;
    case 'p': yes = std::ispunct(c) != 0; break;
    case 's': yes = std::isspace(c) != 0; break;
    case 'u': yes = std::isupper(c) != 0; break;
    case 'w': yes = std::isalnum(c) != 0; break;
    case 'x': yes = std::isxdigit(c) != 0; break;
    case 'z': yes = c == 0; break; // deprecated, still accepted by Lua 5.4
    default: return letter == c;
  }
  return letter >= 'A' && letter <= 'Z' ? !yes : yes;
}

// The end of the single-character class starting at p (past a set's ']').
const char* item_end(const matcher& m, const char* p) {
  if (*p == escape) {
    if (p + 1 == m.pattern_end)
      luaL_error(m.L, "malformed pattern (ends with '%%')");
    return p + 2;
  }
  if (*p != '[') return p + 1;
  const char* q = p + 1;
  if (*q == '^') ++q;
  // The first character is a member even when it is ']'.
  do {
    if (q == m.pattern_end) luaL_error(m.L, "malformed pattern (missing ']')");
    char c = *q++;
    if (c == escape && q < m.pattern_end) ++q;
  } while (*q != ']');
  return q + 1;
}

// Whether c belongs to the set from `open` ('[') to `close` (its ']').
bool in_set(int c, const char* open, const char* close) {
  const char* q = open + 1;
  bool negated = *q == '^';
  if (negated) ++q;
  for (; q < close; ++q) {
    if (*q == escape && q + 1 < close) {
      ++q;
      if (in_class(c, byte_at(q))) return !negated;
    } else if (q + 2 < close && q[1] == '-') {
      if (byte_at(q) <= c && c <= byte_at(q + 2)) return !negated;
      q += 2;
    } else if (byte_at(q) == c) {
      return !negated;
    }
  }
  return negated;
}

// Whether the subject character at s matches the class from p to end.
bool matches_one(const matcher& m, const char* s, const char* p,
                 const char* end) {
  if (s >= m.subject_end) return false;
  int c = byte_at(s);
  switch (*p) {
    case '.': return true;
    case escape: return in_class(c, byte_at(p + 1));
    case '[': return in_set(c, p, end - 1);
    default: return byte_at(p) == c;
  }
}

// ---- the items that do not branch

// %bxy at s (p at x): the end of the balanced run, or nullptr.
const char* balanced(matcher& m, const char* s, const char* p) {
  if (p + 1 >= m.pattern_end)
    luaL_error(m.L, "malformed pattern (missing arguments to '%%b')");
  if (s >= m.subject_end || *s != p[0]) return nullptr;
  int open = 1;
  for (const char* q = s + 1; q < m.subject_end; ++q) {
    step(m);
    if (*q == p[1]) {
      if (--open == 0) return q + 1;
    } else if (*q == p[0]) {
      ++open;
    }
  }
  return nullptr;
}

// %1-%9 at s: past the repeated text, or nullptr.
const char* repeated(matcher& m, const char* s, int digit) {
  int i = digit - '1';
  if (i < 0 || i >= m.captures || m.capture_of[i].length == open_capture)
    luaL_error(m.L, "invalid capture index %%%d", i + 1);
  // A position capture has no text: nothing repeats it.
  std::ptrdiff_t n = m.capture_of[i].length;
  if (n < 0 || m.subject_end - s < n
      || std::memcmp(m.capture_of[i].start, s, static_cast<std::size_t>(n))
           != 0)
    return nullptr;
  return s + n;
}

int innermost_open(const matcher& m) {
  for (int i = m.captures - 1; i >= 0; --i)
    if (m.capture_of[i].length == open_capture) return i;
  return luaL_error(m.L, "invalid pattern capture");
}

// ---- the search

// Where the search goes next: the subject and pattern positions, or failed.
struct cursor {
  const char* s;
  const char* p;
  bool failed;
};

// Pops entries until one offers another way; failed when none does.
cursor backtrack(matcher& m) {
  while (m.depth > 0) {
    step(m);
    choice& c = m.stack[m.depth - 1];
    switch (c.kind) {
      case choice::fewer:
        if (c.count > 0) {
          --c.count;
          return {c.at + c.count, c.next, false};
        }
        break;
      case choice::one_more:
        if (matches_one(m, c.at, c.item, c.next - 1)) {
          ++c.at;
          return {c.at, c.next, false};
        }
        break;
      case choice::without: {
        cursor next{c.at, c.next, false};
        --m.depth;
        return next;
      }
      case choice::reopen: m.capture_of[c.index].length = open_capture; break;
      case choice::unopen: --m.captures; break;
    }
    --m.depth;
  }
  return {nullptr, nullptr, true};
}

// A single-character item at p, with its quantifier if any; the next cursor.
cursor match_item(matcher& m, const char* s, const char* p) {
  const char* end = item_end(m, p);
  char quantifier = end < m.pattern_end ? *end : '\0';
  bool one = matches_one(m, s, p, end);
  switch (quantifier) {
    case '*':
    case '+': {
      if (!one && quantifier == '+') return backtrack(m);
      const char* from = quantifier == '+' ? s + 1 : s;
      std::ptrdiff_t n = 0;
      while (matches_one(m, from + n, p, end)) {
        ++n;
        step(m);
      }
      if (n > 0) push_choice(m, {choice::fewer, 0, from, p, end + 1, n});
      return {from + n, end + 1, false};
    }
    case '-':
      push_choice(m, {choice::one_more, 0, s, p, end + 1, 0});
      return {s, end + 1, false};
    case '?':
      if (!one) return {s, end + 1, false};
      push_choice(m, {choice::without, 0, s, p, end + 1, 0});
      return {s + 1, end + 1, false};
    default:
      if (!one) return backtrack(m);
      return {s + 1, end, false};
  }
}

// The end of a match of the pattern at p against the subject at s, or
// nullptr; m.captures and m.capture_of describe the match.
const char* search(matcher& m, const char* s, const char* p) {
  m.captures = 0;
  cursor at{s, p, false};
  while (!at.failed) {
    step(m);
    if (at.p == m.pattern_end) {
      m.depth = 0;
      return at.s;
    }
    const char* q = at.p;
    switch (*q) {
      case '(': {
        if (m.captures >= max_captures) luaL_error(m.L, "too many captures");
        bool position = q + 1 < m.pattern_end && q[1] == ')';
        m.capture_of[m.captures] = {at.s,
                                    position ? position_capture : open_capture};
        push_choice(m,
                    {choice::unopen, m.captures, nullptr, nullptr, nullptr, 0});
        ++m.captures;
        at.p = q + (position ? 2 : 1);
        continue;
      }
      case ')': {
        int i = innermost_open(m);
        m.capture_of[i].length = at.s - m.capture_of[i].start;
        push_choice(m, {choice::reopen, i, nullptr, nullptr, nullptr, 0});
        at.p = q + 1;
        continue;
      }
      case '$':
        if (q + 1 == m.pattern_end) {
          at = at.s == m.subject_end ? cursor{at.s, q + 1, false}
                                     : backtrack(m);
          continue;
        }
        break;
      case escape:
        if (q + 1 < m.pattern_end && q[1] == 'b') {
          const char* past = balanced(m, at.s, q + 2);
          at = past != nullptr ? cursor{past, q + 4, false} : backtrack(m);
          continue;
        }
        if (q + 1 < m.pattern_end && q[1] == 'f') {
          const char* set = q + 2;
          if (set == m.pattern_end || *set != '[')
            luaL_error(m.L, "missing '[' after '%%f' in pattern");
          const char* end = item_end(m, set);
          int before = at.s == m.subject ? 0 : byte_at(at.s - 1);
          int here = at.s < m.subject_end ? byte_at(at.s) : 0;
          bool frontier = !in_set(before, set, end - 1)
                          && in_set(here, set, end - 1);
          at = frontier ? cursor{at.s, end, false} : backtrack(m);
          continue;
        }
        if (q + 1 < m.pattern_end && std::isdigit(byte_at(q + 1)) != 0) {
          const char* past = repeated(m, at.s, byte_at(q + 1));
          at = past != nullptr ? cursor{past, q + 2, false} : backtrack(m);
          continue;
        }
        break;
      default: break;
    }
    at = match_item(m, at.s, q);
  }
  m.captures = 0;
  return nullptr;
}

// ---- results

// [-0, +1] Capture i of the match from s to e; the whole match stands for
// capture 0 when there are none.
void push_capture(matcher& m, int i, const char* s, const char* e) {
  if (i >= m.captures) {
    if (i != 0) luaL_error(m.L, "invalid capture index %%%d", i + 1);
    lua_pushlstring(m.L, s, static_cast<std::size_t>(e - s));
    return;
  }
  const capture& c = m.capture_of[i];
  if (c.length == open_capture) luaL_error(m.L, "unfinished capture");
  if (c.length == position_capture)
    lua_pushinteger(m.L, c.start - m.subject + 1);
  else
    lua_pushlstring(m.L, c.start, static_cast<std::size_t>(c.length));
}

// [-0, +n] The captures of the match from s to e (the whole match when there
// are none and `whole`); returns n.
int push_captures(matcher& m, const char* s, const char* e, bool whole) {
  int n = m.captures == 0 && whole ? 1 : m.captures;
  luaL_checkstack(m.L, n, "too many captures");
  for (int i = 0; i < n; ++i) push_capture(m, i, s, e);
  return n;
}

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
  begin(m, L, s, ls, p + anchored, lp - anchored);
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
  begin(it->m, L, s, ls, p, lp);
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
  begin(m, L, s, ls, p, lp - anchored);
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
