// The lease table (see lease_table.hpp).
#include "actors/lease_table.hpp"

#include <algorithm>

#include "troupe/error.hpp"

namespace troupe::detail {

namespace {

bool has_room(const lease_key& k) noexcept {
  return k.active < k.target;
}

bool wants(const std::string* wanted, const lease_key& k) noexcept {
  return wanted == nullptr ? k.anonymous : *wanted == k.name;
}

} // namespace

lease_key* lease_table::find(std::string_view key) {
  auto i = keys_.find(key);
  return i == keys_.end() ? nullptr : &i->second;
}

lease_key& lease_table::find_or_create(std::string_view key) {
  if (lease_key* k = find(key)) return *k;
  auto [i, inserted] = keys_.try_emplace(std::string{key});
  i->second.name = i->first;
  rotation_.push_back(&i->second);
  return i->second;
}

void lease_table::erase_if_unused(lease_key& key) {
  if (key.target != 0 || key.active != 0 || !key.anonymous) return;
  auto pos = std::find(rotation_.begin(), rotation_.end(), &key);
  if (static_cast<std::size_t>(pos - rotation_.begin()) < cursor_) --cursor_;
  rotation_.erase(pos);
  keys_.erase(key.name);
}

grant lease_table::take(lease_key& key) {
  ++key.active;
  if (observer_) observer_(key);
  return grant{&key, next_id_++};
}

std::optional<grant> lease_table::take_room(const std::string* key) {
  if (key != nullptr) {
    lease_key* k = find(*key);
    if (k != nullptr && has_room(*k)) return take(*k);
    return std::nullopt;
  }
  for (std::size_t n = 0; n < rotation_.size(); ++n) {
    std::size_t i = (cursor_ + n) % rotation_.size();
    lease_key& k = *rotation_[i];
    if (k.anonymous && has_room(k)) {
      cursor_ = i + 1;
      return take(k);
    }
  }
  return std::nullopt;
}

// Gives the room `key` has to the waiters that want it, first come first
// served.
void lease_table::hand_out(lease_key& key) {
  for (auto i = waiters_.begin(); i != waiters_.end() && has_room(key);) {
    waiter& w = **i;
    if (!wants(w.key, key)) {
      ++i;
      continue;
    }
    w.granted = take(key);
    i = waiters_.erase(i);
    w.wake.notify_one();
  }
}

void lease_table::set(std::string_view key, std::size_t target) {
  std::lock_guard guard{mutex_};
  lease_key* k = find(key);
  if (k == nullptr && target == 0) return;
  if (k == nullptr) k = &find_or_create(key);
  k->target = target;
  if (!stopped_) hand_out(*k);
  erase_if_unused(*k);
}

std::optional<grant>
lease_table::acquire(const std::string* key,
                     std::optional<clock::time_point> deadline) {
  std::unique_lock lock{mutex_};
  if (stopped_) throw stopped_error{"troupe::supervisor: stopped"};
  if (auto g = take_room(key)) return g;
  waiter w{key, {}, std::nullopt, false};
  auto pos = waiters_.insert(waiters_.end(), &w);
  while (!w.granted && !w.stopped) {
    if (!deadline) {
      w.wake.wait(lock);
    } else if (w.wake.wait_until(lock, *deadline) == std::cv_status::timeout
               && !w.granted && !w.stopped) {
      waiters_.erase(pos);
      return std::nullopt;
    }
  }
  if (w.granted) return w.granted;
  throw stopped_error{"troupe::supervisor: stopped while waiting for a lease"};
}

std::optional<grant> lease_table::try_acquire(const std::string& key) noexcept {
  std::lock_guard guard{mutex_};
  if (stopped_) return std::nullopt;
  return take_room(&key);
}

void lease_table::release(lease_key* key) noexcept {
  std::lock_guard guard{mutex_};
  --key->active;
  if (!stopped_) hand_out(*key);
  erase_if_unused(*key);
}

key_counts lease_table::counts(std::string_view key) const {
  std::lock_guard guard{mutex_};
  auto i = keys_.find(key);
  if (i == keys_.end()) return {};
  return {i->second.target, i->second.active};
}

std::vector<std::string> lease_table::keys() const {
  std::lock_guard guard{mutex_};
  std::vector<std::string> names;
  names.reserve(rotation_.size());
  for (const lease_key* k : rotation_) names.push_back(k->name);
  return names;
}

std::size_t lease_table::waiting() const {
  std::lock_guard guard{mutex_};
  return waiters_.size();
}

void lease_table::set_anonymous(std::string_view key, bool allowed) {
  std::lock_guard guard{mutex_};
  lease_key& k = find_or_create(key);
  k.anonymous = allowed;
  if (!stopped_) hand_out(k);
  erase_if_unused(k);
}

void lease_table::stop() {
  std::lock_guard guard{mutex_};
  stopped_ = true;
  for (waiter* w : waiters_) {
    w->stopped = true;
    w->wake.notify_one();
  }
  waiters_.clear();
}

void lease_table::on_grant(std::function<void(const lease_key&)> observer) {
  std::lock_guard guard{mutex_};
  observer_ = std::move(observer);
}

} // namespace troupe::detail
