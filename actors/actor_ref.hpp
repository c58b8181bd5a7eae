// detail::actor_ref: a strong reference to one of troupe's CAF actors, held
// where CAF's headers are not included. The runtime's shared structures (the
// links to workers, the pool's slots) live in headers that most of actors/
// includes; with this they name an actor without bringing CAF into every
// translation unit. It stores a caf::actor in place (one pointer), so the CAF
// side reaches it without a copy; everything that needs CAF's definitions is
// in actor_ref.cpp or in the translation units that include CAF anyway.
#pragma once

#include <cstdint>

namespace caf {
class actor;
} // namespace caf

namespace troupe::detail {

/// A strong reference to a troupe actor, usable without CAF's headers.
class actor_ref {
public:
  /// Refers to no actor.
  actor_ref() noexcept;
  /// Refers to `actor` (CAF translation units only).
  explicit actor_ref(const caf::actor& actor) noexcept;
  actor_ref(const actor_ref& other) noexcept;
  actor_ref(actor_ref&& other) noexcept;
  actor_ref& operator=(const actor_ref& other) noexcept;
  actor_ref& operator=(actor_ref&& other) noexcept;
  ~actor_ref();

  /// Whether it refers to an actor.
  explicit operator bool() const noexcept;
  /// CAF's id of the actor (0 for none).
  std::uint64_t id() const noexcept;
  /// The actor as CAF holds it (CAF translation units only).
  const caf::actor& get() const noexcept;

  /// Rings the actor's doorbell from outside any actor: mail waits in its
  /// post box (see post_box.hpp).
  void ring() const;
  /// Wakes the actor to stop (its cancel flag is set already).
  void cancel() const;
  /// Tells a worker its parent no longer needs it (peek then gives nil once
  /// its inbox is empty).
  void retire() const;

private:
  alignas(void*) unsigned char storage_[sizeof(void*)];
};

} // namespace troupe::detail
