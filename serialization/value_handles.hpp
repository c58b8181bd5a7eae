// How troupe::value's handles cross as msgpack: the tag of the runtime whose
// messages they go into, and how a decoded address becomes a troupe::worker.
// The runtime provides it (actors/); serialization needs no more of the
// runtime than this.
#pragma once

#include <cstdint>
#include <memory>

#include "troupe/worker.hpp"

namespace troupe::detail {

/// troupe::worker's private parts, for the codec and the runtime.
struct worker_access {
  /// The tag of the runtime `w` belongs to.
  static std::uint64_t runtime(const worker& w) noexcept {
    return w.runtime_;
  }
  /// The runtime `w` belongs to; throws troupe::error for an empty handle.
  static runtime_core& core(const worker& w) {
    return w.core();
  }
  /// A handle of worker `id` of the runtime tagged `runtime`, sharing `ref`.
  static worker make(std::shared_ptr<worker_ref> ref, std::uint64_t id,
                     std::uint64_t runtime) noexcept {
    return worker{std::move(ref), id, runtime};
  }
};

} // namespace troupe::detail

namespace troupe::serialization {

/// The runtime side of values' handles.
struct value_handles {
  /// The runtime's tag: a handle must carry it both ways.
  std::uint64_t tag = 0;
  /// Passed to make.
  void* context = nullptr;
  /// The worker named by id `id` of this runtime.
  worker (*make)(void* context, std::uint64_t id) = nullptr;
};

} // namespace troupe::serialization
