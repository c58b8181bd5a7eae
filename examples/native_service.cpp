// A C++ key-value service that scripts call by name: rt.provide runs its
// handler on the scheduler threads, one message at a time, so the map needs no
// lock. Three scripts count words into it concurrently, then one reads the
// totals back.
#include <iostream>
#include <map>
#include <string>

#include <troupe/troupe.hpp>

int main() {
  troupe::runtime rt;
  std::map<std::string, std::int64_t> store;
  rt.provide("kv", [&store](troupe::envelope& e) {
    const auto& m = e.message();
    const std::string& op = m["op"].as_string();
    const std::string& key = m["key"].as_string();
    if (op == "add")
      e.reply(store[key] += m["by"].as_int());
    else if (op == "get")
      e.reply(store.contains(key) ? troupe::value{store[key]}
                                  : troupe::value{});
    else
      throw std::invalid_argument{"kv: unknown op '" + op + "'"};
  });

  const char* counter = R"lua(
    for word in (...):gmatch("%a+") do
      worker.call("kv", {op = "add", key = word, by = 1})
    end)lua";
  std::vector<troupe::worker> counters;
  for (const char* text :
       {"the cat saw the dog", "the dog saw a bird", "a bird saw the cat"})
    counters.push_back(rt.spawn_source(counter, "counter", {text}));
  for (const auto& w : counters) rt.join(w);

  auto reader = rt.spawn_source(R"lua(
    for _, word in ipairs{"the", "saw", "cat", "dog", "bird", "a", "fish"} do
      worker.message(word .. " " .. tostring(worker.call("kv", {op = "get", key = word})))
    end)lua",
                                "reader");
  while (auto line = rt.receive(reader)) std::cout << line->as_string() + "\n";
}
