// Supervised jobs: the crash-restart cycle of an instance that fails at once
// (zero backoff), which bounds the time from an instance's death to its
// replacement running, under the C++ supervisor and under a Lua one
// (worker.supervise); and the throughput of submit for a trivial job at
// targets 2 and 100, with a fresh worker per job and on a pool.
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <vector>

#include <benchmark/benchmark.h>

#include "troupe/troupe.hpp"

namespace {

troupe::runtime_config two_threads() {
  troupe::runtime_config config;
  config.threads = 2;
  return config;
}

// One iteration: the next restart of an instance that dies as it starts.
void restart_cycle(benchmark::State& s) {
  troupe::runtime rt{two_threads()};
  std::mutex m;
  std::condition_variable cv;
  std::size_t restarts = 0;
  troupe::supervisor sup{rt, [&](const troupe::job_event& e) {
                           if (e.kind != troupe::job_event_kind::restarted)
                             return;
                           std::lock_guard held{m};
                           ++restarts;
                           cv.notify_one();
                         }};
  sup.set("crash", 1);
  sup.run("crash", troupe::job{.code = troupe::compile("error('x')", "crash")},
          {.intensity = 1u << 30});
  std::size_t seen = 0;
  for (auto _ : s) {
    std::unique_lock held{m};
    cv.wait(held, [&] { return restarts > seen; });
    seen = restarts;
  }
  sup.stop();
}
BENCHMARK(restart_cycle)->UseRealTime();

// The same cycle under worker.supervise: each instance says it is up (its
// supervisor passes that on to the root) and fails. The root times the
// restarts after a warm-up with worker.time(); one iteration is one restart.
void lua_restart_cycle(benchmark::State& s) {
  auto dir = std::filesystem::temp_directory_path() / "troupe_bench_lua_sup";
  std::filesystem::create_directories(dir);
  std::ofstream{dir / "crash.lua"} << "worker.message(1) error('x')";
  auto config = two_threads();
  config.base_dir = dir;
  config.permissions = {"worker", "load", "fs:read"};
  troupe::runtime rt{config};
  constexpr int warm_up = 200;
  constexpr int batch = 2000;
  for (auto _ : s) {
    auto w = rt.spawn_source(R"lua(
      local warm_up, batch = ...
      local sup = worker.supervise{intensity = 1 << 30, children = {
        {name = "crash", path = "crash.lua"}}}
      for _ = 1, warm_up do worker.receive(sup) end
      local t0 = worker.time()
      for _ = 1, batch do worker.receive(sup) end
      local elapsed = worker.time() - t0
      worker.call(sup, "shutdown")
      return elapsed)lua",
                             "lua_restart_cycle", {warm_up, batch});
    auto end = rt.join(w);
    if (!end.ok) {
      s.SkipWithError(end.error->what());
      return;
    }
    s.SetIterationTime(end.values.at(0).as_double() / batch);
  }
}
BENCHMARK(lua_restart_cycle)->UseManualTime()->Iterations(20);

// Trivial jobs through submit, 1,000 in flight; with a pool of two workers
// behind the key when `pooled`.
void submit_jobs(benchmark::State& s, bool pooled) {
  troupe::runtime rt{two_threads()};
  troupe::pool pool{rt, 2};
  troupe::supervisor sup{rt};
  if (pooled) sup.use_pool("jobs", pool);
  sup.set("jobs", static_cast<std::size_t>(s.range(0)));
  troupe::job job{.code = troupe::compile("return 1", "trivial")};
  std::vector<std::future<troupe::value>> in_flight;
  in_flight.reserve(1000);
  for (auto _ : s) {
    if (in_flight.size() == 1000) {
      for (auto& f : in_flight) benchmark::DoNotOptimize(f.get());
      in_flight.clear();
    }
    in_flight.push_back(sup.submit("jobs", job));
  }
  for (auto& f : in_flight) f.get();
  s.SetItemsProcessed(s.iterations());
}

void submit_trivial(benchmark::State& s) {
  submit_jobs(s, false);
}
BENCHMARK(submit_trivial)->Arg(2)->Arg(100)->UseRealTime();

void submit_pooled(benchmark::State& s) {
  submit_jobs(s, true);
}
BENCHMARK(submit_pooled)->Arg(2)->Arg(100)->UseRealTime();

} // namespace
