// The host's side of runtime_core: the workers C++ spawned, their messages
// and ends as they arrive, and the C++ threads that take them under one mutex
// with the rules a script's worker.receive follows (lua_vm::child_table),
// decoding them after the mutex is released. No CAF here.
#include <new>

#include "actors/runtime_core.hpp"
#include "lua_vm/worker_end.hpp"
#include "serialization/value_codec.hpp"

namespace troupe::detail {

namespace {

using lua_vm::child_table;

[[noreturn]] void stopped() {
  throw stopped_error{"troupe: the runtime has stopped"};
}

} // namespace

void runtime_core::post_message(worker_id id, std::string bytes) {
  {
    std::lock_guard guard{mutex_};
    std::size_t size = bytes.size();
    if (!host_children_.on_message(id, std::move(bytes))) {
      // Nobody will take it: it no longer counts against the worker's bound.
      if (auto i = host_links_.find(id); i != host_links_.end())
        i->second.shared->outbox.release(size);
      return;
    }
  }
  changed_.notify_all();
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
    if (auto i = end_observers_.find(id); i != end_observers_.end()) {
      observer = std::move(i->second);
      end_observers_.erase(i);
    } else {
      host_children_.on_end(id, std::move(end));
    }
  }
  if (observer) {
    observer(id, std::move(end));
    return;
  }
  changed_.notify_all();
}

host_selection
runtime_core::select(const std::vector<worker_id>& ids,
                     std::optional<lua_vm::clock::time_point> deadline) {
  host_selection result;
  result.values.resize(ids.size());
  std::vector<std::optional<std::string>> taken(ids.size());
  std::unique_lock lock{mutex_};
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
      changed_.wait(lock);
    } else if (changed_.wait_until(lock, *deadline) == std::cv_status::timeout
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
  const lua_vm::child_end* end = nullptr;
  while ((end = host_children_.end_of(id)) == nullptr) {
    if (stopped_) stopped();
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout
        && host_children_.end_of(id) == nullptr)
      return std::nullopt;
  }
  return *end;
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
