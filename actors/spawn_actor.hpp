// runtime_core::spawn_actor, for the translation units that include CAF: the
// actor system's spawn behind the runtime's check that it still runs.
#pragma once

#include <mutex>
#include <utility>

#include <caf/actor_system.hpp>

#include "actors/runtime_core.hpp"
#include "troupe/error.hpp"

namespace troupe::detail {

template<class Actor, class... Ts>
actor_ref runtime_core::spawn_actor(Ts&&... xs) {
  std::lock_guard live{live_mutex_};
  if (!system_) throw stopped_error{"troupe::runtime: stopped"};
  return actor_ref{
    system_->spawn<Actor, caf::lazy_init>(std::forward<Ts>(xs)...)};
}

} // namespace troupe::detail
