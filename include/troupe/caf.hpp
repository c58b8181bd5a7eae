// troupe/caf.hpp: script actors and a CAF application's own actors message
// each other. The one public header that includes CAF (CMake target
// troupe::caf, which brings CAF 0.17's core library along).
//
// troupe's message type in CAF is troupe::value. A CAF actor sends a
// troupe::value to actor_of(w) and it arrives in w's inbox as worker::send
// would put it there (from the sender's handle when the sender was given one
// by worker_of, else from nil); a CAF request (`self->request(...)`) arrives
// as a call, and the script's worker.reply (a native actor's
// envelope::reply) answers it with a troupe::value. The other way, worker_of
// gives a CAF actor a handle: what scripts and C++ send or call to it arrives
// as a troupe::envelope message, and envelope::reply answers a call. Actors of
// the runtime's own actor system (actor_system_of) share its threads.
#pragma once

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>

#include "troupe/envelope.hpp"
#include "troupe/export.hpp"
#include "troupe/runtime.hpp"
#include "troupe/value.hpp"
#include "troupe/worker.hpp"

namespace troupe {

/// The CAF actor behind `w`: a script worker's or a native actor's own; for
/// a handle worker_of made, the actor that forwards to the CAF actor (what is
/// sent to it arrives there as an envelope). Throws troupe::error when `w`
/// has ended or is empty, troupe::stopped_error once its runtime has stopped.
TROUPE_API caf::actor actor_of(const worker& w);

/// A handle of `rt` for the CAF actor `a`, which receives each message sent or
/// call made to it as a troupe::envelope. The handle ends (normally, or with
/// the exit reason as its error) when `a` terminates; the same actor always
/// gets the same handle while it lives. Throws troupe::error for an invalid
/// actor, troupe::stopped_error once `rt` has stopped.
TROUPE_API worker worker_of(runtime& rt, const caf::actor& a);

/// The CAF actor system `rt` runs its actors in: spawn CAF actors here to run
/// them on the runtime's scheduler threads beside the scripts. Throws
/// troupe::stopped_error once `rt` has stopped.
TROUPE_API caf::actor_system& actor_system_of(runtime& rt);

} // namespace troupe

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::value)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::envelope)
