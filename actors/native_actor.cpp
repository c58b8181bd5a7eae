// The native actor (see native_actor.hpp), and the runtime's side of it.
#include "actors/native_actor.hpp"

#include <stdexcept>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include "actors/caf_interop.hpp"
#include "actors/messages.hpp"
#include "lua_vm/script_runner.hpp"
#include "serialization/value_codec.hpp"
#include "troupe/caf.hpp"

namespace troupe::detail {

namespace {

// What an exception that ended a handler says.
std::string describe(std::exception_ptr e, worker_id id) {
  try {
    if (e) std::rethrow_exception(e);
  } catch (const std::bad_alloc&) {
    return "not enough memory";
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "native actor " + std::to_string(id)
           + ": an unknown exception (not a std::exception)";
  }
  return "worker ended unexpectedly";
}

// Makes `actor` this thread's acting actor for one handler call.
class acting_scope {
public:
  explicit acting_scope(const acting_actor& actor) noexcept
      : previous_(acting) {
    acting = &actor;
  }
  acting_scope(const acting_scope&) = delete;
  acting_scope& operator=(const acting_scope&) = delete;
  ~acting_scope() {
    acting = previous_;
  }

private:
  const acting_actor* previous_;
};

} // namespace

envelope envelope_access::make(std::weak_ptr<runtime_core> core, value message,
                               worker_id self, worker_id from,
                               std::uint64_t call) {
  envelope e;
  e.core_ = std::move(core);
  e.message_ = std::move(message);
  e.self_ = self;
  e.from_ = from;
  e.call_ = call;
  return e;
}

native_actor::native_actor(caf::actor_config& config, native_init init)
    : caf::event_based_actor(config),
      init_(std::move(init)),
      weak_core_(init_.core->weak_from_this()),
      acting_{init_.id, this, ring_from, &init_.shared->meters} {}

void native_actor::ring_from(void* self, const actor_ref& to) {
  auto* me = static_cast<native_actor*>(self);
  me->send(to.get(), mail_atom::value);
}

caf::behavior native_actor::make_behavior() {
  set_exception_handler([this](caf::scheduled_actor*, std::exception_ptr& e) {
    fail_from(e);
    return caf::make_error(caf::sec::runtime_error);
  });
  if (init_.watched) {
    monitor(init_.watched.get());
    set_down_handler([this](caf::down_msg& msg) {
      if (msg.reason == caf::exit_reason::normal || !msg.reason) {
        serialization::byte_sink sink;
        serialization::encode_values({}, sink);
        finish(true, std::string{sink.view()}, false);
      } else {
        fail_from(std::make_exception_ptr(
          error{"the CAF actor ended: " + to_string(msg.reason)}));
      }
    });
  }
  return {
    [this](mail_atom) { collect_mail(); },
    // From a CAF actor (troupe/caf.hpp).
    [this](value& v) {
      if (finished_) {
        refuse_caf_value(*init_.core, init_.id, *this, "it has ended");
        return;
      }
      deliver_value(caf_header(*init_.core, init_.id, *this), std::move(v));
    },
    [this](envelope_atom, std::uint64_t from, std::uint64_t token,
           std::uint8_t kind, const std::string& bytes) {
      if (kind == static_cast<std::uint8_t>(mail_kind::inbox))
        deliver({from, token, mail_kind::inbox}, bytes);
    },
    [this](cancel_atom) {
      auto end = lua_vm::failed_end(lua_vm::stop_message(
                                      lua_vm::stop_reason::cancelled),
                                    lua_vm::failure::cancelled);
      finish(false, std::move(end.bytes), true);
    },
  };
}

void native_actor::on_exit() {
  if (!finished_) fail_from(nullptr);
  init_.shared->box.close();
}

void native_actor::collect_mail() {
  init_.shared->box.collect(mail_);
  post_box::for_each(mail_, [&](const mail_header& h, std::string_view bytes) {
    if (h.kind != mail_kind::inbox || finished_) return;
    init_.shared->inbox.release(bytes.size());
    deliver(h, bytes);
  });
  if (lua_vm::byte_queue::outgrown(mail_, mail_.size()))
    std::string{}.swap(mail_);
}

bool native_actor::deliver(const mail_header& h, std::string_view bytes) {
  if (finished_) return false;
  try {
    return deliver_value(h, serialization::decode_value(bytes, {},
                                                        &init_.core
                                                           ->value_handles()));
  } catch (...) {
    fail_from(std::current_exception());
    return false;
  }
}

bool native_actor::deliver_value(const mail_header& h, value message) {
  if (finished_) return false;
  try {
    auto e = envelope_access::make(weak_core_, std::move(message), init_.id,
                                   h.from, h.token);
    auto& meters = init_.shared->meters;
    lua_vm::worker_meters::add(meters.messages_in);
    auto started = lua_vm::clock::now();
    std::uint64_t began = lua_vm::cycle_count();
    {
      acting_scope scope{acting_};
      init_.handler(e);
    }
    lua_vm::worker_meters::add(meters.busy, lua_vm::cycle_count() - began);
    auto held = lua_vm::clock::now() - started;
    if (held > init_.core->config.time_slice)
      init_.core->note_slow("native actor " + std::to_string(init_.id), held);
    return true;
  } catch (...) {
    fail_from(std::current_exception());
    return false;
  }
}

void native_actor::finish(bool ok, std::string bytes, bool cancelled) {
  if (finished_) return;
  finished_ = true;
  // As a script worker ends: out of the directory, then its names; the box
  // refuses what comes now; watchers learn the end, and the host last.
  init_.core->worker_ended(init_.id, ok);
  init_.core->drop_names(init_.id, false);
  if (init_.caf_key != 0) init_.core->drop_caf_peer(init_.caf_key, init_.id);
  init_.shared->box.close();
  init_.core->notify_end(init_.id, *init_.shared, ok, bytes);
  init_.core->post_end(init_.id, {ok, std::move(bytes), cancelled});
  quit();
}

void native_actor::fail_from(std::exception_ptr e) noexcept {
  if (finished_) return;
  try {
    auto end = lua_vm::failed_end(describe(e, init_.id));
    finish(false, std::move(end.bytes), false);
  } catch (...) {
    if (!finished_) {
      finished_ = true;
      init_.core->worker_ended(init_.id, false);
    }
    quit();
  }
}

worker_id runtime_core::spawn_native(native_handler handler,
                                     const actor_ref& watched,
                                     std::uintptr_t caf_key) {
  if (!handler)
    throw std::invalid_argument{
      "troupe::runtime::spawn_native: the handler is empty"};
  worker_id id = 0;
  admit(
    true, config.inbox_limit, {},
    [&](worker_id new_id, const std::shared_ptr<worker_shared>& shared) {
      shared->script = "native";
      shared->meters.waiting.store(true, std::memory_order_relaxed);
      native_init init{this,    new_id, shared, std::move(handler),
                       watched, caf_key};
      return actor_ref{
        system_->spawn<native_actor, caf::lazy_init>(std::move(init))};
    },
    id);
  return id;
}

} // namespace troupe::detail
