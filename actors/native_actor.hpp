// The native actor: a C++ handler run as a CAF event-based actor, so C++ code
// takes part as an actor on the scheduler threads (runtime::spawn_native). It
// is listed in the runtime's directory like a script worker, with a post box
// that scripts and the host post to under the same inbox bound; each message
// is decoded into a troupe::value and handed to the handler in an envelope,
// one at a time. The handler runs with the actor as this thread's acting
// actor, so what it sends carries the actor as the sender and rings from its
// context. An exception from the handler ends the actor with that error.
#pragma once

#include <memory>
#include <string>

#include <caf/event_based_actor.hpp>

#include "actors/runtime_core.hpp"
#include "actors/sets_no_timeouts.hpp"

namespace troupe::detail {

/// troupe::envelope's private parts.
struct envelope_access {
  /// The envelope of message `message` that `self` got from `from` (0: the
  /// host) as call `call` (0: none).
  static envelope make(std::weak_ptr<runtime_core> core, value message,
                       worker_id self, worker_id from, std::uint64_t call);
};

/// What a new native actor is given.
struct native_init {
  runtime_core* core;
  worker_id id;
  std::shared_ptr<worker_shared> shared;
  native_handler handler;
  /// An actor whose end ends this one (none: none), and the CAF peer key to
  /// drop at the end (0: none).
  actor_ref watched;
  std::uintptr_t caf_key = 0;
};

/// One native actor (see the file comment).
class native_actor : public caf::event_based_actor, public sets_no_timeouts {
public:
  /// CAF's constructor shape plus what the actor runs.
  native_actor(caf::actor_config& config, native_init init);

  /// The message handlers.
  caf::behavior make_behavior() override;
  /// Ends it as "worker ended unexpectedly" unless it has ended.
  void on_exit() override;

private:
  void collect_mail();
  /// Hands one inbox message to the handler; false when the actor ended.
  bool deliver(const mail_header& h, std::string_view bytes);
  /// Hands one message to the handler; false when the actor ended.
  bool deliver_value(const mail_header& h, value message);
  void finish(bool ok, std::string bytes, bool cancelled);
  /// Ends the actor with the error `e` (none: "worker ended unexpectedly").
  void fail_from(std::exception_ptr e) noexcept;
  static void ring_from(void* self, const actor_ref& to);

  native_init init_;
  std::weak_ptr<runtime_core> weak_core_;
  acting_actor acting_;
  /// The batch collect_mail takes from the post box (its buffer is reused).
  std::string mail_;
  bool finished_ = false;
};

} // namespace troupe::detail
