// troupe::supervisor, first layer: keyed concurrency targets. Work is grouped
// by key (a tenant, an endpoint, a queue); each key has a target, the number of
// leases of it that may be held at once, changeable at run time. acquire()
// blocks until a key has room and returns a lease that holds one unit of it
// until released. A plain lock-based table: acquiring costs a mutex, not an
// actor round trip.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "troupe/export.hpp"

namespace troupe {

namespace detail {
class lease_table;
struct lease_key;
} // namespace detail

/// A key's target and how many of its leases are held.
struct key_counts {
  /// Leases of the key that may be held at once.
  std::size_t target = 0;
  /// Leases of the key held now (may exceed target after the target was
  /// lowered).
  std::size_t active = 0;
};

/// One unit of a key's target, held until released. Move-only; the destructor
/// releases.
class TROUPE_API lease {
public:
  /// An empty lease (holds nothing), as a moved-from one.
  lease() noexcept = default;
  lease(lease&& other) noexcept;
  lease& operator=(lease&& other) noexcept;
  lease(const lease&) = delete;
  lease& operator=(const lease&) = delete;
  /// Releases the lease if it is still held.
  ~lease();

  /// The key this lease holds a unit of; throws troupe::error on an empty
  /// lease.
  const std::string& key() const;
  /// A number unique among the leases of its supervisor (never 0 for a granted
  /// lease).
  std::uint64_t id() const noexcept {
    return id_;
  }
  /// True while the lease holds its unit (not released, not moved from).
  bool held() const noexcept {
    return key_ != nullptr;
  }
  /// Gives the unit back and wakes a waiter that can use it. Idempotent; fine
  /// after the supervisor stopped or was destroyed.
  void release() noexcept;

private:
  friend class supervisor;
  lease(std::shared_ptr<detail::lease_table> table, detail::lease_key* key,
        std::uint64_t id) noexcept;

  std::shared_ptr<detail::lease_table> table_;
  detail::lease_key* key_ = nullptr;
  std::uint64_t id_ = 0;
};

/// Keyed concurrency targets (see the file comment). Thread-safe.
class TROUPE_API supervisor {
public:
  /// A supervisor with no keys.
  supervisor();
  supervisor(const supervisor&) = delete;
  supervisor& operator=(const supervisor&) = delete;
  /// Stops (waiters get troupe::stopped_error); leases still held stay valid
  /// and may be released later.
  ~supervisor();

  /// Sets the target of `key`. When it returns the target holds: after set(k,
  /// 0) no lease of k is granted. Lowering never revokes held leases; raising
  /// wakes waiters at once. A key whose target is 0 goes away once none of its
  /// leases is held.
  void set(std::string_view key, std::size_t target);

  /// Blocks until some key is below its target and returns a lease of it. When
  /// several keys have room, grants rotate among them. Throws
  /// troupe::stopped_error once stopped.
  lease acquire();
  /// Blocks until `key` is below its target; waiters on one key are served in
  /// arrival order.
  lease acquire(std::string_view key);
  /// acquire() with a time limit: nullopt when nothing was granted in time.
  std::optional<lease> try_acquire(std::chrono::nanoseconds timeout);
  /// acquire(key) with a time limit: nullopt when nothing was granted in time.
  std::optional<lease> try_acquire(std::string_view key,
                                   std::chrono::nanoseconds timeout);

  /// The target and active count of `key` ({0, 0} for an unknown key).
  key_counts counts(std::string_view key) const;
  /// The keys that have a target or held leases.
  std::vector<std::string> keys() const;
  /// How many acquire calls are blocked now.
  std::size_t waiting() const;
  /// Wakes every waiter with troupe::stopped_error; no lease is granted
  /// afterwards.
  void stop();

private:
  std::optional<lease>
  acquire_until(const std::string* key,
                std::optional<std::chrono::steady_clock::time_point> deadline);

  std::shared_ptr<detail::lease_table> table_;
};

} // namespace troupe
