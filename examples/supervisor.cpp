// Supervised script jobs: three keys, each with a target of instances, one of
// them running a flaky script that crashes now and then. The supervisor keeps
// every key at its target and restarts what fails; a callback counts the
// events, and the counts are printed as they move. Then one target is
// lowered, and the supervisor retires the newest instances. Last, a key
// backed by a pool runs many small jobs on the pool's two Lua states, 100 at
// a time, instead of a fresh worker each.
#include <atomic>
#include <chrono>
#include <future>
#include <iostream>
#include <thread>
#include <vector>

#include <troupe/troupe.hpp>

int main() {
  using namespace std::chrono_literals;
  troupe::runtime rt;
  std::atomic<int> started{0};
  std::atomic<int> failed{0};
  std::atomic<int> restarted{0};
  troupe::supervisor sup{rt, [&](const troupe::job_event& e) {
                           if (e.kind == troupe::job_event_kind::started)
                             ++started;
                           if (e.kind == troupe::job_event_kind::failed)
                             ++failed;
                           if (e.kind == troupe::job_event_kind::restarted)
                             ++restarted;
                         }};

  // Waits for work (none comes here) and leaves when retired.
  auto steady = troupe::
    compile("while true do local v, why = worker.peek(0.05) "
            "if v == nil and why == nil then return end end",
            "steady");
  // Crashes at random, a few times a second.
  auto flaky = troupe::
    compile("while true do local v, why = worker.peek(0.01) "
            "if v == nil and why == nil then return end "
            "if math.random() < 0.2 then error('flaky job crashed') end end",
            "flaky");

  sup.set("ingest", 3);
  sup.set("index", 2);
  sup.set("flaky", 2);
  sup.run("ingest", troupe::job{.code = steady});
  sup.run("index", troupe::job{.code = steady});
  sup.run("flaky", troupe::job{.code = flaky},
          troupe::restart_policy{.backoff_min = 1ms,
                                 .backoff_max = 20ms,
                                 .intensity = 1000});

  auto show = [&] {
    for (const char* key : {"ingest", "index", "flaky"}) {
      auto c = sup.counts(key);
      std::cout << key << " " << c.active << "/" << c.target << "  ";
    }
    std::cout << "| started " << started << ", failed " << failed
              << ", restarted " << restarted << "\n";
  };
  for (int tick = 0; tick < 10 || restarted < 3; ++tick) {
    show();
    std::this_thread::sleep_for(100ms);
  }
  sup.set("ingest", 1);
  std::cout << "ingest lowered to 1: ";
  show();

  troupe::pool pool{rt, 2};
  sup.use_pool("resize", pool);
  sup.set("resize", 100);
  auto area = troupe::compile("local w, h = ... return w * h", "area");
  std::vector<std::future<troupe::value>> jobs;
  for (int i = 1; i <= 10000; ++i)
    jobs.push_back(
      sup.submit("resize", troupe::job{.code = area, .args = {i, 2}}));
  std::int64_t total = 0;
  for (auto& j : jobs) total += j.get().as_int();
  std::cout << "resize: 10000 jobs on " << pool.active_workers()
            << " pool workers, total " << total << "\n";
  std::cout << "done\n";
}
