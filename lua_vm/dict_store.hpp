// A shared dict's storage (DESIGN.md "Shared dicts, timers, metrics"): string
// keys to scalars (nil, boolean, integer, float, string) or lists of them,
// with optional expiry, under a byte capacity enforced by evicting the least
// recently used entries, in shards with a spinning lock each so any thread may
// use it and threads on different keys rarely wait for each other. It
// follows OpenResty's ngx.shared.DICT: what each operation does and reports
// (`exists`, `not found`, `no memory`, `not a number`, forcible evictions).
// No Lua here: the worker module (worker_shared.cpp) and the C++ API
// (troupe::shared_dict) both call it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lua_vm/control.hpp"
#include "lua_vm/spin_lock.hpp"

namespace troupe::lua_vm {

/// One scalar of a dict. `text` is a string's bytes; a dict hands values out
/// in one of these (reusing `text`'s buffer) and takes them in as
/// dict_scalar_view.
struct dict_scalar {
  enum class kind : std::uint8_t { nil, boolean, integer, number, string };
  kind type = kind::nil;
  bool boolean = false;
  std::int64_t integer = 0;
  double number = 0;
  std::string text;
};

/// A scalar given to a dict: as dict_scalar, a string only viewed.
struct dict_scalar_view {
  dict_scalar::kind type = dict_scalar::kind::nil;
  bool boolean = false;
  std::int64_t integer = 0;
  double number = 0;
  std::string_view text;
};

/// Why a dict operation did not do what it was asked (OpenResty's messages).
enum class dict_error : std::uint8_t {
  none,
  not_found,
  exists,
  no_memory,
  not_a_number,
  is_list,
  not_a_list,
};

/// The message OpenResty gives for `e` ("not found", "no memory", ...).
const char* dict_error_text(dict_error e) noexcept;

/// What a write did: its error, and whether it evicted live entries.
struct dict_outcome {
  dict_error error = dict_error::none;
  bool forcible = false;
};

/// How a store treats the key's current entry and a full dict.
enum class dict_store_mode : std::uint8_t {
  set,
  safe_set,
  add,
  safe_add,
  replace
};

/// A dict's counters.
struct dict_counts {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::size_t entries = 0;
  std::size_t used = 0;
};

/// Hashes keys of either string type, so lookups need no std::string.
struct dict_key_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view key) const noexcept {
    return std::hash<std::string_view>{}(key);
  }
};

/// One shard of a dict_store: keys hashed to it, with its own lock, table,
/// recency list and share of the capacity. Durations are time to live: zero
/// means no expiry. Thread-safe.
class alignas(64) dict_shard {
public:
  /// A dict that holds up to `capacity` bytes (keys, values, and a fixed
  /// cost per entry and list element).
  explicit dict_shard(std::size_t capacity);
  dict_shard(const dict_shard&) = delete;
  dict_shard& operator=(const dict_shard&) = delete;
  ~dict_shard();

  /// The value of `key` into `out` (nil when absent or expired); is_list for
  /// a list.
  dict_error get(std::string_view key, dict_scalar& out);
  /// Stores `v` at `key` as `mode` says (a nil value deletes).
  dict_outcome store(dict_store_mode mode, std::string_view key,
                     const dict_scalar_view& v, clock::duration ttl);
  /// Adds `by` to the number at `key`, the result into `out`; an absent key
  /// starts from `init` (with `init_ttl`) when given, else not_found.
  dict_outcome incr(std::string_view key, const dict_scalar_view& by,
                    const dict_scalar_view* init, clock::duration init_ttl,
                    dict_scalar& out);
  /// Seconds `key` has left into `seconds` (0: no expiry).
  dict_error ttl(std::string_view key, double& seconds);
  /// Gives `key` a new time to live.
  dict_error expire(std::string_view key, clock::duration ttl);
  /// Up to `max` live keys (0: all), most recently used first.
  std::vector<std::string> keys(std::size_t max);
  /// Expires every entry (their bytes stay taken until flush_expired or
  /// eviction, as OpenResty's).
  void flush_all();
  /// Frees up to `max` expired entries (0: all); how many it freed.
  std::size_t flush_expired(std::size_t max);
  /// Pushes `v` (not nil) at the front or back of the list at `key` (made when
  /// absent); its new length into `length`.
  dict_outcome push(std::string_view key, bool front, const dict_scalar_view& v,
                    std::size_t& length);
  /// Takes the front or back element of the list at `key` into `out` (nil
  /// when absent or empty).
  dict_error pop(std::string_view key, bool front, dict_scalar& out);
  /// The length of the list at `key` (0 when absent).
  dict_error length(std::string_view key, std::size_t& length);

  /// The byte capacity.
  std::size_t capacity() const noexcept {
    return capacity_;
  }
  /// Bytes not taken by entries.
  std::size_t free_space();
  /// Hits, misses, entries, bytes used.
  dict_counts counts();

private:
  struct entry;
  using table = std::unordered_map<std::string, entry, dict_key_hash,
                                   std::equal_to<>>;
  using node = table::value_type;

  node* find_live(std::string_view key, bool count);
  void touch(node* n) noexcept;
  void unlink(node* n) noexcept;
  void link_front(node* n) noexcept;
  void remove(node* n) noexcept;
  bool make_room(std::size_t need, const node* keep, bool forcible_allowed,
                 bool& forcible);
  node* insert(std::string_view key);

  detail::spin_lock mutex_;
  std::size_t capacity_;
  std::size_t used_ = 0;
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
  node* head_ = nullptr;
  node* tail_ = nullptr;
  std::unique_ptr<table> table_;
};

/// The storage of one shared dict (see the file comment): keys spread over
/// shards by hash so threads using different keys rarely meet on a lock.
/// A dict of less than 512 KiB is one shard (exact least-recently-used order);
/// a larger one has up to 16, each with an equal share of the capacity and of
/// at least 256 KiB, evicting the least recently used of its own keys (one
/// value must fit a shard). Thread-safe.
class dict_store {
public:
  /// A dict that holds up to `capacity` bytes in all.
  explicit dict_store(std::size_t capacity);
  dict_store(const dict_store&) = delete;
  dict_store& operator=(const dict_store&) = delete;
  ~dict_store();

  /// See dict_shard::get, and so on for each operation on a key.
  dict_error get(std::string_view key, dict_scalar& out) {
    return shard(key).get(key, out);
  }
  dict_outcome store(dict_store_mode mode, std::string_view key,
                     const dict_scalar_view& v, clock::duration ttl) {
    return shard(key).store(mode, key, v, ttl);
  }
  dict_outcome incr(std::string_view key, const dict_scalar_view& by,
                    const dict_scalar_view* init, clock::duration init_ttl,
                    dict_scalar& out) {
    return shard(key).incr(key, by, init, init_ttl, out);
  }
  dict_error ttl(std::string_view key, double& seconds) {
    return shard(key).ttl(key, seconds);
  }
  dict_error expire(std::string_view key, clock::duration ttl) {
    return shard(key).expire(key, ttl);
  }
  dict_outcome push(std::string_view key, bool front, const dict_scalar_view& v,
                    std::size_t& length) {
    return shard(key).push(key, front, v, length);
  }
  dict_error pop(std::string_view key, bool front, dict_scalar& out) {
    return shard(key).pop(key, front, out);
  }
  dict_error length(std::string_view key, std::size_t& length) {
    return shard(key).length(key, length);
  }
  /// Up to `max` live keys (0: all); within a shard most recently used
  /// first.
  std::vector<std::string> keys(std::size_t max);
  /// Expires every entry of every shard.
  void flush_all();
  /// Frees up to `max` expired entries (0: all); how many it freed.
  std::size_t flush_expired(std::size_t max);
  /// The byte capacity.
  std::size_t capacity() const noexcept {
    return capacity_;
  }
  /// Bytes not taken by entries.
  std::size_t free_space();
  /// Hits, misses, entries, bytes used, over all shards.
  dict_counts counts();

  /// Marks the dict's runtime gone (the C++ API refuses it from then on).
  void close() noexcept {
    closed_.store(true, std::memory_order_release);
  }
  /// Whether close() was called.
  bool closed() const noexcept {
    return closed_.load(std::memory_order_acquire);
  }

private:
  dict_shard& shard(std::string_view key) {
    if (shards_.size() == 1) return *shards_.front();
    return *shards_[dict_key_hash{}(key) % shards_.size()];
  }

  std::size_t capacity_;
  std::vector<std::unique_ptr<dict_shard>> shards_;
  std::atomic<bool> closed_{false};
};

/// The dicts a runtime declares, by name (shared by every state).
using dict_set = std::map<std::string, std::shared_ptr<dict_store>,
                          std::less<>>;

} // namespace troupe::lua_vm
