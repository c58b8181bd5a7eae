// The host's calls in runtime_core: worker::call (a future, a timeout) and
// the calls CAF requests become (a completion function, troupe/caf.hpp),
// their replies and their ends, and a native actor's reply. The host watches
// each worker it calls once, not once per call, and fails all its calls when
// it ends; deadlines wait in one list per timeout, swept by one timer armed
// for the earliest, so a call costs neither a watch nor a timer of its own.
// No CAF here.
#include <algorithm>
#include <new>

#include "actors/runtime_core.hpp"
#include "serialization/value_codec.hpp"

namespace troupe::detail {

limit_error inbox_full(const char* fn, worker_id id) {
  return limit_error{std::string{"troupe::worker::"} + fn
                     + ": inbox full (worker " + std::to_string(id) + ")"};
}

void runtime_core::host_call_state::settle(value* v,
                                           std::exception_ptr e) noexcept {
  try {
    if (done) {
      done(v, e);
    } else if (v != nullptr) {
      promise.set_value(std::move(*v));
    } else if (e) {
      promise.set_exception(e);
    }
  } catch (...) {
    // A completion that throws has nowhere to report; the call is over.
  }
}

std::optional<child_link>
runtime_core::register_call(std::uint64_t call, host_call_state state,
                            std::unique_lock<std::mutex>& lock) {
  worker_id to = state.target;
  auto target = call_targets_.find(to);
  if (target == call_targets_.end()) {
    // First call to `to` since it was last watched: watch it (outside the
    // lock, which its end takes to fail the calls).
    lock.unlock();
    auto link = find(to);
    bool watched = link
                   && link->shared->watchers.add(
                     {0, lua_vm::watch_token(to, lua_vm::watch_kind::call)});
    lock.lock();
    if (!watched) return std::nullopt;
    target = call_targets_.emplace(to, std::move(*link)).first;
  }
  if (state.timeout) {
    auto deadline = lua_vm::deadline_in(*state.timeout);
    auto& list = call_deadlines_[*state.timeout];
    // Gaps beyond the calls waiting go in one pass now and then.
    if (list.entries.size() > 2 * list.waiting + 64)
      std::erase_if(list.entries, [&](const auto& e) {
        return !host_calls_.contains(e.second);
      });
    list.entries.emplace_back(deadline, call);
    ++list.waiting;
    if (!sweep_ || deadline < sweep_->first) arm_sweep(deadline);
  }
  host_calls_.emplace(call, std::move(state));
  return target->second;
}

void runtime_core::unlist_deadline(const host_call_state& state) noexcept {
  if (!state.timeout) return;
  auto l = call_deadlines_.find(*state.timeout);
  if (l == call_deadlines_.end()) return;
  // No call of this timeout waits: its gaps go at once.
  if (--l->second.waiting == 0) call_deadlines_.erase(l);
}

void runtime_core::arm_sweep(lua_vm::clock::time_point at) {
  if (sweep_) cancel_timer(*sweep_);
  std::weak_ptr<runtime_core> self = weak_from_this();
  sweep_ = after(at - lua_vm::clock::now(), [self] {
    if (auto core = self.lock()) core->sweep_calls();
  });
}

void runtime_core::sweep_calls() noexcept {
  std::vector<std::pair<host_call_state, std::chrono::nanoseconds>> expired;
  try {
    std::lock_guard guard{calls_mutex_};
    sweep_.reset();
    auto now = lua_vm::clock::now();
    std::optional<lua_vm::clock::time_point> next;
    for (auto l = call_deadlines_.begin(); l != call_deadlines_.end();) {
      auto& list = l->second;
      while (!list.entries.empty()) {
        auto [deadline, call] = list.entries.front();
        auto i = host_calls_.find(call);
        if (i != host_calls_.end() && deadline > now) break;
        list.entries.pop_front();
        if (i == host_calls_.end()) continue;
        --list.waiting;
        expired.emplace_back(std::move(i->second), l->first);
        host_calls_.erase(i);
      }
      if (list.waiting == 0) {
        l = call_deadlines_.erase(l);
        continue;
      }
      auto front = list.entries.front().first;
      if (!next || front < *next) next = front;
      ++l;
    }
    if (next) arm_sweep(*next);
  } catch (...) {
    // Out of memory re-arming: the calls left wait for their replies or ends.
  }
  for (auto& [state, timeout] : expired)
    state.settle(nullptr, std::make_exception_ptr(timeout_error{
                            "troupe::worker::call: no reply within "
                            + lua_vm::in_ms(timeout)}));
}

std::size_t runtime_core::call_deadline_entries() {
  std::lock_guard guard{calls_mutex_};
  std::size_t n = 0;
  for (const auto& [timeout, list] : call_deadlines_) n += list.entries.size();
  return n;
}

std::uint64_t runtime_core::open_call(worker_id to, call_done done) {
  std::unique_lock lock{calls_mutex_};
  std::uint64_t call = next_host_call_++;
  host_call_state state;
  state.done = std::move(done);
  state.target = to;
  return register_call(call, std::move(state), lock) ? call : 0;
}

std::future<value> runtime_core::host_call(worker_id to, std::string_view bytes,
                                           std::chrono::nanoseconds timeout) {
  check_running();
  host_call_state state;
  state.target = to;
  state.timeout = lua_vm::saturated(timeout);
  auto result = state.promise.get_future();
  std::uint64_t call = 0;
  std::optional<child_link> link;
  {
    std::unique_lock lock{calls_mutex_};
    call = next_host_call_++;
    link = register_call(call, std::move(state), lock);
  }
  auto ended = [&] {
    return error{"troupe::worker::call: worker " + std::to_string(to)
                 + " has ended"};
  };
  if (!link) {
    std::promise<value> gone;
    gone.set_exception(std::make_exception_ptr(ended()));
    return gone.get_future();
  }
  lua_vm::send_result r = link->post_inbox({0, call, mail_kind::inbox}, bytes);
  switch (r) {
    case lua_vm::send_result::sent:
      ++messages;
      count_sent(bytes.size());
      return result;
    case lua_vm::send_result::dead:
      end_host_call(call, std::make_exception_ptr(ended()));
      return result;
    case lua_vm::send_result::full:
      end_host_call(call, nullptr);
      throw inbox_full("call", to);
    case lua_vm::send_result::failed: break;
  }
  end_host_call(call, nullptr);
  throw std::bad_alloc{};
}

std::optional<runtime_core::host_call_state>
runtime_core::take_host_call(std::uint64_t call) noexcept {
  std::optional<host_call_state> state;
  std::lock_guard guard{calls_mutex_};
  auto i = host_calls_.find(call);
  if (i == host_calls_.end()) return state;
  state.emplace(std::move(i->second));
  host_calls_.erase(i);
  unlist_deadline(*state);
  return state;
}

void runtime_core::end_host_call(std::uint64_t call,
                                 std::exception_ptr error) noexcept {
  auto state = take_host_call(call);
  if (state) state->settle(nullptr, error);
}

bool runtime_core::host_reply(std::uint64_t call,
                              std::string_view bytes) noexcept {
  auto state = take_host_call(call);
  if (!state) return false;
  try {
    auto values = serialization::decode_value(bytes, {}, &value_handles_)
                    .as_array();
    value v;
    if (values.size() == 1)
      v = std::move(values[0]);
    else if (!values.empty())
      v = value::array(std::move(values));
    state->settle(&v, nullptr);
  } catch (...) {
    state->settle(nullptr, std::current_exception());
  }
  return true;
}

void runtime_core::host_call_ended(std::uint64_t call) noexcept {
  try {
    end_host_call(call, std::make_exception_ptr(error{
                          "troupe::worker::call: the worker ended before it "
                          "replied"}));
  } catch (...) {
    end_host_call(call, nullptr);
  }
}

void runtime_core::host_down(std::uint64_t token) noexcept {
  worker_id target = token >> 2;
  std::vector<host_call_state> ended;
  {
    std::lock_guard guard{calls_mutex_};
    call_targets_.erase(target);
    for (auto i = host_calls_.begin(); i != host_calls_.end();) {
      if (i->second.target != target) {
        ++i;
        continue;
      }
      unlist_deadline(i->second);
      try {
        ended.push_back(std::move(i->second));
      } catch (...) {
        // Out of memory: this call is dropped; its future reports a broken
        // promise.
      }
      i = host_calls_.erase(i);
    }
  }
  std::exception_ptr why;
  try {
    why = std::make_exception_ptr(
      error{"troupe::worker::call: the worker ended before it replied"});
  } catch (...) {
    why = std::current_exception();
  }
  for (auto& state : ended) state.settle(nullptr, why);
}

bool runtime_core::reply_from(worker_id self, worker_id caller,
                              std::uint64_t call,
                              std::string_view bytes) noexcept {
  if (caller == 0) return host_reply(call, bytes);
  try {
    auto link = find(caller);
    return link && link->post_reply(self, call, bytes, [&] {
      ring_from_here(link->actor);
    });
  } catch (...) {
    return false;
  }
}

} // namespace troupe::detail
