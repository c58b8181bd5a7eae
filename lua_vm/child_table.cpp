// The parent's view of its children (see child_table.hpp).
#include "lua_vm/child_table.hpp"

#include <vector>

namespace troupe::lua_vm {

const child_table::child* child_table::find(worker_id id) const {
  auto i = children_.find(id);
  return i == children_.end() ? nullptr : &i->second;
}

child_table::child* child_table::find(worker_id id) {
  auto i = children_.find(id);
  return i == children_.end() ? nullptr : &i->second;
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
    children_.erase(id);
    return;
  }
  c->ended = true;
  c->end = std::move(end);
}

void child_table::forget(worker_id id) {
  child* c = find(id);
  if (c == nullptr) return;
  if (c->ended) {
    children_.erase(id);
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
