// The pool's shared state (see pool_core.hpp).
#include "actors/pool_core.hpp"

#include <algorithm>

#include <caf/send.hpp>

#include "actors/messages.hpp"
#include "actors/pool_worker.hpp"
#include "actors/spawn_actor.hpp"
#include "lua_vm/failure.hpp"
#include "troupe/error.hpp"

namespace troupe::detail {

namespace {

std::string timeout_text(const pool_job& job) {
  return "troupe::pool: the job timed out after " + lua_vm::in_ms(job.timeout);
}

constexpr const char* cancelled_text = "troupe::pool: the job was cancelled";

std::exception_ptr timed_out(const pool_job& job) {
  return lua_vm::failure_exception(lua_vm::failure::timeout, timeout_text(job));
}

std::exception_ptr cancelled() {
  return lua_vm::failure_exception(lua_vm::failure::cancelled, cancelled_text);
}

// The pool's own words for the stops it set; the script's for the rest.
std::exception_ptr failure(const pool_job& job, lua_vm::job_outcome& out,
                           std::size_t memory_limit) {
  std::string text = std::move(out.error.message);
  switch (out.stop) {
    case lua_vm::stop_reason::deadline: text = timeout_text(job); break;
    case lua_vm::stop_reason::cancelled: text = cancelled_text; break;
    case lua_vm::stop_reason::memory:
      text = "troupe::pool: the job exceeded the memory limit ("
             + std::to_string(memory_limit) + " bytes)";
      break;
    case lua_vm::stop_reason::instructions:
      text = "troupe::pool: " + text;
      break;
    case lua_vm::stop_reason::none: break;
  }
  return lua_vm::failure_exception(out.kind, std::move(text),
                                   std::move(out.error.traceback),
                                   std::move(out.raised));
}

} // namespace

void pool_job::resolve(value v) {
  if (done)
    done(&v, nullptr);
  else
    promise->set_value(std::move(v));
}

void pool_job::reject(std::exception_ptr e) {
  if (done)
    done(nullptr, std::move(e));
  else
    promise->set_exception(std::move(e));
}

void pool_stop_request::operator()() const noexcept {
  auto c = core.lock();
  auto j = job.lock();
  if (c && j) c->cancel(*j);
}

pool_core::pool_core(std::shared_ptr<runtime_core> rt, pool_config config)
    : rt_(std::move(rt)), config_(config) {
  if (config_.workers == 0)
    throw std::invalid_argument{
      "troupe::pool: a pool needs at least one worker"};
  if (config_.queue_limit == 0)
    throw std::invalid_argument{
      "troupe::pool: queue_limit must allow at least one job"};
  permissions_ = lua_vm::permission_set::parse(config_.permissions,
                                               rt_->config.base_dir);
  if (config_.memory_limit != 0) {
    try {
      lua_vm::job_runner probe{
        runner_config(std::make_shared<std::atomic<bool>>(false))};
    } catch (const limit_error&) {
      throw std::invalid_argument{"troupe::pool: a memory_limit of "
                                  + std::to_string(config_.memory_limit)
                                  + " bytes cannot hold a worker's Lua state"};
    }
  }
}

pool_core::~pool_core() {
  {
    std::lock_guard held{mutex_};
    watchdog_stop_ = true;
  }
  watchdog_wake_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
}

void pool_core::start() {
  rt_->attach(weak_from_this());
  watchdog_ = std::thread{[this] { watch(); }};
  for (std::size_t i = 0; i < config_.workers; ++i) spawn_worker();
}

lua_vm::job_runner_config
pool_core::runner_config(std::shared_ptr<std::atomic<bool>> cancel) const {
  lua_vm::job_runner_config c;
  c.memory_limit = config_.memory_limit;
  c.print = runtime_core::print_to;
  c.print_context = rt_.get();
  c.modules = rt_->modules;
  c.functions = &rt_->host_functions();
  c.dicts = &rt_->dicts;
  c.cancel = std::move(cancel);
  c.cache_size = config_.cache_size;
  c.time_slice = rt_->config.time_slice;
  c.permissions = permissions_;
  c.home = rt_->config.base_dir.string();
  c.handle_tag = rt_->tag;
  c.value_handles = &rt_->value_handles();
  return c;
}

void pool_core::spawn_worker() {
  auto owned = std::make_unique<pool_slot>();
  pool_slot* slot = owned.get();
  {
    std::lock_guard held{mutex_};
    slots_.push_back(std::move(owned));
  }
  actor_ref actor;
  try {
    actor = rt_->spawn_actor<pool_worker>(shared_from_this(), slot);
  } catch (...) {
    {
      std::lock_guard held{mutex_};
      std::erase_if(slots_, [slot](const auto& s) { return s.get() == slot; });
    }
    workers_gone_.notify_all();
    throw;
  }
  {
    std::lock_guard held{mutex_};
    slot->actor = actor;
  }
  caf::anon_send(actor.get(), work_atom::value);
}

std::future<value> pool_core::submit(const bytecode& chunk, std::string ctx,
                                     std::chrono::nanoseconds timeout,
                                     const std::stop_token& stop, bool wait) {
  auto job = make_job(chunk, timeout);
  job->ctx = std::move(ctx);
  auto result = job->promise.emplace().get_future();
  if (stop.stop_possible())
    job->on_stop.emplace(stop, pool_stop_request{weak_from_this(), job});
  enqueue(job, wait);
  return result;
}

std::shared_ptr<pool_job>
pool_core::submit_then(const bytecode& chunk, std::string args,
                       std::chrono::nanoseconds timeout,
                       pool_job::done_function done) {
  auto job = make_job(chunk, timeout);
  job->args = std::move(args);
  job->done = std::move(done);
  enqueue(job, false);
  return job;
}

std::shared_ptr<pool_job>
pool_core::make_job(const bytecode& chunk,
                    std::chrono::nanoseconds timeout) const {
  if (!chunk)
    throw std::invalid_argument{
      "troupe::pool::submit: the bytecode is empty (default-constructed)"};
  auto job = std::make_shared<pool_job>();
  job->chunk = chunk;
  job->timeout = lua_vm::saturated(timeout.count() > 0 ? timeout
                                                       : config_.timeout);
  if (job->timeout.count() > 0)
    job->deadline = lua_vm::deadline_in(job->timeout);
  return job;
}

void pool_core::enqueue(const std::shared_ptr<pool_job>& job, bool wait) {
  actor_ref wake;
  {
    lock held{mutex_};
    auto refuse = [&](auto&& error) {
      held.unlock();
      job->on_stop.reset();
      throw error;
    };
    auto has_room = [&] {
      return queued_ < config_.queue_limit || mode_ != mode::running
             || job->where != pool_job::phase::fresh;
    };
    if (mode_ == mode::running && !has_room()) {
      if (!wait)
        refuse(limit_error{"troupe::pool: the job queue is full ("
                           + std::to_string(queued_) + " jobs queued)"});
      ++blocked_submitters_;
      room_.wait(held, has_room);
      --blocked_submitters_;
    }
    if (mode_ != mode::running)
      refuse(stopped_error{"troupe::pool: the pool has shut down"});
    ++counts_.submitted;
    if (job->where == pool_job::phase::done) {
      ++counts_.cancelled;
      return;
    }
    job->where = pool_job::phase::queued;
    queue_.push_back(job);
    ++queued_;
    if (job->deadline != clock::time_point::max()) {
      auto at = deadlines_.emplace(job->deadline, job.get()).first;
      if (at == deadlines_.begin()) watchdog_wake_.notify_one();
    }
    if (!idle_.empty()) {
      pool_slot* slot = idle_.back();
      idle_.pop_back();
      slot->idle = false;
      wake = slot->actor;
    }
  }
  if (wake) caf::anon_send(wake.get(), work_atom::value);
}

void pool_core::end_from_outside(pool_job& job, clock::time_point now) {
  pool_slot& slot = *job.running_on;
  slot.cancel->store(true);
  slot.stuck_check = now + config_.replace_after;
  watchdog_wake_.notify_one();
}

void pool_core::drop_deadline(pool_job& job) {
  if (job.deadline != clock::time_point::max())
    deadlines_.erase({job.deadline, &job});
}

void pool_core::cancel(pool_job& job) {
  {
    std::lock_guard held{mutex_};
    switch (job.where) {
      case pool_job::phase::fresh: break;
      case pool_job::phase::queued:
        --queued_;
        ++counts_.cancelled;
        drop_deadline(job);
        room_.notify_one();
        break;
      case pool_job::phase::running:
        ++counts_.cancelled;
        drop_deadline(job);
        end_from_outside(job, clock::now());
        break;
      case pool_job::phase::done: return;
    }
    job.where = pool_job::phase::done;
  }
  job.reject(cancelled());
}

pool_core::settlement pool_core::expire(pool_job& job, clock::time_point now) {
  if (job.where == pool_job::phase::queued) {
    --queued_;
    room_.notify_one();
  } else {
    end_from_outside(job, now);
  }
  job.where = pool_job::phase::done;
  ++counts_.timed_out;
  return {job.shared_from_this(), timed_out(job)};
}

void pool_core::settle(std::vector<settlement>& done) {
  for (auto& s : done) s.job->reject(std::move(s.error));
  done.clear();
}

std::shared_ptr<pool_job> pool_core::take(pool_slot& slot, bool& quit) {
  std::vector<std::shared_ptr<pool_job>> dropped;
  std::shared_ptr<pool_job> job;
  {
    std::lock_guard held{mutex_};
    quit = slot.abandoned;
    while (!quit && !queue_.empty()) {
      auto next = std::move(queue_.front());
      queue_.pop_front();
      if (next->where != pool_job::phase::queued) {
        dropped.push_back(std::move(next));
        continue;
      }
      next->where = pool_job::phase::running;
      next->running_on = &slot;
      --queued_;
      slot.cancel->store(false);
      slot.job = next;
      job = std::move(next);
      room_.notify_one();
      break;
    }
    if (!job && !quit) {
      if (mode_ != mode::running) {
        quit = true;
      } else {
        slot.idle = true;
        idle_.push_back(&slot);
      }
    }
  }
  for (auto& d : dropped) d->on_stop.reset();
  return job;
}

bool pool_core::finish(pool_slot& slot, pool_job& job,
                       lua_vm::job_outcome& outcome) {
  bool mine = false;
  bool keep_going = true;
  {
    std::lock_guard held{mutex_};
    auto keep = std::move(slot.job);
    slot.stuck_check = clock::time_point::max();
    keep_going = !slot.abandoned;
    if (job.where == pool_job::phase::running) {
      mine = true;
      job.where = pool_job::phase::done;
      drop_deadline(job);
      if (outcome.ok)
        ++counts_.completed;
      else if (outcome.stop == lua_vm::stop_reason::deadline)
        ++counts_.timed_out;
      else if (outcome.stop == lua_vm::stop_reason::cancelled)
        ++counts_.cancelled;
      else
        ++counts_.failed;
    }
  }
  job.on_stop.reset();
  if (mine) {
    if (outcome.ok)
      job.resolve(std::move(outcome.result));
    else
      job.reject(failure(job, outcome, config_.memory_limit));
  }
  return keep_going;
}

void pool_core::worker_exited(pool_slot& slot) noexcept {
  std::shared_ptr<pool_job> orphan;
  bool replace = false;
  {
    std::lock_guard held{mutex_};
    std::erase(idle_, &slot);
    if (slot.job && slot.job->where == pool_job::phase::running) {
      orphan = slot.job;
      orphan->where = pool_job::phase::done;
      drop_deadline(*orphan);
      ++counts_.failed;
    }
    replace = !slot.abandoned && mode_ == mode::running;
    if (replace) ++counts_.replaced;
    std::erase_if(slots_, [&slot](const auto& s) { return s.get() == &slot; });
  }
  workers_gone_.notify_all();
  if (orphan) {
    orphan->on_stop.reset();
    orphan->reject(std::make_exception_ptr(
      script_error{"troupe::pool: the worker running the job failed", ""}));
  }
  if (replace) {
    try {
      spawn_worker();
    } catch (const std::exception&) {
      // The runtime is stopping: no worker is needed any more.
    }
  }
}

std::size_t pool_core::serving() const {
  return static_cast<std::size_t>(
    std::count_if(slots_.begin(), slots_.end(),
                  [](const auto& s) { return !s->abandoned; }));
}

void pool_core::stop(bool cancel_jobs) {
  std::vector<settlement> done;
  std::deque<std::shared_ptr<pool_job>> dropped;
  std::vector<actor_ref> wake;
  {
    std::lock_guard held{mutex_};
    if (mode_ == mode::running) mode_ = mode::draining;
    if (cancel_jobs && mode_ != mode::stopping) {
      mode_ = mode::stopping;
      cancel_all(done, dropped);
    }
    for (pool_slot* slot : idle_) {
      slot->idle = false;
      wake.push_back(slot->actor);
    }
    idle_.clear();
  }
  room_.notify_all();
  settle(done);
  dropped.clear();
  for (const auto& actor : wake) caf::anon_send(actor.get(), work_atom::value);
  std::thread watchdog;
  {
    lock held{mutex_};
    workers_gone_.wait(held, [this] { return serving() == 0; });
    // Only if every worker failed while draining can jobs be left.
    mode_ = mode::stopping;
    cancel_all(done, dropped);
    watchdog_stop_ = true;
    watchdog = std::move(watchdog_);
  }
  settle(done);
  for (auto& d : dropped) d->on_stop.reset();
  watchdog_wake_.notify_all();
  if (watchdog.joinable()) watchdog.join();
}

void pool_core::cancel_all(std::vector<settlement>& done,
                           std::deque<std::shared_ptr<pool_job>>& dropped) {
  auto now = clock::now();
  for (auto& job : queue_) {
    if (job->where != pool_job::phase::queued) continue;
    job->where = pool_job::phase::done;
    ++counts_.cancelled;
    done.push_back({job, cancelled()});
  }
  for (auto& job : queue_) dropped.push_back(std::move(job));
  queue_.clear();
  queued_ = 0;
  for (auto& slot : slots_) {
    if (!slot->job || slot->job->where != pool_job::phase::running) continue;
    slot->job->where = pool_job::phase::done;
    ++counts_.cancelled;
    end_from_outside(*slot->job, now);
    done.push_back({slot->job, cancelled()});
  }
  deadlines_.clear();
}

void pool_core::shutdown() {
  stop(false);
}

void pool_core::shutdown_now() {
  stop(true);
}

void pool_core::runtime_stopping() noexcept {
  try {
    stop(true);
  } catch (const std::exception&) {
    // Nothing more can be done for a pool whose runtime is going away.
  }
}

lua_vm::clock::time_point pool_core::next_wake() const {
  auto next = deadlines_.empty() ? clock::time_point::max()
                                 : deadlines_.begin()->first;
  for (const auto& slot : slots_) next = std::min(next, slot->stuck_check);
  return next;
}

void pool_core::watch() {
  lock held{mutex_};
  std::vector<settlement> done;
  while (!watchdog_stop_) {
    auto wake = next_wake();
    if (wake == clock::time_point::max())
      watchdog_wake_.wait(held);
    else
      watchdog_wake_.wait_until(held, wake);
    auto now = clock::now();
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      pool_job& job = *deadlines_.begin()->second;
      deadlines_.erase(deadlines_.begin());
      done.push_back(expire(job, now));
    }
    std::size_t replacements = 0;
    bool abandoned = false;
    for (auto& slot : slots_) {
      if (slot->stuck_check > now) continue;
      slot->stuck_check = clock::time_point::max();
      if (slot->abandoned || !slot->job
          || slot->job->where != pool_job::phase::done)
        continue;
      slot->abandoned = true;
      abandoned = true;
      ++counts_.replaced;
      if (mode_ != mode::stopping) ++replacements;
    }
    // An abandoned slot no longer serves: a stop waiting for the serving
    // workers to go must hear of it, also when no replacement follows.
    if (done.empty() && !abandoned) continue;
    held.unlock();
    settle(done);
    workers_gone_.notify_all();
    for (; replacements > 0; --replacements) {
      try {
        spawn_worker();
      } catch (const std::exception&) {
        // The runtime is stopping: no replacement is needed.
      }
    }
    held.lock();
  }
}

std::size_t pool_core::active_workers() const {
  std::lock_guard held{mutex_};
  return serving();
}

std::size_t pool_core::busy_workers() const {
  std::lock_guard held{mutex_};
  return static_cast<std::size_t>(
    std::count_if(slots_.begin(), slots_.end(), [](const auto& s) {
      return !s->abandoned && s->job != nullptr;
    }));
}

pool_stats pool_core::stats() const {
  std::lock_guard held{mutex_};
  pool_stats s = counts_;
  s.queued = queued_;
  s.blocked_submitters = blocked_submitters_;
  for (const auto& slot : slots_)
    if (!slot->abandoned) s.memory += slot->memory.load();
  return s;
}

} // namespace troupe::detail
