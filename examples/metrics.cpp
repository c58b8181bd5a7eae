// Metrics from C++: a producer sends 100 messages to a consumer that counts
// words into a shared dict; the host then reads runtime::metrics() (each
// worker's messages, inbox, memory; the dict's hits) and prints the lines of
// metrics_text() a Prometheus dashboard would chart.
#include <iostream>
#include <sstream>
#include <string>

#include <troupe/troupe.hpp>

int main() {
  troupe::runtime_config config;
  config.permissions = {"worker", "shared"};
  config.shared_dicts = {{"words", 1 << 20}};
  troupe::runtime rt{config};

  auto consumer = rt.spawn_source(R"lua(
    worker.register("consumer")
    local words = worker.shared("words")
    for _ = 1, 100 do
      local word = worker.peek()
      words:incr(word, 1, 0)
    end
    worker.message("done")
    worker.peek()  -- stays alive, waiting, so its meters can be read
  )lua",
                                  "consumer.lua");
  auto producer = rt.spawn_source(R"lua(
    local consumer = worker.lookup("consumer", 5)
    for i = 1, 100 do worker.send(consumer, i % 2 == 0 and "even" or "odd") end
  )lua",
                                  "producer.lua");
  rt.join(producer);
  rt.receive(consumer);

  auto dict = rt.shared_dict("words");
  std::cout << "even " << dict.get("even").value.as_int() << ", odd "
            << dict.get("odd").value.as_int() << "\n";

  troupe::runtime_metrics m = rt.metrics();
  std::cout << "alive " << m.alive << ", spawned " << m.spawned << "\n";
  for (const auto& w : m.workers)
    std::cout << w.script << " (" << (w.names.empty() ? "-" : w.names[0])
              << "): " << w.messages_in << " in, " << w.messages_out
              << " out, inbox " << w.inbox << ", memory "
              << (w.memory > 0 ? "counted" : "none") << "\n";
  std::cout << "dict misses " << m.dict_misses << "\n";

  // The text a node_exporter textfile collector (or a /metrics endpoint)
  // serves; here only the consumer's message counters.
  std::istringstream text{rt.metrics_text()};
  for (std::string line; std::getline(text, line);)
    if (line.rfind("troupe_worker_messages_in_total{", 0) == 0)
      std::cout << line.substr(0, line.find('{')) << " "
                << line.substr(line.rfind(' ') + 1) << "\n";
  consumer.cancel();
}
