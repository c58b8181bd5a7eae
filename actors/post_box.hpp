// Where a worker's parent and children leave its messages. A CAF message per
// script message cost two allocations (the mailbox element and the bytes),
// freed on another thread, and a trip through the actor's mailbox; here a
// sender appends the bytes to one buffer under a spin lock, and only the first
// post since the worker last collected rings it (one small CAF message). A
// worker that is busy while a burst arrives collects the whole burst at once.
// Per sender the order is kept; a worker collects before it handles a
// child's end, so every message of a child is queued before its end.
#pragma once

#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>

#include "actors/spin_lock.hpp"

namespace troupe::detail {

/// One worker's incoming messages from its parent and children, appended
/// under a spin lock and collected in batches; the first post after a
/// collection rings the worker.
class post_box {
public:
  /// Who posted a message: 0 for the parent, else the child's worker id.
  using sender = std::uint64_t;

  /// Appends `bytes` from `from`. True when the worker must be rung (the
  /// first post since it last collected); false when it need not be, or the
  /// box is closed (the worker has ended and the message is dropped).
  /// Throws std::bad_alloc with nothing posted.
  bool post(sender from, std::string_view bytes) {
    std::size_t n = bytes.size();
    std::lock_guard guard{lock_};
    if (closed_) return false;
    // Reserved first, so the appends cannot fail halfway through a message.
    posted_.reserve(posted_.size() + sizeof from + sizeof n + n);
    posted_.append(reinterpret_cast<const char*>(&from), sizeof from);
    posted_.append(reinterpret_cast<const char*>(&n), sizeof n);
    posted_.append(bytes);
    bool ring = !rung_;
    rung_ = true;
    return ring;
  }

  /// Moves everything posted so far into `batch` (whose buffer the box keeps
  /// for the next posts); the next post rings again.
  void collect(std::string& batch) {
    batch.clear();
    std::lock_guard guard{lock_};
    posted_.swap(batch);
    rung_ = false;
  }

  /// Posts `bytes` from `from` and calls `ring()` when the worker must be rung.
  /// False, with nothing posted, when memory ran out. A ring that throws is
  /// asked for again by the next post, so the worker is never left unaware
  /// of its mail for good.
  template<class Ring>
  bool deliver(sender from, std::string_view bytes, Ring&& ring) noexcept {
    bool must_ring = false;
    try {
      must_ring = post(from, bytes);
    } catch (...) {
      return false;
    }
    if (must_ring) {
      try {
        ring();
      } catch (...) {
        std::lock_guard guard{lock_};
        rung_ = false;
      }
    }
    return true;
  }

  /// Calls `f(from, bytes)` for each message of a collected batch, in order.
  template<class F>
  static void for_each(std::string_view batch, F&& f) {
    while (!batch.empty()) {
      sender from;
      std::size_t n;
      std::memcpy(&from, batch.data(), sizeof from);
      std::memcpy(&n, batch.data() + sizeof from, sizeof n);
      batch.remove_prefix(sizeof from + sizeof n);
      f(from, batch.substr(0, n));
      batch.remove_prefix(n);
    }
  }

  /// Drops what is posted and refuses later posts.
  void close() {
    std::string dropped;
    std::lock_guard guard{lock_};
    closed_ = true;
    posted_.swap(dropped);
  }

private:
  spin_lock lock_;
  std::string posted_;
  bool rung_ = false;
  bool closed_ = false;
};

} // namespace troupe::detail
