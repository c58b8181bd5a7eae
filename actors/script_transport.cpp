// The script actor's side of lua_vm::worker_transport (see script_actor.hpp):
// what the worker module asks of the actor between Lua frames — load a
// script, spawn a child within the parent's limits, post to a child or the
// parent under their queues' bounds, give those bounds back, cancel a child,
// start a timer. Every call is noexcept and reports failures as values.
#include <caf/actor_cast.hpp>

#include "actors/messages.hpp"
#include "actors/script_actor.hpp"

namespace troupe::detail {

std::optional<bytecode> script_actor::load_script(const std::string& path,
                                                  int fd,
                                                  std::string& error) noexcept {
  try {
    code_cache::failure why;
    return init_.core->cache.load(path, error, why, fd);
  } catch (const std::exception& e) {
    error = e.what();
    return std::nullopt;
  }
}

std::optional<bytecode>
script_actor::cached_script(const std::string& path,
                            std::string& canonical) noexcept {
  try {
    return init_.core->cache.cached(path, canonical);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

namespace {

// The smaller of two limits where zero means none.
template<class T>
T tighter(T a, T b) {
  if (a == T{}) return b;
  if (b == T{}) return a;
  return std::min(a, b);
}

} // namespace

lua_vm::vm_limits
script_actor::child_limits(const lua_vm::vm_limits& asked) const {
  const worker_limits& defaults = init_.core->config.limits;
  lua_vm::vm_limits wanted;
  wanted.memory = asked.memory != 0 ? asked.memory : defaults.memory;
  wanted.instructions = asked.instructions != 0 ? asked.instructions
                                                : defaults.instructions;
  wanted.wall_time = asked.wall_time.count() != 0 ? asked.wall_time
                                                  : defaults.timeout;
  const lua_vm::vm_limits& own = init_.request.limits;
  std::chrono::nanoseconds remaining{0};
  if (own.wall_time.count() > 0)
    remaining = std::max<std::chrono::nanoseconds>(std::chrono::nanoseconds{1},
                                                   started_at_ + own.wall_time
                                                     - lua_vm::clock::now());
  lua_vm::vm_limits child;
  child.memory = tighter(wanted.memory, own.memory);
  child.instructions = tighter(wanted.instructions, own.instructions);
  child.wall_time = tighter(wanted.wall_time, remaining);
  return child;
}

worker_id script_actor::spawn_child(const bytecode& chunk, std::string args,
                                    const lua_vm::child_options& options,
                                    std::string& error) noexcept {
  try {
    if (children_.size() >= init_.core->config.max_children) {
      error = "worker limit reached ("
              + std::to_string(init_.core->config.max_children) + ")";
      return 0;
    }
    spawn_request request;
    request.chunk = chunk;
    request.dir = std::filesystem::path{chunk.name()}.parent_path().string();
    request.args = std::move(args);
    request.parent = actor_ref{caf::actor_cast<caf::actor>(this)};
    request.parent_shared = init_.shared;
    request.inbox_limit = options.inbox_limit != 0
                            ? options.inbox_limit
                            : init_.core->config.inbox_limit;
    request.permissions = options.permissions;
    request.limits = child_limits(options.limits);
    worker_id id = 0;
    auto link = init_.core->spawn(std::move(request), id);
    monitor(link.actor.get());
    child_ids_.emplace(link.actor.id(), id);
    children_.emplace(id, std::move(link));
    return id;
  } catch (const std::exception& e) {
    error = e.what();
    return 0;
  }
}

bool script_actor::send_to_child(worker_id child,
                                 std::string_view bytes) noexcept {
  auto i = children_.find(child);
  if (i == children_.end() || !i->second.reserve_inbox(bytes.size()))
    return false;
  const child_link& link = i->second;
  if (!link.shared->box.deliver(0, bytes, [&] {
        send(link.actor.get(), mail_atom::value);
      })) {
    link.shared->inbox.release(bytes.size());
    return false;
  }
  ++init_.core->messages;
  return true;
}

void script_actor::cancel_child(worker_id child) noexcept {
  if (auto i = children_.find(child); i != children_.end()) i->second.stop();
}

bool script_actor::send_to_parent(std::string_view bytes) noexcept {
  auto& outbox = init_.shared->outbox;
  if (!outbox.reserve(bytes.size(), init_.core->config.inbox_limit,
                      init_.core->config.inbox_bytes))
    return false;
  bool posted = false;
  if (init_.request.parent_shared) {
    posted = init_.request.parent_shared->box.deliver(init_.id, bytes, [&] {
      send(init_.request.parent.get(), mail_atom::value);
    });
  } else {
    try {
      init_.core->post_message(init_.id, std::string{bytes});
      posted = true;
    } catch (...) {
      // Out of memory: nothing was queued at the host.
    }
  }
  if (!posted) {
    outbox.release(bytes.size());
    return false;
  }
  ++init_.core->messages;
  return true;
}

void script_actor::message_taken(worker_id child, std::size_t size) noexcept {
  if (auto i = children_.find(child); i != children_.end())
    i->second.shared->outbox.release(size);
}

void script_actor::start_timer(std::uint64_t token,
                               lua_vm::clock::duration delay) noexcept {
  delayed_send(this, delay, timer_atom::value, token);
}

void script_actor::inbox_taken(std::size_t size) noexcept {
  init_.shared->inbox.release(size);
}

} // namespace troupe::detail
