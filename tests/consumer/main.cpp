// Uses libtroupe's public API from outside the project: values, compile and the
// error types.
#include <iostream>

#include <troupe/troupe.hpp>

int main() {
  auto m = troupe::value::map({{"id", "123"}, {"n", 4}});
  if (m["id"].as_string() != "123" || m["n"].as_int() != 4) return 1;
  auto bc = troupe::compile("return ctx", "consumer");
  try {
    troupe::compile("return = 1", "bad");
    return 1;
  } catch (const troupe::compile_error& e) {
    std::cout << troupe::version() << " " << bc.name() << " " << to_string(m)
              << " " << e.what() << "\n";
  }
  return 0;
}
