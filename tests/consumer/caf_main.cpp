// Uses troupe/caf.hpp from outside the project (target troupe::caf): a CAF
// message to a script actor comes back through the host.
#include <iostream>

#include <caf/scoped_actor.hpp>

#include <troupe/caf.hpp>
#include <troupe/troupe.hpp>

int main() {
  troupe::runtime rt;
  auto w = rt.spawn_source("worker.message(worker.peek())", "echo");
  caf::scoped_actor self{troupe::actor_system_of(rt)};
  self->send(troupe::actor_of(w), troupe::value{"through CAF"});
  auto back = rt.receive(w, std::chrono::seconds{20});
  if (!back) return 1;
  std::cout << back->as_string() << "\n";
  return 0;
}
