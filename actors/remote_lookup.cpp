// A remote lookup (see remote_lookup.hpp), and the runtime's side of
// starting one.
#include "actors/remote_lookup.hpp"

#include <caf/actor_cast.hpp>

#include "actors/messages.hpp"
#include "actors/node_links.hpp"
#include "actors/node_wire.hpp"
#include "actors/remote_worker.hpp"
#include "lua_vm/script_runner.hpp"
#include "serialization/value_codec.hpp"

namespace troupe::detail {

remote_lookup::remote_lookup(caf::actor_config& config, lookup_init init)
    : caf::event_based_actor(config), init_(std::move(init)) {}

caf::behavior remote_lookup::make_behavior() {
  set_down_handler(
    [this](caf::down_msg&) { fail("it was lost before it answered"); });
  return {
    [this](start_atom) {
      reach_node(
        *this, *init_.core, init_.host, init_.port,
        [this](const node_reached& node) {
          node_ = node;
          ask();
        },
        [this](const std::string& why, bool) { fail(why); });
    },
    [this](mail_atom) { collect_mail(); },
    [this](cancel_atom) {
      answered_ = true;
      finish({});
    },
  };
}

void remote_lookup::on_exit() {
  if (answered_) return;
  answered_ = true;
  finish({});
}

void remote_lookup::collect_mail() {
  init_.shared->box.collect(mail_);
  post_box::for_each(mail_, [&](const mail_header& h, std::string_view bytes) {
    if (h.kind != mail_kind::inbox) return;
    init_.shared->inbox.release(bytes.size());
    if (h.token == 0 || call_ != 0) return;
    caller_ = h.from;
    call_ = h.token;
    try {
      auto asked = serialization::decode_value(bytes).as_array();
      name_ = asked.at(0).as_string();
      wait_ = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double>{asked.at(1).as_double()});
    } catch (const std::exception& e) {
      fail(e.what());
    }
  });
  mail_.clear();
  if (!outcome_.empty())
    answer(std::exchange(outcome_, {}));
  else
    ask();
}

void remote_lookup::ask() {
  if (asked_ || answered_ || call_ == 0 || !node_.agent) return;
  asked_ = true;
  request(node_.agent, answer_within + wait_, lookup_atom::value, node_.token,
          name_, static_cast<std::int64_t>(wait_.count()))
    .then(
      [this](std::uint64_t tag, std::uint64_t id) {
        if (id == 0) {
          serialization::byte_sink sink;
          serialization::encode_values({value{}}, sink);
          answer(std::string{sink.view()});
          return;
        }
        auto local = init_.core->links().id_from_peer(node_.tag, tag, id);
        if (local == 0) {
          fail("it named a worker it may not give");
          return;
        }
        serialization::byte_sink sink;
        *sink.extend(1) = static_cast<char>(0x91);
        serialization::write_address(sink, init_.core->tag,
                                     {serialization::address::actor, local, 0});
        answer(std::string{sink.view()});
      },
      [this](caf::error& e) { fail(system().render(e)); });
}

void remote_lookup::fail(const std::string& why) {
  serialization::byte_sink sink;
  serialization::encode_values({value{false},
                                value{"worker.lookup: node " + init_.host + ":"
                                      + std::to_string(init_.port) + ": "
                                      + why}},
                               sink);
  answer(std::string{sink.view()});
}

void remote_lookup::answer(std::string bytes) {
  if (answered_) return;
  if (call_ == 0) {
    // The call has not come yet: it gets this when it does.
    if (outcome_.empty()) outcome_ = std::move(bytes);
    return;
  }
  answered_ = true;
  finish(std::move(bytes));
}

void remote_lookup::finish(std::string bytes) {
  auto& core = *init_.core;
  if (call_ != 0 && !bytes.empty()) {
    if (caller_ == 0)
      core.host_reply(call_, bytes);
    else if (auto link = core.find(caller_))
      link->post_reply(init_.id, call_, bytes,
                       [&] { send(link->actor.get(), mail_atom::value); });
  }
  core.worker_ended(init_.id, true);
  init_.shared->box.close();
  serialization::byte_sink none;
  serialization::encode_values({}, none);
  core.notify_end(init_.id, *init_.shared, true, none.view());
  if (node_.agent) demonitor(node_.agent);
  quit();
}

worker_id runtime_core::spawn_lookup(std::string_view node) {
  auto [host, port] = parse_node(node);
  worker_id id = 0;
  auto link = admit(
    false, 1, {},
    [&](worker_id new_id, const std::shared_ptr<worker_shared>& shared) {
      shared->script = "lookup on node " + std::string{node};
      shared->serves_links = true;
      lookup_init init{this, new_id, shared, host, port};
      return actor_ref{
        system_->spawn<remote_lookup, caf::lazy_init>(std::move(init))};
    },
    id);
  caf::anon_send(link.actor.get(), start_atom::value);
  return id;
}

} // namespace troupe::detail
