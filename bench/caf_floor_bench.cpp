// The floor under a worker's message hop: two plain CAF event-based actors
// bouncing a 12-byte string, with max-throughput 1 as the runtime sets it, on
// 2 threads, under CAF's work-stealing scheduler and under troupe's. An
// iteration is a batch of 10,000 round trips; items_per_second counts round
// trips.
#include <future>
#include <memory>
#include <string>

#include <benchmark/benchmark.h>
#include <caf/all.hpp>

#include "actors/scheduler.hpp"

namespace {

using bounce_atom = caf::atom_constant<caf::atom("bounce")>;

constexpr int round_trips = 10000;

caf::behavior echo(caf::event_based_actor* self) {
  return {[self](bounce_atom, std::string& s) {
    self->send(caf::actor_cast<caf::actor>(self->current_sender()),
               bounce_atom::value, std::move(s));
  }};
}

// Sends the string to `peer` and bounces it `round_trips` times, then
// fulfils `done`.
caf::behavior driver(caf::event_based_actor* self, caf::actor peer,
                     std::shared_ptr<std::promise<void>> done) {
  auto left = std::make_shared<int>(round_trips);
  self->send(peer, bounce_atom::value, std::string(12, 'x'));
  return {[=](bounce_atom, std::string& s) {
    if (--*left == 0) {
      done->set_value();
      self->quit();
      return;
    }
    self->send(peer, bounce_atom::value, std::move(s));
  }};
}

void caf_ping_pong(benchmark::State& s) {
  caf::actor_system_config config;
  config.set("scheduler.max-threads", 2);
  config.set("scheduler.max-throughput", 1);
  if (s.range(0) == 1) {
    config.module_factories.emplace_back(
      [](caf::actor_system& system) -> caf::actor_system::module* {
        return new troupe::detail::scheduler(system, {1000});
      });
  }
  caf::actor_system system{config};
  auto peer = system.spawn(echo);
  for (auto _ : s) {
    auto done = std::make_shared<std::promise<void>>();
    auto finished = done->get_future();
    system.spawn(driver, peer, done);
    finished.wait();
  }
  s.SetItemsProcessed(s.iterations() * round_trips);
  caf::anon_send_exit(peer, caf::exit_reason::kill);
}
BENCHMARK(caf_ping_pong)
  ->ArgName("troupe_scheduler")
  ->Arg(0)
  ->Arg(1)
  ->UseRealTime();

} // namespace
