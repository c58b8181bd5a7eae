// A host that reacts to 1,000 workers with callbacks: rt.on_message and
// rt.on_end run on the scheduler threads, so no thread waits per worker and
// the main thread only waits for the last end. Each worker reports the squares
// of its range of numbers and returns how many it sent.
#include <atomic>
#include <future>
#include <iostream>
#include <string>

#include <troupe/troupe.hpp>

int main() {
  troupe::runtime rt;
  constexpr int workers = 1000;
  std::atomic<std::int64_t> sum{0};
  std::atomic<std::int64_t> messages{0};
  std::atomic<int> ended{0};
  std::atomic<std::int64_t> returned{0};
  std::promise<void> all_ended;
  for (int i = 0; i < workers; ++i) {
    auto w = rt.spawn_source(R"lua(
      local first = ...
      for n = first, first + 9 do worker.message(n * n) end
      return 10)lua",
                             "squares", {i * 10 + 1});
    rt.on_message(w, [&](const troupe::value& v) {
      sum += v.as_int();
      ++messages;
    });
    rt.on_end(w, [&](const troupe::exit_info& e) {
      returned += e.ok ? e.values.at(0).as_int() : 0;
      if (++ended == workers) all_ended.set_value();
    });
  }
  all_ended.get_future().wait();
  std::cout << std::to_string(ended) + " workers ended, "
                 + std::to_string(messages) + " messages, "
                 + std::to_string(returned) + " reported\n"
            << "sum of the squares of 1..10000: " + std::to_string(sum) + "\n";
}
