// A CAF application's own actor and script actors message each other
// (troupe/caf.hpp, target troupe::caf). The CAF actor, spawned in the
// runtime's actor system, gets a troupe handle: a script calls it and sends to
// it like any worker, and it answers with envelope::reply and sends back to
// the script's actor as a plain CAF message of a troupe::value.
#include <iostream>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include <troupe/caf.hpp>
#include <troupe/troupe.hpp>

namespace {

// Keeps a running total: a call adds to it and answers the new total; a
// message {report = w} makes it send the total to w's CAF actor.
class accumulator : public caf::event_based_actor {
public:
  explicit accumulator(caf::actor_config& config)
      : caf::event_based_actor(config) {}

  caf::behavior make_behavior() override {
    return {
      [this](troupe::envelope& e) {
        const auto& m = e.message();
        if (e.is_call()) {
          total_ += m.as_int();
          e.reply(total_);
        } else if (auto to = m["report"]; to.is_handle()) {
          send(troupe::actor_of(to.as_worker()),
               troupe::value{"total is " + std::to_string(total_)});
        }
      },
    };
  }

private:
  std::int64_t total_ = 0;
};

} // namespace

int main() {
  troupe::runtime rt;
  auto actor = troupe::actor_system_of(rt).spawn<accumulator>();
  auto script = rt.spawn_source(R"lua(
    local acc = ...
    for _, n in ipairs{5, 10, 20} do
      worker.message("added " .. n .. ", total " .. worker.call(acc, n))
    end
    worker.send(acc, {report = worker.self()})
    worker.message("the CAF actor says: " .. worker.peek()))lua",
                                "script", {troupe::worker_of(rt, actor)});
  while (auto line = rt.receive(script)) std::cout << line->as_string() + "\n";
  // The other way round: a CAF request to a script, answered by worker.reply.
  auto echo = rt.spawn_source(R"lua(
    local v, _, call = worker.peek()
    worker.reply(call, v:upper()))lua",
                              "echo");
  caf::scoped_actor self{troupe::actor_system_of(rt)};
  self
    ->request(troupe::actor_of(echo), std::chrono::seconds{10},
              troupe::value{"a request from CAF"})
    .receive([](troupe::value& v) { std::cout << v.as_string() + "\n"; },
             [](caf::error& e) { std::cout << to_string(e) + "\n"; });
}
