// Host callbacks (runtime::on_message, runtime::on_end): a host reacts to its
// workers' messages and ends on the scheduler threads. Every message before
// the end, in order, exactly once, whether the callback came before or after
// the messages; ends of any worker, late ones too; callbacks that throw, that
// call back into the runtime; the bad input.
#include <atomic>
#include <future>
#include <mutex>

#include <gtest/gtest.h>

#include "output_probe.hpp"
#include "runtime_support.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;
using troupe::value;

namespace {

constexpr auto patience = 20s;

// What one worker's callbacks saw, and a promise kept at its end.
struct recorder {
  std::vector<std::int64_t> messages;
  std::optional<troupe::exit_info> end;
  std::promise<void> ended;

  void watch(troupe::runtime& rt, const troupe::worker& w) {
    rt.on_message(w,
                  [this](const value& v) { messages.push_back(v.as_int()); });
    rt.on_end(w, [this](const troupe::exit_info& e) {
      end = e;
      ended.set_value();
    });
  }
  bool wait() {
    return ended.get_future().wait_for(patience) == std::future_status::ready;
  }
};

std::vector<std::int64_t> one_to(std::int64_t n) {
  std::vector<std::int64_t> v;
  for (std::int64_t i = 1; i <= n; ++i) v.push_back(i);
  return v;
}

} // namespace

TEST(host_callbacks, every_message_in_order_then_the_end) {
  troupe::runtime rt{troupe::test::two_threads()};
  auto w = rt.spawn_source(R"lua(
    worker.peek()
    for i = 1, 2000 do worker.message(i) end
    return "done")lua",
                           "sender");
  recorder r;
  r.watch(rt, w);
  w.send("go");
  ASSERT_TRUE(r.wait());
  EXPECT_EQ(r.messages, one_to(2000));
  ASSERT_TRUE(r.end && r.end->ok);
  EXPECT_EQ(r.end->values, std::vector<value>{value{"done"}});
  // receive no longer sees the messages; join still sees the end.
  EXPECT_EQ(rt.receive(w, patience), std::nullopt);
  EXPECT_TRUE(rt.join(w, patience)->ok);
}

TEST(host_callbacks, messages_that_came_before_the_callback_come_first) {
  troupe::runtime rt{troupe::test::two_threads()};
  auto w = rt.spawn_source(R"lua(
    for i = 1, 100 do worker.message(i) end
    worker.message(0)
    worker.peek()
    for i = 101, 300 do worker.message(i) end)lua",
                           "sender");
  // Taken by the host before the callback: 1.
  EXPECT_EQ(rt.receive(w, patience), value{1});
  // Whether 2..100 and the marker are queued by now or not, they come to the
  // callback in their order, before the rest.
  recorder r;
  std::promise<void> marker;
  std::atomic<bool> seen{false};
  rt.on_message(w, [&](const value& v) {
    if (v.as_int() == 0) {
      seen = true;
      marker.set_value();
      return;
    }
    r.messages.push_back(v.as_int());
  });
  rt.on_end(w, [&](const troupe::exit_info& e) {
    r.end = e;
    r.ended.set_value();
  });
  ASSERT_EQ(marker.get_future().wait_for(patience), std::future_status::ready);
  w.send("go");
  ASSERT_TRUE(r.wait());
  auto expected = one_to(300);
  expected.erase(expected.begin());
  EXPECT_EQ(r.messages, expected);
}

TEST(host_callbacks, a_worker_that_has_ended_gives_its_queue_and_its_end) {
  troupe::runtime rt{troupe::test::two_threads()};
  auto w = rt.spawn_source("for i = 1, 50 do worker.message(i) end "
                           "error('late')",
                           "sender");
  // The join returns once the end is there, with every message queued.
  auto end = rt.join(w, patience);
  ASSERT_TRUE(end && !end->ok);
  recorder r;
  r.watch(rt, w);
  ASSERT_TRUE(r.wait());
  EXPECT_EQ(r.messages, one_to(50));
  ASSERT_TRUE(r.end && !r.end->ok);
  EXPECT_NE(std::string{r.end->error->what()}.find("late"), std::string::npos);
}

TEST(host_callbacks, on_end_of_any_worker_native_ones_and_late_ones) {
  auto child_script = troupe::test::write_script("troupe_host_callbacks_test",
                                                 "child.lua",
                                                 "worker.peek() return 7");
  troupe::runtime rt{[&] {
    auto c = troupe::test::two_threads();
    c.permissions = {"worker", "load", "fs:read"};
    c.base_dir = child_script.parent_path();
    return c;
  }()};
  // A grandchild, reached through its parent.
  auto parent = rt.spawn_source(R"lua(
    local child = worker.create("child.lua")
    worker.message(child)
    return worker.join(child))lua",
                                "parent");
  auto child = rt.receive(parent, patience)->as_worker();
  std::promise<troupe::exit_info> child_end;
  rt.on_end(child, [&](const troupe::exit_info& e) { child_end.set_value(e); });
  EXPECT_THROW(rt.on_message(child, [](const value&) {}), troupe::error);
  child.send("go");
  auto e = child_end.get_future().get();
  EXPECT_TRUE(e.ok);
  EXPECT_EQ(e.values, std::vector<value>{value{7}});
  // Once it has gone, on_end answers at once.
  rt.join(parent, patience);
  std::promise<troupe::exit_info> late;
  rt.on_end(child, [&](const troupe::exit_info& x) { late.set_value(x); });
  auto l = late.get_future().get();
  EXPECT_FALSE(l.ok);
  EXPECT_NE(std::string{l.error->what()}.find("had ended"), std::string::npos);
  // A native actor's end.
  auto native = rt.spawn_native([](troupe::envelope&) {});
  std::promise<troupe::exit_info> native_end;
  rt.on_end(native,
            [&](const troupe::exit_info& x) { native_end.set_value(x); });
  native.cancel();
  EXPECT_STREQ(native_end.get_future().get().error->what(), "cancelled");
}

TEST(host_callbacks, a_callback_that_throws_is_counted_and_the_next_comes) {
  troupe::test::output_probe output;
  auto config = troupe::test::two_threads();
  config.output = output.sink();
  troupe::runtime rt{config};
  auto w = rt.spawn_source("worker.peek() for i = 1, 10 do worker.message(i) "
                           "end",
                           "sender");
  std::vector<std::int64_t> got;
  std::promise<void> ended;
  rt.on_message(w, [&](const value& v) {
    got.push_back(v.as_int());
    if (v.as_int() % 2 == 0) throw std::runtime_error{"even"};
    if (v.as_int() == 5) throw 5;
  });
  rt.on_end(w, [&](const troupe::exit_info&) {
    ended.set_value();
    throw std::runtime_error{"at the end"};
  });
  w.send("go");
  ASSERT_EQ(ended.get_future().wait_for(patience), std::future_status::ready);
  EXPECT_EQ(got, one_to(10));
  // Six of the message callbacks threw (the end callback's exception is
  // counted just after it kept the promise).
  EXPECT_GE(rt.stats().callback_errors, 6u);
  auto lines = output.lines();
  ASSERT_GE(lines.size(), 1u);
  EXPECT_NE(lines[0].find("a host callback threw: even"), std::string::npos);
}

TEST(host_callbacks, a_callback_may_send_and_spawn_without_deadlock) {
  troupe::runtime rt{troupe::test::two_threads()};
  auto echo = rt.spawn_source(R"lua(
    for i = 1, 3 do worker.message(worker.peek()) end)lua",
                              "echo");
  std::vector<std::int64_t> got;
  std::promise<std::int64_t> spawned;
  rt.on_message(echo, [&](const value& v) {
    got.push_back(v.as_int());
    if (v.as_int() < 3) echo.send(v.as_int() + 1);
    if (v.as_int() == 3) {
      auto helper = rt.spawn_source("return 40 + 2", "helper");
      rt.on_end(helper, [&](const troupe::exit_info& e) {
        spawned.set_value(e.values.at(0).as_int());
      });
    }
  });
  echo.send(1);
  auto f = spawned.get_future();
  ASSERT_EQ(f.wait_for(patience), std::future_status::ready);
  EXPECT_EQ(f.get(), 42);
  EXPECT_EQ(got, one_to(3));
}

TEST(host_callbacks, bad_input) {
  troupe::runtime rt{troupe::test::two_threads()};
  auto w = rt.spawn_source("worker.peek()", "idle");
  rt.on_message(w, [](const value&) {});
  EXPECT_THROW(rt.on_message(w, [](const value&) {}), troupe::error);
  rt.on_end(w, [](const troupe::exit_info&) {});
  EXPECT_THROW(rt.on_end(w, [](const troupe::exit_info&) {}), troupe::error);
  EXPECT_THROW(rt.on_message(w, nullptr), std::invalid_argument);
  EXPECT_THROW(rt.on_end(w, nullptr), std::invalid_argument);
  troupe::runtime other{troupe::test::two_threads()};
  EXPECT_THROW(other.on_end(w, [](const troupe::exit_info&) {}), troupe::error);
  w.cancel();
}

TEST(host_callbacks, the_runtime_can_go_while_callbacks_run) {
  std::atomic<std::int64_t> seen{0};
  std::atomic<int> ends{0};
  constexpr int workers = 50;
  std::promise<void> flowing;
  std::atomic<bool> once{false};
  {
    troupe::runtime rt{troupe::test::two_threads()};
    for (int i = 0; i < workers; ++i) {
      auto w = rt.spawn_source("while true do worker.message(1) end", "flood");
      rt.on_message(w, [&](const value&) {
        if (++seen == 1000 && !once.exchange(true)) flowing.set_value();
      });
      rt.on_end(w, [&](const troupe::exit_info& e) {
        EXPECT_FALSE(e.ok);
        ++ends;
      });
    }
    ASSERT_EQ(flowing.get_future().wait_for(patience),
              std::future_status::ready);
  }
  // Every worker was cancelled and its end reached its callback before the
  // runtime's destructor returned.
  EXPECT_EQ(ends.load(), workers);
}
