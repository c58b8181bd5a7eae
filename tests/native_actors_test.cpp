// Native actors (DESIGN.md "C++ actors and services"): a C++ handler on the
// scheduler threads that scripts and the host send to and call like a worker,
// by handle or by name; one message at a time; replies once, late or from
// another thread; an exception ends it with its error for monitors and
// callers; a handler that holds its thread is reported; names collide with
// scripts'; the runtime can be destroyed while a handler runs.
#include <atomic>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "output_probe.hpp"
#include "runtime_support.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;
using troupe::envelope;
using troupe::value;

namespace {

constexpr auto patience = 20s;

// Answers every call with its value plus one.
void add_one(envelope& e) {
  if (e.is_call()) e.reply(e.message().as_int() + 1);
}

} // namespace

TEST(native_actors, scripts_call_a_provided_service_by_name_and_by_handle) {
  troupe::runtime rt{troupe::test::two_threads()};
  auto svc = rt.provide("plus", add_one);
  auto got = troupe::test::run_script(rt, R"lua(
    local svc = ...
    assert(worker.call("plus", 41) == 42)
    assert(worker.call(svc, 1) == 2)
    assert(worker.lookup("plus") == svc, "the name names the handle given")
    return worker.status(svc))lua",
                                      {svc});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], value{"running"});
  EXPECT_EQ(svc.call(9, patience).get(), value{10});
  EXPECT_EQ(rt.lookup("plus"), svc);
}

TEST(native_actors, an_envelope_tells_the_sender_and_self) {
  troupe::runtime rt{troupe::test::two_threads()};
  std::promise<std::pair<std::optional<troupe::worker>, troupe::worker>> seen;
  std::atomic<bool> once{false};
  auto svc = rt.spawn_native([&](envelope& e) {
    if (!once.exchange(true)) seen.set_value({e.from(), e.self()});
  });
  auto script = rt.spawn_source("worker.send(..., 'hi') worker.peek()", "s",
                                {svc});
  auto [from, self] = seen.get_future().get();
  ASSERT_TRUE(from.has_value());
  EXPECT_EQ(*from, script);
  EXPECT_EQ(self, svc);
  // From the host, outside any native actor: no sender.
  std::promise<bool> host_sender;
  auto probe = rt.spawn_native(
    [&](envelope& e) { host_sender.set_value(e.from().has_value()); });
  probe.send("x");
  EXPECT_FALSE(host_sender.get_future().get());
  script.cancel();
}

TEST(native_actors, what_a_handler_sends_carries_the_actor_as_sender) {
  troupe::runtime rt{troupe::test::two_threads()};
  // Echoes each message back to its sender by a plain send.
  auto echo = rt.provide("echo", [](envelope& e) {
    if (auto from = e.from()) from->send(e.message());
  });
  auto got = troupe::test::run_script(rt, R"lua(
    worker.send("echo", {n = 5})
    local v, from = worker.peek(10)
    assert(from == worker.lookup("echo"), "the sender is the native actor")
    return v.n)lua");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], value{5});
}

TEST(native_actors, one_message_at_a_time_and_none_lost) {
  troupe::runtime rt{troupe::test::two_threads()};
  constexpr int senders = 4;
  constexpr int each = 5000;
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  int total = 0;
  std::promise<void> all;
  rt.provide("sink", [&](envelope& e) {
    if (inside.fetch_add(1) != 0) ++overlaps;
    total += static_cast<int>(e.message().as_int());
    if (total == senders * each) all.set_value();
    inside.fetch_sub(1);
  });
  for (int i = 0; i < senders; ++i)
    rt.spawn_source(R"lua(
      for i = 1, ... do
        while not pcall(worker.send, "sink", 1) do worker.sleep(0.001) end
      end)lua",
                    "sender", {each});
  EXPECT_EQ(all.get_future().wait_for(patience), std::future_status::ready);
  EXPECT_EQ(overlaps.load(), 0);
}

TEST(native_actors, replies_once_late_or_from_another_thread) {
  troupe::runtime rt{troupe::test::two_threads()};
  std::vector<envelope> held;
  std::promise<void> held_one;
  std::promise<void> held_two;
  std::promise<std::pair<bool, bool>> twice;
  auto svc = rt.provide("svc", [&](envelope& e) {
    const auto& msg = e.message();
    if (msg == value{"twice"}) {
      bool first = e.reply(1);
      twice.set_value({first, e.reply(2)});
    } else if (msg == value{"later"}) {
      held.push_back(e);
      (held.size() == 1 ? held_one : held_two).set_value();
    }
  });
  EXPECT_EQ(svc.call("twice", patience).get(), value{1});
  auto [first, second] = twice.get_future().get();
  EXPECT_TRUE(first);
  EXPECT_FALSE(second) << "a second reply is refused";
  // A copy answered from another thread after the handler returned.
  auto pending = svc.call("later", patience);
  ASSERT_EQ(held_one.get_future().wait_for(patience),
            std::future_status::ready);
  std::thread{[&] { EXPECT_TRUE(held.at(0).reply("done")); }}.join();
  EXPECT_EQ(pending.get(), value{"done"});
  // After the caller gave up: false.
  auto gave_up = svc.call("later", 50ms);
  EXPECT_THROW(gave_up.get(), troupe::timeout_error);
  ASSERT_EQ(held_two.get_future().wait_for(patience),
            std::future_status::ready);
  EXPECT_FALSE(held.at(1).reply("too late"));
}

TEST(native_actors, a_call_never_answered_times_out_or_ends_with_the_actor) {
  troupe::runtime rt{troupe::test::two_threads()};
  std::promise<void> called;
  auto mute = rt.provide("mute", [&](envelope& e) {
    if (e.message() == value{2}) called.set_value();
  });
  auto got = troupe::test::run_script(rt, R"lua(
    local ok, e = pcall(worker.call, "mute", 1, 0.05)
    assert(not ok and e.kind == "timeout", tostring(e and e.kind))
    return true)lua");
  EXPECT_EQ(got.size(), 1u);
  // A caller waiting when the native actor is cancelled learns "ended".
  auto caller = rt.spawn_source(R"lua(
    worker.message("calling")
    local ok, e = pcall(worker.call, "mute", 2, 30)
    return e.kind)lua",
                                "caller");
  EXPECT_EQ(rt.receive(caller, patience), value{"calling"});
  ASSERT_EQ(called.get_future().wait_for(patience), std::future_status::ready);
  mute.cancel();
  auto end = rt.join(caller, patience);
  ASSERT_TRUE(end && end->ok) << (end && end->error ? end->error->what() : "");
  EXPECT_EQ(end->values.at(0), value{"ended"});
  EXPECT_EQ(mute.status(), troupe::worker_status::dead);
  auto mute_end = rt.join(mute, patience);
  ASSERT_TRUE(mute_end);
  EXPECT_FALSE(mute_end->ok);
  EXPECT_STREQ(mute_end->error->what(), "cancelled");
}

TEST(native_actors, reply_to_a_message_that_is_not_a_call_throws) {
  troupe::runtime rt{troupe::test::two_threads()};
  std::promise<std::string> what;
  auto svc = rt.spawn_native([&](envelope& e) {
    try {
      e.reply(1);
      what.set_value("no exception");
    } catch (const troupe::error& x) {
      what.set_value(x.what());
    }
  });
  svc.send(1);
  EXPECT_EQ(what.get_future().get(),
            "troupe::envelope::reply: the message is not a call (is_call() "
            "tells)");
}

TEST(native_actors, an_exception_ends_the_actor_for_monitors_and_callers) {
  troupe::runtime rt{troupe::test::two_threads()};
  auto svc = rt.provide("fragile", [](envelope& e) {
    if (e.message() == value{"boom"}) throw std::runtime_error{"boom!"};
    if (e.is_call()) e.reply("fine");
  });
  auto got = troupe::test::run_script(rt, R"lua(
    local svc = worker.lookup("fragile")
    worker.monitor(svc)
    assert(worker.call(svc, "hello") == "fine")
    local ok, e = pcall(worker.call, svc, "boom", 30)
    assert(not ok and e.kind == "ended", "the caller learns the end")
    local down = worker.peek(30)
    assert(down.event == "down" and down.worker == svc and not down.ok)
    assert(worker.send(svc, 1) == false, "a dead native takes nothing")
    assert(worker.lookup("fragile") == nil, "its name went with it")
    return down.error.message)lua");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], value{"boom!"});
  auto end = rt.join(svc, patience);
  ASSERT_TRUE(end);
  EXPECT_FALSE(end->ok);
  EXPECT_STREQ(end->error->what(), "boom!");
  auto odd = rt.spawn_native([](envelope&) { throw 42; });
  odd.send(1);
  auto odd_end = rt.join(odd, patience);
  ASSERT_TRUE(odd_end);
  EXPECT_NE(std::string{odd_end->error->what()}.find("unknown exception"),
            std::string::npos);
  EXPECT_THROW(odd.call(1, patience).get(), troupe::error);
}

TEST(native_actors, a_handler_that_holds_its_thread_is_reported_once) {
  troupe::test::output_probe output;
  auto config = troupe::test::two_threads();
  config.output = output.sink();
  troupe::runtime rt{config};
  auto slow = rt.spawn_native([](envelope& e) {
    auto until = std::chrono::steady_clock::now() + 5ms;
    while (e.message() != value{0}
           && std::chrono::steady_clock::now() < until) {
    }
    e.reply(true);
  });
  slow.call(1, patience).get();
  slow.call(2, patience).get();
  // Handled after the second handler returned (and was counted).
  slow.call(0, patience).get();
  // Both slow ones (a loaded machine may preempt the quick one too).
  EXPECT_GE(rt.stats().slow_handlers, 2u);
  auto lines = output.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("held a scheduler thread"), std::string::npos)
    << lines[0];
}

TEST(native_actors, names_collide_between_native_and_script_actors) {
  troupe::runtime rt{troupe::test::two_threads()};
  rt.provide("db", add_one);
  EXPECT_THROW(rt.provide("db", add_one), troupe::error);
  auto script = rt.spawn_source(R"lua(
    worker.register("cache")
    local ok, e = pcall(worker.register, "db")
    worker.message(ok)
    worker.peek())lua",
                                "script");
  EXPECT_EQ(rt.receive(script, patience), value{false});
  EXPECT_THROW(rt.provide("cache", add_one), troupe::error);
  EXPECT_THROW(rt.provide("", add_one), troupe::error);
  EXPECT_THROW(rt.spawn_native(nullptr), std::invalid_argument);
  // The refused services were never started: the one provided and the
  // script run.
  EXPECT_EQ(rt.stats().alive, 2u);
  script.cancel();
}

TEST(native_actors, the_runtime_can_go_while_a_handler_runs) {
  std::promise<void> running;
  std::atomic<bool> done{false};
  std::optional<envelope> kept;
  std::optional<troupe::worker> svc;
  {
    troupe::runtime rt{troupe::test::two_threads()};
    svc = rt.spawn_native([&](envelope& e) {
      kept = e;
      running.set_value();
      std::this_thread::sleep_for(100ms);
      done = true;
    });
    svc->call(1, patience);
    ASSERT_EQ(running.get_future().wait_for(patience),
              std::future_status::ready);
  }
  EXPECT_TRUE(done.load());
  ASSERT_TRUE(kept.has_value());
  EXPECT_THROW(kept->reply(1), troupe::stopped_error);
  EXPECT_THROW(svc->send(1), troupe::stopped_error);
}
