// The messages script actors exchange (CAF 0.17 atoms). Bytes are msgpack,
// decoded only by the receiving script. Included only by the translation units
// that talk CAF.
#pragma once

#include <atomic>
#include <memory>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

namespace troupe::detail {

/// Start running the script (the first message a new worker gets, from its
/// spawner).
using start_atom = caf::atom_constant<caf::atom("start")>;
/// to a worker whose post box got its first message since it last collected:
/// collect (see post_box.hpp).
using mail_atom = caf::atom_constant<caf::atom("mail")>;
/// child -> parent: (worker id, ok, bytes, cancelled) the end: return values
/// or error, and whether a cancel ended it.
using child_end_atom = caf::atom_constant<caf::atom("childend")>;
/// parent -> child: stop (the shared flag is already set; this wakes a blocked
/// script).
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
/// self: go on running a script that was preempted.
using continue_atom = caf::atom_constant<caf::atom("continue")>;
/// pool -> pool worker, and self: take jobs from the queue (or go on with a
/// preempted one).
using work_atom = caf::atom_constant<caf::atom("work")>;
/// host -> child: its supervisor no longer needs it; peek gives nil once the
/// inbox is empty (as for an orphan), so it can finish.
using retire_atom = caf::atom_constant<caf::atom("retire")>;
/// self: the worker's wall-time limit has passed.
using deadline_atom = caf::atom_constant<caf::atom("deadline")>;
/// self: a wait's timer (token).
using timer_atom = caf::atom_constant<caf::atom("timer")>;
/// A message for a script's post box carried by CAF instead (from an actor
/// that holds no post box link): from, token, mail_kind, bytes.
using envelope_atom = caf::atom_constant<caf::atom("envelope")>;

} // namespace troupe::detail
