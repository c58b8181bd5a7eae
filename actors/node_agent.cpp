// A node's agent (see node_agent.hpp), and the runtime's side of listening.
#include "actors/node_agent.hpp"

#include <filesystem>
#include <random>

#include <caf/actor_cast.hpp>
#include <caf/io/middleman.hpp>
#include <caf/send.hpp>

#include "actors/messages.hpp"
#include "actors/node_wire.hpp"
#include "actors/remote_worker.hpp"
#include "lua_vm/failure.hpp"
#include "lua_vm/script_runner.hpp"
#include "serialization/value_codec.hpp"

namespace troupe::detail {

namespace {

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

void append_frame(std::string& batch, std::uint64_t call,
                  std::string_view bytes) {
  auto put = [&](std::uint64_t n) {
    for (int i = 0; i < 8; ++i)
      batch.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  };
  put(call);
  put(bytes.size());
  batch.append(bytes);
}

bool take_u64(std::string_view& in, std::uint64_t& out) noexcept {
  if (in.size() < 8) return false;
  out = 0;
  for (int i = 0; i < 8; ++i)
    out |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[i]))
           << (8 * i);
  in.remove_prefix(8);
  return true;
}

void load_network(caf::actor_system_config& config) {
  using namespace std::chrono_literals;
  config.load<caf::io::middleman>();
  config.set("middleman.heartbeat-interval", caf::timespan{200ms});
  config.set("middleman.connection-timeout", caf::timespan{1500ms});
  config.set("middleman.workers", std::size_t{0});
  config.set("middleman.app-identifiers",
             std::vector<std::string>{node_protocol});
}

node_agent::node_agent(caf::actor_config& config, node_agent_init init)
    : caf::event_based_actor(config), init_(std::move(init)) {}

caf::behavior node_agent::make_behavior() {
  set_down_handler([this](caf::down_msg& msg) { stand_in_down(msg.source); });
  return {
    [this](hello_atom,
           const std::string& secret) -> caf::result<std::uint64_t> {
      if (!init_.secret.empty() && !same_secret(secret, init_.secret))
        return caf::make_error(caf::sec::runtime_error,
                               std::string{"wrong secret"});
      return hello(secret);
    },
    [this](spawn_atom, std::uint64_t token, const std::string& path,
           std::string& args, std::uint64_t inbox, std::uint64_t memory,
           std::uint64_t instructions, std::int64_t timeout_ns,
           const std::vector<std::string>& permissions, bool by_host)
      -> caf::result<std::uint64_t, std::string> {
      lua_vm::vm_limits limits;
      limits.memory = static_cast<std::size_t>(memory);
      limits.instructions = instructions;
      limits.wall_time = std::chrono::nanoseconds{timeout_ns};
      auto [id, why] = spawn(token, path, std::move(args), inbox, limits,
                             permissions, by_host);
      return {id, why};
    },
    [this](relay_atom, std::uint64_t token, std::uint64_t id,
           const std::string& frames) {
      if (admitted(token)) relay_in(id, frames);
    },
    [this](answer_atom, std::uint64_t token, std::uint64_t id,
           std::uint64_t call, const std::string& bytes) {
      if (!admitted(token)) return;
      auto i = remotes_.find(id);
      if (i == remotes_.end()) return;
      const child_link& link = i->second.link;
      link.post_reply(init_.id, call, bytes,
                      [&] { send(link.actor.get(), mail_atom::value); });
    },
    [this](cancel_atom, std::uint64_t token, std::uint64_t id) {
      if (!admitted(token)) return;
      if (auto i = remotes_.find(id); i != remotes_.end())
        i->second.link.stop();
    },
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

std::uint64_t node_agent::hello(const std::string&) {
  auto peer = current_sender()->node();
  auto& token = tokens_[peer];
  if (token == 0) {
    std::random_device random;
    while (token == 0)
      token = (static_cast<std::uint64_t>(random()) << 32) | random();
  }
  return token;
}

bool node_agent::admitted(std::uint64_t token) {
  auto from = current_sender();
  if (!from || token == 0) return false;
  auto i = tokens_.find(from->node());
  return i != tokens_.end() && i->second == token;
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
                  bool by_host) {
  if (!admitted(token)) return {0, "the link presented no valid token"};
  auto peer = current_sender()->node();
  auto& count = counts_[peer];
  if (count >= init_.max_per_peer)
    return {0, "limit reached (" + std::to_string(init_.max_per_peer)
                 + " workers per peer)"};
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
    request.parent_hidden = by_host;
    request.inbox_limit = inbox != 0 ? static_cast<std::size_t>(inbox)
                                     : config.inbox_limit;
    request.permissions = std::move(granted);
    request.limits = lua_vm::tighter(limits, {config.limits.memory,
                                              config.limits.instructions,
                                              lua_vm::saturated(
                                                config.limits.timeout)});
    worker_id id = 0;
    auto link = init_.core->spawn(std::move(request), id);
    auto stand_in = caf::actor_cast<caf::actor>(current_sender());
    monitor(stand_in);
    remotes_.emplace(id, remote{stand_in, peer, std::move(link)});
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
    std::uint64_t mine = 0;
    if (call != 0) {
      // Numbered here: the worker replies to the agent, which passes the
      // reply back under the stand-in's number.
      mine = next_call_++;
      calls_.emplace(mine, pending_call{id, call});
    }
    link.shared->inbox.add(bytes.size());
    if (link.post({init_.id, mine, mail_kind::inbox}, bytes,
                  [&] { send(link.actor.get(), mail_atom::value); })
        != delivery::delivered)
      link.shared->inbox.release(bytes.size());
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
  post_box::for_each(mail_, [&](const mail_header& h, std::string_view bytes) {
    if (h.kind == mail_kind::inbox) init_.shared->inbox.release(bytes.size());
    auto i = remotes_.find(h.from);
    if (i == remotes_.end()) return;
    switch (h.kind) {
      case mail_kind::from_child:
        i->second.link.shared->outbox.release(bytes.size());
        append_frame(out[h.from].first, 0, bytes);
        break;
      case mail_kind::inbox:
        append_frame(out[h.from].second, h.token, bytes);
        break;
      case mail_kind::reply:
        if (auto c = calls_.find(h.token); c != calls_.end()) {
          send(i->second.stand_in, answer_atom::value, c->second.call,
               std::string{bytes});
          calls_.erase(c);
        }
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
  send(i->second.stand_in, child_end_atom::value, id, ok, std::move(bytes),
       cancelled);
  if (--counts_[i->second.peer] == 0) counts_.erase(i->second.peer);
  auto stand_in = i->second.stand_in;
  remotes_.erase(i);
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

std::uint16_t runtime_core::listen(const std::string& host, std::uint16_t port,
                                   const listen_options& options) {
  check_running();
  if (!system_->has_middleman())
    throw error{"troupe::runtime::listen: this runtime has no network "
                "(runtime_config::network)"};
  bool loopback = host == "127.0.0.1" || host == "::1" || host == "localhost";
  if (!loopback && options.secret.empty())
    throw error{"troupe::runtime::listen: listening on " + host
                + " (not loopback) needs a secret (--secret-file)"};
  worker_id id = 0;
  auto link = admit(
    false, config.inbox_limit, {},
    [&](worker_id new_id, const std::shared_ptr<worker_shared>& shared) {
      shared->script = "node agent";
      // The workers' replies to the calls it passes on come to it.
      shared->awaiting.store(worker_shared::any_call);
      node_agent_init init{this, new_id, shared, options.secret,
                           options.max_workers_per_peer};
      return actor_ref{system_->spawn<node_agent>(std::move(init))};
    },
    id);
  auto bound = system_->middleman().publish(link.actor.get(), port,
                                            host.c_str(), true);
  if (!bound) {
    link.actor.cancel();
    throw error{"troupe::runtime::listen: cannot listen on " + host + ":"
                + std::to_string(port) + ": " + system_->render(bound.error())};
  }
  return *bound;
}

} // namespace troupe::detail
