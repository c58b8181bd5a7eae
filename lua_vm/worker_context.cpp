// worker_context (see worker_context.hpp).
#include "lua_vm/worker_context.hpp"

#include <cmath>

namespace troupe::lua_vm {

worker_context::worker_context(worker_transport& t,
                               serialization::limits limits)
    : transport(t), encoder(limits), sink(limits.max_bytes) {}

bool worker_context::ready() const {
  if (wait.timed_out) return true;
  switch (wait.kind) {
    case wait_state::none: return true;
    case wait_state::receive:
      return children.select(wait.ids).kind != child_table::decision::wait;
    case wait_state::peek: return !inbox.empty() || parent_gone;
    case wait_state::join: return children.end_of(wait.ids.front()) != nullptr;
    case wait_state::sleep: return false;
  }
  return true;
}

void worker_context::begin_wait(wait_state::kind_t kind,
                                double timeout_seconds) {
  wait.kind = kind;
  wait.timed_out = false;
  wait.has_deadline = timeout_seconds >= 0;
  if (wait.has_deadline) {
    auto delay = std::chrono::duration<double>(std::min(timeout_seconds, 1e9));
    wait.deadline = clock::now()
                    + std::chrono::duration_cast<clock::duration>(delay);
    if (timer_due_ > wait.deadline) arm(wait.deadline);
  }
}

void worker_context::arm(clock::time_point due) {
  timer_due_ = due;
  auto delay = std::max(clock::duration::zero(), due - clock::now());
  transport.start_timer(static_cast<std::uint64_t>(
                          due.time_since_epoch().count()),
                        delay);
}

bool worker_context::on_timer(std::uint64_t token) {
  // A timer fires at or after the time it was armed for.
  clock::time_point fired_for{clock::duration{static_cast<clock::rep>(token)}};
  if (fired_for == timer_due_) timer_due_ = clock::time_point::max();
  if (wait.kind == wait_state::none || !wait.has_deadline) return false;
  if (wait.deadline <= fired_for) {
    wait.timed_out = true;
    return true;
  }
  if (timer_due_ > wait.deadline) arm(wait.deadline);
  return false;
}

} // namespace troupe::lua_vm
