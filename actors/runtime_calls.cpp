// The host's calls in runtime_core: worker::call (a future, a timeout on the
// timer thread), the calls CAF requests become (a completion function,
// troupe/caf.hpp), their replies and their ends, and a native actor's reply.
// Each call watches its target, so one that ends without replying fails it at
// once. No CAF here.
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

std::uint64_t runtime_core::open_call(worker_id to, call_done done) {
  std::lock_guard guard{calls_mutex_};
  std::uint64_t call = next_host_call_++;
  auto& state = host_calls_[call];
  state.target = to;
  state.done = std::move(done);
  return call;
}

bool runtime_core::watch_call(std::uint64_t call, const child_link& link) {
  watch_list::watch w{0, lua_vm::watch_token(call, lua_vm::watch_kind::call)};
  if (!link.shared->watchers.add(w)) return false;
  std::lock_guard guard{calls_mutex_};
  if (auto i = host_calls_.find(call); i != host_calls_.end())
    i->second.shared = link.shared;
  return true;
}

std::future<value> runtime_core::host_call(worker_id to, std::string_view bytes,
                                           std::chrono::nanoseconds timeout) {
  check_running();
  std::uint64_t call = open_call(to, {});
  std::future<value> result;
  {
    std::lock_guard guard{calls_mutex_};
    result = host_calls_[call].promise.get_future();
  }
  auto ended = [&] {
    end_host_call(call, std::make_exception_ptr(
                          error{"troupe::worker::call: worker "
                                + std::to_string(to) + " has ended"}));
    return std::move(result);
  };
  auto link = find(to);
  if (!link || !watch_call(call, *link)) return ended();
  lua_vm::send_result r = link->post_inbox({0, call, mail_kind::inbox}, bytes);
  if (r != lua_vm::send_result::sent) {
    if (r == lua_vm::send_result::dead) return ended();
    end_host_call(call, nullptr);
    if (r == lua_vm::send_result::full) throw inbox_full("call", to);
    throw std::bad_alloc{};
  }
  ++messages;
  std::weak_ptr<runtime_core> self = weak_from_this();
  auto key = after(timeout, [self, call, timeout] {
    if (auto core = self.lock())
      core->end_host_call(call, std::make_exception_ptr(timeout_error{
                                  "troupe::worker::call: no reply within "
                                  + lua_vm::in_ms(timeout)}));
  });
  // The reply may have come first: then its timeout goes now.
  {
    std::lock_guard guard{calls_mutex_};
    if (auto i = host_calls_.find(call); i != host_calls_.end()) {
      i->second.timeout = key;
      return result;
    }
  }
  cancel_timer(key);
  return result;
}

std::optional<runtime_core::host_call_state>
runtime_core::take_host_call(std::uint64_t call) noexcept {
  std::optional<host_call_state> state;
  {
    std::lock_guard guard{calls_mutex_};
    auto i = host_calls_.find(call);
    if (i == host_calls_.end()) return state;
    state.emplace(std::move(i->second));
    host_calls_.erase(i);
  }
  if (state->timeout) cancel_timer(*state->timeout);
  if (state->shared)
    state->shared->watchers.remove(
      {0, lua_vm::watch_token(call, lua_vm::watch_kind::call)});
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

void runtime_core::host_down(std::uint64_t token) noexcept {
  std::uint64_t call = token >> 2;
  try {
    end_host_call(call, std::make_exception_ptr(error{
                          "troupe::worker::call: the worker ended before it "
                          "replied"}));
  } catch (...) {
    end_host_call(call, std::current_exception());
  }
}

bool runtime_core::reply_from(worker_id self, worker_id caller,
                              std::uint64_t call,
                              std::string_view bytes) noexcept {
  if (caller == 0) return host_reply(call, bytes);
  try {
    auto link = find(caller);
    if (!link) return false;
    // Taking the caller's awaited number makes this the one reply.
    std::uint64_t expected = call;
    if (!link->shared->awaiting
           .compare_exchange_strong(expected, 0, std::memory_order_acq_rel))
      return false;
    return link->post({self, call, mail_kind::reply}, bytes)
           == delivery::delivered;
  } catch (...) {
    return false;
  }
}

} // namespace troupe::detail
