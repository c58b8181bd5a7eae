// C++ actors and services (issue 15): a script's call round trip to a native
// actor beside the same to a script, a native function call beside a plain Lua
// call, the throughput of script messages into an on_message callback, and
// C++ calls with 1,000 in flight beside the floor of std::future itself. Each
// iteration is one batch; the rate is in items_per_second.
#include <benchmark/benchmark.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "troupe/troupe.hpp"

namespace {

using troupe::value;

troupe::runtime_config two_threads() {
  troupe::runtime_config config;
  config.threads = 2;
  config.functions["add"] = [](std::span<const value> args) {
    return std::vector<value>{args[0].as_int() + args[1].as_int()};
  };
  config.permissions = {"host"};
  return config;
}

constexpr std::int64_t batch = 20000;

// A script that, for each n sent to it, makes n calls of {id = i, name = "x"}
// to the handle it was given and then messages n back.
const char* const caller = R"lua(
  local server = ...
  while true do
    local n = worker.peek()
    if n == nil then return end
    for i = 1, n do
      local r = worker.call(server, {id = i, name = "x"})
      if r.id ~= i then error("bad reply") end
    end
    worker.message(n)
  end)lua";

void run_batches(benchmark::State& s, troupe::runtime& rt,
                 const troupe::worker& client) {
  for (auto _ : s) {
    client.send(batch);
    if (rt.receive(client) != value{batch}) s.SkipWithError("wrong reply");
  }
  s.SetItemsProcessed(s.iterations() * batch);
  client.cancel();
}

void script_calls_script(benchmark::State& s) {
  troupe::runtime rt{two_threads()};
  auto echo = rt.spawn_source(R"lua(
    while true do
      local v, _, call = worker.peek()
      if v == nil then return end
      worker.reply(call, v)
    end)lua",
                              "echo");
  run_batches(s, rt, rt.spawn_source(caller, "caller", {echo}));
}
BENCHMARK(script_calls_script)->UseRealTime()->Unit(benchmark::kMillisecond);

void script_calls_native(benchmark::State& s) {
  troupe::runtime rt{two_threads()};
  auto echo = rt.spawn_native(
    [](troupe::envelope& e) { e.reply(e.message()); });
  run_batches(s, rt, rt.spawn_source(caller, "caller", {echo}));
}
BENCHMARK(script_calls_native)->UseRealTime()->Unit(benchmark::kMillisecond);

// For each n, n calls of `f` (host.add or a Lua function) on 2 and 3.
void lua_loop(benchmark::State& s, const char* f) {
  troupe::runtime rt{two_threads()};
  std::string source = std::string{"local function add(a, b) return a + b "
                                   "end\nlocal f = "}
                       + f + R"lua(
    while true do
      local n = worker.peek()
      if n == nil then return end
      local sum = 0
      for i = 1, n do sum = sum + f(2, 3) end
      worker.message(sum // 5)
    end)lua";
  run_batches(s, rt, rt.spawn_source(source, "loop"));
}

void lua_function_call(benchmark::State& s) {
  lua_loop(s, "add");
}
BENCHMARK(lua_function_call)->UseRealTime()->Unit(benchmark::kMicrosecond);

void host_function_call(benchmark::State& s) {
  lua_loop(s, "host.add");
}
BENCHMARK(host_function_call)->UseRealTime()->Unit(benchmark::kMicrosecond);

// Four workers each send `batch / 4` messages per iteration to the host,
// which takes them with on_message callbacks.
void on_message_throughput(benchmark::State& s) {
  troupe::runtime rt{two_threads()};
  constexpr int senders = 4;
  std::mutex m;
  std::condition_variable cv;
  std::atomic<std::int64_t> taken{0};
  std::vector<troupe::worker> ws;
  for (int i = 0; i < senders; ++i) {
    ws.push_back(rt.spawn_source(R"lua(
      while true do
        local n = worker.peek()
        if n == nil then return end
        for i = 1, n do worker.message(i) end
      end)lua",
                                 "sender"));
    rt.on_message(ws.back(), [&](const value&) {
      if ((taken.fetch_add(1, std::memory_order_relaxed) + 1) % batch == 0) {
        std::lock_guard guard{m};
        cv.notify_one();
      }
    });
  }
  std::int64_t target = 0;
  for (auto _ : s) {
    target += batch;
    for (auto& w : ws) w.send(batch / senders);
    std::unique_lock lock{m};
    cv.wait(lock, [&] { return taken >= target; });
  }
  s.SetItemsProcessed(s.iterations() * batch);
  for (auto& w : ws) w.cancel();
}
BENCHMARK(on_message_throughput)->UseRealTime()->Unit(benchmark::kMillisecond);

// worker::call with 1,000 calls in flight to a script (range 0) or native
// (range 1) echo.
void host_calls_pipelined(benchmark::State& s) {
  troupe::runtime rt{two_threads()};
  auto echo = s.range(0) == 0 ? rt.spawn_source(R"lua(
                    while true do
                      local v, _, call = worker.peek()
                      if v == nil then return end
                      worker.reply(call, v)
                    end)lua",
                                                "echo")
                              : rt.spawn_native([](troupe::envelope& e) {
                                  e.reply(e.message());
                                });
  constexpr std::size_t in_flight = 1000;
  std::deque<std::future<value>> calls;
  std::int64_t i = 0;
  for (auto _ : s) {
    for (std::int64_t k = 0; k < batch; ++k) {
      if (calls.size() == in_flight) {
        calls.front().get();
        calls.pop_front();
      }
      calls.push_back(echo.call(++i, std::chrono::seconds{30}));
    }
  }
  while (!calls.empty()) {
    calls.front().get();
    calls.pop_front();
  }
  s.SetItemsProcessed(s.iterations() * batch);
}
BENCHMARK(host_calls_pipelined)
  ->Arg(0)
  ->Arg(1)
  ->UseRealTime()
  ->Unit(benchmark::kMillisecond);

// The floor of host_calls_pipelined: std::promise and std::future alone,
// 1,000 in flight from this thread to one that keeps the promises (a queue
// under a mutex, the keeper spinning when it is empty), no actors.
void future_floor(benchmark::State& s) {
  std::mutex m;
  std::deque<std::promise<std::int64_t>> queue;
  std::atomic<bool> stop{false};
  std::thread keeper{[&] {
    while (!stop.load()) {
      std::optional<std::promise<std::int64_t>> p;
      {
        std::lock_guard guard{m};
        if (!queue.empty()) {
          p.emplace(std::move(queue.front()));
          queue.pop_front();
        }
      }
      if (p)
        p->set_value(1);
      else
        std::this_thread::yield();
    }
  }};
  constexpr std::size_t in_flight = 1000;
  std::deque<std::future<std::int64_t>> calls;
  for (auto _ : s) {
    for (std::int64_t k = 0; k < batch; ++k) {
      if (calls.size() == in_flight) {
        calls.front().get();
        calls.pop_front();
      }
      std::promise<std::int64_t> p;
      calls.push_back(p.get_future());
      std::lock_guard guard{m};
      queue.push_back(std::move(p));
    }
  }
  while (!calls.empty()) {
    calls.front().get();
    calls.pop_front();
  }
  stop = true;
  keeper.join();
  s.SetItemsProcessed(s.iterations() * batch);
}
BENCHMARK(future_floor)->UseRealTime()->Unit(benchmark::kMillisecond);

} // namespace
