// Where everyone who messages a worker leaves the message: its parent, its
// children, any actor holding its handle, the host. A CAF message per
// script message cost two allocations (the mailbox element and the bytes),
// freed on another thread, and a trip through the actor's mailbox; here a
// sender appends the bytes to one buffer under a spin lock, and only the first
// post since the worker last collected rings it (one small CAF message). A
// worker that is busy while a burst arrives collects the whole burst at once.
// Per sender the order is kept; a worker collects before it handles a
// child's end, so every message of a child is queued before its end. Each
// message carries a small header: who sent it and what it is (a message, a
// call, a reply, an end someone watches for).
#pragma once

#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>

#include "lua_vm/spin_lock.hpp"

namespace troupe::detail {

/// What a posted message is.
enum class mail_kind : std::uint8_t {
  /// For the inbox (worker.peek); `token` is the sender's call number or 0.
  inbox,
  /// worker.message of a child, for its parent's receive.
  from_child,
  /// The reply to the receiver's call number `token`.
  reply,
  /// The end of `from` for the receiver's watch `token`: it returned (the
  /// bytes are its values) or failed (its error).
  down_ok,
  down_failed,
  /// A name the receiver awaits was registered.
  name,
  /// The receiver's message timer `token` is due (worker.after, every).
  timer,
};

/// Who posted a message and what it is.
struct mail_header {
  /// The sender's worker id; 0 for the host.
  std::uint64_t from = 0;
  std::uint64_t token = 0;
  mail_kind kind = mail_kind::inbox;
};

/// How a delivery went.
enum class delivery : std::uint8_t {
  delivered,
  /// The worker has ended: nothing was posted.
  closed,
  /// Memory ran out: nothing was posted.
  no_memory,
};

/// One worker's incoming messages, appended under a spin lock and collected
/// in batches; the first post after a collection rings the worker.
class post_box {
public:
  /// How a post went.
  enum class posted : std::uint8_t { ring, quiet, closed };

  /// Appends `bytes` with `h`: ring when the worker must be rung (the first
  /// post since it last collected), quiet when it need not be, closed (and
  /// nothing posted) when the worker has ended. Throws std::bad_alloc with
  /// nothing posted.
  posted post(const mail_header& h, std::string_view bytes) {
    std::size_t n = bytes.size();
    std::lock_guard guard{lock_};
    if (closed_) return posted::closed;
    // Reserved first, so the appends cannot fail halfway through a message.
    posted_.reserve(posted_.size() + header_size + n);
    char head[header_size];
    std::memcpy(head, &h.from, 8);
    std::memcpy(head + 8, &h.token, 8);
    std::memcpy(head + 16, &n, 8);
    head[24] = static_cast<char>(h.kind);
    posted_.append(head, header_size);
    posted_.append(bytes);
    bool ring = !rung_;
    rung_ = true;
    return ring ? posted::ring : posted::quiet;
  }

  /// Moves everything posted so far into `batch` (whose buffer the box keeps
  /// for the next posts); the next post rings again.
  void collect(std::string& batch) {
    batch.clear();
    std::lock_guard guard{lock_};
    posted_.swap(batch);
    rung_ = false;
  }

  /// Posts `bytes` with `h` and calls `ring()` when the worker must be rung.
  /// A ring that throws is asked for again by the next post, so the worker is
  /// never left unaware of its mail for good.
  template<class Ring>
  delivery
  deliver(const mail_header& h, std::string_view bytes, Ring&& ring) noexcept {
    posted p = posted::quiet;
    try {
      p = post(h, bytes);
    } catch (...) {
      return delivery::no_memory;
    }
    if (p == posted::closed) return delivery::closed;
    if (p == posted::ring) {
      try {
        ring();
      } catch (...) {
        std::lock_guard guard{lock_};
        rung_ = false;
      }
    }
    return delivery::delivered;
  }

  /// Calls `f(header, bytes)` for each message of a collected batch, in order.
  template<class F>
  static void for_each(std::string_view batch, F&& f) {
    while (!batch.empty()) {
      mail_header h;
      std::size_t n;
      std::memcpy(&h.from, batch.data(), 8);
      std::memcpy(&h.token, batch.data() + 8, 8);
      std::memcpy(&n, batch.data() + 16, 8);
      h.kind = static_cast<mail_kind>(batch[24]);
      batch.remove_prefix(header_size);
      f(h, batch.substr(0, n));
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
  static constexpr std::size_t header_size = 25;
  spin_lock lock_;
  std::string posted_;
  bool rung_ = false;
  bool closed_ = false;
};

} // namespace troupe::detail
