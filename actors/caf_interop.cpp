// troupe/caf.hpp: the CAF actor behind a handle, a handle for a CAF actor (a
// native actor that forwards each message to it as a troupe::envelope and
// ends when it does), the runtime's actor system; and what troupe's actors
// do with a troupe::value a CAF actor sends them (caf_interop.hpp).
#include "troupe/caf.hpp"

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include "actors/caf_interop.hpp"
#include "actors/runtime_access.hpp"
#include "actors/runtime_core.hpp"

namespace troupe {

namespace detail {

std::uintptr_t caf_key(const caf::strong_actor_ptr& actor) noexcept {
  return reinterpret_cast<std::uintptr_t>(actor.get());
}

namespace {

std::string what_of(std::exception_ptr e) {
  try {
    if (e) std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
  }
  return "the call failed";
}

} // namespace

mail_header caf_header(runtime_core& core, worker_id to,
                       caf::scheduled_actor& self) {
  auto* element = self.current_mailbox_element();
  mail_header h{0, 0, mail_kind::inbox};
  if (!element->mid.is_request()) {
    h.from = core.caf_peer(caf_key(element->sender));
    return h;
  }
  // The reply of the call (from the host, so worker.reply answers the host's
  // call table) is the response.
  auto promise = self.make_response_promise();
  h.token = core.open_call(to, [promise](value* v,
                                         std::exception_ptr e) mutable {
    if (v != nullptr)
      promise.deliver(std::move(*v));
    else
      promise.deliver(caf::make_error(caf::sec::runtime_error, what_of(e)));
  });
  if (h.token == 0)
    promise.deliver(
      caf::make_error(caf::sec::runtime_error, "the worker has ended"));
  return h;
}

void refuse_caf_value(runtime_core& core, worker_id to,
                      caf::scheduled_actor& self, const std::string& why) {
  auto* element = self.current_mailbox_element();
  if (element->mid.is_request()) {
    self.make_response_promise().deliver(
      caf::make_error(caf::sec::runtime_error, why));
    return;
  }
  core.print("troupe: warning: a CAF message to worker " + std::to_string(to)
             + " was dropped: " + why);
}

worker_id runtime_core::caf_peer(std::uintptr_t key) const {
  if (key == 0) return 0;
  std::lock_guard guard{caf_mutex_};
  auto i = caf_peers_.find(key);
  return i == caf_peers_.end() ? 0 : i->second;
}

worker_id runtime_core::add_caf_peer(std::uintptr_t key, worker_id id) {
  std::lock_guard guard{caf_mutex_};
  return caf_peers_.emplace(key, id).first->second;
}

void runtime_core::drop_caf_peer(std::uintptr_t key, worker_id id) noexcept {
  std::lock_guard guard{caf_mutex_};
  if (auto i = caf_peers_.find(key); i != caf_peers_.end() && i->second == id)
    caf_peers_.erase(i);
}

caf::actor_system& runtime_core::system() {
  std::lock_guard live{live_mutex_};
  if (!system_) throw stopped_error{"troupe: the runtime has stopped"};
  return *system_;
}

} // namespace detail

caf::actor actor_of(const worker& w) {
  auto& core = detail::worker_access::core(w);
  core.check_running();
  auto link = core.find(w.id());
  if (!link)
    throw error{"troupe::actor_of: worker " + std::to_string(w.id())
                + " has ended"};
  return link->actor.get();
}

worker worker_of(runtime& rt, const caf::actor& a) {
  if (!a) throw error{"troupe::worker_of: the actor is invalid"};
  auto core = detail::runtime_access::core(rt);
  core->check_running();
  auto key = detail::caf_key(caf::actor_cast<caf::strong_actor_ptr>(a));
  if (auto id = core->caf_peer(key)) return core->make_worker(id);
  auto id = core->spawn_native([a](envelope& e) { caf::anon_send(a, e); },
                               detail::actor_ref{a}, key);
  auto known = core->add_caf_peer(key, id);
  // Another thread gave it a handle meanwhile: that one stays.
  if (known != id) core->cancel_host_worker(id);
  return core->make_worker(known);
}

caf::actor_system& actor_system_of(runtime& rt) {
  return detail::runtime_access::core(rt)->system();
}

} // namespace troupe
