// What a runtime knows of the runtimes its links reach (DESIGN.md "Nodes"):
// each peer's agent and the token of the pair, which of this runtime's
// actors a peer has been given (it may address those only), the local
// proxies that stand for the peer's actors, and the calls in flight across.
// Handles cross in place (serialization/handle_rewrite.hpp): going out, a
// local actor keeps this runtime's tag and is listed as given to the peer,
// and a proxy of the peer's own actor becomes that actor again; coming in, a
// peer's actor becomes its proxy here (made on first sight) and one of ours
// must be one the peer was given. Anything else is refused. Thread-safe:
// stand-ins, proxies and the agent use it from their own threads.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "actors/actor_ref.hpp"
#include "lua_vm/worker_context.hpp"

namespace troupe::detail {

using lua_vm::worker_id;

/// Where a message goes to reach a peer runtime: its agent, and the token
/// its agent checks.
struct peer_route {
  actor_ref gateway;
  std::uint64_t token = 0;
};

/// A call a local actor made to a peer's actor, by the number it crossed
/// under: who waits for the reply (0: the host) and under which call number,
/// and the proxy it called.
struct outbound_call {
  worker_id caller = 0;
  std::uint64_t call = 0;
  worker_id proxy = 0;
};

/// A call of a peer's actor to a local one: the peer, the peer's number for
/// it, and the local actor called.
struct inbound_call {
  std::uint64_t peer = 0;
  std::uint64_t call = 0;
  worker_id target = 0;
};

/// The runtime's table of peers (see the file comment).
class node_links {
public:
  /// Makes the proxy of actor `remote` of the peer tagged `peer`, whose agent
  /// is `gateway`; returns its id, or 0 when it cannot (the runtime stops,
  /// out of workers).
  using proxy_maker = std::function<
    worker_id(std::uint64_t peer, worker_id remote, const actor_ref& gateway)>;
  /// Local actor `id` was given to a peer for the first time: its end is to
  /// reach the agent (at once when it has ended already).
  using export_watch = std::function<void(worker_id id)>;

  /// For the runtime tagged `own`.
  node_links(std::uint64_t own, proxy_maker make, export_watch watch);

  /// The peer tagged `peer`, whose agent is `gateway`, said hello: the pair's
  /// token (made on its first hello).
  std::uint64_t greet(std::uint64_t peer, const actor_ref& gateway);
  /// Our hello to the peer tagged `peer` was answered with `token`.
  void greeted(std::uint64_t peer, const actor_ref& gateway,
               std::uint64_t token);
  /// Whether `token` is the pair's for the peer tagged `peer`.
  bool admits(std::uint64_t peer, std::uint64_t token) const;
  /// How to reach the peer tagged `peer`; nullopt when it is not known.
  std::optional<peer_route> route(std::uint64_t peer) const;

  /// Rewrites the handles of `bytes` for the peer tagged `peer` (see the file
  /// comment); the reason when they cannot cross (a reply token, bad bytes).
  std::optional<std::string> to_peer(std::uint64_t peer, std::string& bytes);
  /// Rewrites the handles of `bytes` that came from the peer tagged `peer`;
  /// the reason when they are refused.
  std::optional<std::string> from_peer(std::uint64_t peer, std::string& bytes);
  /// The id local actor `id` crosses to the peer as, with the tag saying
  /// whose it is (0 stays 0: no one).
  std::pair<std::uint64_t, worker_id> id_to_peer(std::uint64_t peer,
                                                 worker_id id);
  /// The local actor a peer's (`tag`, `id`) names; 0 when refused or none.
  worker_id id_from_peer(std::uint64_t peer, std::uint64_t tag, worker_id id);
  /// Whether local actor `id` was given to the peer tagged `peer`.
  bool given(std::uint64_t peer, worker_id id) const;
  /// Local actor `id` and actor `remote` of the peer tagged `peer` are one
  /// worker and its stand-in: each crosses as the other.
  void adopt(std::uint64_t peer, worker_id remote, worker_id id);
  /// Local actor `id` may be addressed by the peer tagged `peer` (its end is
  /// told another way).
  void give(std::uint64_t peer, worker_id id);
  /// Local proxy or stand-in `id` has ended (the calls that crossed through
  /// it go: their callers see it end).
  void forget(worker_id id) noexcept;
  /// Local actor `id` has ended: the peers it was given to.
  std::vector<std::uint64_t> ended(worker_id id);
  /// The proxy of actor `remote` of the peer tagged `peer`, or 0.
  worker_id proxy_of(std::uint64_t peer, worker_id remote) const;

  /// A number no call of this runtime's links has (for calls an actor numbers
  /// itself).
  std::uint64_t number();
  /// Lets go of every peer's agent (the runtime stops: CAF's proxies of them
  /// must go before its middleman does).
  void drop_routes() noexcept;
  /// Lists a call crossing to a peer; returns the number it crosses under.
  std::uint64_t open_outbound(const outbound_call& c);
  /// Takes the call crossing under `number`.
  std::optional<outbound_call> take_outbound(std::uint64_t number);
  /// Lists a call that came from a peer; returns the number it is posted
  /// under here.
  std::uint64_t open_inbound(const inbound_call& c);
  /// Takes the call posted under `number`.
  std::optional<inbound_call> take_inbound(std::uint64_t number);

private:
  struct peer_entry {
    actor_ref gateway;
    std::vector<std::uint64_t> tokens;
    std::unordered_set<worker_id> given;
    std::unordered_map<worker_id, worker_id> proxies; // remote id -> local
  };
  // The peer tagged `peer`; under mutex_.
  peer_entry& entry(std::uint64_t peer);
  // What id_to_peer and id_from_peer do; under mutex_.
  std::pair<std::uint64_t, worker_id> out_id(peer_entry& p, std::uint64_t peer,
                                             worker_id id);
  worker_id in_id(peer_entry& p, std::uint64_t peer, std::uint64_t tag,
                  worker_id id);

  const std::uint64_t own_;
  proxy_maker make_;
  export_watch watch_;
  mutable std::mutex mutex_;
  std::unordered_map<std::uint64_t, peer_entry> peers_;
  // Local proxies and stand-ins: the peer and the actor each stands for.
  std::unordered_map<worker_id, std::pair<std::uint64_t, worker_id>> stand_;
  // Local actors given to peers, and to which.
  std::unordered_map<worker_id, std::vector<std::uint64_t>> exported_;
  std::uint64_t next_call_ = 1;
  std::unordered_map<std::uint64_t, outbound_call> outbound_;
  std::unordered_map<std::uint64_t, inbound_call> inbound_;
};

} // namespace troupe::detail
