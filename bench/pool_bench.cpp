// The job pool's figures: the trivial job pipelined through submit_async and
// through a blocking submit from one thread, the naive way of running the same
// job (a fresh lua_State per job), and the price of isolation per job (the
// job runner with and without fresh globals).
#include <deque>
#include <future>

#include <benchmark/benchmark.h>
#include <lua.hpp>

#include "lua_vm/job_runner.hpp"
#include "serialization/value_codec.hpp"
#include "troupe/troupe.hpp"

namespace {

constexpr const char* trivial = "return ctx.message .. ' from Lua'";

troupe::context hello() {
  troupe::context ctx;
  ctx.set("message", "Hello");
  ctx.set("params", troupe::value::map({{"id", "123"}}));
  return ctx;
}

troupe::runtime_config two_threads(std::size_t poll_attempts = 100) {
  troupe::runtime_config config;
  config.threads = 2;
  config.poll_attempts = poll_attempts;
  return config;
}

// submit_async with up to 1024 jobs in flight; one job per iteration.
void pool_pipelined(benchmark::State& s) {
  troupe::runtime rt{two_threads()};
  troupe::pool pool{rt, static_cast<std::size_t>(s.range(0))};
  auto bc = troupe::compile(trivial, "trivial");
  auto ctx = hello();
  std::deque<std::future<troupe::value>> in_flight;
  for (auto _ : s) {
    if (in_flight.size() == 1024) {
      benchmark::DoNotOptimize(in_flight.front().get());
      in_flight.pop_front();
    }
    in_flight.push_back(pool.submit_async(bc, ctx));
  }
  for (auto& f : in_flight) f.get();
  s.SetItemsProcessed(s.iterations());
}
BENCHMARK(pool_pipelined)->Arg(2)->UseRealTime();

// One blocking submit at a time: a thread wake-up each way.
void pool_blocking(benchmark::State& s) {
  troupe::runtime rt{two_threads(static_cast<std::size_t>(s.range(0)))};
  troupe::pool pool{rt, 2};
  auto bc = troupe::compile(trivial, "trivial");
  auto ctx = hello();
  for (auto _ : s) benchmark::DoNotOptimize(pool.submit(bc, ctx));
  s.SetItemsProcessed(s.iterations());
}
BENCHMARK(pool_blocking)->Arg(100)->Arg(10000)->UseRealTime();

// The naive way: a fresh state with the standard libraries, the source
// loaded, ctx built, the job run, the state closed, for every job.
void naive_fresh_state(benchmark::State& s) {
  for (auto _ : s) {
    lua_State* L = luaL_newstate();
    luaL_openlibs(L);
    lua_createtable(L, 0, 2);
    lua_pushliteral(L, "Hello");
    lua_setfield(L, -2, "message");
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "123");
    lua_setfield(L, -2, "id");
    lua_setfield(L, -2, "params");
    lua_setglobal(L, "ctx");
    if (luaL_loadstring(L, trivial) != LUA_OK
        || lua_pcall(L, 0, 1, 0) != LUA_OK)
      s.SkipWithError("the job failed");
    benchmark::DoNotOptimize(lua_tostring(L, -1));
    lua_close(L);
  }
  s.SetItemsProcessed(s.iterations());
}
BENCHMARK(naive_fresh_state);

// One job in one runner, start to end_job: arg 1 with isolation, 0 without.
void runner_job(benchmark::State& s) {
  troupe::lua_vm::job_runner_config config;
  config.cancel = std::make_shared<std::atomic<bool>>(false);
  config.isolate = s.range(0) != 0;
  troupe::lua_vm::job_runner runner{config};
  auto bc = troupe::compile(trivial, "trivial");
  troupe::serialization::byte_sink sink;
  troupe::serialization::encode(hello().values(), sink);
  std::string ctx{sink.view()};
  for (auto _ : s) {
    if (!runner.start(bc, ctx, troupe::lua_vm::clock::time_point::max())
        || !runner.outcome().ok)
      s.SkipWithError("the job failed");
    runner.end_job();
  }
  s.SetItemsProcessed(s.iterations());
}
BENCHMARK(runner_job)->Arg(0)->Arg(1);

} // namespace
