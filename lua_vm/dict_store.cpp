// A shared dict's storage (see dict_store.hpp). Entries sit in a hash table
// whose nodes never move, threaded on an intrusive list from the most to the
// least recently used; eviction takes from the tail. An entry past its expiry
// is treated as absent and freed when found.
#include "lua_vm/dict_store.hpp"

#include <algorithm>
#include <iterator>
#include <mutex>

namespace troupe::lua_vm {

namespace {

// What an entry costs besides its key and text: its node in the table, the
// list links, the expiry, the value's fields.
constexpr std::size_t entry_overhead = 96;
// What one list element costs besides its text.
constexpr std::size_t element_overhead = 48;

using kind = dict_scalar::kind;
using lock = std::lock_guard<detail::spin_lock>;

void assign(dict_scalar& to, const dict_scalar_view& v) {
  to.type = v.type;
  to.boolean = v.boolean;
  to.integer = v.integer;
  to.number = v.number;
  if (v.type == kind::string)
    to.text.assign(v.text);
  else
    to.text.clear();
}

void copy_out(const dict_scalar& from, dict_scalar& to) {
  to.type = from.type;
  to.boolean = from.boolean;
  to.integer = from.integer;
  to.number = from.number;
  if (from.type == kind::string) to.text.assign(from.text);
}

std::size_t text_cost(const dict_scalar_view& v) noexcept {
  return v.type == kind::string ? v.text.size() : 0;
}

bool is_number(kind k) noexcept {
  return k == kind::integer || k == kind::number;
}

double as_double(kind k, std::int64_t i, double d) noexcept {
  return k == kind::integer ? static_cast<double>(i) : d;
}

// a + b as Lua adds them: integers wrap, anything else is a float.
void add(dict_scalar& a, const dict_scalar_view& b) noexcept {
  if (a.type == kind::integer && b.type == kind::integer) {
    a.integer = static_cast<std::int64_t>(
      static_cast<std::uint64_t>(a.integer)
      + static_cast<std::uint64_t>(b.integer));
    return;
  }
  a.number = as_double(a.type, a.integer, a.number)
             + as_double(b.type, b.integer, b.number);
  a.type = kind::number;
}

clock::time_point expiry(clock::duration ttl) noexcept {
  if (ttl <= clock::duration::zero()) return clock::time_point::max();
  return deadline_in(ttl);
}

} // namespace

const char* dict_error_text(dict_error e) noexcept {
  switch (e) {
    case dict_error::none: return "";
    case dict_error::not_found: return "not found";
    case dict_error::exists: return "exists";
    case dict_error::no_memory: return "no memory";
    case dict_error::not_a_number: return "not a number";
    case dict_error::is_list: return "value is a list";
    case dict_error::not_a_list: return "value not a list";
  }
  return "";
}

struct dict_shard::entry {
  node* prev = nullptr;
  node* next = nullptr;
  clock::time_point expires = clock::time_point::max();
  std::size_t cost = 0;
  dict_scalar value;
  /// Set: the entry is a list.
  std::unique_ptr<std::deque<dict_scalar>> list;

  bool expired(clock::time_point now) const noexcept {
    return expires != clock::time_point::max() && expires <= now;
  }
};

dict_shard::dict_shard(std::size_t capacity)
    : capacity_(capacity), table_(std::make_unique<table>()) {}

dict_shard::~dict_shard() = default;

void dict_shard::unlink(node* n) noexcept {
  entry& e = n->second;
  (e.prev != nullptr ? e.prev->second.next : head_) = e.next;
  (e.next != nullptr ? e.next->second.prev : tail_) = e.prev;
  e.prev = e.next = nullptr;
}

void dict_shard::link_front(node* n) noexcept {
  entry& e = n->second;
  e.prev = nullptr;
  e.next = head_;
  if (head_ != nullptr) head_->second.prev = n;
  head_ = n;
  if (tail_ == nullptr) tail_ = n;
}

void dict_shard::touch(node* n) noexcept {
  if (head_ == n) return;
  unlink(n);
  link_front(n);
}

void dict_shard::remove(node* n) noexcept {
  unlink(n);
  used_ -= n->second.cost;
  table_->erase(table_->find(n->first));
}

dict_shard::node* dict_shard::find_live(std::string_view key, bool count) {
  auto i = table_->find(key);
  node* n = i == table_->end() ? nullptr : &*i;
  if (n != nullptr && n->second.expires != clock::time_point::max()
      && n->second.expired(clock::now())) {
    remove(n);
    n = nullptr;
  }
  if (count) ++(n != nullptr ? hits_ : misses_);
  if (n != nullptr) touch(n);
  return n;
}

bool dict_shard::make_room(std::size_t need, const node* keep,
                           bool forcible_allowed, bool& forcible) {
  if (used_ + need <= capacity_) return true;
  auto now = clock::now();
  while (used_ + need > capacity_) {
    node* victim = tail_ == keep ? keep->second.prev : tail_;
    if (victim == nullptr) return false;
    bool live = !victim->second.expired(now);
    if (live && !forcible_allowed) return false;
    forcible = forcible || live;
    remove(victim);
  }
  return true;
}

dict_shard::node* dict_shard::insert(std::string_view key) {
  node* n = &*table_->try_emplace(std::string{key}).first;
  link_front(n);
  return n;
}

dict_error dict_shard::get(std::string_view key, dict_scalar& out) {
  lock held{mutex_};
  out.type = kind::nil;
  node* n = find_live(key, true);
  if (n == nullptr) return dict_error::none;
  if (n->second.list) return dict_error::is_list;
  copy_out(n->second.value, out);
  return dict_error::none;
}

dict_outcome dict_shard::store(dict_store_mode mode, std::string_view key,
                               const dict_scalar_view& v, clock::duration ttl) {
  lock held{mutex_};
  node* n = find_live(key, false);
  bool adding = mode == dict_store_mode::add
                || mode == dict_store_mode::safe_add;
  if (adding && n != nullptr) return {dict_error::exists};
  if (mode == dict_store_mode::replace && n == nullptr)
    return {dict_error::not_found};
  if (v.type == kind::nil) {
    if (n != nullptr) remove(n);
    return {};
  }
  std::size_t cost = entry_overhead + key.size() + text_cost(v);
  if (cost > capacity_) return {dict_error::no_memory};
  std::size_t old = n != nullptr ? n->second.cost : 0;
  dict_outcome out;
  bool safe = mode == dict_store_mode::safe_set
              || mode == dict_store_mode::safe_add;
  if (cost > old && !make_room(cost - old, n, !safe, out.forcible))
    return {dict_error::no_memory, out.forcible};
  if (n == nullptr) n = insert(key);
  entry& e = n->second;
  assign(e.value, v);
  e.list.reset();
  used_ = used_ - old + cost;
  e.cost = cost;
  e.expires = expiry(ttl);
  return out;
}

dict_outcome dict_shard::incr(std::string_view key, const dict_scalar_view& by,
                              const dict_scalar_view* init,
                              clock::duration init_ttl, dict_scalar& out) {
  lock held{mutex_};
  out.type = kind::nil;
  node* n = find_live(key, false);
  if (n != nullptr) {
    entry& e = n->second;
    if (e.list || !is_number(e.value.type)) return {dict_error::not_a_number};
    add(e.value, by);
    copy_out(e.value, out);
    return {};
  }
  if (init == nullptr) return {dict_error::not_found};
  std::size_t cost = entry_overhead + key.size();
  if (cost > capacity_) return {dict_error::no_memory};
  dict_outcome result;
  if (!make_room(cost, nullptr, true, result.forcible))
    return {dict_error::no_memory, result.forcible};
  n = insert(key);
  entry& e = n->second;
  assign(e.value, *init);
  add(e.value, by);
  used_ += cost;
  e.cost = cost;
  e.expires = expiry(init_ttl);
  copy_out(e.value, out);
  return result;
}

dict_error dict_shard::ttl(std::string_view key, double& seconds) {
  lock held{mutex_};
  node* n = find_live(key, false);
  if (n == nullptr) return dict_error::not_found;
  auto expires = n->second.expires;
  seconds = expires == clock::time_point::max()
              ? 0.0
              : std::chrono::duration<double>(expires - clock::now()).count();
  return dict_error::none;
}

dict_error dict_shard::expire(std::string_view key, clock::duration ttl) {
  lock held{mutex_};
  node* n = find_live(key, false);
  if (n == nullptr) return dict_error::not_found;
  n->second.expires = expiry(ttl);
  return dict_error::none;
}

std::vector<std::string> dict_shard::keys(std::size_t max) {
  lock held{mutex_};
  std::vector<std::string> out;
  auto now = clock::now();
  for (node* n = head_; n != nullptr && (max == 0 || out.size() < max);
       n = n->second.next)
    if (!n->second.expired(now)) out.push_back(n->first);
  return out;
}

void dict_shard::flush_all() {
  lock held{mutex_};
  for (node* n = head_; n != nullptr; n = n->second.next)
    n->second.expires = clock::time_point::min();
}

std::size_t dict_shard::flush_expired(std::size_t max) {
  lock held{mutex_};
  auto now = clock::now();
  std::size_t freed = 0;
  for (node* n = tail_; n != nullptr && (max == 0 || freed < max);) {
    node* before = n->second.prev;
    if (n->second.expired(now)) {
      remove(n);
      ++freed;
    }
    n = before;
  }
  return freed;
}

dict_outcome dict_shard::push(std::string_view key, bool front,
                              const dict_scalar_view& v, std::size_t& length) {
  lock held{mutex_};
  node* n = find_live(key, false);
  if (n != nullptr && !n->second.list) return {dict_error::not_a_list};
  std::size_t cost = element_overhead + text_cost(v);
  if (n == nullptr) cost += entry_overhead + key.size();
  if (cost > capacity_) return {dict_error::no_memory};
  dict_outcome out;
  if (!make_room(cost, n, true, out.forcible))
    return {dict_error::no_memory, out.forcible};
  if (n == nullptr) {
    n = insert(key);
    n->second.list = std::make_unique<std::deque<dict_scalar>>();
  }
  auto& list = *n->second.list;
  dict_scalar& slot = front ? list.emplace_front() : list.emplace_back();
  assign(slot, v);
  used_ += cost;
  n->second.cost += cost;
  length = list.size();
  return out;
}

dict_error dict_shard::pop(std::string_view key, bool front, dict_scalar& out) {
  lock held{mutex_};
  out.type = kind::nil;
  node* n = find_live(key, false);
  if (n == nullptr) return dict_error::none;
  if (!n->second.list) return dict_error::not_a_list;
  auto& list = *n->second.list;
  dict_scalar& taken = front ? list.front() : list.back();
  std::size_t cost = element_overhead
                     + (taken.type == kind::string ? taken.text.size() : 0);
  out.type = taken.type;
  out.boolean = taken.boolean;
  out.integer = taken.integer;
  out.number = taken.number;
  out.text.swap(taken.text);
  if (front)
    list.pop_front();
  else
    list.pop_back();
  used_ -= cost;
  n->second.cost -= cost;
  if (list.empty()) remove(n);
  return dict_error::none;
}

dict_error dict_shard::length(std::string_view key, std::size_t& length) {
  lock held{mutex_};
  length = 0;
  node* n = find_live(key, false);
  if (n == nullptr) return dict_error::none;
  if (!n->second.list) return dict_error::not_a_list;
  length = n->second.list->size();
  return dict_error::none;
}

std::size_t dict_shard::free_space() {
  lock held{mutex_};
  return capacity_ - used_;
}

dict_counts dict_shard::counts() {
  lock held{mutex_};
  return {hits_, misses_, table_->size(), used_};
}

namespace {

// Shards of a dict of `capacity` bytes (see dict_store).
std::size_t shard_count(std::size_t capacity) noexcept {
  constexpr std::size_t smallest = std::size_t{256} << 10;
  return std::clamp<std::size_t>(capacity / smallest, 1, 16);
}

} // namespace

dict_store::dict_store(std::size_t capacity) : capacity_(capacity) {
  std::size_t n = shard_count(capacity);
  for (std::size_t i = 0; i < n; ++i)
    shards_.push_back(
      std::make_unique<dict_shard>(capacity / n + (i < capacity % n ? 1 : 0)));
}

dict_store::~dict_store() = default;

std::vector<std::string> dict_store::keys(std::size_t max) {
  std::vector<std::string> out;
  for (auto& s : shards_) {
    auto some = s->keys(max == 0 ? 0 : max - out.size());
    out.insert(out.end(), std::make_move_iterator(some.begin()),
               std::make_move_iterator(some.end()));
    if (max != 0 && out.size() >= max) break;
  }
  return out;
}

void dict_store::flush_all() {
  for (auto& s : shards_) s->flush_all();
}

std::size_t dict_store::flush_expired(std::size_t max) {
  std::size_t freed = 0;
  for (auto& s : shards_) {
    freed += s->flush_expired(max == 0 ? 0 : max - freed);
    if (max != 0 && freed >= max) break;
  }
  return freed;
}

std::size_t dict_store::free_space() {
  std::size_t free = 0;
  for (auto& s : shards_) free += s->free_space();
  return free;
}

dict_counts dict_store::counts() {
  dict_counts all;
  for (auto& s : shards_) {
    dict_counts c = s->counts();
    all.hits += c.hits;
    all.misses += c.misses;
    all.entries += c.entries;
    all.used += c.used;
  }
  return all;
}

} // namespace troupe::lua_vm
