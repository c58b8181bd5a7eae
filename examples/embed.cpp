// Embedding troupe in a C++ program: spawn a script, talk to it, collect its
// result.
#include <iostream>

#include <troupe/troupe.hpp>

int main() {
  troupe::runtime rt;
  auto greeter = rt.spawn_source(R"(
    local name = ...
    worker.message("hello, " .. name)
    local order = worker.peek()
    return {item = order.item, price = order.quantity * 2.5}
  )",
                                 "greeter", {"C++"});
  std::cout << rt.receive(greeter)->as_string() << "\n";
  greeter.send(troupe::value::map({{"item", "tea"}, {"quantity", 4}}));
  troupe::exit_info end = rt.join(greeter);
  std::cout << "returned " << to_string(end.values.at(0)) << "\n";
  try {
    auto failing = rt.spawn_source("error('no such item')", "shop");
    rt.receive(failing);
  } catch (const troupe::script_error& e) {
    std::cout << "script error: " << e.message() << "\n";
  }
}
