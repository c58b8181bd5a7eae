// Lua 5.4's pattern matching (the reference manual, §6.4.1) as a matcher that
// can be stopped and has no depth limit. A match is a depth-first search over
// the pattern, run as a loop: every place where the search could go another way
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
#include "lua_vm/pattern_matcher.hpp"

#include <cctype>
#include <cstring>

#include "lua_vm/interrupt.hpp"

namespace troupe::lua_vm::pattern {

namespace {

constexpr int poll_every = 1024;

int byte_at(const char* p) {
  return static_cast<unsigned char>(*p);
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

} // namespace

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

void release_stack(matcher& m) {
  if (m.spill_slot != 0) lua_remove(m.L, m.spill_slot);
  m.spill_slot = 0;
  m.stack = m.inline_stack;
  m.room = inline_choices;
  m.depth = 0;
}

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

int push_captures(matcher& m, const char* s, const char* e, bool whole) {
  int n = m.captures == 0 && whole ? 1 : m.captures;
  luaL_checkstack(m.L, n, "too many captures");
  for (int i = 0; i < n; ++i) push_capture(m, i, s, e);
  return n;
}

} // namespace troupe::lua_vm::pattern
