// The host's blocking round trip: a C++ thread sends to a worker and waits in
// runtime::receive for its reply (a thread wake-up each way), with CAF's
// default polling and with more aggressive polling.
#include <benchmark/benchmark.h>

#include "troupe/troupe.hpp"

namespace {

void host_round_trip(benchmark::State& s) {
  troupe::runtime_config config;
  config.threads = 2;
  config.poll_attempts = static_cast<std::size_t>(s.range(0));
  troupe::runtime rt{config};
  auto echo = rt.spawn_source("while true do local v = worker.peek() if v == "
                              "nil then return end "
                              "worker.message(v) end",
                              "echo");
  std::int64_t i = 0;
  for (auto _ : s) {
    echo.send(++i);
    if (rt.receive(echo) != troupe::value{i}) s.SkipWithError("wrong reply");
  }
  echo.cancel();
}
BENCHMARK(host_round_trip)->Arg(100)->Arg(10000)->UseRealTime();

} // namespace
