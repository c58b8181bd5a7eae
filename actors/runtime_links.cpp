// The runtime's side of its links to other nodes: the table of peers, the
// proxies it makes for their actors, the agent peers reach it through and
// listening, and starting a worker on a node.
#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>

#include "actors/foreign_actor.hpp"
#include "actors/messages.hpp"
#include "actors/node_agent.hpp"
#include "actors/node_links.hpp"
#include "actors/node_wire.hpp"
#include "actors/remote_worker.hpp"
#include "actors/spawn_actor.hpp"
#include "lua_vm/failure.hpp"
#include "lua_vm/script_runner.hpp"
#include "serialization/value_codec.hpp"

namespace troupe::detail {

void runtime_core::start_links() {
  auto make = [this](std::uint64_t peer, worker_id remote,
                     const actor_ref& gateway) -> worker_id {
    if (!gateway) return 0;
    try {
      worker_id id = 0;
      auto link = admit(
        false, config.inbox_limit, {},
        [&](worker_id new_id, const std::shared_ptr<worker_shared>& shared) {
          shared->script = "worker " + std::to_string(remote)
                           + " of another node";
          shared->serves_links = true;
          // Many locals may reply to calls its actor makes.
          shared->awaiting.store(worker_shared::any_call);
          foreign_init init{this, new_id, shared, peer, remote, gateway};
          return actor_ref{
            system_->spawn<foreign_actor, caf::lazy_init>(std::move(init))};
        },
        id);
      caf::anon_send(link.actor.get(), start_atom::value);
      return id;
    } catch (const std::exception&) {
      return 0;
    }
  };
  // The agent hears of the end of every actor given to a peer, so the
  // peer's proxy of it ends as it did.
  auto watch = [this](worker_id id) {
    const child_link& to = agent();
    watch_list::watch w{agent_id(),
                        lua_vm::watch_token(id, lua_vm::watch_kind::monitor)};
    bool watched = false;
    if (auto link = find(id)) {
      try {
        watched = link->shared->watchers.add(w);
      } catch (...) {
      }
    }
    if (!watched) {
      auto end = lua_vm::failed_end("worker " + std::to_string(id)
                                      + " had ended before it was given to "
                                        "another node",
                                    lua_vm::failure::error);
      to.post({id, w.token, mail_kind::down_failed}, end.bytes);
    }
  };
  links_ = std::make_unique<node_links>(tag, make, watch);
}

const child_link& runtime_core::agent() {
  std::lock_guard held{agent_mutex_};
  if (agent_) return *agent_;
  worker_id id = 0;
  auto link = admit(
    false, config.inbox_limit, {},
    [&](worker_id new_id, const std::shared_ptr<worker_shared>& shared) {
      shared->script = "node agent";
      shared->serves_links = true;
      // The replies to the calls it passes on come to it.
      shared->awaiting.store(worker_shared::any_call);
      node_agent_init init{this, new_id, shared};
      return actor_ref{system_->spawn<node_agent>(std::move(init))};
    },
    id);
  agent_ = std::move(link);
  agent_id_.store(id, std::memory_order_release);
  return *agent_;
}

std::pair<std::string, std::uint16_t> parse_node(std::string_view node) {
  auto fail = [&](const char* why) -> std::pair<std::string, std::uint16_t> {
    throw error{"node '" + std::string{node} + "' " + why
                + " (expected HOST:PORT)"};
  };
  auto colon = node.rfind(':');
  if (colon == std::string_view::npos) fail("has no port");
  if (colon == 0) fail("has no host");
  std::string host{node.substr(0, colon)};
  if (host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  auto digits = node.substr(colon + 1);
  if (digits.empty() || digits.size() > 5) fail("has no valid port");
  unsigned port = 0;
  for (char ch : digits) {
    if (ch < '0' || ch > '9') fail("has no valid port");
    port = port * 10 + static_cast<unsigned>(ch - '0');
  }
  if (port == 0 || port > 65535) fail("has no valid port");
  return {host, static_cast<std::uint16_t>(port)};
}

worker_id runtime_core::spawn_on_node(const std::string& path,
                                      const std::vector<value>& args,
                                      const spawn_options& options) {
  remote_request request;
  try {
    std::tie(request.host, request.port) = parse_node(options.node);
  } catch (const error& e) {
    throw error{std::string{"troupe::runtime::spawn: "} + e.what()};
  }
  serialization::byte_sink sink;
  serialization::encode_values(args, sink, {}, &value_handles_);
  request.path = path;
  request.args = std::string{sink.view()};
  request.inbox_limit = options.inbox.value_or(config.inbox_limit);
  request.limits.memory = options.memory.value_or(config.limits.memory);
  request.limits.instructions = options.instructions.value_or(
    config.limits.instructions);
  request.limits.wall_time = lua_vm::saturated(
    options.timeout.value_or(config.limits.timeout));
  request.permissions = host_permissions.names();
  worker_id id = 0;
  spawn_remote(std::move(request), id);
  serialization::byte_sink probe;
  serialization::encode_values({value{true}}, probe);
  // The stand-in answers once the node has said yes or no; it gives up on
  // a node that does not answer well within this.
  auto outcome = host_call(id, probe.view(), std::chrono::seconds{60}).get();
  if (outcome.is_string())
    throw error{
      "troupe::runtime::spawn: "
      + outcome.as_string().substr(outcome.as_string().find(':') + 2)};
  return id;
}

child_link runtime_core::spawn_remote(remote_request request, worker_id& id) {
  bool host_child = !request.parent;
  std::size_t inbox_limit = request.inbox_limit != 0 ? request.inbox_limit
                                                     : config.inbox_limit;
  auto link = admit(
    host_child, inbox_limit, {},
    [&](worker_id new_id, const std::shared_ptr<worker_shared>& shared) {
      shared->script = request.path + "@" + request.host + ":"
                       + std::to_string(request.port);
      // Replies to the calls its remote worker makes to its parent come
      // here, many at once.
      shared->awaiting.store(worker_shared::any_call);
      remote_init init{this, new_id, shared, std::move(request)};
      return actor_ref{
        system_->spawn<remote_worker, caf::lazy_init>(std::move(init))};
    },
    id);
  caf::anon_send(link.actor.get(), start_atom::value);
  return link;
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
  const auto& link = agent();
  // Before it is published, so it serves by the first hello.
  caf::anon_send(link.actor.get(), serve_atom::value, true, options.secret,
                 static_cast<std::uint64_t>(options.max_workers_per_peer));
  auto bound = system_->middleman().publish(link.actor.get(), port,
                                            host.c_str(), true);
  if (!bound) {
    caf::anon_send(link.actor.get(), serve_atom::value, false, std::string{},
                   std::uint64_t{0});
    throw error{"troupe::runtime::listen: cannot listen on " + host + ":"
                + std::to_string(port) + ": " + system_->render(bound.error())};
  }
  return *bound;
}

} // namespace troupe::detail
