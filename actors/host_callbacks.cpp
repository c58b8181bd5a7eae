// Host callbacks (runtime::on_message, runtime::on_end): an observer actor per
// observed worker takes the worker's messages to the host and its end from
// its own post box and calls the host's callbacks on a scheduler thread, so
// no host thread is blocked per worker. A host child's messages queued before
// the callback was set move into the box first, and the child then posts
// straight to it (worker_shared::route); its end follows its last message
// into the same box (post_end), so every message comes before the end, each
// once. The end of a worker that is not the host's child comes by a watch.
#include "actors/host_callbacks.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "actors/messages.hpp"
#include "actors/runtime_core.hpp"
#include "actors/spawn_actor.hpp"
#include "lua_vm/worker_end.hpp"
#include "serialization/value_codec.hpp"

namespace troupe::detail {

namespace {

struct observer_init {
  runtime_core* core;
  worker_id watched;
  std::shared_ptr<host_observer> observer;
};

// Calls one host callback: what it throws is counted and reported, and one
// that holds the thread past a slice is too.
template<class F, class Arg>
void call_back(runtime_core& core, const F& f, const Arg& arg) noexcept {
  if (!f) return;
  auto started = lua_vm::clock::now();
  try {
    f(arg);
  } catch (const std::exception& e) {
    core.note_callback_error(e.what());
  } catch (...) {
    core.note_callback_error("an unknown exception (not a std::exception)");
  }
  auto held = lua_vm::clock::now() - started;
  if (held > core.config.time_slice) core.note_slow("a host callback", held);
}

class observer_actor : public caf::event_based_actor {
public:
  observer_actor(caf::actor_config& config, observer_init init)
      : caf::event_based_actor(config),
        init_(std::move(init)),
        acting_{0, this, ring_from} {}

  caf::behavior make_behavior() override {
    return {
      [this](mail_atom) { collect_mail(); },
      // Made in a race and never used (runtime_core::observer_of).
      [this](cancel_atom) { quit(); },
    };
  }

private:
  static void ring_from(void* self, const actor_ref& to) {
    static_cast<observer_actor*>(self)->send(to.get(), mail_atom::value);
  }

  void collect_mail() {
    init_.observer->box.collect(mail_);
    const acting_actor* previous = acting;
    acting = &acting_;
    post_box::for_each(mail_, [&](const mail_header& h,
                                  std::string_view bytes) { file(h, bytes); });
    acting = previous;
    if (lua_vm::byte_queue::outgrown(mail_, mail_.size()))
      std::string{}.swap(mail_);
  }

  void file(const mail_header& h, std::string_view bytes) {
    runtime_core& core = *init_.core;
    if (ended_) return;
    if (h.kind == mail_kind::from_child) {
      if (auto child = init_.observer->child.lock())
        child->outbox.release(bytes.size());
      try {
        auto v = serialization::decode_value(bytes, {}, &core.value_handles());
        call_back(core, init_.observer->on_message, v);
      } catch (const std::exception& e) {
        core.note_callback_error(e.what());
      }
      return;
    }
    if (h.kind != mail_kind::down_ok && h.kind != mail_kind::down_failed)
      return;
    ended_ = true;
    auto on_end = core.observer_done(init_.watched, init_.observer.get());
    try {
      auto info = core.exit_of(h.kind == mail_kind::down_ok,
                               std::string{bytes});
      call_back(core, on_end, info);
    } catch (const std::exception& e) {
      core.note_callback_error(e.what());
    }
    init_.observer->box.close();
    quit();
  }

  observer_init init_;
  acting_actor acting_;
  std::string mail_;
  bool ended_ = false;
};

[[noreturn]] void stopped() {
  throw stopped_error{"troupe: the runtime has stopped"};
}

// The end of a worker that had gone before its observer could watch it.
std::string ended_before(worker_id id) {
  return lua_vm::encode_end_error(
    {"worker " + std::to_string(id) + " had ended before on_end was set",
     "",
     lua_vm::failure::error,
     {}});
}

} // namespace

runtime_core::observer_entry&
runtime_core::observer_of(worker_id id, std::unique_lock<std::mutex>& lock) {
  if (auto i = observers_.find(id); i != observers_.end()) return i->second;
  // Spawned without the mutex: spawning takes the directory's lock, which
  // comes before this one.
  lock.unlock();
  auto observer = std::make_shared<host_observer>();
  actor_ref actor;
  try {
    actor = spawn_actor<observer_actor>(observer_init{this, id, observer});
  } catch (...) {
    lock.lock();
    throw;
  }
  lock.lock();
  auto [i, fresh] = observers_.emplace(id, observer_entry{observer, actor});
  if (!fresh) caf::anon_send(actor.get(), cancel_atom::value);
  return i->second;
}

void runtime_core::end_to_observer(worker_id id, bool ok,
                                   std::string_view bytes) noexcept {
  auto i = observers_.find(id);
  if (i == observers_.end() || i->second.end_posted) return;
  i->second.end_posted = true;
  const auto& e = i->second;
  e.observer->box.deliver({id, 0,
                           ok ? mail_kind::down_ok : mail_kind::down_failed},
                          bytes, [&] { ring_from_here(e.actor); });
}

void runtime_core::observer_down(worker_id id, bool ok,
                                 std::string_view bytes) noexcept {
  std::lock_guard guard{mutex_};
  end_to_observer(id, ok, bytes);
}

std::function<void(const exit_info&)>
runtime_core::observer_done(worker_id id, const host_observer* o) noexcept {
  std::lock_guard guard{mutex_};
  auto i = observers_.find(id);
  if (i == observers_.end() || i->second.observer.get() != o) return {};
  auto on_end = std::move(i->second.observer->on_end);
  observers_.erase(i);
  return on_end;
}

void runtime_core::on_message(worker_id id,
                              std::function<void(const value&)> callback) {
  if (!callback)
    throw std::invalid_argument{
      "troupe::runtime::on_message: the callback is empty"};
  std::unique_lock lock{mutex_};
  if (stopped_) stopped();
  auto not_child = [&] {
    return error{"troupe::runtime::on_message: worker " + std::to_string(id)
                 + " is not a child of the host (only the host's own "
                   "workers send to it)"};
  };
  if (!host_children_.contains(id)) throw not_child();
  auto& entry = observer_of(id, lock);
  if (!host_children_.contains(id)) throw not_child();
  if (entry.observer->on_message)
    throw error{"troupe::runtime::on_message: worker " + std::to_string(id)
                + " has a message callback already"};
  // Both written before anything is posted to the observer, which reads
  // them as it takes the messages.
  entry.observer->on_message = std::move(callback);
  auto link = host_links_.find(id);
  if (link != host_links_.end()) entry.observer->child = link->second.shared;
  // What the host has not taken yet goes first, in its order.
  while (host_children_.has_message(id)) {
    auto d = entry.observer->box.deliver({id, 0, mail_kind::from_child},
                                         host_children_.front_message(id),
                                         [&] { entry.actor.ring(); });
    if (d == delivery::no_memory) throw std::bad_alloc{};
    host_children_.pop_message(id);
  }
  if (link != host_links_.end()) {
    link->second.shared->route = {entry.observer, entry.actor};
    link->second.shared->routed.store(true, std::memory_order_release);
  } else if (const auto* end = host_children_.end_of(id)) {
    end_to_observer(id, end->ok, end->bytes);
  }
}

void runtime_core::on_end(worker_id id,
                          std::function<void(const exit_info&)> callback) {
  if (!callback)
    throw std::invalid_argument{
      "troupe::runtime::on_end: the callback is empty"};
  std::unique_lock lock{mutex_};
  if (stopped_) stopped();
  auto& entry = observer_of(id, lock);
  if (entry.observer->on_end)
    throw error{"troupe::runtime::on_end: worker " + std::to_string(id)
                + " has an end callback already"};
  entry.observer->on_end = std::move(callback);
  if (host_children_.contains(id)) {
    // post_end brings the end if it has not come yet.
    if (const auto* end = host_children_.end_of(id))
      end_to_observer(id, end->ok, end->bytes);
    return;
  }
  lock.unlock();
  // Any other worker's end comes by a watch, or has come already.
  auto link = find(id);
  watch_list::watch w{0, lua_vm::watch_token(id, lua_vm::watch_kind::monitor)};
  if (!link || !link->shared->watchers.add(w))
    observer_down(id, false, ended_before(id));
}

void runtime_core::note_slow(std::string_view who,
                             std::chrono::nanoseconds held) noexcept {
  ++slow_handlers;
  if (slow_reported_.exchange(true)) return;
  try {
    print("troupe: warning: " + std::string{who}
          + " held a scheduler thread for "
          + std::to_string(held.count() / 1000) + " us, past the time slice of "
          + std::to_string(config.time_slice.count())
          + " us (handlers and callbacks must not block; further cases are "
            "only counted)");
  } catch (...) {
    // No memory for the warning: the counter still says it.
  }
}

void runtime_core::note_callback_error(std::string_view what) noexcept {
  ++callback_errors;
  if (error_reported_.exchange(true)) return;
  try {
    print("troupe: warning: a host callback threw: " + std::string{what}
          + " (further ones are only counted)");
  } catch (...) {
    // No memory for the warning: the counter still says it.
  }
}

} // namespace troupe::detail
