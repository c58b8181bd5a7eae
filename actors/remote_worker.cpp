// A remote worker's stand-in (see remote_worker.hpp), and the runtime's side
// of starting one.
#include "actors/remote_worker.hpp"

#include <caf/actor_cast.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/send.hpp>

#include "actors/messages.hpp"
#include "actors/node_links.hpp"
#include "actors/node_relay.hpp"
#include "actors/node_wire.hpp"
#include "lua_vm/failure.hpp"
#include "lua_vm/script_runner.hpp"
#include "serialization/value_codec.hpp"

namespace troupe::detail {

namespace {

std::string encode_outcome(const value& v) {
  serialization::byte_sink sink;
  serialization::encode_values({v}, sink);
  return std::string{sink.view()};
}

} // namespace

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
    // The node's agent (monitored from before the hello).
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
    [this](answer_atom, std::uint64_t call, std::string& bytes) {
      answer(call, bytes);
    },
    [this](child_end_atom, std::uint64_t id, bool ok, std::string& bytes,
           bool cancelled) {
      if (id != remote_id_) return;
      if (auto why = init_.core->links().from_peer(node_tag_, bytes)) {
        ok = false;
        bytes = lua_vm::failed_end("worker " + std::to_string(init_.id)
                                     + " on node " + where()
                                     + " ended with what was refused: " + *why,
                                   lua_vm::failure::error)
                  .bytes;
      }
      finish(ok, std::move(bytes), cancelled);
    },
    // Its end comes as child_end.
    [](gone_atom, bool, const std::string&) {},
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
  reach_node(
    *this, *init_.core, init_.request.host, init_.request.port,
    [this](const node_reached& node) {
      agent_ = node.agent;
      node_tag_ = node.tag;
      ask_spawn(node.token);
    },
    [this](const std::string& why, bool lost) { refused(why, lost); });
}

void remote_worker::ask_spawn(std::uint64_t token) {
  token_ = token;
  auto& r = init_.request;
  auto& links = init_.core->links();
  if (auto why = links.to_peer(node_tag_, r.args)) {
    refused("its arguments cannot cross: " + *why, false);
    return;
  }
  // The node's worker crosses as this stand-in from its first message on.
  links.give(node_tag_, init_.id);
  request(agent_, answer_within, spawn_atom::value, token_, r.path, r.args,
          static_cast<std::uint64_t>(r.inbox_limit),
          static_cast<std::uint64_t>(r.limits.memory),
          static_cast<std::uint64_t>(r.limits.instructions),
          static_cast<std::int64_t>(r.limits.wall_time.count()), r.permissions,
          r.parent_id == 0, static_cast<std::uint64_t>(init_.id))
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
  // Its worker's handle, when it comes back, is this stand-in's.
  init_.core->links().adopt(node_tag_, remote_id_, init_.id);
  if (orphaned_) {
    ask_cancel();
    return;
  }
  if (start_seen_) answer_start(encode_outcome(value{true}));
  collect_mail();
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
  // The start call may be waiting in the box.
  collect_mail();
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
  // Until the node has answered, mail waits in the box: its handles cross by
  // the node's tag, and the worker's id is not known yet.
  if (stage_ == stage::connecting) return;
  init_.shared->box.collect(mail_);
  auto& links = init_.core->links();
  // The creator's messages go on the worker's own link (it is the worker's
  // parent there); anyone else's as frames from its own handle.
  std::string batch;
  std::string frames;
  post_box::for_each(mail_, [&](const mail_header& h, std::string_view bytes) {
    if (h.kind == mail_kind::reply) {
      reply_mail(h.token, bytes);
      return;
    }
    if (h.kind != mail_kind::inbox) return;
    init_.shared->inbox.release(bytes.size());
    if (!start_seen_ && h.token != 0 && h.from == init_.request.parent_id) {
      take_start_call(h.token);
      return;
    }
    if (stage_ != stage::running) return;
    if (h.from != init_.request.parent_id) {
      frame_for_peer(*init_.core, node_tag_, init_.id, remote_id_, h, bytes,
                     frames);
      return;
    }
    std::string crossing{bytes};
    if (auto why = links.to_peer(node_tag_, crossing)) {
      init_.core->print("troupe: a message to worker "
                        + std::to_string(init_.id) + " on node " + where()
                        + " was dropped: " + *why);
      if (h.token != 0) fail_outbound(*init_.core, {h.from, h.token, init_.id});
      return;
    }
    std::uint64_t call = 0;
    if (h.token != 0) {
      call = links.number();
      incoming_.emplace(call, caller{h.from, h.token});
    }
    append_frame(batch, call, crossing);
  });
  if (!batch.empty()) relay(std::move(batch));
  if (!frames.empty())
    send_frames(*this, *init_.core, node_tag_, std::move(frames));
  if (lua_vm::byte_queue::outgrown(mail_, mail_.size()))
    std::string{}.swap(mail_);
}

void remote_worker::reply_mail(std::uint64_t token, std::string_view bytes) {
  auto c = outgoing_.find(token);
  if (c == outgoing_.end()) {
    // A local's reply to a call the worker made to it by its handle.
    reply_to_peer(*this, *init_.core, token, std::string{bytes});
    return;
  }
  // Its parent answers a call the remote worker made to it.
  std::string crossing{bytes};
  auto why = init_.core->links().to_peer(node_tag_, crossing);
  if (why)
    init_.core->print("troupe: a reply to worker " + std::to_string(init_.id)
                      + " on node " + where() + " was dropped: " + *why);
  else if (stage_ == stage::running)
    send(agent_, answer_atom::value, token_, remote_id_, c->second,
         std::move(crossing));
  outgoing_.erase(c);
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

void remote_worker::answer(std::uint64_t call, std::string& bytes) {
  auto c = incoming_.find(call);
  if (c == incoming_.end()) return;
  caller who = c->second;
  incoming_.erase(c);
  if (auto why = init_.core->links().from_peer(node_tag_, bytes)) {
    init_.core->print("troupe: a reply of worker " + std::to_string(init_.id)
                      + " on node " + where() + " was refused: " + *why);
    fail_outbound(*init_.core, {who.id, who.call, init_.id});
    return;
  }
  if (who.id == 0) {
    init_.core->host_reply(who.call, bytes);
  } else if (auto link = init_.core->find(who.id)) {
    link->post_reply(init_.id, who.call, bytes,
                     [&] { send(link->actor.get(), mail_atom::value); });
  }
}

bool remote_worker::crossed_in(std::string& bytes) {
  auto why = init_.core->links().from_peer(node_tag_, bytes);
  if (why)
    init_.core->print("troupe: a message of worker " + std::to_string(init_.id)
                      + " on node " + where() + " was refused: " + *why);
  return !why;
}

void remote_worker::upward(const std::string& frames) {
  if (stage_ == stage::finished) return;
  for_each_frame(frames, [&](std::uint64_t, std::string_view framed) {
    std::string bytes{framed};
    if (!crossed_in(bytes)) return;
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
    // The host has no inbox (the worker has no parent handle; this is its
    // agent's): what reaches it goes to the host as the worker's messages.
    upward(frames);
    return;
  }
  auto link = init_.core->find(init_.request.parent_id);
  if (!link) return;
  for_each_frame(frames, [&](std::uint64_t call, std::string_view framed) {
    std::string bytes{framed};
    if (!crossed_in(bytes)) return;
    std::uint64_t mine = 0;
    if (call != 0) {
      // Numbered here, so the parent's reply comes back to this stand-in.
      mine = init_.core->links().number();
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
  init_.core->links().forget(init_.id);
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

} // namespace troupe::detail
