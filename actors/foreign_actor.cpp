// The proxy of another runtime's actor (see foreign_actor.hpp).
#include "actors/foreign_actor.hpp"

#include <caf/actor_cast.hpp>

#include "actors/messages.hpp"
#include "actors/node_relay.hpp"
#include "actors/node_wire.hpp"
#include "lua_vm/failure.hpp"
#include "lua_vm/script_runner.hpp"

namespace troupe::detail {

foreign_actor::foreign_actor(caf::actor_config& config, foreign_init init)
    : caf::event_based_actor(config), init_(std::move(init)) {}

caf::behavior foreign_actor::make_behavior() {
  set_down_handler([this](caf::down_msg&) {
    auto end = lua_vm::failed_end("worker " + std::to_string(init_.id)
                                    + " of another node was lost: the node "
                                      "died, stopped answering or "
                                      "closed the link",
                                  lua_vm::failure::lost);
    finish(false, std::move(end.bytes));
  });
  monitor(init_.gateway.get());
  return {
    [](start_atom) {},
    [this](mail_atom) { collect_mail(); },
    [this](gone_atom, bool ok, std::string& bytes) {
      finish(ok, std::move(bytes));
    },
    [this](cancel_atom) {
      auto end = lua_vm::failed_end(lua_vm::stop_message(
                                      lua_vm::stop_reason::cancelled),
                                    lua_vm::failure::cancelled);
      finish(false, std::move(end.bytes));
    },
  };
}

void foreign_actor::on_exit() {
  if (!finished_) {
    auto end = lua_vm::failed_end("the proxy ended", lua_vm::failure::lost);
    finish(false, std::move(end.bytes));
  }
}

void foreign_actor::collect_mail() {
  init_.shared->box.collect(mail_);
  std::string batch;
  post_box::for_each(mail_, [&](const mail_header& h, std::string_view bytes) {
    switch (h.kind) {
      case mail_kind::inbox:
        init_.shared->inbox.release(bytes.size());
        frame_for_peer(*init_.core, init_.peer, init_.id, init_.remote, h,
                       bytes, batch);
        break;
      case mail_kind::reply:
        // A local's reply to a call this proxy's actor made.
        reply_to_peer(*this, *init_.core, h.token, std::string{bytes});
        break;
      default: break;
    }
  });
  if (!batch.empty())
    send_frames(*this, *init_.core, init_.peer, std::move(batch));
  if (lua_vm::byte_queue::outgrown(mail_, mail_.size()))
    std::string{}.swap(mail_);
}

void foreign_actor::finish(bool ok, std::string bytes) {
  if (finished_) return;
  finished_ = true;
  auto& core = *init_.core;
  core.links().forget(init_.id);
  core.worker_ended(init_.id, ok);
  core.drop_names(init_.id, false);
  init_.shared->box.close();
  core.notify_end(init_.id, *init_.shared, ok, bytes);
  demonitor(init_.gateway.get());
  quit();
}

} // namespace troupe::detail
