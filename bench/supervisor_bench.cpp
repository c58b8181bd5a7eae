// Supervised jobs: the crash-restart cycle of an instance that fails at once
// (zero backoff), which bounds the time from an instance's death to its
// replacement running; and the throughput of submit for a trivial job at
// targets 2 and 100.
#include <condition_variable>
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

// Trivial jobs through submit, 1,000 in flight.
void submit_trivial(benchmark::State& s) {
  troupe::runtime rt{two_threads()};
  troupe::supervisor sup{rt};
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
BENCHMARK(submit_trivial)->Arg(2)->Arg(100)->UseRealTime();

} // namespace
