// The CAF side of troupe/caf.hpp inside libtroupe: what the script actor and
// the native actor do with a troupe::value that a CAF actor sent them.
#pragma once

#include <caf/scheduled_actor.hpp>

#include "actors/runtime_core.hpp"

namespace troupe::detail {

/// The header of the troupe::value message `self` (worker `to`) is handling:
/// from the sender's handle if worker_of gave it one; a CAF request becomes a
/// call of the host whose reply answers it.
mail_header caf_header(runtime_core& core, worker_id to,
                       caf::scheduled_actor& self);

/// The troupe::value message `self` (worker `to`) is handling cannot be
/// taken, for `why`: a request gets that as its error, the loss of a plain
/// message is reported on the runtime's output.
void refuse_caf_value(runtime_core& core, worker_id to,
                      caf::scheduled_actor& self, const std::string& why);

/// The key of a CAF actor in runtime_core's map of CAF peers.
std::uintptr_t caf_key(const caf::strong_actor_ptr& actor) noexcept;

} // namespace troupe::detail
