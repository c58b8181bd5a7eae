// Debug-build guard of a function's Lua stack effect, the `[-o, +p]` its
// comment declares. It has a destructor, so use it only in helpers that cannot
// raise a Lua error (a longjmp would skip the check and is forbidden over C++
// destructors anyway); in raising code assert the balance by hand at each
// return.
#pragma once

#include <cassert>

#include <lua.hpp>

namespace troupe {

#ifndef NDEBUG
/// Asserts at scope exit that the stack of `L` grew by exactly `delta` slots.
class stack_check {
public:
  stack_check(lua_State* L, int delta) noexcept
      : L_(L), expected_(lua_gettop(L) + delta) {}
  stack_check(const stack_check&) = delete;
  stack_check& operator=(const stack_check&) = delete;
  ~stack_check() {
    assert(lua_gettop(L_) == expected_
           && "Lua stack effect differs from the declared one");
  }

private:
  lua_State* L_;
  int expected_;
};
#  define TROUPE_STACK_EFFECT(L, delta)         \
    ::troupe::stack_check troupe_stack_check_ { \
      (L), (delta)                              \
    }
#else
#  define TROUPE_STACK_EFFECT(L, delta) static_cast<void>(0)
#endif

} // namespace troupe
