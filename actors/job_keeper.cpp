// Supervised jobs (see job_keeper.hpp).
#include "actors/job_keeper.hpp"

#include <algorithm>
#include <filesystem>

#include "lua_vm/backoff.hpp"
#include "lua_vm/worker_end.hpp"
#include "serialization/value_codec.hpp"

namespace troupe::detail {

namespace {

constexpr std::size_t max_queued_events = 100000;

std::string what_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an unknown exception";
  }
}

} // namespace

job_keeper::job_keeper(std::shared_ptr<runtime_core> rt,
                       std::shared_ptr<lease_table> table,
                       std::function<void(const job_event&)> on_event)
    : rt_(std::move(rt)),
      table_(std::move(table)),
      on_event_(std::move(on_event)) {}

job_keeper::~job_keeper() {
  stop();
}

void job_keeper::start() {
  rt_->attach(weak_from_this());
  thread_ = std::thread{[this] { loop(); }};
}

job_keeper::key_state& job_keeper::claim(std::string_view key, bool submits) {
  if (stopping_) throw stopped_error{"troupe::supervisor: stopped"};
  auto it = keys_.find(std::string{key});
  if (it == keys_.end()) {
    table_->set_anonymous(key, false);
    it = keys_.emplace(std::string{key}, key_state{}).first;
    it->second.submits = submits;
  } else if (it->second.submits != submits) {
    throw error{"troupe::supervisor: key '" + std::string{key} + "' "
                + (submits ? "runs instances (run); submit needs a key of its "
                             "own"
                           : "takes submitted jobs; run needs a key of its "
                             "own")};
  }
  return it->second;
}

void job_keeper::run(std::string_view key, job j,
                     const restart_policy& policy) {
  if (j.path.empty() && !j.code)
    throw std::invalid_argument{
      "troupe::supervisor::run: the job has neither a path nor code"};
  std::lock_guard held{mutex_};
  key_state& k = claim(key, false);
  k.work = std::make_shared<const job>(std::move(j));
  k.policy = policy;
  changed_.emplace_back(key);
  wake_.notify_one();
}

std::future<value> job_keeper::submit(std::string_view key, job j,
                                      const restart_policy& policy) {
  if (j.path.empty() && !j.code)
    throw std::invalid_argument{
      "troupe::supervisor::submit: the job has neither a path nor code"};
  auto work = std::make_shared<submission>();
  work->work = std::move(j);
  auto result = work->promise.get_future();
  std::lock_guard held{mutex_};
  key_state& k = claim(key, true);
  k.policy = policy;
  k.queue.push_back(std::move(work));
  changed_.emplace_back(key);
  wake_.notify_one();
  return result;
}

void job_keeper::use_pool(std::string_view key,
                          std::shared_ptr<pool_core> pool) {
  std::lock_guard held{mutex_};
  claim(key, true).pool = std::move(pool);
}

bool job_keeper::set_target(std::string_view key, std::size_t target) {
  std::lock_guard held{mutex_};
  auto it = keys_.find(std::string{key});
  if (it == keys_.end()) return false;
  table_->set(key, target);
  if (!stopping_) reconcile(it->first, it->second);
  // The keeper's thread hands out the events.
  wake_.notify_one();
  return true;
}

void job_keeper::reset(std::string_view key) {
  std::lock_guard held{mutex_};
  auto it = keys_.find(std::string{key});
  if (it == keys_.end()) return;
  key_state& k = it->second;
  k.failed = false;
  k.restarts.clear();
  k.streak = 0;
  k.ended_for_good = 0;
  changed_.emplace_back(key);
  wake_.notify_one();
}

bool job_keeper::failed(std::string_view key) const {
  std::lock_guard held{mutex_};
  auto it = keys_.find(std::string{key});
  return it != keys_.end() && it->second.failed;
}

std::vector<job_event> job_keeper::events() {
  std::lock_guard held{mutex_};
  std::vector<job_event> out(std::make_move_iterator(queued_events_.begin()),
                             std::make_move_iterator(queued_events_.end()));
  queued_events_.clear();
  return out;
}

void job_keeper::loop() {
  std::unique_lock held{mutex_};
  while (!stopping_) {
    if (ended_.empty() && changed_.empty() && pending_events_.empty()
        && pending_outcomes_.empty() && launches_.empty()) {
      if (timers_.empty()) {
        wake_.wait(held);
      } else {
        // A copy: the timer may go (stop clears them) while this waits.
        auto due = timers_.begin()->first;
        wake_.wait_until(held, due);
      }
    }
    if (stopping_) break;
    while (!ended_.empty()) {
      ended e = std::move(ended_.front());
      ended_.pop_front();
      handle(std::move(e));
    }
    auto now = clock::now();
    while (!timers_.empty() && timers_.begin()->first <= now) {
      timer t = std::move(timers_.begin()->second);
      timers_.erase(timers_.begin());
      auto it = keys_.find(t.key);
      if (it == keys_.end()) continue;
      if (t.retry) {
        it->second.queue.push_front(std::move(t.retry));
      } else if (it->second.waiting_restarts > 0) {
        --it->second.waiting_restarts;
        ++it->second.due_restarts;
      }
      changed_.push_back(std::move(t.key));
    }
    auto names = std::move(changed_);
    changed_.clear();
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    for (const auto& name : names)
      if (auto it = keys_.find(name); it != keys_.end())
        reconcile(name, it->second);
    launch_all(held);
    flush(held);
  }
}

void job_keeper::reconcile(const std::string& name, key_state& k) {
  std::size_t target = table_->counts(name).target;
  if (k.submits) {
    while (!k.queue.empty() && k.running.size() + k.starting < target) {
      auto work = std::move(k.queue.front());
      k.queue.pop_front();
      if (!plan_start(name, k, std::move(work), job_event_kind::started)) break;
    }
    return;
  }
  std::size_t places = target > k.ended_for_good ? target - k.ended_for_good
                                                 : 0;
  std::size_t serving = static_cast<std::size_t>(
                          std::count_if(k.running.begin(), k.running.end(),
                                        [](const auto& r) {
                                          return !r.second.retiring;
                                        }))
                        + k.starting - k.abandoned;
  std::size_t live = serving + k.waiting_restarts + k.due_restarts;
  for (auto newest = k.running.rbegin(); live > places; --live) {
    if (k.due_restarts > 0) {
      --k.due_restarts;
    } else if (k.waiting_restarts > 0) {
      --k.waiting_restarts;
    } else {
      while (newest != k.running.rend() && newest->second.retiring) ++newest;
      if (newest != k.running.rend()) {
        retire(name, newest->second, k.policy);
      } else {
        // The newest are still being started: their lease goes now, the
        // instance as soon as it is recorded.
        ++k.abandoned;
        table_->release(k.lease);
      }
      --serving;
    }
  }
  if (k.failed) return;
  while (k.due_restarts > 0) {
    --k.due_restarts;
    if (!plan_start(name, k, nullptr, job_event_kind::restarted)) return;
    ++serving;
  }
  for (; serving + k.waiting_restarts < places; ++serving)
    if (!plan_start(name, k, nullptr, job_event_kind::started)) return;
}

bool job_keeper::plan_start(const std::string& name, key_state& k,
                            std::shared_ptr<submission> work,
                            job_event_kind kind) {
  auto grant = table_->try_acquire(name);
  if (!grant) {
    // Someone holds leases of this key by hand; try again on the next change.
    if (work) k.queue.push_front(std::move(work));
    return false;
  }
  k.lease = grant->key;
  ++k.starting;
  std::shared_ptr<const job> what = work
                                      ? std::shared_ptr<const job>{work,
                                                                   &work->work}
                                      : k.work;
  launches_.push_back(
    {name, std::move(what), std::move(work), grant->key, kind, k.pool});
  if (k.pool) launches_.back().number = next_pooled_++;
  return true;
}

void job_keeper::launch_all(std::unique_lock<std::mutex>& held) {
  while (!launches_.empty() && !stopping_) {
    auto batch = std::move(launches_);
    launches_.clear();
    std::vector<launched> got;
    got.reserve(batch.size());
    held.unlock();
    for (const auto& l : batch) got.push_back(start(l));
    held.lock();
    std::vector<outcome> done;
    for (std::size_t i = 0; i < batch.size(); ++i)
      record(batch[i], got[i], done);
    if (stopping_) {
      // Stopped meanwhile: settled here, since the loop ends; the pool jobs
      // are cancelled with no lock held (their ends come back through
      // end_of, which ignores them now).
      held.unlock();
      for (std::size_t i = 0; i < batch.size(); ++i)
        if (got[i].pooled) batch[i].pool->cancel(*got[i].pooled);
      settle(done);
      held.lock();
    }
  }
}

job_keeper::launched job_keeper::start(const launch& l) noexcept {
  launched got;
  try {
    if (l.pool) return start_pooled(l);
    const job& j = *l.work;
    auto script = j.path.empty()
                    ? resolved_script{j.code, rt_->base_dir().string()}
                    : rt_->resolve(j.path, "troupe::supervisor");
    auto request = rt_->host_request(script.chunk, std::move(script.dir),
                                     j.args, j.limits);
    std::weak_ptr<job_keeper> self = weak_from_this();
    request.on_end = [self, name = l.key](worker_id id, lua_vm::child_end end) {
      if (auto keeper = self.lock())
        keeper->end_of(name, id, {{}, id, std::move(end), false, {}, {}});
    };
    got.link = rt_->spawn(std::move(request), got.id);
  } catch (...) {
    got.error = std::current_exception();
  }
  return got;
}

job_keeper::launched job_keeper::start_pooled(const launch& l) {
  const job& j = *l.work;
  bytecode chunk = j.path.empty()
                     ? j.code
                     : rt_->resolve(j.path, "troupe::supervisor").chunk;
  serialization::byte_sink args;
  if (!j.args.empty())
    serialization::encode_values(j.args, args, {}, &rt_->value_handles());
  std::weak_ptr<job_keeper> self = weak_from_this();
  launched got;
  got.id = l.number;
  got.pooled = l.pool->submit_then(chunk, std::string{args.view()},
                                   j.limits.timeout.value_or(
                                     std::chrono::nanoseconds{0}),
                                   [self, name = l.key,
                                    id = l.number](value* result,
                                                   std::exception_ptr error) {
                                     auto keeper = self.lock();
                                     if (!keeper) return;
                                     ended e{{},   id, {},
                                             true, {}, std::move(error)};
                                     if (result != nullptr)
                                       e.result = std::move(*result);
                                     keeper->end_of(name, id, std::move(e));
                                   });
  return got;
}

void job_keeper::end_of(const std::string& key, std::uint64_t id,
                        ended e) noexcept {
  try {
    std::lock_guard held{mutex_};
    if (stopping_) return;
    e.key = key;
    e.id = id;
    ended_.push_back(std::move(e));
    wake_.notify_one();
  } catch (...) {
    // Out of memory for the record: the instance stays listed until stop.
  }
}

void job_keeper::record(launch& l, launched& got, std::vector<outcome>& done) {
  auto it = keys_.find(l.key);
  if (stopping_ || it == keys_.end()) {
    // A pool job is cancelled by launch_all, with no lock held.
    if (!got.error && !got.pooled) got.link.stop();
    table_->release(l.lease);
    if (l.submitted)
      done.push_back({std::move(l.submitted),
                      std::make_exception_ptr(
                        cancelled_error{"troupe::supervisor: stopped"}),
                      {}});
    return;
  }
  key_state& k = it->second;
  --k.starting;
  bool abandoned = k.abandoned > 0 && !l.submitted;
  if (abandoned) --k.abandoned;
  if (got.error) {
    if (!abandoned) table_->release(l.lease);
    emit({l.key, 0, job_event_kind::failed, what_of(got.error)});
    if (!abandoned) start_failed(l.key, k, std::move(l.submitted), got.error);
    changed_.push_back(l.key);
    return;
  }
  auto& i = k.running
              .emplace(got.id,
                       instance{std::move(got.link), std::move(got.pooled),
                                l.lease, std::move(l.submitted), false,
                                clock::now()})
              .first->second;
  emit({l.key, got.id, l.kind, {}});
  if (abandoned) {
    i.lease = nullptr;
    retire(l.key, i, k.policy);
  }
}

void job_keeper::start_failed(const std::string& name, key_state& k,
                              std::shared_ptr<submission> work,
                              std::exception_ptr error) {
  if (!work) {
    decide_restart(name, k, false, {});
  } else if (work->attempts < k.policy.retries) {
    retry_later(name, k, std::move(work));
  } else {
    pending_outcomes_.push_back({std::move(work), std::move(error), {}});
  }
}

void job_keeper::handle(ended e) {
  auto it = keys_.find(e.key);
  if (it == keys_.end()) return;
  key_state& k = it->second;
  auto r = k.running.find(e.id);
  if (r == k.running.end()) return;
  instance gone = std::move(r->second);
  k.running.erase(r);
  if (gone.lease != nullptr) table_->release(gone.lease);
  bool ok = e.pooled ? e.error == nullptr : e.end.ok;
  std::string reason;
  if (!ok) {
    reason = e.pooled ? what_of(e.error)
                      : lua_vm::end_script_error(e.end.bytes).message();
  }
  emit({e.key, e.id, ok ? job_event_kind::exited : job_event_kind::failed,
        reason, gone.retiring});
  if (gone.work) {
    handle_submission(e.key, k, std::move(gone.work), e);
  } else if (!gone.retiring) {
    decide_restart(e.key, k, ok, clock::now() - gone.started);
  }
  changed_.push_back(e.key);
}

void job_keeper::handle_submission(const std::string& name, key_state& k,
                                   std::shared_ptr<submission> work, ended& e) {
  bool ok = e.pooled ? e.error == nullptr : e.end.ok;
  if (ok) {
    pending_outcomes_.push_back(
      {std::move(work), nullptr,
       e.pooled ? std::move(e.result)
                : lua_vm::end_result(e.end.bytes, &rt_->value_handles())});
  } else if (work->attempts < k.policy.retries) {
    retry_later(name, k, std::move(work));
  } else {
    pending_outcomes_.push_back(
      {std::move(work),
       e.pooled ? std::move(e.error) : lua_vm::end_exception(e.end.bytes),
       {}});
  }
}

void job_keeper::retry_later(const std::string& name, key_state& k,
                             std::shared_ptr<submission> work) {
  ++work->attempts;
  auto due = clock::now() + backoff(k.policy, work->attempts);
  timers_.emplace(due, timer{name, std::move(work)});
}

void job_keeper::decide_restart(const std::string& name, key_state& k, bool ok,
                                clock::duration ran) {
  // A failure after a run longer than the longest backoff starts a new
  // streak: the instance was healthy for a while.
  if (ok || ran > k.policy.backoff_max) k.streak = 0;
  if (!ok) ++k.streak;
  bool again = k.policy.mode == restart_mode::permanent
               || (k.policy.mode == restart_mode::transient && !ok);
  if (!again) {
    ++k.ended_for_good;
    return;
  }
  // Given up already: the key's other instances end without restarts, and
  // without another gave_up (one per key until reset).
  if (k.failed) return;
  auto now = clock::now();
  k.restarts.push_back(now);
  while (now - k.restarts.front() > k.policy.period) k.restarts.pop_front();
  if (k.restarts.size() > k.policy.intensity) {
    k.failed = true;
    emit({name, 0, job_event_kind::gave_up,
          "more than " + std::to_string(k.policy.intensity) + " restarts in "
            + lua_vm::in_ms(k.policy.period)});
    return;
  }
  auto delay = ok ? clock::duration{0} : backoff(k.policy, k.streak);
  if (delay.count() == 0) {
    ++k.due_restarts;
  } else {
    ++k.waiting_restarts;
    timers_.emplace(now + delay, timer{name, nullptr});
  }
}

void job_keeper::retire(const std::string& name, instance& i,
                        const restart_policy& policy) {
  static_cast<void>(name);
  i.retiring = true;
  if (i.lease != nullptr) table_->release(std::exchange(i.lease, nullptr));
  i.link.actor.retire();
  rt_->cancel_later(cancel_flag(i.link.shared), i.link.actor,
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                      policy.grace));
}

job_keeper::clock::duration job_keeper::backoff(const restart_policy& policy,
                                                std::size_t streak) {
  std::uniform_real_distribution<double> spread{-1.0, 1.0};
  return std::chrono::duration_cast<clock::duration>(
    lua_vm::backoff_delay(policy.backoff_min, policy.backoff_max, policy.jitter,
                          streak, spread(random_)));
}

void job_keeper::emit(job_event e) {
  pending_events_.push_back(std::move(e));
}

void job_keeper::flush(std::unique_lock<std::mutex>& held) {
  auto events = std::move(pending_events_);
  pending_events_.clear();
  auto done = std::move(pending_outcomes_);
  pending_outcomes_.clear();
  if (!on_event_) {
    for (auto& e : events) queued_events_.push_back(std::move(e));
    while (queued_events_.size() > max_queued_events)
      queued_events_.pop_front();
    events.clear();
  }
  held.unlock();
  // Events first: whoever a future wakes has seen the job's events already.
  for (const auto& e : events) {
    try {
      on_event_(e);
    } catch (...) {
      // The callback's own failure is its owner's business; supervising goes
      // on.
    }
  }
  settle(done);
  held.lock();
}

void job_keeper::stop() noexcept {
  std::vector<outcome> done;
  std::vector<std::pair<std::shared_ptr<pool_core>, std::shared_ptr<pool_job>>>
    pooled;
  std::thread keeper;
  {
    std::lock_guard held{mutex_};
    if (!stopping_) {
      // The table stops under this lock, as stopping_ is set: the keeper's
      // thread never sees one without the other, and the leases the stopped
      // instances give back go to nobody.
      table_->stop();
      stopping_ = true;
      auto cancelled = std::make_exception_ptr(
        cancelled_error{"troupe::supervisor: stopped"});
      for (auto& [name, k] : keys_) {
        for (auto& [id, i] : k.running) {
          if (i.pooled)
            pooled.emplace_back(k.pool, std::move(i.pooled));
          else
            i.link.stop();
          if (i.lease != nullptr) table_->release(i.lease);
          if (i.work) done.push_back({std::move(i.work), cancelled, {}});
        }
        k.running.clear();
        for (auto& work : k.queue) done.push_back({work, cancelled, {}});
        k.queue.clear();
      }
      for (auto& [due, t] : timers_)
        if (t.retry) done.push_back({std::move(t.retry), cancelled, {}});
      timers_.clear();
      ended_.clear();
      for (auto& o : pending_outcomes_) done.push_back(std::move(o));
      pending_outcomes_.clear();
      for (auto& l : launches_) {
        table_->release(l.lease);
        if (l.submitted)
          done.push_back({std::move(l.submitted), cancelled, {}});
      }
      launches_.clear();
    }
    keeper = std::move(thread_);
  }
  wake_.notify_all();
  // Outside the lock: a pool job's end comes back through end_of, which
  // ignores it now.
  for (auto& [pool, job] : pooled) pool->cancel(*job);
  settle(done);
  if (!keeper.joinable()) return;
  if (keeper.get_id() == std::this_thread::get_id()) {
    // Called from an event callback: the destructor joins later.
    std::lock_guard held{mutex_};
    thread_ = std::move(keeper);
    return;
  }
  keeper.join();
}

void job_keeper::settle(std::vector<outcome>& done) {
  for (auto& o : done) {
    if (o.error)
      o.work->promise.set_exception(o.error);
    else
      o.work->promise.set_value(std::move(o.result));
  }
  done.clear();
}

void job_keeper::runtime_stopping() noexcept {
  // All of it stops, as supervisor::stop() does: no lease is granted after
  // the runtime has gone, and a blocked acquire wakes with stopped_error.
  stop();
}

} // namespace troupe::detail
