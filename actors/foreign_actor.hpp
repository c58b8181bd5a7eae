// The proxy of another runtime's actor: the local actor a handle that came
// over a node's link becomes (node_links.hpp). It is listed in the directory
// like any actor, so sends, calls, monitors, joins and names reach it
// unchanged; what locals post to it crosses to the peer's agent as frames
// (calls numbered in the table, so the reply finds its caller), and the
// replies of local actors to the peer's calls, which come to it as the
// caller's stand-in here, cross back. It ends as the actor it stands for
// ends (the peer tells), or as lost with the link.
#pragma once

#include <string>

#include <caf/event_based_actor.hpp>

#include "actors/runtime_core.hpp"

namespace troupe::detail {

/// What a new proxy is given.
struct foreign_init {
  runtime_core* core;
  worker_id id;
  std::shared_ptr<worker_shared> shared;
  /// The peer runtime's tag, and the actor's id there.
  std::uint64_t peer = 0;
  worker_id remote = 0;
  /// The peer's agent.
  actor_ref gateway;
};

/// A proxy (see the file comment).
class foreign_actor : public caf::event_based_actor {
public:
  /// CAF's constructor shape plus what it stands for.
  foreign_actor(caf::actor_config& config, foreign_init init);

  /// The message handlers.
  caf::behavior make_behavior() override;
  /// Ends it as lost unless it has ended.
  void on_exit() override;

private:
  void collect_mail();
  void finish(bool ok, std::string bytes);

  foreign_init init_;
  bool finished_ = false;
  std::string mail_;
};

} // namespace troupe::detail
