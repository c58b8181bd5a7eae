// troupe::worker: the C++ handle of a script actor the host spawned, and the
// types host-side receives return.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "troupe/error.hpp"
#include "troupe/export.hpp"
#include "troupe/value.hpp"

namespace troupe {

namespace detail {
class runtime_core;
struct worker_ref;
struct runtime_access;
} // namespace detail

/// Whether a worker may still produce anything.
enum class worker_status {
  /// Running or blocked.
  running,
  /// Its end has reached the host; every message it sent is receivable.
  dead,
};

/// A script actor spawned by the host. Copyable (copies name the same worker);
/// using one after its runtime is gone throws troupe::stopped_error, using one
/// that was moved from throws troupe::error. Dropping
/// every handle does not stop the worker, but lets the runtime forget it (and
/// whatever it sends afterwards) once it has ended.
class TROUPE_API worker {
public:
  /// Queues `v` to the worker's inbox (its worker.peek). false when the worker
  /// is dead; throws troupe::limit_error when its inbox is full,
  /// troupe::codec_error when `v` cannot be sent.
  bool send(const value& v) const;
  /// running or dead.
  worker_status status() const;
  /// Stops the worker at its next hook tick, or at once if it is blocked; its
  /// queued messages stay receivable.
  void cancel() const;
  /// The worker's id, unique within its runtime.
  std::uint64_t id() const noexcept {
    return id_;
  }

private:
  friend class runtime;
  worker(std::shared_ptr<detail::worker_ref> ref, std::uint64_t id) noexcept
      : ref_(std::move(ref)), id_(id) {}
  // Throws troupe::error for a handle that was moved from.
  detail::runtime_core& core() const;
  std::shared_ptr<detail::worker_ref> ref_;
  std::uint64_t id_;
};

/// One receive over several workers: a value or nothing for each, in the order
/// given.
class TROUPE_API selection {
public:
  /// How many workers were listed.
  std::size_t size() const noexcept {
    return values_.size();
  }
  /// What the i-th listed worker gave (nullopt: nothing this time).
  const std::optional<value>& operator[](std::size_t i) const {
    return values_.at(i);
  }
  /// True when the receive ended by its timeout.
  bool timed_out() const noexcept {
    return timed_out_;
  }

private:
  friend class runtime;
  std::vector<std::optional<value>> values_;
  bool timed_out_ = false;
};

/// How a worker ended.
struct exit_info {
  /// True when the script returned.
  bool ok = false;
  /// What it returned.
  std::vector<value> values;
  /// Its error when !ok (a cancel reads "cancelled").
  std::optional<script_error> error;
};

} // namespace troupe
