// Messages between any two actors of two runtimes (see node_relay.hpp).
#include "actors/node_relay.hpp"

#include <caf/actor_cast.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/send.hpp>

#include "actors/node_wire.hpp"
#include "lua_vm/failure.hpp"
#include "lua_vm/script_runner.hpp"

namespace troupe::detail {

namespace {

using lua_vm::watch_kind;
using lua_vm::watch_token;

void dropped(runtime_core& core, worker_id to, std::string_view why) {
  core.print("troupe: a message to worker " + std::to_string(to)
             + " across nodes was dropped: " + std::string{why});
}

// Tells the peer of inbound call `c` that it failed.
void fail_inbound(caf::event_based_actor& self, runtime_core& core,
                  const inbound_call& c) {
  if (auto route = core.links().route(c.peer))
    self.send(route->gateway.get(), cfail_atom::value, core.tag, route->token,
              c.call);
}

// The watch on the actor an inbound call went to, for the agent.
watch_list::watch call_watch(runtime_core& core, std::uint64_t number) {
  return {core.agent_id(), watch_token(number, watch_kind::call)};
}

} // namespace

void reach_node(caf::event_based_actor& self, runtime_core& core,
                const std::string& host, std::uint16_t port,
                std::function<void(const node_reached&)> done,
                std::function<void(const std::string&, bool)> failed) {
  if (!self.system().has_middleman()) {
    failed("this runtime has no network (runtime_config::network)", false);
    return;
  }
  auto greet = [&self, &core, done, failed](const caf::actor& agent) {
    self.monitor(agent);
    self
      .request(agent, answer_within, hello_atom::value, core.config.node_secret,
               core.tag, core.agent().actor.get())
      .then(
        [&core, agent, done](std::uint64_t tag, std::uint64_t token) {
          core.links().greeted(tag, actor_ref{agent}, token);
          done({agent, tag, token});
        },
        [&self, failed](caf::error& e) {
          failed("it refused the link: " + self.system().render(e), false);
        });
  };
  auto mm = self.system().middleman().actor_handle();
  self.request(mm, answer_within, caf::connect_atom::value, host, port)
    .then(
      [greet, failed](const caf::node_id&, caf::strong_actor_ptr& agent,
                      const std::set<std::string>&) {
        if (!agent)
          failed("nothing serves workers there", true);
        else
          greet(caf::actor_cast<caf::actor>(agent));
      },
      [&self, failed](caf::error& e) {
        failed("cannot reach it: " + self.system().render(e), true);
      });
}

void frame_for_peer(runtime_core& core, std::uint64_t peer, worker_id self,
                    worker_id target, const mail_header& h,
                    std::string_view bytes, std::string& batch) {
  auto& links = core.links();
  std::string crossing{bytes};
  if (auto why = links.to_peer(peer, crossing)) {
    dropped(core, self, *why);
    if (h.token != 0) fail_outbound(core, {h.from, h.token, self});
    return;
  }
  std::uint64_t call = 0;
  if (h.token != 0) call = links.open_outbound({h.from, h.token, self});
  auto [tag, id] = links.id_to_peer(peer, h.from);
  append_peer_frame(batch, {call, target, tag, id, crossing});
}

void send_frames(caf::event_based_actor& self, runtime_core& core,
                 std::uint64_t peer, std::string batch) {
  if (auto route = core.links().route(peer))
    self.send(route->gateway.get(), deliver_atom::value, core.tag, route->token,
              std::move(batch));
}

bool reply_to_peer(caf::event_based_actor& self, runtime_core& core,
                   std::uint64_t number, std::string bytes) {
  auto& links = core.links();
  auto c = links.take_inbound(number);
  if (!c) return false;
  if (auto link = core.find(c->target))
    link->shared->watchers.remove(call_watch(core, number));
  auto route = links.route(c->peer);
  if (!route) return true;
  if (auto why = links.to_peer(c->peer, bytes)) {
    core.print("troupe: a reply across nodes was dropped: " + *why);
    fail_inbound(self, core, *c);
    return true;
  }
  self.send(route->gateway.get(), creply_atom::value, core.tag, route->token,
            c->call, std::move(bytes));
  return true;
}

void call_ended_here(caf::event_based_actor& self, runtime_core& core,
                     std::uint64_t number) {
  if (auto c = core.links().take_inbound(number)) fail_inbound(self, core, *c);
}

void fail_outbound(runtime_core& core, const outbound_call& c) {
  if (c.caller == 0) {
    core.host_call_ended(c.call);
    return;
  }
  if (auto link = core.find(c.caller))
    link->post({c.proxy, watch_token(c.call, watch_kind::call),
                mail_kind::down_failed},
               {});
}

void deliver_frames(caf::event_based_actor& self, runtime_core& core,
                    worker_id agent, std::uint64_t peer,
                    std::string_view batch) {
  auto& links = core.links();
  bool whole = for_each_peer_frame(batch, [&](const peer_frame& f) {
    auto refuse = [&](std::string_view why) {
      if (!why.empty()) dropped(core, f.target, why);
      if (f.call != 0) fail_inbound(self, core, {peer, f.call, f.target});
    };
    if (!links.given(peer, f.target)) {
      refuse("the node was never given that worker");
      return;
    }
    std::string bytes{f.bytes};
    if (auto why = links.from_peer(peer, bytes)) {
      refuse(*why);
      return;
    }
    auto link = core.find(f.target);
    if (!link) {
      refuse({});
      return;
    }
    worker_id from = links.id_from_peer(peer, f.from_tag, f.from_id);
    std::uint64_t number = 0;
    if (f.call != 0) {
      // The reply comes to the caller's proxy (or to the agent for the
      // peer's host) under this number, and crosses back under the peer's.
      number = links.open_inbound({peer, f.call, f.target});
      if (from == 0) from = agent;
      bool watched = false;
      try {
        watched = link->shared->watchers.add(call_watch(core, number));
      } catch (...) {
      }
      if (!watched) {
        call_ended_here(self, core, number);
        return;
      }
    }
    switch (link->post_inbox({from, number, mail_kind::inbox}, bytes)) {
      case lua_vm::send_result::sent: ++core.messages; return;
      case lua_vm::send_result::full:
        dropped(core, f.target, "inbox full");
        [[fallthrough]];
      default:
        if (number != 0) call_ended_here(self, core, number);
    }
  });
  if (!whole) dropped(core, 0, "a malformed batch");
}

void given_ended(caf::event_based_actor& self, runtime_core& core, worker_id id,
                 bool ok, std::string_view bytes) {
  auto& links = core.links();
  for (auto peer : links.ended(id)) {
    auto route = links.route(peer);
    if (!route) continue;
    std::string crossing{bytes};
    bool crossed = !links.to_peer(peer, crossing);
    if (!crossed)
      crossing = lua_vm::failed_end("worker " + std::to_string(id)
                                      + " ended with what cannot cross nodes",
                                    lua_vm::failure::error)
                   .bytes;
    self.send(route->gateway.get(), gone_atom::value, core.tag, route->token,
              id, ok && crossed, std::move(crossing));
  }
}

void proxy_gone(caf::event_based_actor& self, runtime_core& core,
                std::uint64_t peer, worker_id id, bool ok, std::string bytes) {
  auto& links = core.links();
  auto proxy = links.proxy_of(peer, id);
  if (proxy == 0 || links.from_peer(peer, bytes)) return;
  if (auto link = core.find(proxy))
    self.send(link->actor.get(), gone_atom::value, ok, std::move(bytes));
}

void reply_from_peer(runtime_core& core, std::uint64_t peer,
                     std::uint64_t number, std::string bytes) {
  auto& links = core.links();
  auto c = links.take_outbound(number);
  if (!c) return;
  if (auto why = links.from_peer(peer, bytes)) {
    core.print("troupe: a reply across nodes was dropped: " + *why);
    fail_outbound(core, *c);
    return;
  }
  if (c->caller == 0) {
    core.host_reply(c->call, bytes);
  } else if (auto link = core.find(c->caller)) {
    link->post_reply(c->proxy, c->call, bytes,
                     [&] { ring_from_here(link->actor); });
  }
}

} // namespace troupe::detail
