// A remote worker's stand-in (see remote_worker.hpp), and the runtime's side
// of starting one.
#include "actors/remote_worker.hpp"

#include <caf/actor_cast.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/send.hpp>

#include "actors/messages.hpp"
#include "actors/node_wire.hpp"
#include "lua_vm/failure.hpp"
#include "lua_vm/script_runner.hpp"
#include "serialization/value_codec.hpp"

namespace troupe::detail {

namespace {

// How long a node may take to accept the link and answer the hello and the
// spawn before the worker counts as lost.
constexpr auto answer_within = std::chrono::seconds{10};

std::string encode_outcome(const value& v) {
  serialization::byte_sink sink;
  serialization::encode_values({v}, sink);
  return std::string{sink.view()};
}

} // namespace

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

remote_worker::remote_worker(caf::actor_config& config, remote_init init)
    : caf::event_based_actor(config), init_(std::move(init)) {}

caf::behavior remote_worker::make_behavior() {
  set_exception_handler([this](caf::scheduled_actor*, std::exception_ptr&) {
    lose("the stand-in failed");
    return caf::make_error(caf::sec::runtime_error);
  });
  set_down_handler([this](caf::down_msg& msg) {
    if (init_.request.parent && msg.source == init_.request.parent.get()) {
      if (stage_ == stage::refused) {
        finish(false, std::move(refusal_), false);
        return;
      }
      // An orphan: its remote worker goes with its creator, now or as soon
      // as the node has started it.
      orphaned_ = true;
      if (stage_ == stage::running) ask_cancel();
      return;
    }
    if (msg.source == agent_)
      lose("worker " + std::to_string(init_.id) + " on node " + where()
           + " was lost: the node died, stopped answering or closed the "
             "link");
  });
  if (init_.request.parent) monitor(init_.request.parent.get());
  return {
    [this](start_atom) { connect(); },
    [this](mail_atom) { collect_mail(); },
    [this](upward_atom, const std::string& frames) { upward(frames); },
    [this](relay_atom, const std::string& frames) { from_remote(frames); },
    [this](answer_atom, std::uint64_t call, const std::string& bytes) {
      answer(call, bytes);
    },
    [this](child_end_atom, std::uint64_t id, bool ok, std::string& bytes,
           bool cancelled) {
      if (id == remote_id_) finish(ok, std::move(bytes), cancelled);
    },
    [this](cancel_atom) {
      if (stage_ == stage::running) {
        ask_cancel();
        return;
      }
      auto end = lua_vm::failed_end(lua_vm::stop_message(
                                      lua_vm::stop_reason::cancelled),
                                    lua_vm::failure::cancelled);
      finish(false, std::move(end.bytes), true);
    },
  };
}

void remote_worker::on_exit() {
  if (stage_ == stage::refused)
    finish(false, std::move(refusal_), false);
  else if (stage_ != stage::finished)
    lose("the stand-in ended");
  init_.shared->box.close();
}

std::string remote_worker::where() const {
  return init_.request.host + ":" + std::to_string(init_.request.port);
}

void remote_worker::connect() {
  if (!system().has_middleman()) {
    refused("this runtime has no network (runtime_config::network)", false);
    return;
  }
  auto mm = system().middleman().actor_handle();
  request(mm, answer_within, caf::connect_atom::value, init_.request.host,
          init_.request.port)
    .then(
      [this](const caf::node_id&, caf::strong_actor_ptr& agent,
             const std::set<std::string>&) {
        if (!agent) {
          refused("nothing serves workers there", true);
          return;
        }
        greet(caf::actor_cast<caf::actor>(agent));
      },
      [this](caf::error& e) {
        refused("cannot reach it: " + system().render(e), true);
      });
}

void remote_worker::greet(const caf::actor& agent) {
  agent_ = agent;
  monitor(agent_);
  request(agent_, answer_within, hello_atom::value,
          init_.core->config.node_secret)
    .then([this](std::uint64_t token) { ask_spawn(token); },
          [this](caf::error& e) {
            refused("it refused the link: " + system().render(e), false);
          });
}

void remote_worker::ask_spawn(std::uint64_t token) {
  token_ = token;
  const auto& r = init_.request;
  request(agent_, answer_within, spawn_atom::value, token_, r.path, r.args,
          static_cast<std::uint64_t>(r.inbox_limit),
          static_cast<std::uint64_t>(r.limits.memory),
          static_cast<std::uint64_t>(r.limits.instructions),
          static_cast<std::int64_t>(r.limits.wall_time.count()), r.permissions,
          r.parent_id == 0)
    .then(
      [this](std::uint64_t id, const std::string& why) {
        if (id == 0)
          refused(why, false);
        else
          started(id);
      },
      [this](caf::error& e) {
        refused("it did not start the worker: " + system().render(e), true);
      });
}

void remote_worker::started(std::uint64_t remote_id) {
  remote_id_ = remote_id;
  stage_ = stage::running;
  if (orphaned_) {
    ask_cancel();
    return;
  }
  if (start_seen_) answer_start(encode_outcome(value{true}));
  if (!early_.empty()) relay(std::exchange(early_, {}));
}

void remote_worker::ask_cancel() {
  // Once: the worker's end comes back as the node's child_end.
  if (!cancel_asked_) send(agent_, cancel_atom::value, token_, remote_id_);
  cancel_asked_ = true;
}

void remote_worker::refused(const std::string& reason, bool lost) {
  std::string why = "worker.create: node " + where() + ": " + reason;
  auto end = lua_vm::failed_end(why, lost ? lua_vm::failure::lost
                                          : lua_vm::failure::error);
  if (orphaned_) {
    finish(false, std::move(end.bytes), false);
    return;
  }
  if (start_seen_) {
    answer_start(encode_outcome(value{why}));
    finish(false, std::move(end.bytes), false);
    return;
  }
  // It ends once its creator's start call has its answer, so the creator
  // raises this reason rather than "ended".
  outcome_ = encode_outcome(value{why});
  refusal_ = std::move(end.bytes);
  stage_ = stage::refused;
}

void remote_worker::answer_start(std::string_view outcome) {
  if (init_.request.parent_id == 0) {
    init_.core->host_reply(start_call_, outcome);
    return;
  }
  if (auto link = init_.core->find(init_.request.parent_id))
    link->post_reply(init_.id, start_call_, outcome,
                     [&] { send(link->actor.get(), mail_atom::value); });
}

void remote_worker::collect_mail() {
  init_.shared->box.collect(mail_);
  // What locals sent goes as one batch; before the worker runs it waits.
  std::string batch = std::exchange(early_, {});
  post_box::for_each(mail_, [&](const mail_header& h, std::string_view bytes) {
    if (h.kind == mail_kind::reply) {
      // Its parent answers a call the remote worker made to it.
      if (auto c = outgoing_.find(h.token); c != outgoing_.end()) {
        if (stage_ == stage::running)
          send(agent_, answer_atom::value, token_, remote_id_, c->second,
               std::string{bytes});
        outgoing_.erase(c);
      }
      return;
    }
    if (h.kind != mail_kind::inbox) return;
    init_.shared->inbox.release(bytes.size());
    if (!start_seen_ && h.token != 0 && h.from == init_.request.parent_id) {
      take_start_call(h.token);
      return;
    }
    std::uint64_t call = 0;
    if (h.token != 0) {
      call = next_call_++;
      incoming_.emplace(call, caller{h.from, h.token});
    }
    append_frame(batch, call, bytes);
  });
  if (stage_ == stage::running && !batch.empty())
    relay(std::move(batch));
  else if (stage_ == stage::connecting)
    early_ = std::move(batch);
  if (lua_vm::byte_queue::outgrown(mail_, mail_.size()))
    std::string{}.swap(mail_);
}

void remote_worker::take_start_call(std::uint64_t call) {
  start_seen_ = true;
  start_call_ = call;
  if (stage_ == stage::running) {
    answer_start(encode_outcome(value{true}));
  } else if (stage_ == stage::refused) {
    answer_start(outcome_);
    finish(false, std::move(refusal_), false);
  }
}

void remote_worker::relay(std::string frames) {
  send(agent_, relay_atom::value, token_, remote_id_, std::move(frames));
}

void remote_worker::answer(std::uint64_t call, const std::string& bytes) {
  auto c = incoming_.find(call);
  if (c == incoming_.end()) return;
  caller who = c->second;
  incoming_.erase(c);
  if (who.id == 0) {
    init_.core->host_reply(who.call, bytes);
  } else if (auto link = init_.core->find(who.id)) {
    link->post_reply(init_.id, who.call, bytes,
                     [&] { send(link->actor.get(), mail_atom::value); });
  }
}

void remote_worker::upward(const std::string& frames) {
  if (stage_ == stage::finished) return;
  for_each_frame(frames, [&](std::uint64_t, std::string_view bytes) {
    init_.shared->meters.sent(bytes.size());
    if (init_.request.parent_shared) {
      init_.shared->outbox.add(bytes.size());
      init_.request.parent_shared->box
        .deliver({init_.id, 0, mail_kind::from_child}, bytes,
                 [&] { send(init_.request.parent.get(), mail_atom::value); });
    } else {
      init_.core->post_message(init_.id, std::string{bytes});
    }
  });
}

void remote_worker::from_remote(const std::string& frames) {
  if (stage_ == stage::finished) return;
  if (init_.request.parent_id == 0) {
    // The host has no inbox: what the worker sends to its parent reaches
    // the host as its messages do (a call there is not answered).
    upward(frames);
    return;
  }
  auto link = init_.core->find(init_.request.parent_id);
  if (!link) return;
  for_each_frame(frames, [&](std::uint64_t call, std::string_view bytes) {
    std::uint64_t mine = 0;
    if (call != 0) {
      // Numbered here, so the parent's reply comes back to this stand-in.
      mine = next_call_++;
      outgoing_.emplace(mine, call);
    }
    init_.shared->meters.sent(bytes.size());
    link->shared->inbox.add(bytes.size());
    link->post({init_.id, mine, mail_kind::inbox}, bytes,
               [&] { send(link->actor.get(), mail_atom::value); });
  });
}

void remote_worker::lose(const std::string& why) {
  if (stage_ == stage::refused) return;
  if (stage_ == stage::connecting) {
    refused("it was lost before the worker started", true);
    return;
  }
  auto end = lua_vm::failed_end(why, lua_vm::failure::lost);
  finish(false, std::move(end.bytes), false);
}

void remote_worker::finish(bool ok, std::string bytes, bool cancelled) {
  if (stage_ == stage::finished) return;
  stage_ = stage::finished;
  // As a script worker ends (script_actor::finish).
  init_.core->worker_ended(init_.id, ok);
  init_.core->drop_names(init_.id, false);
  init_.shared->box.close();
  init_.core->notify_end(init_.id, *init_.shared, ok, bytes);
  if (init_.request.parent) {
    send(init_.request.parent.get(), child_end_atom::value, init_.id, ok,
         std::move(bytes), cancelled);
    demonitor(init_.request.parent.get());
  } else {
    init_.core->post_end(init_.id, {ok, std::move(bytes), cancelled});
  }
  if (agent_) demonitor(agent_);
  quit();
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

} // namespace troupe::detail
