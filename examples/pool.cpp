// The job pool: compile a script once, run it with a context on a pool of
// workers, with and without a time limit; a script that never ends is stopped
// at its deadline.
#include <chrono>
#include <iostream>

#include <troupe/troupe.hpp>

int main() {
  using namespace std::chrono_literals;
  troupe::runtime rt;
  troupe::bytecode bc = troupe::compile("return ctx.message .. ' from Lua'",
                                        "script");
  troupe::context ctx;
  ctx.set("message", "Hello");
  ctx.set("params", troupe::value::map({{"id", "123"}}));

  troupe::pool pool{rt, 4};
  std::cout << pool.submit(bc, ctx).as_string() << "\n";
  std::cout << pool.submit(bc, ctx, 1s).as_string() << "\n";

  auto forever = troupe::compile("while true do end", "forever");
  try {
    pool.submit(forever, ctx, 100ms);
  } catch (const troupe::timeout_error& e) {
    std::cout << "stopped: " << e.what() << "\n";
  }
}
