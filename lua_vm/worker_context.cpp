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
  wait.token = next_token_++;
  wait.has_deadline = timeout_seconds >= 0;
  if (wait.has_deadline) {
    auto delay = std::chrono::duration<double>(std::min(timeout_seconds, 1e9));
    transport.start_timer(wait.token,
                          std::chrono::duration_cast<clock::duration>(delay));
  }
}

bool worker_context::on_timer(std::uint64_t token) {
  if (wait.kind == wait_state::none || token != wait.token) return false;
  wait.timed_out = true;
  return true;
}

} // namespace troupe::lua_vm
