// The script actor's side of lua_vm::worker_transport (see script_actor.hpp):
// what the worker module asks of the actor between Lua frames — load a
// script, spawn a child within the parent's limits, post to any actor or the
// parent under their queues' bounds, give those bounds back, cancel a child,
// call and reply, watch an end, names, start a timer. Every call is noexcept
// and reports failures as values.
#include <caf/actor_cast.hpp>

#include "actors/host_callbacks.hpp"
#include "actors/messages.hpp"
#include "actors/remote_worker.hpp"
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

lua_vm::vm_limits
script_actor::child_limits(const lua_vm::vm_limits& asked) const {
  const worker_limits& defaults = init_.core->config.limits;
  lua_vm::vm_limits wanted;
  wanted.memory = asked.memory != 0 ? asked.memory : defaults.memory;
  wanted.instructions = asked.instructions != 0 ? asked.instructions
                                                : defaults.instructions;
  wanted.wall_time = asked.wall_time.count() != 0 ? asked.wall_time
                                                  : defaults.timeout;
  // Its own limits, with the wall time it has left.
  lua_vm::vm_limits own = init_.request.limits;
  if (own.wall_time.count() > 0)
    own.wall_time = std::max<
      std::chrono::nanoseconds>(std::chrono::nanoseconds{1},
                                started_at_ + own.wall_time
                                  - lua_vm::clock::now());
  return lua_vm::tighter(wanted, own);
}

worker_id script_actor::spawn_child(const bytecode& chunk, std::string args,
                                    const lua_vm::child_options& options,
                                    std::string& error) noexcept {
  try {
    if (!room_for_child(error)) return 0;
    spawn_request request;
    request.chunk = chunk;
    request.dir = options.home.empty()
                    ? std::filesystem::path{chunk.name()}.parent_path().string()
                    : options.home;
    request.supervises = options.supervises;
    request.args = std::move(args);
    request.parent = actor_ref{caf::actor_cast<caf::actor>(this)};
    request.parent_id = init_.id;
    request.parent_shared = init_.shared;
    request.inbox_limit = options.inbox_limit != 0
                            ? options.inbox_limit
                            : init_.core->config.inbox_limit;
    request.permissions = options.permissions;
    request.limits = child_limits(options.limits);
    worker_id id = 0;
    auto link = init_.core->spawn(std::move(request), id);
    adopt(std::move(link), id);
    return id;
  } catch (const std::exception& e) {
    error = e.what();
    return 0;
  }
}

worker_id script_actor::spawn_remote(std::string_view node,
                                     const std::string& path, std::string args,
                                     const lua_vm::child_options& options,
                                     std::string& error) noexcept {
  try {
    if (!room_for_child(error)) return 0;
    remote_request request;
    std::tie(request.host, request.port) = parse_node(node);
    request.path = path;
    request.args = std::move(args);
    request.inbox_limit = options.inbox_limit;
    request.limits = child_limits(options.limits);
    request.permissions = options.permissions.names();
    request.parent = actor_ref{caf::actor_cast<caf::actor>(this)};
    request.parent_id = init_.id;
    request.parent_shared = init_.shared;
    worker_id id = 0;
    auto link = init_.core->spawn_remote(std::move(request), id);
    adopt(std::move(link), id);
    return id;
  } catch (const std::exception& e) {
    error = e.what();
    return 0;
  }
}

worker_id script_actor::lookup_remote(std::string_view node,
                                      std::string& error) noexcept {
  try {
    return init_.core->spawn_lookup(node);
  } catch (const std::exception& e) {
    error = e.what();
    return 0;
  }
}

void script_actor::cancel_lookup(worker_id asker) noexcept {
  if (const child_link* link = link_to(asker)) link->stop();
}

bool script_actor::room_for_child(std::string& error) const {
  if (children_.size() < init_.core->config.max_children) return true;
  error = "worker limit reached ("
          + std::to_string(init_.core->config.max_children) + ")";
  return false;
}

void script_actor::adopt(child_link link, worker_id id) {
  monitor(link.actor.get());
  child_ids_.emplace(link.actor.id(), id);
  children_.emplace(id, std::move(link));
}

void script_actor::cancel_child(worker_id child) noexcept {
  if (auto i = children_.find(child); i != children_.end()) i->second.stop();
}

bool script_actor::send_to_parent(std::string_view bytes) noexcept {
  auto& outbox = init_.shared->outbox;
  if (!outbox.reserve(bytes.size(), init_.core->config.inbox_limit,
                      init_.core->config.inbox_bytes))
    return false;
  init_.shared->meters.sent(bytes.size());
  bool posted = false;
  if (init_.request.parent_shared) {
    posted = init_.request.parent_shared->box
               .deliver({init_.id, 0, mail_kind::from_child}, bytes,
                        [&] { ring(init_.request.parent); })
             == delivery::delivered;
  } else if (init_.shared->routed.load(std::memory_order_acquire)) {
    // A host callback takes this worker's messages (host_callbacks.cpp).
    const host_route& route = init_.shared->route;
    posted = route.observer->box.deliver({init_.id, 0, mail_kind::from_child},
                                         bytes, [&] { ring(route.actor); })
             == delivery::delivered;
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
    init_.shared->meters.unsent(bytes.size());
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

bool script_actor::arm_message_timer(std::uint64_t id,
                                     lua_vm::clock::time_point due) noexcept {
  return init_.core->arm_message_timer(init_.id, id, due);
}

void script_actor::inbox_taken(std::size_t size) noexcept {
  init_.shared->inbox.release(size);
}

void script_actor::ring(const actor_ref& actor) {
  send(actor.get(), mail_atom::value);
}

const child_link* script_actor::link_to(worker_id id) noexcept {
  if (auto i = children_.find(id); i != children_.end()) return &i->second;
  if (auto i = peers_.find(id); i != peers_.end()) return &i->second;
  try {
    auto link = init_.core->find(id);
    if (!link) return nullptr;
    return &peers_.emplace(id, std::move(*link)).first->second;
  } catch (...) {
    return nullptr;
  }
}

lua_vm::send_result script_actor::send_to(worker_id to, std::uint64_t call,
                                          std::string_view bytes) noexcept {
  const child_link* link = link_to(to);
  if (link == nullptr) return lua_vm::send_result::dead;
  init_.shared->meters.sent(bytes.size());
  auto r = link->post_inbox({init_.id, call, mail_kind::inbox}, bytes,
                            [&] { ring(link->actor); });
  if (r == lua_vm::send_result::sent)
    ++init_.core->messages;
  else
    init_.shared->meters.unsent(bytes.size());
  return r;
}

void script_actor::awaiting_reply(std::uint64_t call) noexcept {
  init_.shared->awaiting.store(call, std::memory_order_release);
}

bool script_actor::reply_to(worker_id caller, std::uint64_t call,
                            std::string_view bytes) noexcept {
  const child_link* link = caller == 0 ? nullptr : link_to(caller);
  init_.shared->meters.sent(bytes.size());
  bool replied = caller == 0
                   ? init_.core->host_reply(call, bytes)
                   : link != nullptr
                       && link->post_reply(init_.id, call, bytes,
                                           [&] { ring(link->actor); });
  if (!replied) init_.shared->meters.unsent(bytes.size());
  return replied;
}

bool script_actor::watch(worker_id target, std::uint64_t token) noexcept {
  const child_link* link = link_to(target);
  if (link == nullptr) return false;
  try {
    return link->shared->watchers.add({init_.id, token});
  } catch (...) {
    return false;
  }
}

void script_actor::unwatch(worker_id target, std::uint64_t token) noexcept {
  if (const child_link* link = link_to(target))
    link->shared->watchers.remove({init_.id, token});
}

bool script_actor::alive(worker_id id) noexcept {
  if (children_.contains(id)) return true;
  try {
    return init_.core->find(id).has_value();
  } catch (...) {
    return true;
  }
}

lua_vm::name_result
script_actor::register_name(std::string_view name) noexcept {
  try {
    return init_.core->register_name(name, init_.id);
  } catch (...) {
    return lua_vm::name_result::failed;
  }
}

lua_vm::name_result script_actor::hold_name(std::string_view name) noexcept {
  try {
    return init_.core->hold_name(name, init_.id);
  } catch (...) {
    return lua_vm::name_result::failed;
  }
}

bool script_actor::bind_name(std::string_view name, worker_id child) noexcept {
  try {
    return init_.core->bind_name(name, init_.id, child);
  } catch (...) {
    return false;
  }
}

void script_actor::release_name(std::string_view name) noexcept {
  try {
    init_.core->release_name(name, init_.id);
  } catch (...) {
    // Out of memory for the key: the name goes when this supervisor ends.
  }
}

worker_id script_actor::lookup(std::string_view name) noexcept {
  try {
    return init_.core->lookup(name);
  } catch (...) {
    return 0;
  }
}

bool script_actor::await_name(std::string_view name) noexcept {
  try {
    awaited_name_ = true;
    init_.core->await_name(name, init_.id);
    return true;
  } catch (...) {
    return false;
  }
}

void script_actor::forget_name_wait(std::string_view name) noexcept {
  try {
    init_.core->forget_name_wait(name, init_.id);
  } catch (...) {
    // Out of memory for the key: the wait stays listed until this worker
    // ends.
  }
}

void script_actor::forget_peer(worker_id id) noexcept {
  peers_.erase(id);
}

bool script_actor::info(worker_id id, lua_vm::worker_info& out) noexcept {
  try {
    if (!init_.core->info(id, out)) return false;
  } catch (...) {
    return false;
  }
  // Its own figures as of now, not as of its last run's end.
  if (id == init_.id && runner_) {
    out.memory = runner_->ctl().used;
    out.waiting = false;
  }
  return true;
}

} // namespace troupe::detail
