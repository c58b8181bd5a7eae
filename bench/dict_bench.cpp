// Shared dicts (issue 17) from C++: get and set through troupe::shared_dict
// on one dict, by one thread and by two at once (Google Benchmark's Threads:
// the rate is per thread; multiply by the count for the dict's total). Keys
// cycle through 1,000 so the table is not one hot entry.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "troupe/troupe.hpp"

namespace {

troupe::runtime& runtime_with_dict() {
  static troupe::runtime rt{[] {
    troupe::runtime_config config;
    config.threads = 2;
    config.shared_dicts = {{"bench", std::size_t{64} << 20},
                           {"own0", std::size_t{64} << 20},
                           {"own1", std::size_t{64} << 20}};
    return config;
  }()};
  return rt;
}

const std::vector<std::string>& keys() {
  static const std::vector<std::string> all = [] {
    std::vector<std::string> k;
    for (int i = 0; i < 1000; ++i) k.push_back("key:" + std::to_string(i));
    return k;
  }();
  return all;
}

void get_loop(benchmark::State& state, troupe::shared_dict d) {
  const auto& k = keys();
  for (const auto& key : k) d.set(key, "a value of some length");
  // Threads start half the keys apart, as unrelated clients would be.
  std::size_t i = state.thread_index() * k.size() / 2;
  for (auto _ : state) {
    benchmark::DoNotOptimize(d.get(k[i]));
    i = i + 1 == k.size() ? 0 : i + 1;
  }
  state.SetItemsProcessed(state.iterations());
}

void dict_get(benchmark::State& state) {
  get_loop(state, runtime_with_dict().shared_dict("bench"));
}
BENCHMARK(dict_get)->Threads(1)->Threads(2)->UseRealTime();

// The floor of two threads on this machine: each on a dict of its own, so
// nothing is shared but the CPU's caches and memory.
void dict_get_own(benchmark::State& state) {
  get_loop(state, runtime_with_dict().shared_dict(
                    state.thread_index() == 0 ? "own0" : "own1"));
}
BENCHMARK(dict_get_own)->Threads(2)->UseRealTime();

void dict_set(benchmark::State& state) {
  auto d = runtime_with_dict().shared_dict("bench");
  const auto& k = keys();
  // Threads start half the keys apart, as unrelated clients would be.
  std::size_t i = state.thread_index() * k.size() / 2;
  std::int64_t n = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(d.set(k[i], ++n));
    i = i + 1 == k.size() ? 0 : i + 1;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(dict_set)->Threads(1)->Threads(2)->UseRealTime();

} // namespace
