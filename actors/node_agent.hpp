// A runtime's agent: the actor its peers reach it through, and the one a
// listening runtime publishes through CAF's middleman. Peers reach nothing
// else (no remote_spawn, no actor types): a link's first message must carry
// the node's secret, compared in constant time, and every later one the
// token the hello returned (node_links.hpp keeps it, per pair of runtimes).
// Once the runtime listens, the agent starts the workers peers ask for,
// beneath the node's root and with no more than the node's permissions, and
// is their parent: their worker.message and what they send to
// worker.parent() go back to the peer's stand-in, as does their end. A
// peer's stand-in that goes (its node lost or its creator gone) takes its
// worker with it. On every runtime with a network it also delivers what
// peers send to the actors they were given (node_relay.hpp), answers their
// calls and tells them when those actors end.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include <caf/event_based_actor.hpp>
#include <caf/node_id.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/node_links.hpp"

#include "actors/runtime_core.hpp"

namespace troupe::detail {

/// What a new agent is given.
struct node_agent_init {
  runtime_core* core;
  worker_id id;
  std::shared_ptr<worker_shared> shared;
};

/// A node's agent (see the file comment).
class node_agent : public caf::event_based_actor {
public:
  /// CAF's constructor shape plus what the agent serves.
  node_agent(caf::actor_config& config, node_agent_init init);

  /// The message handlers.
  caf::behavior make_behavior() override;
  void on_exit() override;

private:
  struct remote {
    caf::actor stand_in;
    caf::node_id peer;
    // The peer runtime's tag.
    std::uint64_t tag;
    child_link link;
  };
  // A call of a stand-in to its worker, numbered here.
  struct pending_call {
    worker_id worker;
    std::uint64_t call; // the stand-in's number
  };

  caf::result<std::uint64_t, std::uint64_t>
  hello(const std::string& secret, std::uint64_t tag, const caf::actor& peer);
  // Who asks for a worker: whether the peer's host, and the stand-in's id.
  struct creator_side {
    bool by_host;
    worker_id stand_in;
  };
  std::pair<std::uint64_t, std::string>
  spawn(std::uint64_t token, const std::string& path, std::string args,
        std::uint64_t inbox, const lua_vm::vm_limits& limits,
        const std::vector<std::string>& permissions, creator_side creator);
  // Whether the current message's sender presents its pair's token.
  bool admitted(std::uint64_t token);
  // The tag of the current message's sender, 0 when it never said hello.
  std::uint64_t sender_tag();

  resolved_script resolve_beneath_root(const std::string& path);
  void relay_in(worker_id id, std::string_view frames);
  void collect_mail();
  void child_end(worker_id id, bool ok, std::string& bytes, bool cancelled);
  void stand_in_down(const caf::actor_addr& who);
  // A peer's lookup: the name's actor as it crosses to the peer, or a
  // promise kept once it is registered or its wait is over.
  caf::result<std::uint64_t, std::uint64_t>
  lookup(std::uint64_t token, const std::string& name, std::int64_t wait_ns);
  // Answers the lookups whose name is there now, or whose wait is over
  // (`due`).
  void answer_lookups(bool due);
  void finish();

  node_agent_init init_;
  // Set once the runtime listens (runtime::listen).
  bool serving_ = false;
  // Empty: any peer that reaches the port (loopback only).
  std::string secret_;
  std::size_t max_per_peer_ = 0;
  // The tags of the runtimes that said hello, by CAF node.
  std::map<caf::node_id, std::uint64_t> tags_;
  std::map<caf::node_id, std::size_t> counts_;
  std::unordered_map<worker_id, remote> remotes_;
  std::unordered_map<std::uint64_t, pending_call> calls_;
  std::string mail_;
  bool finished_ = false;
  // Lookups waiting for their name.
  struct name_wait {
    std::string name;
    std::uint64_t peer;
    caf::typed_response_promise<std::uint64_t, std::uint64_t> promise;
    std::chrono::steady_clock::time_point until;
  };
  std::vector<name_wait> name_waits_;
};

} // namespace troupe::detail
