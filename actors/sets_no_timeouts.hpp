// The mark of an actor class that sets no CAF timeouts, read by the
// scheduler's clock (scheduler.hpp) when such an actor ends.
#pragma once

namespace troupe::detail {

/// Marks an actor class that sets no CAF timeouts (no receive timeouts, no
/// requests): its timers are delayed messages, which an ended actor's closed
/// mailbox drops, so the clock has nothing to cancel when it ends.
class sets_no_timeouts {
public:
  virtual ~sets_no_timeouts() = default;
};

} // namespace troupe::detail
