// troupe/caf.hpp: a CAF application's own actors and script actors message
// each other. CAF actors send troupe::value to actor_of(w) (a request is a
// call the script answers), and get a handle by worker_of, receiving
// troupe::envelope; the handle ends with its actor; the bad input.
#include <future>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>

#include "runtime_support.hpp"
#include "troupe/caf.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;
using troupe::envelope;
using troupe::value;

namespace {

constexpr auto patience = 20s;

// A CAF actor that answers calls with their value times ten and forwards
// plain messages to the worker given as {to = w, v = x}; "stop" ends it.
class times_ten : public caf::event_based_actor {
public:
  explicit times_ten(caf::actor_config& config)
      : caf::event_based_actor(config) {}

  caf::behavior make_behavior() override {
    return {
      [this](envelope& e) {
        const auto& m = e.message();
        if (m == value{"stop"}) {
          quit();
        } else if (e.is_call()) {
          e.reply(m.as_int() * 10);
        } else {
          send(troupe::actor_of(m["to"].as_worker()), m["v"]);
        }
      },
    };
  }
};

} // namespace

TEST(caf_interop, a_caf_actor_sends_to_and_calls_a_script) {
  troupe::runtime rt{troupe::test::two_threads()};
  auto w = rt.spawn_source(R"lua(
    local v, from = worker.peek()
    worker.message({v, from == nil})
    local x, _, call = worker.peek()
    worker.reply(call, x + 1))lua",
                           "script");
  caf::scoped_actor self{troupe::actor_system_of(rt)};
  self->send(troupe::actor_of(w), value{"plain"});
  EXPECT_EQ(rt.receive(w, patience), value::array({"plain", true}));
  std::optional<value> reply;
  self->request(troupe::actor_of(w), patience, value{41})
    .receive([&](value& v) { reply = v; },
             [&](caf::error& e) { ADD_FAILURE() << to_string(e); });
  EXPECT_EQ(reply, value{42});
}

TEST(caf_interop, a_request_fails_when_the_script_ends_without_a_reply) {
  troupe::runtime rt{troupe::test::two_threads()};
  auto w = rt.spawn_source("worker.peek() error('no reply from me')", "script");
  caf::scoped_actor self{troupe::actor_system_of(rt)};
  std::optional<std::string> failure;
  self->request(troupe::actor_of(w), patience, value{1})
    .receive([&](value&) { ADD_FAILURE() << "a reply came"; },
             [&](caf::error& e) { failure = to_string(e); });
  ASSERT_TRUE(failure.has_value());
  EXPECT_NE(failure->find("ended before it replied"), std::string::npos)
    << *failure;
}

TEST(caf_interop, scripts_send_to_and_call_a_caf_actor_by_handle) {
  troupe::runtime rt{troupe::test::two_threads()};
  auto& system = troupe::actor_system_of(rt);
  auto actor = system.spawn<times_ten>();
  auto h = troupe::worker_of(rt, actor);
  EXPECT_EQ(troupe::worker_of(rt, actor), h) << "one handle per actor";
  EXPECT_NE(troupe::actor_of(h), actor) << "the actor that forwards to it";
  auto got = rt.join(rt.spawn_source(R"lua(
    local h = ...
    worker.monitor(h)
    assert(worker.call(h, 4) == 40)
    worker.send(h, {to = worker.self(), v = "back"})
    local v, from = worker.peek(10)
    assert(v == "back" and from == h, "the CAF actor is the sender")
    worker.send(h, "stop")
    local down = worker.peek(10)
    assert(down.event == "down" and down.ok, "the handle ends with its actor")
    return worker.status(h))lua",
                                     "script", {h}),
                     patience);
  ASSERT_TRUE(got && got->ok) << (got && got->error ? got->error->what() : "");
  EXPECT_EQ(got->values.at(0), value{"dead"});
  // From C++ too, through a fresh actor.
  auto again = troupe::worker_of(rt, system.spawn<times_ten>());
  EXPECT_EQ(again.call(5, patience).get(), value{50});
  again.send("stop");
}

TEST(caf_interop, a_native_actor_answers_a_caf_request) {
  troupe::runtime rt{troupe::test::two_threads()};
  auto svc = rt.spawn_native([](envelope& e) {
    if (e.is_call()) e.reply(e.message().as_string() + "!");
  });
  caf::scoped_actor self{troupe::actor_system_of(rt)};
  std::optional<value> reply;
  self->request(troupe::actor_of(svc), patience, value{"hey"})
    .receive([&](value& v) { reply = v; },
             [&](caf::error& e) { ADD_FAILURE() << to_string(e); });
  EXPECT_EQ(reply, value{"hey!"});
}

TEST(caf_interop, bad_input) {
  troupe::runtime rt{troupe::test::two_threads()};
  EXPECT_THROW(troupe::worker_of(rt, caf::actor{}), troupe::error);
  auto done = rt.spawn_source("return 1", "done");
  rt.join(done, patience);
  EXPECT_THROW(troupe::actor_of(done), troupe::error);
  // A value the worker cannot take (a handle of another runtime) fails the
  // request, and the worker goes on.
  troupe::runtime other{troupe::test::two_threads()};
  auto stranger = other.spawn_source("worker.peek()", "stranger");
  auto w = rt.spawn_source("worker.message(worker.peek())", "script");
  caf::scoped_actor self{troupe::actor_system_of(rt)};
  std::optional<std::string> failure;
  self->request(troupe::actor_of(w), patience, value{stranger})
    .receive([&](value&) { ADD_FAILURE() << "a reply came"; },
             [&](caf::error& e) { failure = to_string(e); });
  ASSERT_TRUE(failure.has_value());
  EXPECT_NE(failure->find("another runtime"), std::string::npos) << *failure;
  w.send("still there");
  EXPECT_EQ(rt.receive(w, patience), value{"still there"});
  stranger.cancel();
}
