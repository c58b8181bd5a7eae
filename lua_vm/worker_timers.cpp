// Message timers of the worker module: worker.after(seconds, v) and
// worker.every(seconds, v) put (a copy of) v into the worker's own inbox
// later, from the worker itself, and return the timer's id;
// worker.cancel_timer(id). What a timer carries stays here, counted against
// the state's memory cap; the runtime's timer queue only knows when which
// timer of which worker is due (worker_transport::arm_message_timer), so a
// cancelled timer needs nothing taken out of it: its firing finds no timer.
#include <cmath>

#include "lua_vm/allocator.hpp"
#include "lua_vm/worker_calls.hpp"

namespace troupe::lua_vm {

namespace {

// What a pending timer costs its state besides its bytes (its node in the
// table, the record).
constexpr std::size_t timer_overhead = 96;

std::size_t cost(const worker_context::message_timer& t) noexcept {
  return timer_overhead + t.bytes.size();
}

enum class armed : std::uint8_t { ok, memory, failed };

// Arms a timer of the value in the context's sink, due in `delay` and then
// every `period` (zero: once); its id goes to `id`.
armed arm(worker_context& c, clock::duration delay, clock::duration period,
          std::uint64_t& id) noexcept {
  try {
    if (!c.message_timers)
      c.message_timers = std::make_unique<worker_context::timer_table>();
    auto& table = *c.message_timers;
    worker_context::message_timer t{std::string{c.sink.view()}, period,
                                    clock::now() + delay};
    if (!charge_outside(*c.ctl, cost(t))) return armed::memory;
    id = table.next_id++;
    auto due = t.due;
    std::size_t charged = cost(t);
    table.pending.emplace(id, std::move(t));
    if (c.transport.arm_message_timer(id, due)) return armed::ok;
    table.pending.erase(id);
    release_outside(*c.ctl, charged);
    return armed::failed;
  } catch (...) {
    return armed::memory;
  }
}

// `seconds` as a duration, at most longest_wait.
clock::duration in_seconds(lua_Number seconds) noexcept {
  auto d = std::chrono::duration<double>(seconds);
  if (d >= longest_wait) return longest_wait;
  return std::chrono::duration_cast<clock::duration>(d);
}

// worker.after / worker.every (`every` when `period`).
int arm_timer(lua_State* L, bool every) {
  const char* fn = every ? "every" : "after";
  lua_Number seconds = luaL_checknumber(L, 1);
  if (every)
    luaL_argcheck(L, seconds > 0, 1, "positive number of seconds expected");
  else
    luaL_argcheck(L, seconds >= 0, 1,
                  "non-negative number of seconds expected");
  lua_settop(L, 2);
  worker_context& c = worker_detail::context_of(L);
  if (!worker_detail::encode_one(L, 2, fn, 2))
    return luaL_error(L, "%s", c.error_text.c_str());
  auto delay = in_seconds(seconds);
  std::uint64_t id = 0;
  switch (arm(c, delay, every ? delay : clock::duration{0}, id)) {
    case armed::ok: lua_pushinteger(L, static_cast<lua_Integer>(id)); return 1;
    case armed::memory: return luaL_error(L, "not enough memory");
    case armed::failed: break;
  }
  return luaL_error(L, "worker.%s: the timer could not be armed", fn);
}

int l_after(lua_State* L) {
  return arm_timer(L, false);
}

int l_every(lua_State* L) {
  return arm_timer(L, true);
}

int l_cancel_timer(lua_State* L) {
  lua_Integer id = luaL_checkinteger(L, 1);
  worker_context& c = worker_detail::context_of(L);
  bool pending = false;
  if (c.message_timers) {
    auto& table = c.message_timers->pending;
    if (auto i = table.find(static_cast<std::uint64_t>(id)); i != table.end()) {
      release_outside(*c.ctl, cost(i->second));
      table.erase(i);
      pending = true;
    }
  }
  lua_pushboolean(L, pending);
  return 1;
}

} // namespace

std::size_t worker_context::on_message_timer(std::uint64_t id) {
  if (!message_timers) return 0;
  auto& table = message_timers->pending;
  auto i = table.find(id);
  if (i == table.end()) return 0;
  message_timer& t = i->second;
  push_inbox({identity.self, 0, inbox_meta::message}, t.bytes);
  std::size_t size = t.bytes.size();
  if (t.period == clock::duration{0}) {
    release_outside(*ctl, cost(t));
    table.erase(i);
    return size;
  }
  // Every period after the last due time; one that fell behind skips what it
  // missed rather than firing a burst.
  auto now = clock::now();
  t.due += t.period;
  if (t.due <= now) t.due = now + t.period;
  if (!transport.arm_message_timer(id, t.due)) {
    release_outside(*ctl, cost(t));
    table.erase(i);
  }
  return size;
}

namespace worker_detail {

const luaL_Reg timer_functions[] = {
  {"after", l_after},
  {"every", l_every},
  {"cancel_timer", l_cancel_timer},
  {nullptr, nullptr},
};

} // namespace worker_detail

} // namespace troupe::lua_vm
