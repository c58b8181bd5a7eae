// A node's agent (see node_agent.hpp), and the runtime's side of listening.
#include "actors/node_agent.hpp"

#include <filesystem>

#include <caf/actor_cast.hpp>
#include <caf/io/middleman.hpp>
#include <caf/send.hpp>

#include "actors/messages.hpp"
#include "actors/node_relay.hpp"
#include "actors/node_wire.hpp"
#include "actors/remote_worker.hpp"
#include "lua_vm/failure.hpp"
#include "lua_vm/script_runner.hpp"
#include "serialization/value_codec.hpp"

namespace troupe::detail {

namespace {

using lua_vm::watch_kind;

// Equal strings, in time that depends on their lengths only.
bool same_secret(std::string_view a, std::string_view b) noexcept {
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    diff |= static_cast<unsigned>(x ^ y);
  }
  return diff == 0;
}

// The permission's name without its scope ("fs:read=/x" -> "fs:read").
std::string kind_of(const std::string& name) {
  return name.substr(0, name.find('='));
}

// `text` with the node's root left out of the paths it names: a peer is
// told paths as it gave them, not where the node keeps its scripts.
std::string without_root(std::string text, const std::filesystem::path& root) {
  std::error_code ignored;
  auto prefix = std::filesystem::weakly_canonical(root, ignored).string();
  if (prefix.empty()) return text;
  if (prefix.back() != '/') prefix.push_back('/');
  for (auto at = text.find(prefix); at != std::string::npos;
       at = text.find(prefix, at))
    text.erase(at, prefix.size());
  return text;
}

} // namespace

node_agent::node_agent(caf::actor_config& config, node_agent_init init)
    : caf::event_based_actor(config), init_(std::move(init)) {}

caf::behavior node_agent::make_behavior() {
  set_down_handler([this](caf::down_msg& msg) { stand_in_down(msg.source); });
  return {
    [this](hello_atom, const std::string& secret, std::uint64_t tag,
           const caf::actor& peer) { return hello(secret, tag, peer); },
    [this](serve_atom, bool on, std::string& secret,
           std::uint64_t max_per_peer) {
      serving_ = on;
      secret_ = std::move(secret);
      max_per_peer_ = static_cast<std::size_t>(max_per_peer);
    },
    [this](spawn_atom, std::uint64_t token, const std::string& path,
           std::string& args, std::uint64_t inbox, std::uint64_t memory,
           std::uint64_t instructions, std::int64_t timeout_ns,
           const std::vector<std::string>& permissions, bool by_host,
           std::uint64_t stand_in_id)
      -> caf::result<std::uint64_t, std::string> {
      lua_vm::vm_limits limits;
      limits.memory = static_cast<std::size_t>(memory);
      limits.instructions = instructions;
      limits.wall_time = std::chrono::nanoseconds{timeout_ns};
      auto [id, why] = spawn(token, path, std::move(args), inbox, limits,
                             permissions, {by_host, stand_in_id});
      return {id, why};
    },
    [this](relay_atom, std::uint64_t token, std::uint64_t id,
           const std::string& frames) {
      if (admitted(token)) relay_in(id, frames);
    },
    [this](answer_atom, std::uint64_t token, std::uint64_t id,
           std::uint64_t call, std::string& bytes) {
      if (!admitted(token)) return;
      auto i = remotes_.find(id);
      if (i == remotes_.end()) return;
      if (auto why = init_.core->links().from_peer(i->second.tag, bytes)) {
        init_.core->print("troupe node: refused a reply for worker "
                          + std::to_string(id) + ": " + *why);
        return;
      }
      const child_link& link = i->second.link;
      link.post_reply(init_.id, call, bytes,
                      [&] { send(link.actor.get(), mail_atom::value); });
    },
    [this](deliver_atom, std::uint64_t tag, std::uint64_t token,
           const std::string& frames) {
      if (init_.core->links().admits(tag, token))
        deliver_frames(*this, *init_.core, init_.id, tag, frames);
    },
    [this](creply_atom, std::uint64_t tag, std::uint64_t token,
           std::uint64_t call, std::string& bytes) {
      if (init_.core->links().admits(tag, token))
        reply_from_peer(*init_.core, tag, call, std::move(bytes));
    },
    [this](cfail_atom, std::uint64_t tag, std::uint64_t token,
           std::uint64_t call) {
      auto& links = init_.core->links();
      if (!links.admits(tag, token)) return;
      if (auto c = links.take_outbound(call)) fail_outbound(*init_.core, *c);
    },
    [this](gone_atom, std::uint64_t tag, std::uint64_t token, worker_id id,
           bool ok, std::string& bytes) {
      if (init_.core->links().admits(tag, token))
        proxy_gone(*this, *init_.core, tag, id, ok, std::move(bytes));
    },
    [this](cancel_atom, std::uint64_t token, std::uint64_t id) {
      if (!admitted(token)) return;
      if (auto i = remotes_.find(id); i != remotes_.end())
        i->second.link.stop();
    },
    [this](lookup_atom, std::uint64_t token, const std::string& name,
           std::int64_t wait_ns) { return lookup(token, name, wait_ns); },
    [this](lookup_due_atom) { answer_lookups(true); },
    [this](mail_atom) { collect_mail(); },
    [this](child_end_atom, worker_id id, bool ok, std::string& bytes,
           bool cancelled) { child_end(id, ok, bytes, cancelled); },
    // The runtime stops.
    [this](cancel_atom) { finish(); },
  };
}

void node_agent::on_exit() {
  finish();
}

caf::result<std::uint64_t, std::uint64_t>
node_agent::hello(const std::string& secret, std::uint64_t tag,
                  const caf::actor& peer) {
  if (!serving_)
    return caf::make_error(caf::sec::runtime_error,
                           std::string{"this runtime serves no workers"});
  if (!secret_.empty() && !same_secret(secret, secret_))
    return caf::make_error(caf::sec::runtime_error,
                           std::string{"wrong secret"});
  if (tag == 0 || tag == init_.core->tag || !peer)
    return caf::make_error(caf::sec::runtime_error,
                           std::string{"a malformed hello"});
  tags_[current_sender()->node()] = tag;
  return {init_.core->tag, init_.core->links().greet(tag, actor_ref{peer})};
}

std::uint64_t node_agent::sender_tag() {
  auto from = current_sender();
  if (!from) return 0;
  auto i = tags_.find(from->node());
  return i == tags_.end() ? 0 : i->second;
}

bool node_agent::admitted(std::uint64_t token) {
  auto tag = sender_tag();
  return tag != 0 && init_.core->links().admits(tag, token);
}

resolved_script node_agent::resolve_beneath_root(const std::string& path) {
  namespace fs = std::filesystem;
  fs::path asked{path};
  if (path.empty() || asked.is_absolute())
    throw error{"the path '" + path + "' must be relative to the node's root"};
  for (const auto& part : asked)
    if (part == "..")
      throw error{"the path '" + path + "' leaves the node's root"};
  auto root = fs::weakly_canonical(init_.core->base_dir());
  auto full = fs::weakly_canonical(root / asked);
  if (!lua_vm::path_within(full.string(), root.string()))
    throw error{"the path '" + path + "' leaves the node's root"};
  return init_.core->resolve(full, "troupe node");
}

std::pair<std::uint64_t, std::string>
node_agent::spawn(std::uint64_t token, const std::string& path,
                  std::string args, std::uint64_t inbox,
                  const lua_vm::vm_limits& limits,
                  const std::vector<std::string>& permissions,
                  creator_side creator) {
  if (!admitted(token)) return {0, "the link presented no valid token"};
  auto peer = current_sender()->node();
  auto tag = sender_tag();
  auto& count = counts_[peer];
  if (count >= max_per_peer_)
    return {0, "limit reached (" + std::to_string(max_per_peer_)
                 + " workers per peer)"};
  if (auto why = init_.core->links().from_peer(tag, args))
    return {0, "its arguments were refused: " + *why};
  try {
    auto script = resolve_beneath_root(path);
    const runtime_config& config = init_.core->config;
    // The node's own permissions, less the kinds the creator lacks: its
    // scopes name directories of its own machine. The node's fs:read stays:
    // it is what confines `load` to the root, and without it a script could
    // load any file.
    auto granted = init_.core->host_permissions;
    std::vector<std::string> held;
    for (const auto& p : permissions) held.push_back(kind_of(p));
    for (const auto& p : granted.names()) {
      auto kind = kind_of(p);
      if (kind != "fs:read"
          && std::find(held.begin(), held.end(), kind) == held.end())
        granted = granted.without(kind);
    }
    spawn_request request;
    request.chunk = script.chunk;
    request.dir = std::move(script.dir);
    request.args = std::move(args);
    request.parent = actor_ref{caf::actor_cast<caf::actor>(this)};
    request.parent_id = init_.id;
    request.parent_shared = init_.shared;
    request.parent_hidden = creator.by_host;
    request.inbox_limit = inbox != 0 ? static_cast<std::size_t>(inbox)
                                     : config.inbox_limit;
    request.permissions = std::move(granted);
    request.limits = lua_vm::tighter(limits, {config.limits.memory,
                                              config.limits.instructions,
                                              lua_vm::saturated(
                                                config.limits.timeout)});
    worker_id id = 0;
    auto link = init_.core->spawn(std::move(request), id);
    // The peer may address it, and it crosses as its stand-in there (the
    // stand-in's handle as it), before it has run.
    init_.core->links().give(tag, id);
    init_.core->links().adopt(tag, creator.stand_in, id);
    auto stand_in = caf::actor_cast<caf::actor>(current_sender());
    monitor(stand_in);
    remotes_.emplace(id, remote{stand_in, peer, tag, std::move(link)});
    ++count;
    return {id, {}};
  } catch (const std::exception& e) {
    return {0, without_root(e.what(), init_.core->base_dir())};
  }
}

void node_agent::relay_in(worker_id id, std::string_view frames) {
  auto i = remotes_.find(id);
  if (i == remotes_.end()) return;
  const child_link& link = i->second.link;
  auto& links = init_.core->links();
  // BASP takes a message of any size; what a worker may be sent is bounded
  // here, as a sender's own encoder bounds it.
  const std::size_t largest = init_.core->config.inbox_bytes;
  bool whole = for_each_frame(frames, [&](std::uint64_t call,
                                          std::string_view bytes) {
    if (bytes.size() > largest) {
      init_.core->print("troupe node: refused a message of "
                        + std::to_string(bytes.size()) + " bytes for worker "
                        + std::to_string(id) + " (at most "
                        + std::to_string(largest) + ")");
      return;
    }
    std::string crossed{bytes};
    if (auto why = links.from_peer(i->second.tag, crossed)) {
      init_.core->print("troupe node: refused a message for worker "
                        + std::to_string(id) + ": " + *why);
      return;
    }
    std::uint64_t mine = 0;
    if (call != 0) {
      // Numbered here: the worker replies to the agent, which passes the
      // reply back under the stand-in's number.
      mine = links.number();
      calls_.emplace(mine, pending_call{id, call});
    }
    link.shared->inbox.add(crossed.size());
    if (link.post({init_.id, mine, mail_kind::inbox}, crossed,
                  [&] { send(link.actor.get(), mail_atom::value); })
        != delivery::delivered)
      link.shared->inbox.release(crossed.size());
  });
  if (!whole)
    init_.core->print("troupe node: refused the rest of a malformed batch for "
                      "worker "
                      + std::to_string(id));
}

void node_agent::collect_mail() {
  init_.shared->box.collect(mail_);
  // One batch per worker and kind for the whole collection.
  std::unordered_map<worker_id, std::pair<std::string, std::string>> out;
  auto& links = init_.core->links();
  post_box::for_each(mail_, [&](const mail_header& h, std::string_view bytes) {
    if (h.kind == mail_kind::inbox) init_.shared->inbox.release(bytes.size());
    if (h.kind == mail_kind::name) {
      answer_lookups(false);
      return;
    }
    if (h.kind == mail_kind::down_ok || h.kind == mail_kind::down_failed) {
      if ((h.token & 3) == static_cast<std::uint64_t>(watch_kind::call))
        call_ended_here(*this, *init_.core, h.token >> 2);
      else
        given_ended(*this, *init_.core, h.from, h.kind == mail_kind::down_ok,
                    bytes);
      return;
    }
    auto c = h.kind == mail_kind::reply ? calls_.find(h.token) : calls_.end();
    if (h.kind == mail_kind::reply && c == calls_.end()) {
      // A local's reply to a call a peer's host made.
      reply_to_peer(*this, *init_.core, h.token, std::string{bytes});
      return;
    }
    auto i = remotes_.find(h.from);
    if (i == remotes_.end()) return;
    std::string crossing{bytes};
    if (auto why = links.to_peer(i->second.tag, crossing)) {
      init_.core->print("troupe node: dropped a message of worker "
                        + std::to_string(h.from) + ": " + *why);
      if (h.kind == mail_kind::from_child)
        i->second.link.shared->outbox.release(bytes.size());
      return;
    }
    switch (h.kind) {
      case mail_kind::from_child:
        i->second.link.shared->outbox.release(bytes.size());
        append_frame(out[h.from].first, 0, crossing);
        break;
      case mail_kind::inbox:
        append_frame(out[h.from].second, h.token, crossing);
        break;
      case mail_kind::reply:
        send(i->second.stand_in, answer_atom::value, c->second.call,
             std::move(crossing));
        calls_.erase(c);
        break;
      default: break;
    }
  });
  for (auto& [id, batches] : out) {
    const auto& stand_in = remotes_.at(id).stand_in;
    if (!batches.first.empty())
      send(stand_in, upward_atom::value, std::move(batches.first));
    if (!batches.second.empty())
      send(stand_in, relay_atom::value, std::move(batches.second));
  }
  if (lua_vm::byte_queue::outgrown(mail_, mail_.size()))
    std::string{}.swap(mail_);
}

void node_agent::child_end(worker_id id, bool ok, std::string& bytes,
                           bool cancelled) {
  // What the worker posted before its end goes first.
  collect_mail();
  auto i = remotes_.find(id);
  if (i == remotes_.end()) return;
  if (auto why = init_.core->links().to_peer(i->second.tag, bytes)) {
    auto end = lua_vm::failed_end("worker " + std::to_string(id)
                                    + " ended with what cannot cross nodes: "
                                    + *why,
                                  lua_vm::failure::error);
    bytes = std::move(end.bytes);
    ok = false;
  }
  send(i->second.stand_in, child_end_atom::value, id, ok, std::move(bytes),
       cancelled);
  if (--counts_[i->second.peer] == 0) counts_.erase(i->second.peer);
  auto stand_in = i->second.stand_in;
  remotes_.erase(i);
  init_.core->links().forget(id);
  std::erase_if(calls_, [&](const auto& c) { return c.second.worker == id; });
  bool still_used = false;
  for (const auto& [other, r] : remotes_)
    still_used = still_used || r.stand_in == stand_in;
  if (!still_used) demonitor(stand_in);
}

void node_agent::stand_in_down(const caf::actor_addr& who) {
  for (auto& [id, r] : remotes_)
    if (r.stand_in.address() == who) r.link.stop();
}

void node_agent::finish() {
  if (finished_) return;
  finished_ = true;
  // The node shuts down: its workers are cancelled, and their stand-ins
  // told so now, since their ends would find no agent.
  collect_mail();
  auto end = lua_vm::failed_end("cancelled: the node shut down",
                                lua_vm::failure::cancelled);
  for (auto& [id, r] : remotes_) {
    r.link.stop();
    send(r.stand_in, child_end_atom::value, id, false, end.bytes, true);
    demonitor(r.stand_in);
  }
  remotes_.clear();
  init_.core->worker_ended(init_.id, true);
  init_.shared->box.close();
  serialization::byte_sink sink;
  serialization::encode_values({}, sink);
  init_.core->notify_end(init_.id, *init_.shared, true, sink.view());
  quit();
}

} // namespace troupe::detail
