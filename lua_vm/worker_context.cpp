// worker_context (see worker_context.hpp).
#include "lua_vm/worker_context.hpp"

#include <cmath>
#include <cstring>

namespace troupe::lua_vm {

void inbox_meta::write(char* out) const noexcept {
  std::memcpy(out, &from, sizeof from);
  std::memcpy(out + 8, &call, sizeof call);
  out[16] = static_cast<char>(kind);
}

inbox_meta inbox_meta::read(std::string_view entry) noexcept {
  inbox_meta m;
  std::memcpy(&m.from, entry.data(), sizeof m.from);
  std::memcpy(&m.call, entry.data() + 8, sizeof m.call);
  m.kind = static_cast<kind_t>(entry[16]);
  return m;
}

worker_context::worker_context(worker_transport& t,
                               serialization::limits limits, worker_identity id)
    : transport(t), encoder(limits), sink(limits.max_bytes), identity(id) {}

const child_end* worker_context::joined_end(worker_id id) const {
  if (!joins) return nullptr;
  auto i = joins->ends.find(id);
  return i == joins->ends.end() ? nullptr : &i->second;
}

void worker_context::push_inbox(const inbox_meta& meta,
                                std::string_view bytes) {
  char head[inbox_meta::size];
  meta.write(head);
  inbox.push_back({head, sizeof head}, bytes);
}

void worker_context::on_reply(std::uint64_t number, std::string_view bytes) {
  if (call.state != call_state::waiting || call.number != number) return;
  call.reply.assign(bytes);
  call.state = call_state::replied;
}

void worker_context::on_down(worker_id from, std::uint64_t token, bool ok,
                             std::string_view bytes) {
  switch (static_cast<watch_kind>(token & 3)) {
    case watch_kind::monitor:
      push_inbox({from, 0, ok ? inbox_meta::down_ok : inbox_meta::down_failed},
                 bytes);
      break;
    case watch_kind::call:
      if (call.state == call_state::waiting && call.number == token >> 2)
        call.state = call_state::ended;
      break;
    case watch_kind::join:
      if (!joins) joins = std::make_unique<joined>();
      joins->watching.erase(from);
      joins->ends.emplace(from, child_end{ok, std::string{bytes}, false});
      break;
  }
}

bool worker_context::ready() const {
  if (wait.timed_out) return true;
  switch (wait.kind) {
    case wait_state::none: return true;
    case wait_state::receive:
      return children.select(wait.ids).kind != child_table::decision::wait;
    case wait_state::peek: return !inbox.empty() || parent_gone;
    case wait_state::join:
      return children.contains(wait.ids.front())
               ? children.end_of(wait.ids.front()) != nullptr
               : joined_end(wait.ids.front()) != nullptr;
    case wait_state::sleep: return false;
    case wait_state::call: return call.state != call_state::waiting;
    case wait_state::lookup: return name_appeared;
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
