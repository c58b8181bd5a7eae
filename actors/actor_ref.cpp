// The actor reference (see actor_ref.hpp): a caf::actor constructed in the
// reference's own storage.
#include "actors/actor_ref.hpp"

#include <new>
#include <utility>

#include <caf/actor.hpp>
#include <caf/send.hpp>

#include "actors/messages.hpp"

namespace troupe::detail {

static_assert(sizeof(caf::actor) == sizeof(void*)
              && alignof(caf::actor) <= alignof(void*));

namespace {

caf::actor& in(unsigned char* storage) noexcept {
  return *std::launder(reinterpret_cast<caf::actor*>(storage));
}

} // namespace

actor_ref::actor_ref() noexcept {
  new (storage_) caf::actor{};
}

actor_ref::actor_ref(const caf::actor& actor) noexcept {
  new (storage_) caf::actor{actor};
}

actor_ref::actor_ref(const actor_ref& other) noexcept {
  new (storage_) caf::actor{other.get()};
}

actor_ref::actor_ref(actor_ref&& other) noexcept {
  new (storage_) caf::actor{std::move(in(other.storage_))};
}

actor_ref& actor_ref::operator=(const actor_ref& other) noexcept {
  in(storage_) = other.get();
  return *this;
}

actor_ref& actor_ref::operator=(actor_ref&& other) noexcept {
  in(storage_) = std::move(in(other.storage_));
  return *this;
}

actor_ref::~actor_ref() {
  in(storage_).~actor();
}

actor_ref::operator bool() const noexcept {
  return static_cast<bool>(get());
}

std::uint64_t actor_ref::id() const noexcept {
  return get() ? get().id() : 0;
}

const caf::actor& actor_ref::get() const noexcept {
  return *std::launder(reinterpret_cast<const caf::actor*>(storage_));
}

void actor_ref::ring() const {
  caf::anon_send(get(), mail_atom::value);
}

void actor_ref::cancel() const {
  caf::anon_send(get(), cancel_atom::value);
}

void actor_ref::retire() const {
  caf::anon_send(get(), retire_atom::value);
}

} // namespace troupe::detail
