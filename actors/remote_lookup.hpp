// The actor behind worker.lookup(name, {node = "HOST:PORT"}): it reaches the
// node (node_relay.hpp's reach_node), asks its agent for the name (the agent
// waits for it up to the lookup's timeout), and answers the one call its
// worker makes to it with the name's handle here (a proxy, or the stand-in
// of one of this runtime's remote workers), nil, or false and why. Then it
// ends. It is listed in the directory so the call reaches it, but it is no
// one's child.
#pragma once

#include <string>

#include <caf/event_based_actor.hpp>

#include "actors/node_relay.hpp"
#include "actors/runtime_core.hpp"

namespace troupe::detail {

/// What a new lookup actor is given.
struct lookup_init {
  runtime_core* core;
  worker_id id;
  std::shared_ptr<worker_shared> shared;
  std::string host;
  std::uint16_t port = 0;
};

/// A remote lookup (see the file comment).
class remote_lookup : public caf::event_based_actor {
public:
  /// CAF's constructor shape plus where to ask.
  remote_lookup(caf::actor_config& config, lookup_init init);

  /// The message handlers.
  caf::behavior make_behavior() override;
  /// Answers (as failed) unless it has.
  void on_exit() override;

private:
  void collect_mail();
  // Asks once both the node and the call are there.
  void ask();
  // Answers the call once it is there (keeping `bytes` until then).
  void answer(std::string bytes);
  // Replies `bytes` to the call (none when empty) and ends.
  void finish(std::string bytes);
  void fail(const std::string& why);

  lookup_init init_;
  node_reached node_;
  bool asked_ = false;
  bool answered_ = false;
  // The call: who waits, its number, and what it asks.
  worker_id caller_ = 0;
  std::uint64_t call_ = 0;
  std::string name_;
  std::chrono::nanoseconds wait_{0};
  // An answer that came before the call.
  std::string outcome_;
  std::string mail_;
};

} // namespace troupe::detail
