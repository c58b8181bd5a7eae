// What those who message a worker hold of it: the block it shares with
// them (its cancel flag, the charges behind its bounds, its post box, the
// call it awaits, the watches on its end, the route of its messages to a host
// callback) and the link that reaches it (the actor and that block), with the
// posts every sender makes through it. Also the acting actor of a thread,
// whose context posts ring from. No CAF here.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "actors/actor_ref.hpp"
#include "actors/post_box.hpp"
#include "actors/watch_list.hpp"
#include "lua_vm/meters.hpp"
#include "lua_vm/worker_context.hpp"

namespace troupe::detail {

using lua_vm::worker_id;

/// Messages and their bytes waiting in one queue, bounded by both. Charged
/// by the sender before it posts, given back by whoever takes or drops them.
struct queue_charge {
  std::atomic<std::size_t> messages{0};
  std::atomic<std::size_t> bytes{0};

  /// Counts one message of `size` bytes; false (and nothing counted) when
  /// that would pass `max_messages` or `max_bytes`.
  bool reserve(std::size_t size, std::size_t max_messages,
               std::size_t max_bytes) noexcept;
  /// Counts one message of `size` bytes whatever the bounds.
  void add(std::size_t size) noexcept {
    messages.fetch_add(1, std::memory_order_relaxed);
    bytes.fetch_add(size, std::memory_order_relaxed);
  }
  /// Gives back one message of `size` bytes.
  void release(std::size_t size) noexcept {
    messages.fetch_sub(1, std::memory_order_relaxed);
    bytes.fetch_sub(size, std::memory_order_relaxed);
  }
};

struct host_observer;

/// Where a host child's messages go once the host set a callback for them
/// (host_callbacks.cpp): the observer's box, and the actor to ring.
struct host_route {
  std::shared_ptr<host_observer> observer;
  actor_ref actor;
};

/// What a worker shares with those that hold a link to it (one allocation):
/// its cancel flag, the charges behind its inbox bound and behind the bound on
/// what it queues at its parent, its post box, the call whose reply it
/// awaits, the watches on its end, for a host child whose messages a
/// callback takes, where they go, and its meters.
struct worker_shared {
  std::atomic<bool> cancel{false};
  queue_charge inbox;
  /// Messages the worker queued at its parent that the parent has not taken.
  queue_charge outbox;
  post_box box;
  /// The number of the call the worker waits a reply for (0: none; any_call:
  /// an actor with many calls in flight, that sorts its replies itself). A
  /// reply takes it, so a call is answered once whoever holds its token.
  std::atomic<std::uint64_t> awaiting{0};
  static constexpr std::uint64_t any_call = ~std::uint64_t{0};
  watch_list watchers;
  /// Written once, before `routed` is set (release); read after it is seen.
  host_route route;
  std::atomic<bool> routed{false};
  /// What its metrics read (lua_vm/meters.hpp).
  lua_vm::worker_meters meters;
  /// Its script's chunk name ("native" for a native actor); set before the
  /// worker is listed, never changed.
  std::string script;
  /// It serves the runtime's links to other nodes (its agent, a proxy of a
  /// peer's actor, a lookup): listed and limited as a worker, not counted
  /// among the runtime's workers (stats, metrics). Set before it is listed.
  bool serves_links = false;
};

/// The actor running C++ code on this thread outside Lua (a native actor's
/// handler, a host callback): its worker id (0 for a callback) and how it
/// rings an actor from its own context.
struct acting_actor {
  worker_id id = 0;
  void* self = nullptr;
  void (*ring)(void* self, const actor_ref& to) = nullptr;
  /// Where its sends are counted (nullptr: as the host's).
  lua_vm::worker_meters* meters = nullptr;
};

/// The acting actor of this thread, or nullptr.
inline thread_local const acting_actor* acting = nullptr;

/// Rings `to`: from the acting actor's context when there is one (CAF then
/// runs `to` next on this thread), else from outside any actor.
inline void ring_from_here(const actor_ref& to) {
  if (acting != nullptr)
    acting->ring(acting->self, to);
  else
    to.ring();
}

/// The cancel flag of `shared`, as the Lua state and the reaper hold it.
inline std::shared_ptr<std::atomic<bool>>
cancel_flag(const std::shared_ptr<worker_shared>& shared) {
  return {shared, &shared->cancel};
}

/// What a parent holds of a child: how to reach it, stop it, and bound its
/// inbox and what it queues at the parent.
struct child_link {
  actor_ref actor;
  std::shared_ptr<worker_shared> shared;
  std::size_t inbox_limit = 0;
  std::size_t inbox_bytes = 0;

  /// Counts one more message of `size` bytes into the inbox; false (and
  /// nothing counted) when it is full.
  bool reserve_inbox(std::size_t size) const noexcept;
  /// Sets the cancel flag and wakes the worker if blocked.
  void stop() const;
  /// Posts `bytes` with `h`, calling `ring()` when the worker must be rung.
  /// An actor rings from its own context (CAF then runs the receiver next
  /// on the same thread); anyone else rings with actor_ref::ring.
  template<class Ring>
  delivery post(const mail_header& h, std::string_view bytes,
                Ring&& ring) const noexcept {
    return shared->box.deliver(h, bytes, ring);
  }
  delivery post(const mail_header& h, std::string_view bytes) const noexcept {
    return post(h, bytes, [this] { ring_from_here(actor); });
  }
  /// Posts a message for the inbox under its bound (charged unless refused).
  template<class Ring>
  lua_vm::send_result post_inbox(const mail_header& h, std::string_view bytes,
                                 Ring&& ring) const noexcept {
    if (!reserve_inbox(bytes.size())) return lua_vm::send_result::full;
    delivery d = post(h, bytes, ring);
    if (d == delivery::delivered) return lua_vm::send_result::sent;
    shared->inbox.release(bytes.size());
    return d == delivery::closed ? lua_vm::send_result::dead
                                 : lua_vm::send_result::failed;
  }
  lua_vm::send_result post_inbox(const mail_header& h,
                                 std::string_view bytes) const noexcept {
    return post_inbox(h, bytes, [this] { ring_from_here(actor); });
  }
  /// Posts `bytes` from `from` as the reply to call `call` of the worker,
  /// unless that call was answered already or is no longer awaited: taking
  /// the awaited call number makes this the one reply. Rings as post does.
  template<class Ring>
  bool post_reply(worker_id from, std::uint64_t call, std::string_view bytes,
                  Ring&& ring) const noexcept {
    std::uint64_t expected = call;
    if (!shared->awaiting.compare_exchange_strong(expected, 0,
                                                  std::memory_order_acq_rel)
        && expected != worker_shared::any_call)
      return false;
    return post({from, call, mail_kind::reply}, bytes, ring)
           == delivery::delivered;
  }
};

} // namespace troupe::detail
