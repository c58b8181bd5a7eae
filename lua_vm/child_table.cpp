// The parent's view of its children (see child_table.hpp).
#include "lua_vm/child_table.hpp"

#include <utility>
#include <vector>

namespace troupe::lua_vm {

const child_table::child* child_table::find(worker_id id) const {
  if (last_ != nullptr && id == last_id_) return last_;
  auto i = children_.find(id);
  if (i == children_.end()) return nullptr;
  last_id_ = id;
  last_ = &i->second;
  return last_;
}

child_table::child* child_table::find(worker_id id) {
  return const_cast<child*>(std::as_const(*this).find(id));
}

void child_table::erase(worker_id id) {
  if (id == last_id_) last_ = nullptr;
  children_.erase(id);
}

void child_table::add(worker_id id) {
  children_.try_emplace(id);
}

bool child_table::contains(worker_id id) const {
  return find(id) != nullptr;
}

bool child_table::on_message(worker_id id, std::string_view bytes) {
  child* c = find(id);
  if (c == nullptr || c->forgotten) return false;
  c->queue.push_back(bytes);
  return true;
}

void child_table::on_end(worker_id id, child_end end) {
  child* c = find(id);
  if (c == nullptr || c->ended) return;
  if (c->forgotten) {
    erase(id);
    return;
  }
  c->ended = true;
  c->end = std::move(end);
  if (c->cancel_noted && c->end.cancelled) c->error_raised = true;
}

void child_table::note_cancel(worker_id id) {
  if (child* c = find(id); c != nullptr && !c->ended) c->cancel_noted = true;
}

void child_table::forget(worker_id id) {
  child* c = find(id);
  if (c == nullptr) return;
  if (c->ended) {
    erase(id);
    return;
  }
  c->forgotten = true;
  c->queue.clear();
}

bool child_table::dead(worker_id id) const {
  const child* c = find(id);
  return c == nullptr || c->ended;
}

child_table::decision
child_table::select(std::span<const worker_id> ids) const {
  bool any_message = false;
  bool all_drained = true;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const child* c = find(ids[i]);
    if (c == nullptr) continue;
    if (!c->queue.empty()) {
      any_message = true;
      all_drained = false;
    } else if (c->ended && !c->end.ok && !c->error_raised) {
      return {decision::raise, i};
    } else if (!c->ended) {
      all_drained = false;
    }
  }
  if (any_message) return {decision::take, 0};
  return {all_drained ? decision::all_drained : decision::wait, 0};
}

bool child_table::has_message(worker_id id) const {
  const child* c = find(id);
  return c != nullptr && !c->queue.empty();
}

std::string_view child_table::front_message(worker_id id) const {
  return find(id)->queue.front();
}

void child_table::pop_message(worker_id id) {
  find(id)->queue.pop_front();
}

const std::string& child_table::take_error(worker_id id) {
  child* c = find(id);
  c->error_raised = true;
  return c->end.bytes;
}

const child_end* child_table::end_of(worker_id id) const {
  const child* c = find(id);
  return c != nullptr && c->ended ? &c->end : nullptr;
}

} // namespace troupe::lua_vm
