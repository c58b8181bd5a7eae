// What the actors on either end of a node's link share to carry messages
// between any two actors of two runtimes (node_links.hpp): a local's post to
// a proxy (or to a stand-in, from someone other than its creator) becomes a
// frame for the peer's agent, its handles rewritten and its call listed; a
// local's reply to a peer's call, and the end of such a call, cross back;
// and the agent's side delivers what arrives.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <caf/event_based_actor.hpp>

#include "actors/node_links.hpp"
#include "actors/runtime_core.hpp"

namespace troupe::detail {

/// What reaching a node gave: its agent, its runtime's tag, the pair's token.
struct node_reached {
  caf::actor agent;
  std::uint64_t tag = 0;
  std::uint64_t token = 0;
};

/// Connects `self` to the node at `host`:`port` through the middleman
/// without blocking a thread, monitors its agent (a node lost from here on
/// is `self`'s down) and says hello with the runtime's secret; then calls
/// `done`, or `failed` with why and whether the node was lost (not reached,
/// or silent) rather than refusing.
void reach_node(caf::event_based_actor& self, runtime_core& core,
                const std::string& host, std::uint16_t port,
                std::function<void(const node_reached&)> done,
                std::function<void(const std::string&, bool)> failed);

/// Appends to `batch` the frame for `h`'s post of `bytes` (to `self`, which
/// stands for actor `target` of the peer tagged `peer`). A post its handles
/// cannot leave with is reported on the runtime's output, and its call fails.
void frame_for_peer(runtime_core& core, std::uint64_t peer, worker_id self,
                    worker_id target, const mail_header& h,
                    std::string_view bytes, std::string& batch);

/// Sends `batch` (frames) to the peer tagged `peer`'s agent.
void send_frames(caf::event_based_actor& self, runtime_core& core,
                 std::uint64_t peer, std::string batch);

/// A local actor replied `bytes` to the peer's call posted here under
/// `number`: the reply crosses to the peer. False when `number` is no such
/// call.
bool reply_to_peer(caf::event_based_actor& self, runtime_core& core,
                   std::uint64_t number, std::string bytes);

/// The local actor called by the peer's call posted here under `number`
/// ended before it replied: the peer's caller is told.
void call_ended_here(caf::event_based_actor& self, runtime_core& core,
                     std::uint64_t number);

/// A local call that crossed ended without its reply.
void fail_outbound(runtime_core& core, const outbound_call& c);

/// Delivers the frames `batch` from the peer tagged `peer` (the agent's
/// side: `self`, worker `agent`).
void deliver_frames(caf::event_based_actor& self, runtime_core& core,
                    worker_id agent, std::uint64_t peer,
                    std::string_view batch);

/// Local actor `id`, given to peers, ended (`ok`, `bytes`): their proxies
/// of it are to end too.
void given_ended(caf::event_based_actor& self, runtime_core& core, worker_id id,
                 bool ok, std::string_view bytes);

/// Actor `id` of the peer tagged `peer` ended: its proxy here ends so.
void proxy_gone(caf::event_based_actor& self, runtime_core& core,
                std::uint64_t peer, worker_id id, bool ok, std::string bytes);

/// The reply `bytes` to the local call that crossed under `number`, from
/// the peer tagged `peer`.
void reply_from_peer(runtime_core& core, std::uint64_t peer,
                     std::uint64_t number, std::string bytes);

} // namespace troupe::detail
