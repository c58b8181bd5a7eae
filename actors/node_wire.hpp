// The messages a remote worker's stand-in (remote_worker.hpp) and a node's
// agent (node_agent.hpp) exchange over CAF's middleman (BASP). Only CAF's
// built-in types travel: atoms, integers, strings and the actor handles BASP
// turns into proxies; values are msgpack bytes, decoded by the script that
// takes them. Messages travel in batches: what an actor collected from its
// post box at once goes as one string of frames (a call number, 0 for a plain
// message, and the bytes). Every message after the hello carries the link's
// token.
//
//   stand-in -> agent: (hello, secret) => token
//                      (spawn, token, path, args, inbox, memory,
//                       instructions, timeout ns, permissions, by host,
//                       stand-in id) => id, error
//                      (relay, token, id, frames)  into worker id's inbox
//                      (answer, token, id, call, bytes)  a reply to its call
//                      (cancel, token, id)
//                      (lookup, token, name, wait ns) => tag, id
//   agent -> stand-in: (upward, frames)            worker.message
//                      (relay, frames)             sent to worker.parent()
//                      (answer, call, bytes)       a reply to a call to it
//                      (childend, id, ok, bytes, cancelled)
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>

namespace troupe::detail {

/// Loads CAF's middleman into `config` as troupe's links use it: heartbeats
/// on every link (so a hung peer is seen within two seconds; both ends must
/// send them), no worker threads of its own, troupe's protocol name.
void load_network(caf::actor_system_config& config);

/// The first message of a link: the secret (empty when none), answered with
/// the link's token.
using hello_atom = caf::atom_constant<caf::atom("hello")>;
/// Start a worker on the node.
using spawn_atom = caf::atom_constant<caf::atom("spawn")>;
/// Messages for a remote worker's inbox, or from it to its parent's.
using relay_atom = caf::atom_constant<caf::atom("relay")>;
/// A remote worker's worker.message, for its parent's receive.
using upward_atom = caf::atom_constant<caf::atom("upward")>;
/// The reply to a call made across the link.
using answer_atom = caf::atom_constant<caf::atom("answer")>;
/// Messages between any two actors of two runtimes (peer_frame).
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;
/// The reply to a call that crossed in a peer_frame, and its failure (the
/// actor called ended first).
using creply_atom = caf::atom_constant<caf::atom("creply")>;
using cfail_atom = caf::atom_constant<caf::atom("cfail")>;
/// An actor given to the peer has ended: its proxy there ends too.
using gone_atom = caf::atom_constant<caf::atom("gone")>;
/// A peer's worker.lookup by node (token, name, wait ns) => (tag, id), id 0
/// for none; and the agent's own timer for lookups that wait.
using lookup_atom = caf::atom_constant<caf::atom("lookup")>;
using lookup_due_atom = caf::atom_constant<caf::atom("lookupdue")>;
/// The runtime listens: its agent starts serving workers to peers.
using serve_atom = caf::atom_constant<caf::atom("serve")>;

/// How long a node may take to accept a link and answer a request (hello,
/// spawn, lookup) before it counts as lost.
inline constexpr std::chrono::seconds answer_within{10};

/// The application identifier both ends of a link name (BASP refuses a peer
/// that names another).
inline constexpr const char* node_protocol = "troupe-node-1";

/// Appends one frame (`call`, `bytes`) to a batch: the call and the length
/// as 8 bytes each, little-endian, then the bytes.
void append_frame(std::string& batch, std::uint64_t call,
                  std::string_view bytes);

/// Appends `n` as 8 bytes, little-endian.
void put_u64(std::string& out, std::uint64_t n);

/// Takes the 8-byte little-endian number at the front of `in`; false when
/// `in` is shorter.
bool take_u64(std::string_view& in, std::uint64_t& out) noexcept;

/// A frame between any two actors of two runtimes: the sender's call number
/// (0: a plain message), the actor it is for (the receiver's id), the sender
/// as it crosses (node_links::id_to_peer) and the bytes.
struct peer_frame {
  std::uint64_t call = 0;
  std::uint64_t target = 0;
  std::uint64_t from_tag = 0;
  std::uint64_t from_id = 0;
  std::string_view bytes;
};

/// Appends `f` to a batch: its four numbers and the length as 8 bytes each,
/// little-endian, then the bytes.
void append_peer_frame(std::string& batch, const peer_frame& f);

/// Calls `f(frame)` for each peer_frame of `batch`; false (after the frames
/// before it) when the batch is malformed.
template<class F>
bool for_each_peer_frame(std::string_view batch, F&& f) {
  while (!batch.empty()) {
    peer_frame frame;
    std::uint64_t size = 0;
    if (!take_u64(batch, frame.call) || !take_u64(batch, frame.target)
        || !take_u64(batch, frame.from_tag) || !take_u64(batch, frame.from_id)
        || !take_u64(batch, size) || size > batch.size())
      return false;
    frame.bytes = batch.substr(0, size);
    f(frame);
    batch.remove_prefix(size);
  }
  return true;
}

/// Calls `f(call, bytes)` for each frame of `batch`; false (after the frames
/// before it) when the batch is malformed.
template<class F>
bool for_each_frame(std::string_view batch, F&& f) {
  while (!batch.empty()) {
    std::uint64_t call = 0;
    std::uint64_t size = 0;
    if (!take_u64(batch, call) || !take_u64(batch, size) || size > batch.size())
      return false;
    f(call, batch.substr(0, size));
    batch.remove_prefix(size);
  }
  return true;
}

} // namespace troupe::detail
