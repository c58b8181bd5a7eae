// The lease table behind troupe::supervisor: per-key targets and active counts
// under one mutex, with a single FIFO of waiters. A freed unit is handed
// directly to the first waiter that can use it (so waiters on a key are served
// in arrival order and nobody is woken for nothing); anonymous grants rotate
// over the keys with room. Invariant: no waiter is waiting for a key that has
// room (room is handed out the moment it appears).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "troupe/supervisor.hpp"

namespace troupe::detail {

/// One key's state. Its address is stable while it exists; it exists while it
/// has a target or held leases.
struct lease_key {
  std::string name;
  std::size_t target = 0;
  std::size_t active = 0;
  /// Whether anonymous acquire() may take this key (supervised-job keys will
  /// not).
  bool anonymous = true;
};

/// What an acquire got: a unit of `key` with lease id `id`.
struct grant {
  lease_key* key = nullptr;
  std::uint64_t id = 0;
};

/// Per-key targets and active counts, with one FIFO of waiters served in
/// arrival order. Thread-safe.
class lease_table {
public:
  using clock = std::chrono::steady_clock;

  /// Sets a key's target and hands out the room a raise makes.
  void set(std::string_view key, std::size_t target);

  /// Grants a unit of `key` (any key with room when nullptr), waiting until
  /// `deadline` (forever when absent). nullopt on timeout; throws
  /// troupe::stopped_error once stopped.
  std::optional<grant> acquire(const std::string* key,
                               std::optional<clock::time_point> deadline);

  /// Grants a unit of `key` if one is free now; nullopt when none is or the
  /// table has stopped. Never waits and never throws: the supervisor's keeper
  /// starts instances with it on a thread an exception would end.
  std::optional<grant> try_acquire(const std::string& key) noexcept;

  /// Returns a unit of `key` and hands it on.
  void release(lease_key* key) noexcept;

  /// The target and active count of `key`.
  key_counts counts(std::string_view key) const;

  /// Names of the keys that exist.
  std::vector<std::string> keys() const;

  /// Number of blocked acquires.
  std::size_t waiting() const;

  /// Excludes `key` from (or readmits it to) anonymous acquires; creates the
  /// key if needed.
  void set_anonymous(std::string_view key, bool allowed);

  /// Wakes every waiter with stopped_error and refuses every later acquire.
  void stop();

  /// Called under the table's lock on every grant (tests check invariants with
  /// it).
  void on_grant(std::function<void(const lease_key&)> observer);

private:
  struct waiter {
    const std::string* key; // nullptr: any key
    std::condition_variable wake;
    std::optional<grant> granted;
    bool stopped = false;
  };

  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };

  lease_key* find(std::string_view key);
  lease_key& find_or_create(std::string_view key);
  std::optional<grant> take_room(const std::string* key);
  grant take(lease_key& key);
  void hand_out(lease_key& key);
  void erase_if_unused(lease_key& key);

  mutable std::mutex mutex_;
  std::unordered_map<std::string, lease_key, string_hash, std::equal_to<>>
    keys_;
  std::vector<lease_key*> rotation_;
  std::size_t cursor_ = 0;
  std::list<waiter*> waiters_;
  std::uint64_t next_id_ = 1;
  bool stopped_ = false;
  std::function<void(const lease_key&)> observer_;
};

} // namespace troupe::detail
