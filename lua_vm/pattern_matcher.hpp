// The pattern matcher behind string.find, match, gmatch and gsub (see
// pattern_matcher.cpp for its design): a search over one subject and one
// pattern with Lua 5.4's semantics, no C recursion, and every step counted
// against the state's limits. Internal to lua_vm; patterns.cpp is its user.
#pragma once

#include <cstddef>
#include <cstdint>

#include <lua.hpp>

namespace troupe::lua_vm::pattern {

/// Captures a pattern may hold, as in Lua.
constexpr int max_captures = 32;
/// Backtracking entries kept in the matcher before the stack spills.
constexpr int inline_choices = 48;
/// The pattern escape character.
constexpr char escape = '%';

/// A capture's length while it is open, and for a position capture `()`.
constexpr std::ptrdiff_t open_capture = -1;
constexpr std::ptrdiff_t position_capture = -2;

/// Where the search can resume, or what to undo, when the path beyond fails.
struct choice {
  enum kind_t : std::uint8_t {
    fewer, ///< a greedy item: `count` characters fewer than tried so far
    one_more, ///< a lazy item: one character more than at `at`
    without, ///< an optional item: the same place without its character
    reopen, ///< the capture `index` was closed here: open it again
    unopen ///< the capture `index` was opened here: drop it
  } kind;
  int index;
  const char* at;
  const char* item;
  /// Where the pattern goes on after the item (its quantifier passed).
  const char* next;
  std::ptrdiff_t count;
};

/// A capture: where it starts and its length (or open_capture,
/// position_capture).
struct capture {
  const char* start;
  std::ptrdiff_t length;
};

/// One search over one subject and pattern; trivially destructible, so Lua
/// errors may cross it.
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

/// Prepares `m` to search subject s (ls bytes) with pattern p (lp bytes, its
/// anchor already taken off) in L.
void begin(matcher& m, lua_State* L, const char* s, std::size_t ls,
           const char* p, std::size_t lp);

/// The end of a match of the pattern, from p on, against the subject at s, or
/// nullptr; m.captures and m.capture_of describe the match. Raises for a
/// malformed pattern and when the state must stop. May leave the stack spilled
/// on the Lua stack: call release_stack before pushing anything.
const char* search(matcher& m, const char* s, const char* p);

/// [-(0|1), +0] Drops the spilled stack, if any.
void release_stack(matcher& m);

/// [-0, +1] Capture i of the match from s to e; the whole match stands for
/// capture 0 when there are none.
void push_capture(matcher& m, int i, const char* s, const char* e);

/// [-0, +n] The captures of the match from s to e (the whole match when there
/// are none and `whole`); returns n.
int push_captures(matcher& m, const char* s, const char* e, bool whole);

} // namespace troupe::lua_vm::pattern
