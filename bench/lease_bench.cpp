// The supervisor's lease table: acquire + release throughput on one thread and
// on four, and the latency from a release to the waiting acquirer it wakes.
#include <atomic>
#include <thread>

#include <benchmark/benchmark.h>

#include "troupe/error.hpp"
#include "troupe/supervisor.hpp"

namespace {

void acquire_release_one_thread(benchmark::State& s) {
  troupe::supervisor sup;
  sup.set("k", 1 << 30);
  for (auto _ : s) {
    troupe::lease l = sup.acquire("k");
    l.release();
  }
  s.SetItemsProcessed(s.iterations());
}
BENCHMARK(acquire_release_one_thread);

void anonymous_acquire_release_one_thread(benchmark::State& s) {
  troupe::supervisor sup;
  sup.set("a", 1 << 30);
  sup.set("b", 1 << 30);
  for (auto _ : s) {
    troupe::lease l = sup.acquire();
    l.release();
  }
  s.SetItemsProcessed(s.iterations());
}
BENCHMARK(anonymous_acquire_release_one_thread);

troupe::supervisor shared_sup;

// Four threads over two keys; items_per_second is the total across the threads.
void acquire_release_four_threads(benchmark::State& s) {
  if (s.thread_index() == 0) {
    shared_sup.set("a", 1 << 30);
    shared_sup.set("b", 1 << 30);
  }
  const char* key = s.thread_index() % 2 == 0 ? "a" : "b";
  for (auto _ : s) {
    troupe::lease l = shared_sup.acquire(key);
    l.release();
  }
  s.SetItemsProcessed(s.iterations());
}
BENCHMARK(acquire_release_four_threads)->Threads(4)->UseRealTime();

// A helper thread blocks on the only unit of a key; the benchmark releases it
// and the iteration's time is from just before release() to the moment the
// helper's acquire returns.
void wakeup_latency(benchmark::State& s) {
  using clock = std::chrono::steady_clock;
  troupe::supervisor sup;
  sup.set("k", 1);
  std::atomic<clock::rep> released_at{0}, woke_after{-1};
  std::atomic<bool> stop{false};
  troupe::lease held = sup.acquire("k");
  std::thread helper{[&] {
    while (!stop.load()) {
      try {
        troupe::lease l = sup.acquire("k");
        woke_after.store(clock::now().time_since_epoch().count()
                         - released_at.load());
      } catch (const troupe::stopped_error&) {
        return;
      }
    }
  }};
  for (auto _ : s) {
    while (sup.waiting() == 0) std::this_thread::yield();
    woke_after.store(-1);
    released_at.store(clock::now().time_since_epoch().count());
    held.release();
    while (woke_after.load() < 0) std::this_thread::yield();
    s.SetIterationTime(
      std::chrono::duration<double>(clock::duration{woke_after.load()})
        .count());
    held = sup.acquire("k");
  }
  stop = true;
  sup.stop();
  helper.join();
}
BENCHMARK(wakeup_latency)->UseManualTime();

} // namespace
