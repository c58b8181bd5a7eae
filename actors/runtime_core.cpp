// The runtime's shared state (see runtime_core.hpp).
#include "actors/runtime_core.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <stdexcept>
#include <thread>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>

#include "actors/messages.hpp"
#include "actors/node_links.hpp"
#include "actors/node_wire.hpp"
#include "actors/scheduler.hpp"
#include "actors/script_actor.hpp"
#include "lua_vm/modules.hpp"
#include "lua_vm/worker_end.hpp"
#include "serialization/value_codec.hpp"
#include "troupe/error.hpp"

namespace troupe::detail {

/// The timer thread behind cancel_later and the host's call timeouts: it runs
/// each action when its time comes, earliest first (an orphan's cancel holds
/// its worker by address, so a worker that ends first is not kept alive by
/// it); a host call answered in time takes its timeout back.
class runtime_core::reaper {
public:
  ~reaper() {
    stop();
  }

  /// Runs nothing more; returns once the thread has ended.
  void stop() {
    std::map<timer_key, std::function<void()>> dropped;
    {
      std::lock_guard guard{mutex_};
      stop_ = true;
      pending_.swap(dropped);
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

  /// Runs `action` (which must not throw) on the timer thread after `delay`;
  /// returns the key that cancels it.
  timer_key add(std::chrono::nanoseconds delay, std::function<void()> action) {
    std::lock_guard guard{mutex_};
    timer_key key{lua_vm::deadline_in(delay), next_++};
    if (stop_) return key;
    bool earliest = pending_.empty() || key < pending_.begin()->first;
    pending_.emplace(key, std::move(action));
    if (!thread_.joinable()) thread_ = std::thread{[this] { run(); }};
    if (earliest) wake_.notify_one();
    return key;
  }

  /// Drops the action of `key` unless it has run.
  void cancel(const timer_key& key) noexcept {
    std::lock_guard guard{mutex_};
    pending_.erase(key);
  }

  /// Actions waiting for their time.
  std::size_t pending() {
    std::lock_guard guard{mutex_};
    return pending_.size();
  }

private:
  void run() {
    std::unique_lock lock{mutex_};
    while (!stop_) {
      if (pending_.empty()) {
        wake_.wait(lock);
        continue;
      }
      // A copy: the first entry may go (cancelled) while the lock is released
      // in the wait.
      auto next = pending_.begin()->first.first;
      if (wake_.wait_until(lock, next) == std::cv_status::no_timeout) continue;
      auto now = std::chrono::steady_clock::now();
      std::vector<std::function<void()>> due;
      while (!pending_.empty() && pending_.begin()->first.first <= now) {
        due.push_back(std::move(pending_.begin()->second));
        pending_.erase(pending_.begin());
      }
      // Run unlocked: an action may add the next one, or cancel another.
      lock.unlock();
      for (auto& action : due) action();
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::map<timer_key, std::function<void()>> pending_;
  std::uint64_t next_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

bool queue_charge::reserve(std::size_t size, std::size_t max_messages,
                           std::size_t max_bytes) noexcept {
  if (messages.fetch_add(1, std::memory_order_relaxed) >= max_messages) {
    messages.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  // A message larger than the bound alone still goes into an empty queue: the
  // message size limit bounds it, and it must be able to travel at all.
  std::size_t before = bytes.fetch_add(size, std::memory_order_relaxed);
  if (before != 0 && before + size > max_bytes) {
    release(size);
    return false;
  }
  return true;
}

bool child_link::reserve_inbox(std::size_t size) const noexcept {
  return shared->inbox.reserve(size, inbox_limit, inbox_bytes);
}

void child_link::stop() const {
  shared->cancel.store(true);
  actor.cancel();
}

namespace {

// Nonzero, and unlikely to be any other runtime's.
std::uint64_t draw_tag() {
  std::random_device device;
  std::uint64_t t = 0;
  while (t == 0) t = (static_cast<std::uint64_t>(device()) << 32) ^ device();
  return t;
}

} // namespace

runtime_core::runtime_core(runtime_config cfg)
    : tag(draw_tag()),
      config(std::move(cfg)),
      cache(config.max_script_size),
      modules(
        lua_vm::make_module_catalog(config.lua_path, config.lua_path_readable,
                                    config.max_script_size, config.preload)),
      reaper_(std::make_unique<reaper>()),
      message_timers_(std::make_unique<timer_queue>(
        [this](std::span<const timer_queue::entry> due) {
          fire_message_timers(due);
        })),
      system_config_(std::make_unique<caf::actor_system_config>()) {
  value_handles_ = {tag, this, [](void* core, std::uint64_t id) {
                      return static_cast<runtime_core*>(core)->make_worker(id);
                    }};
  host_permissions = lua_vm::permission_set::parse(config.permissions,
                                                   config.base_dir);
  for (const auto& [name, f] : config.functions)
    if (!f)
      throw std::invalid_argument{"troupe::runtime: the native function '"
                                  + name + "' is empty"};
  host_functions_ = {&config.functions, value_handles_};
  for (const auto& [name, capacity] : config.shared_dicts) {
    if (name.empty() || capacity == 0)
      throw std::invalid_argument{
        "troupe::runtime: shared dict '" + name
        + "': a dict needs a name and a capacity of at least one byte"};
    dicts.emplace(name, std::make_shared<lua_vm::dict_store>(capacity));
  }
  if (config.max_throughput == 0)
    throw std::invalid_argument{
      "troupe::runtime: max_throughput must be at least 1 (an actor that may "
      "handle no message would be resumed forever)"};
  if (config.threads != 0)
    system_config_->set("scheduler.max-threads", config.threads);
  system_config_->set("scheduler.max-throughput", config.max_throughput);
  scheduler_settings settings{config.poll_attempts, config.time_slice};
  system_config_->module_factories.emplace_back(
    [settings](caf::actor_system& system) -> caf::actor_system::module* {
      return new scheduler(system, settings);
    });
  if (config.network) load_network(*system_config_);
  system_ = std::make_unique<caf::actor_system>(*system_config_);
  start_links();
}

runtime_core::~runtime_core() = default;

child_link
runtime_core::admit(bool host_child, std::size_t inbox_limit,
                    std::function<void(worker_id, lua_vm::child_end)> on_end,
                    const actor_maker& make, worker_id& id) {
  child_link link;
  link.shared = std::make_shared<worker_shared>();
  link.inbox_limit = inbox_limit;
  link.inbox_bytes = config.inbox_bytes;
  std::lock_guard live{live_mutex_};
  if (!system_) throw stopped_error{"troupe::runtime: stopped"};
  if (live_.size() >= config.max_workers)
    throw limit_error{"worker limit reached ("
                      + std::to_string(config.max_workers) + ")"};
  if (host_child) {
    std::lock_guard guard{mutex_};
    if (host_links_.size() >= config.max_children)
      throw limit_error{"worker limit reached ("
                        + std::to_string(config.max_children) + ")"};
  }
  id = next_id_++;
  link.actor = make(id, link.shared);
  live_.emplace(id, link);
  if (link.shared->serves_links)
    ++link_actors_;
  else
    ++spawned;
  if (host_child) {
    std::lock_guard guard{mutex_};
    if (on_end)
      end_observers_.emplace(id, std::move(on_end));
    else
      host_children_.add(id);
    host_links_.emplace(id, link);
  }
  return link;
}

child_link runtime_core::spawn(spawn_request request, worker_id& id) {
  bool host_child = !request.parent;
  std::size_t inbox_limit = request.inbox_limit;
  auto on_end = std::move(request.on_end);
  auto link = admit(
    host_child, inbox_limit, std::move(on_end),
    [&](worker_id new_id, const std::shared_ptr<worker_shared>& shared) {
      shared->script = request.chunk.name();
      script_init init{this, new_id, std::move(request), shared};
      return actor_ref{
        system_->spawn<script_actor, caf::lazy_init>(std::move(init))};
    },
    id);
  caf::anon_send(link.actor.get(), start_atom::value);
  return link;
}

spawn_request runtime_core::host_request(const bytecode& chunk, std::string dir,
                                         const std::vector<value>& args,
                                         const spawn_options& options) const {
  serialization::byte_sink sink;
  serialization::encode_values(args, sink, {}, &value_handles_);
  spawn_request request;
  request.chunk = chunk;
  request.dir = std::move(dir);
  request.args = std::string{sink.view()};
  request.inbox_limit = options.inbox.value_or(config.inbox_limit);
  request.permissions = host_permissions;
  request.limits.memory = options.memory.value_or(config.limits.memory);
  request.limits.instructions = options.instructions.value_or(
    config.limits.instructions);
  request.limits.wall_time = lua_vm::saturated(
    options.timeout.value_or(config.limits.timeout));
  return request;
}

void runtime_core::worker_ended(worker_id id, bool ok) {
  std::lock_guard live{live_mutex_};
  auto i = live_.find(id);
  if (i == live_.end()) return;
  if (!ok && !i->second.shared->serves_links) ++failed;
  bytes_.fetch_add(i->second.shared->meters.bytes_out.load(
                     std::memory_order_relaxed),
                   std::memory_order_relaxed);
  if (i->second.shared->serves_links) --link_actors_;
  live_.erase(i);
}

int runtime_core::blocked_threads() const {
  std::lock_guard live{live_mutex_};
  if (!system_) return 0;
  return static_cast<scheduler&>(system_->scheduler()).blocked_threads();
}

std::size_t runtime_core::alive() const {
  std::lock_guard live{live_mutex_};
  return live_.size() - link_actors_;
}

void runtime_core::print(std::string_view line) noexcept {
  if (config.output) {
    try {
      config.output(line);
    } catch (...) {
      // The host's sink failed; the script must not, and there is nowhere else
      // the line belongs.
    }
    return;
  }
  // Under stdout's own lock, so a line the host writes to stdout meanwhile
  // cannot land between the line and its newline.
  std::lock_guard guard{print_mutex_};
  flockfile(stdout);
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
  funlockfile(stdout);
}

void runtime_core::cancel_later(std::shared_ptr<std::atomic<bool>> flag,
                                const actor_ref& actor,
                                std::chrono::milliseconds delay) {
  reaper_->add(delay, [flag = std::move(flag), addr = actor.get().address()] {
    flag->store(true);
    if (auto target = caf::actor_cast<caf::actor>(addr))
      caf::anon_send(target, cancel_atom::value);
  });
}

runtime_core::timer_key runtime_core::after(std::chrono::nanoseconds delay,
                                            std::function<void()> action) {
  return reaper_->add(delay, std::move(action));
}

void runtime_core::cancel_timer(const timer_key& key) noexcept {
  reaper_->cancel(key);
}

std::size_t runtime_core::pending_timers() const {
  return reaper_->pending();
}

bool runtime_core::arm_message_timer(worker_id owner, std::uint64_t id,
                                     lua_vm::clock::time_point due) noexcept {
  try {
    message_timers_->arm(due, owner, id);
    return true;
  } catch (...) {
    return false;
  }
}

void runtime_core::fire_message_timers(
  std::span<const timer_queue::entry> due) noexcept {
  // Timers of one worker often come together: its link is looked up once.
  std::optional<child_link> link;
  worker_id linked = 0;
  for (const auto& e : due) {
    try {
      if (e.owner != linked) {
        link = find(e.owner);
        linked = e.owner;
      }
      if (link) link->post({e.owner, e.id, mail_kind::timer}, {});
    } catch (...) {
      // Out of memory finding the worker: this firing is lost (an every
      // timer with it, since the worker re-arms it as it fires).
    }
  }
}

void runtime_core::drop_message_timers(worker_id owner) noexcept {
  message_timers_->drop(owner);
}

std::size_t runtime_core::pending_message_timers() const {
  return message_timers_->pending();
}

void runtime_core::check_running() const {
  if (stopped_.load(std::memory_order_acquire))
    throw stopped_error{"troupe: the runtime has stopped"};
}

void runtime_core::attach(std::weak_ptr<runtime_service> service) {
  std::lock_guard guard{mutex_};
  if (stopped_) throw stopped_error{"troupe: the runtime has stopped"};
  std::erase_if(services_, [](const auto& s) { return s.expired(); });
  services_.push_back(std::move(service));
}

void runtime_core::shutdown() {
  std::vector<std::weak_ptr<runtime_service>> services;
  {
    std::lock_guard guard{mutex_};
    stopped_ = true;
    services.swap(services_);
    wake_host_waiters(0);
  }
  for (const auto& s : services)
    if (auto service = s.lock()) service->runtime_stopping();
  std::unique_ptr<caf::actor_system> system;
  {
    std::lock_guard live{live_mutex_};
    for (const auto& [id, link] : live_) link.stop();
    system = std::move(system_);
  }
  // With system_ gone no worker can spawn another, so every live worker got its
  // cancel above.
  system->await_all_actors_done();
  // What holds CAF actors past their end goes before the system does (a
  // proxy of a peer's agent kept the middleman's broker at exit).
  links_->drop_routes();
  {
    std::lock_guard held{agent_mutex_};
    agent_.reset();
  }
  system.reset();
  reaper_->stop();
  message_timers_->stop();
  for (const auto& [name, dict] : dicts) dict->close();
}

} // namespace troupe::detail
