// Addresses in runtime_core: the directory of live workers (any sender finds
// any worker's link there), names, the ends that watchers wait for, and the
// host as a sender (its calls are runtime_calls.cpp's). No CAF here: a post
// rings its worker through actor_ref.
#include <new>

#include "actors/runtime_core.hpp"
#include "lua_vm/worker_end.hpp"
#include "serialization/value_codec.hpp"

namespace troupe::detail {

std::optional<child_link> runtime_core::find(worker_id id) const {
  std::lock_guard live{live_mutex_};
  auto i = live_.find(id);
  if (i == live_.end()) return std::nullopt;
  return i->second;
}

// ---- names

lua_vm::name_result runtime_core::register_name(std::string_view name,
                                                worker_id id) {
  std::vector<worker_id> waiters;
  {
    std::lock_guard guard{names_mutex_};
    // Checked under the names' lock: a worker that ends drops its names
    // under it after it has left the directory, so a name is never left to
    // a worker that has gone.
    if (!find(id)) return lua_vm::name_result::failed;
    std::string key{name};
    if (!names_.emplace(key, id).second) return lua_vm::name_result::taken;
    names_of_.emplace(id, key);
    take_name_waiters(key, waiters);
  }
  tell_name_waiters(id, waiters);
  return lua_vm::name_result::registered;
}

void runtime_core::take_name_waiters(const std::string& name,
                                     std::vector<worker_id>& out) {
  auto [first, last] = name_waiters_.equal_range(name);
  for (auto i = first; i != last; ++i) out.push_back(i->second);
  name_waiters_.erase(first, last);
}

void runtime_core::tell_name_waiters(worker_id named,
                                     const std::vector<worker_id>& waiters) {
  for (worker_id who : waiters)
    if (auto link = find(who)) link->post({named, 0, mail_kind::name}, {});
}

lua_vm::name_result runtime_core::hold_name(std::string_view name,
                                            worker_id holder) {
  std::lock_guard guard{names_mutex_};
  if (!find(holder)) return lua_vm::name_result::failed;
  std::string key{name};
  if (auto h = held_.find(key); h != held_.end())
    return h->second == holder ? lua_vm::name_result::registered
                               : lua_vm::name_result::taken;
  if (!names_.emplace(key, 0).second) return lua_vm::name_result::taken;
  held_.emplace(key, holder);
  held_by_.emplace(holder, std::move(key));
  return lua_vm::name_result::registered;
}

bool runtime_core::bind_name(std::string_view name, worker_id holder,
                             worker_id child) {
  std::vector<worker_id> waiters;
  {
    std::lock_guard guard{names_mutex_};
    std::string key{name};
    auto h = held_.find(key);
    if (h == held_.end() || h->second != holder) return false;
    worker_id& bound = names_[key];
    unlist_name(bound, key);
    bound = child;
    // A child that has ended already keeps no entry: its names were dropped.
    if (find(child)) names_of_.emplace(child, key);
    take_name_waiters(key, waiters);
  }
  tell_name_waiters(child, waiters);
  return true;
}

void runtime_core::release_name(std::string_view name, worker_id holder) {
  std::lock_guard guard{names_mutex_};
  std::string key{name};
  auto h = held_.find(key);
  if (h == held_.end() || h->second != holder) return;
  held_.erase(h);
  auto [first, last] = held_by_.equal_range(holder);
  for (auto i = first; i != last; ++i) {
    if (i->second == key) {
      held_by_.erase(i);
      break;
    }
  }
  if (auto n = names_.find(key); n != names_.end()) {
    unlist_name(n->second, key);
    names_.erase(n);
  }
}

void runtime_core::unlist_name(worker_id id, const std::string& name) noexcept {
  auto [first, last] = names_of_.equal_range(id);
  for (auto i = first; i != last; ++i) {
    if (i->second == name) {
      names_of_.erase(i);
      return;
    }
  }
}

worker_id runtime_core::lookup(std::string_view name) const {
  std::lock_guard guard{names_mutex_};
  auto i = names_.find(std::string{name});
  return i == names_.end() ? 0 : i->second;
}

void runtime_core::await_name(std::string_view name, worker_id who) {
  std::string key{name};
  std::lock_guard guard{names_mutex_};
  auto [first, last] = name_waiters_.equal_range(key);
  for (auto i = first; i != last; ++i)
    if (i->second == who) return;
  name_waiters_.emplace(std::move(key), who);
}

void runtime_core::forget_name_wait(std::string_view name, worker_id who) {
  std::string key{name};
  std::lock_guard guard{names_mutex_};
  auto [first, last] = name_waiters_.equal_range(key);
  for (auto i = first; i != last; ++i) {
    if (i->second == who) {
      name_waiters_.erase(i);
      return;
    }
  }
}

std::size_t runtime_core::name_waits() const {
  std::lock_guard guard{names_mutex_};
  return name_waiters_.size();
}

void runtime_core::drop_names(worker_id id, bool awaited) noexcept {
  std::lock_guard guard{names_mutex_};
  auto [first, last] = names_of_.equal_range(id);
  // A name its supervisor holds stays, naming the ended instance until the
  // next one is bound to it: a call by that name meanwhile ends as a call to
  // an ended worker.
  for (auto i = first; i != last; ++i)
    if (!held_.contains(i->second)) names_.erase(i->second);
  names_of_.erase(first, last);
  auto [held_first, held_last] = held_by_.equal_range(id);
  for (auto i = held_first; i != held_last; ++i) {
    held_.erase(i->second);
    if (auto n = names_.find(i->second); n != names_.end()) {
      unlist_name(n->second, i->second);
      names_.erase(n);
    }
  }
  held_by_.erase(held_first, held_last);
  if (awaited)
    std::erase_if(name_waiters_,
                  [id](const auto& w) { return w.second == id; });
}

// ---- ends

void runtime_core::notify_end(worker_id id, worker_shared& shared, bool ok,
                              std::string_view bytes) noexcept {
  mail_kind kind = ok ? mail_kind::down_ok : mail_kind::down_failed;
  for (const auto& w : shared.watchers.close()) {
    if (w.who == 0) {
      if ((w.token & 3) == static_cast<std::uint64_t>(lua_vm::watch_kind::call))
        host_down(w.token);
      else
        observer_down(id, ok, bytes);
      continue;
    }
    try {
      if (auto link = find(w.who)) link->post({id, w.token, kind}, bytes);
    } catch (...) {
      // Out of memory finding the watcher: a call's watcher still has its
      // timeout; nothing else can be done for it here.
    }
  }
}

// ---- the host as a sender

bool runtime_core::host_send(worker_id to, std::string_view bytes) {
  check_running();
  auto link = find(to);
  if (!link) return false;
  // Inside a native actor's handler the actor is the sender.
  worker_id from = acting != nullptr ? acting->id : 0;
  switch (link->post_inbox({from, 0, mail_kind::inbox}, bytes)) {
    case lua_vm::send_result::sent:
      ++messages;
      count_sent(bytes.size());
      return true;
    case lua_vm::send_result::dead: return false;
    case lua_vm::send_result::full: throw inbox_full("send", to);
    case lua_vm::send_result::failed: break;
  }
  throw std::bad_alloc{};
}

worker runtime_core::make_worker(worker_id id) {
  std::lock_guard guard{mutex_};
  bool host_child = host_links_.contains(id) || host_children_.contains(id);
  if (host_child) {
    auto& known = host_refs_[id];
    if (auto ref = known.lock()) return worker_access::make(ref, id, tag);
    auto ref = std::shared_ptr<worker_ref>(
      new worker_ref{shared_from_this(), id});
    known = ref;
    return worker_access::make(std::move(ref), id, tag);
  }
  return worker_access::make(std::shared_ptr<worker_ref>(
                               new worker_ref{shared_from_this(), id}),
                             id, tag);
}

} // namespace troupe::detail
