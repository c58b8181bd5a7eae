// troupe::worker: the C++ handle of a script actor (one the host spawned, or
// any other whose handle reached the host in a value or by name), and the
// types host-side receives return.
#pragma once

#include <chrono>
#include <cstdint>
#include <future>
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
struct worker_access;
} // namespace detail

/// Whether a worker may still produce anything.
enum class worker_status {
  /// Running or blocked.
  running,
  /// Its end has reached the host; every message it sent is receivable.
  dead,
};

/// A script actor's handle. The host's own children (runtime::spawn) can be
/// received from, joined and cancelled; any worker can be sent to and called.
/// Copyable (copies name the same worker) and comparable (equal when they name
/// the same worker); using one after its runtime is gone throws
/// troupe::stopped_error, using one that was moved from throws troupe::error.
/// Dropping every handle does not stop the worker, but lets the runtime forget
/// it (and whatever it sends the host afterwards) once it has ended.
class TROUPE_API worker {
public:
  /// Queues `v` to the worker's inbox (its worker.peek, where the sender reads
  /// nil). false when the worker is dead; throws troupe::limit_error when its
  /// inbox is full, troupe::codec_error when `v` cannot be sent.
  bool send(const value& v) const;
  /// Sends `v` as a call (the script answers with worker.reply) and returns
  /// the reply: the single value replied, an array of them when there are
  /// several, nil for none. The future throws troupe::timeout_error after
  /// `timeout`, and troupe::error when the worker ends (or has ended) without
  /// replying. Throws troupe::codec_error at once when `v` cannot be sent and
  /// troupe::limit_error when the worker's inbox is full.
  std::future<value> call(const value& v,
                          std::chrono::nanoseconds timeout) const;
  /// running or dead (a worker the host did not spawn: dead once it has
  /// ended).
  worker_status status() const;
  /// Stops the worker at its next hook tick, or at once if it is blocked; its
  /// queued messages stay receivable. Only for the host's own children
  /// (troupe::error otherwise).
  void cancel() const;
  /// The worker's id, unique within its runtime.
  std::uint64_t id() const noexcept {
    return id_;
  }

  /// Whether both name the same worker of the same runtime.
  friend bool operator==(const worker& x, const worker& y) noexcept {
    return x.id_ == y.id_ && x.runtime_ == y.runtime_;
  }

private:
  friend class runtime;
  friend struct detail::worker_access;
  worker(std::shared_ptr<detail::worker_ref> ref, std::uint64_t id,
         std::uint64_t runtime) noexcept
      : ref_(std::move(ref)), id_(id), runtime_(runtime) {}
  // Throws troupe::error for a handle that was moved from.
  detail::runtime_core& core() const;
  std::shared_ptr<detail::worker_ref> ref_;
  std::uint64_t id_;
  // The runtime's tag (its handles carry it in messages).
  std::uint64_t runtime_;
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
