// The interrupt hook (see interrupt.hpp). It runs every control::hook_interval
// instructions; the common case is an atomic load and, only when a deadline or
// slice is set, one clock read.
#include "lua_vm/interrupt.hpp"

#include "lua_vm/coroutines.hpp"

namespace troupe::lua_vm {

stop_reason poll_limits(control& c, int steps) noexcept {
  if (c.tripped != stop_reason::none) return c.tripped;
  if (c.cancel->load(std::memory_order_relaxed)) return stop_reason::cancelled;
  c.executed += static_cast<std::uint64_t>(steps);
  if (c.instruction_budget != 0 && c.executed >= c.instruction_budget)
    return stop_reason::instructions;
  if (c.deadline != clock::time_point::max() && clock::now() >= c.deadline)
    return stop_reason::deadline;
  return stop_reason::none;
}

namespace {

bool slice_used_up(lua_State* L, control& c) noexcept {
  if (c.slice_end == clock::time_point::max()) return false;
  auto now = clock::now();
  if (c.slice_end == clock::time_point::min()) {
    c.slice_end = now + c.slice_length;
    return false;
  }
  return now >= c.slice_end && can_host_yield(L);
}

void hook(lua_State* L, lua_Debug*) {
  control& c = control_of(L);
  if (c.tripped == stop_reason::none) {
    stop_reason r = poll_limits(c, c.hook_step);
    if (r == stop_reason::none) {
      if (slice_used_up(L, c)) {
        c.slice_end = clock::time_point::max();
        c.preempted = true;
        c.host_yield = true;
        lua_yield(L, 0);
      }
      return;
    }
    trip(c, r);
  }
  lua_sethook(L, hook, LUA_MASKCOUNT, 1);
  lua_pushstring(L, stop_message(c.tripped));
  lua_error(L);
}

} // namespace

const char* stop_message(stop_reason r) noexcept {
  switch (r) {
    case stop_reason::none: return "no stop";
    case stop_reason::cancelled: return "cancelled";
    case stop_reason::deadline: return "time limit exceeded";
    case stop_reason::instructions: return "instruction limit exceeded";
    case stop_reason::memory: return "memory limit exceeded";
  }
  return "stopped";
}

void arm_hook(lua_State* L) noexcept {
  control& c = control_of(L);
  c.hook_step = control::hook_interval;
  if (c.instruction_budget != 0
      && c.instruction_budget < static_cast<std::uint64_t>(c.hook_step))
    c.hook_step = static_cast<int>(c.instruction_budget);
  lua_sethook(L, hook, LUA_MASKCOUNT, c.hook_step);
}

void stop_point(lua_State* L, int steps) {
  stop_reason r = poll_limits(control_of(L), steps);
  if (r == stop_reason::none) return;
  trip_and_arm(L, r);
  luaL_error(L, "%s", stop_message(r));
}

void trip(control& c, stop_reason reason) noexcept {
  if (c.tripped == stop_reason::none) c.tripped = reason;
}

void trip_and_arm(lua_State* L, stop_reason reason) noexcept {
  trip(control_of(L), reason);
  lua_sethook(L, hook, LUA_MASKCOUNT, 1);
}

void start_slice(control& c, clock::duration length) noexcept {
  c.preempted = false;
  c.slice_length = length;
  c.slice_end = clock::time_point::min();
}

} // namespace troupe::lua_vm
