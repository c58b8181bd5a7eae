// The host's side of runtime_core: the workers C++ spawned, their messages
// and ends as they arrive, and the C++ threads that take them under one mutex
// with the rules a script's worker.receive follows (lua_vm::child_table),
// each woken only by news of a worker it waits for, decoding after the mutex
// is released. No CAF here.
#include <algorithm>
#include <new>
#include <span>

#include "actors/host_callbacks.hpp"
#include "actors/runtime_core.hpp"
#include "lua_vm/worker_end.hpp"
#include "serialization/value_codec.hpp"

namespace troupe::detail {

namespace {

using lua_vm::child_table;

[[noreturn]] void stopped() {
  throw stopped_error{"troupe: the runtime has stopped"};
}

// Receive and join read what the host's own children send it.
[[noreturn]] void not_a_child(worker_id id) {
  throw error{"troupe::runtime: worker " + std::to_string(id)
              + " is not a child of the host (only the host's own workers "
                "can be received from or joined)"};
}

} // namespace

// One host thread's wait: the workers it waits for and its own wake-up, so a
// message for one worker wakes only the threads that wait for it. Listed
// while it lives or until leave(), under the runtime's mutex.
struct runtime_core::host_waiter {
  host_waiter(std::vector<host_waiter*>& list,
              std::span<const worker_id> waited)
      : ids(waited), list_(list) {
    list_.push_back(this);
  }
  host_waiter(const host_waiter&) = delete;
  host_waiter& operator=(const host_waiter&) = delete;
  ~host_waiter() {
    leave();
  }
  void leave() noexcept {
    if (listed_) std::erase(list_, this);
    listed_ = false;
  }

  std::span<const worker_id> ids;
  std::condition_variable wake;

private:
  std::vector<host_waiter*>& list_;
  bool listed_ = true;
};

void runtime_core::wake_host_waiters(worker_id id) noexcept {
  for (host_waiter* w : host_waiters_)
    if (id == 0 || std::find(w->ids.begin(), w->ids.end(), id) != w->ids.end())
      w->wake.notify_one();
}

void runtime_core::post_message(worker_id id, std::string bytes) {
  {
    std::lock_guard guard{mutex_};
    std::size_t size = bytes.size();
    // A callback set while this message was on its way takes it.
    if (auto o = observers_.find(id);
        o != observers_.end() && o->second.observer->on_message) {
      const auto& e = o->second;
      auto d = e.observer->box.deliver({id, 0, mail_kind::from_child}, bytes,
                                       [&] { ring_from_here(e.actor); });
      if (d == delivery::no_memory) throw std::bad_alloc{};
      return;
    }
    if (!host_children_.on_message(id, std::move(bytes))) {
      // Nobody will take it: it no longer counts against the worker's bound.
      if (auto i = host_links_.find(id); i != host_links_.end())
        i->second.shared->outbox.release(size);
      return;
    }
    wake_host_waiters(id);
  }
}

worker_ref::~worker_ref() {
  core->forget_host_worker(id);
}

void runtime_core::forget_host_worker(worker_id id) noexcept {
  std::lock_guard guard{mutex_};
  host_refs_.erase(id);
  host_children_.forget(id);
  if (!host_children_.contains(id)) host_links_.erase(id);
}

bool runtime_core::is_host_worker(worker_id id) const {
  std::lock_guard guard{mutex_};
  return host_children_.contains(id);
}

std::size_t runtime_core::host_workers() const {
  std::lock_guard guard{mutex_};
  return host_children_.size();
}

void runtime_core::post_end(worker_id id, lua_vm::child_end end) {
  std::function<void(worker_id, lua_vm::child_end)> observer;
  {
    std::lock_guard guard{mutex_};
    host_links_.erase(id);
    end_to_observer(id, end.ok, end.bytes);
    if (auto i = end_observers_.find(id); i != end_observers_.end()) {
      observer = std::move(i->second);
      end_observers_.erase(i);
    } else {
      host_children_.on_end(id, std::move(end));
      wake_host_waiters(id);
    }
  }
  if (observer) observer(id, std::move(end));
}

host_selection
runtime_core::select(const std::vector<worker_id>& ids,
                     std::optional<lua_vm::clock::time_point> deadline) {
  host_selection result;
  result.values.resize(ids.size());
  std::vector<std::optional<std::string>> taken(ids.size());
  std::unique_lock lock{mutex_};
  for (worker_id id : ids)
    if (!host_children_.contains(id)) not_a_child(id);
  host_waiter self{host_waiters_, ids};
  for (;;) {
    if (stopped_) stopped();
    auto d = host_children_.select(ids);
    switch (d.kind) {
      case child_table::decision::take:
        for (std::size_t i = 0; i < ids.size(); ++i) {
          if (host_children_.has_message(ids[i])) {
            taken[i].emplace(host_children_.front_message(ids[i]));
            if (auto link = host_links_.find(ids[i]); link != host_links_.end())
              link->second.shared->outbox.release(taken[i]->size());
            host_children_.pop_message(ids[i]);
          }
        }
        // Decoded without the lock: other host threads go on meanwhile, and
        // a handle in a message needs the lock to become a troupe::worker.
        self.leave();
        lock.unlock();
        for (std::size_t i = 0; i < ids.size(); ++i)
          if (taken[i])
            result.values[i] = serialization::decode_value(*taken[i], {},
                                                           &value_handles_);
        return result;
      case child_table::decision::raise:
        std::rethrow_exception(
          lua_vm::end_exception(host_children_.take_error(ids[d.index])));
      case child_table::decision::all_drained: return result;
      case child_table::decision::wait: break;
    }
    if (!deadline) {
      self.wake.wait(lock);
    } else if (self.wake.wait_until(lock, *deadline) == std::cv_status::timeout
               && host_children_.select(ids).kind
                    == child_table::decision::wait) {
      result.timed_out = true;
      return result;
    }
  }
}

std::optional<lua_vm::child_end>
runtime_core::wait_end(worker_id id, lua_vm::clock::time_point deadline) {
  std::unique_lock lock{mutex_};
  if (!host_children_.contains(id)) not_a_child(id);
  host_waiter self{host_waiters_, {&id, 1}};
  const lua_vm::child_end* end = nullptr;
  while ((end = host_children_.end_of(id)) == nullptr) {
    if (stopped_) stopped();
    if (self.wake.wait_until(lock, deadline) == std::cv_status::timeout
        && host_children_.end_of(id) == nullptr)
      return std::nullopt;
  }
  return *end;
}

exit_info runtime_core::exit_of(bool ok, const std::string& bytes) const {
  exit_info info;
  info.ok = ok;
  if (ok)
    info.values = serialization::decode_value(bytes, {}, &value_handles_)
                    .as_array();
  else
    info.error = lua_vm::end_script_error(bytes);
  return info;
}

std::filesystem::path runtime_core::base_dir() const {
  return config.base_dir.empty() ? std::filesystem::current_path()
                                 : config.base_dir;
}

resolved_script runtime_core::resolve(const std::filesystem::path& path,
                                      std::string_view caller) {
  if (path.native().find('\0') != std::string::npos)
    throw error{std::string{caller} + ": the path contains a NUL byte"};
  auto full = (path.is_absolute() ? path : base_dir() / path)
                .lexically_normal();
  std::string message;
  code_cache::failure why = code_cache::failure::none;
  auto chunk = cache.load(full.string(), message, why);
  if (!chunk) {
    if (why == code_cache::failure::syntax) throw compile_error{message};
    throw error{message};
  }
  return {std::move(*chunk), full.parent_path().string()};
}

bool runtime_core::host_worker_dead(worker_id id) const {
  std::lock_guard guard{mutex_};
  if (stopped_) stopped();
  return host_children_.dead(id);
}

void runtime_core::cancel_host_worker(worker_id id) {
  std::lock_guard guard{mutex_};
  if (stopped_) stopped();
  host_children_.note_cancel(id);
  if (auto i = host_links_.find(id); i != host_links_.end()) i->second.stop();
}

} // namespace troupe::detail
