// Metrics: worker.info from scripts, runtime::metrics from C++ (per worker:
// inbox depth, messages in and out, time run, memory, status, names; the
// totals; the dicts), and metrics_text in Prometheus' text format.
#include <regex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "runtime_support.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;
using troupe::value;

namespace {

constexpr auto patience = 20s;

troupe::runtime_config config() {
  auto c = troupe::test::two_threads();
  c.permissions = {"worker", "shared"};
  c.shared_dicts = {{"d", 1 << 16}};
  return c;
}

const troupe::worker_metrics* find(const troupe::runtime_metrics& m,
                                   const troupe::worker& w) {
  for (const auto& x : m.workers)
    if (x.worker == w) return &x;
  return nullptr;
}

// Waits until `ok(metrics of w)` holds; false after `patience`.
template<class Pred>
bool wait_for(troupe::runtime& rt, const troupe::worker& w, Pred ok) {
  auto until = std::chrono::steady_clock::now() + patience;
  for (;;) {
    auto m = rt.metrics();
    if (const auto* x = find(m, w); x != nullptr && ok(*x)) return true;
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(1ms);
  }
}

} // namespace

TEST(metrics, scripts_read_their_own_and_others_info) {
  troupe::runtime rt{config()};
  troupe::test::run_script(rt, R"lua(
    local me = worker.info()
    assert(me.status == "running", me.status)
    assert(me.script == "root", me.script)
    assert(me.memory > 0 and me.cpu >= 0)
    assert(#me.names == 0)
    worker.register("root_worker")
    assert(worker.info(worker.self()).names[1] == "root_worker")
    assert(worker.info("root_worker").script == "root")
    assert(worker.info("nobody") == nil)
    for i = 1, 3 do worker.send(worker.self(), i) end
    assert(worker.info().inbox == 3)
    assert(worker.info().messages_out == 3)
    for i = 1, 3 do assert(worker.peek() == i) end
    local after = worker.info()
    assert(after.inbox == 0 and after.messages_in == 3, after.messages_in)
    assert(after.bytes_out >= 3)
  )lua");
}

TEST(metrics, a_waiting_worker_shows_its_inbox_and_an_ended_one_is_gone) {
  troupe::runtime rt{config()};
  auto w = rt.spawn_source(R"lua(
    worker.register("waiter")
    worker.message("ready")
    worker.lookup("never registered", 3600)
  )lua",
                           "waiter.lua");
  ASSERT_EQ(rt.receive(w, patience), value{"ready"});
  ASSERT_TRUE(wait_for(rt, w, [](const troupe::worker_metrics& x) {
    return x.status == "waiting";
  }));
  w.send(1);
  w.send(2);
  ASSERT_TRUE(wait_for(rt, w, [](const troupe::worker_metrics& x) {
    return x.messages_in == 2;
  }));
  auto m = rt.metrics();
  const auto* x = find(m, w);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->inbox, 2u);
  EXPECT_EQ(x->status, "waiting");
  EXPECT_EQ(x->script, "waiter.lua");
  EXPECT_EQ(x->names, std::vector<std::string>{"waiter"});
  EXPECT_EQ(x->messages_out, 1u);
  EXPECT_GT(x->memory, 0u);
  w.cancel();
  ASSERT_TRUE(rt.join(w, patience));
  EXPECT_EQ(find(rt.metrics(), w), nullptr);
  auto probe = troupe::test::run_script(rt, "return worker.info(...) == nil",
                                        {value{w}});
  ASSERT_EQ(probe.size(), 1u);
  EXPECT_EQ(probe[0], value{true});
}

TEST(metrics, time_run_is_counted_and_bounded_by_the_wall_clock) {
  troupe::runtime rt{config()};
  auto started = std::chrono::steady_clock::now();
  auto w = rt.spawn_source(R"lua(
    local x = 0
    for i = 1, 3000000 do x = x + i end
    worker.message("spun")
    worker.peek()
  )lua",
                           "spin.lua");
  ASSERT_EQ(rt.receive(w, patience), value{"spun"});
  std::chrono::duration<double> wall = std::chrono::steady_clock::now()
                                       - started;
  auto m = rt.metrics();
  const auto* x = find(m, w);
  ASSERT_NE(x, nullptr);
  EXPECT_GT(x->cpu_seconds, 0.0);
  EXPECT_LT(x->cpu_seconds, wall.count() * 1.5);
  w.cancel();
}

TEST(metrics, totals_count_workers_messages_bytes_timers_and_dicts) {
  troupe::runtime rt{config()};
  auto dict = rt.shared_dict("d");
  dict.set("k", 1);
  dict.get("k");
  dict.get("absent");
  auto w = rt.spawn_source(R"lua(
    worker.after(3600, "later")
    worker.message(string.rep("x", 100))
    repeat until worker.peek() == "end"
  )lua",
                           "totals.lua");
  ASSERT_TRUE(rt.receive(w, patience));
  // Its meters are written when its run ends, just after it posted.
  ASSERT_TRUE(wait_for(rt, w, [](const troupe::worker_metrics& x) {
    return x.status == "waiting";
  }));
  auto m = rt.metrics();
  EXPECT_EQ(m.alive, 1u);
  EXPECT_EQ(m.spawned, 1u);
  EXPECT_EQ(m.timers, 1u);
  EXPECT_GE(m.messages, 1u);
  EXPECT_GE(m.bytes, 100u);
  EXPECT_EQ(m.dict_hits, 1u);
  EXPECT_EQ(m.dict_misses, 1u);
  ASSERT_EQ(m.dicts.size(), 1u);
  EXPECT_EQ(m.dicts[0].name, "d");
  EXPECT_EQ(m.dicts[0].entries, 1u);
  EXPECT_EQ(m.dicts[0].capacity, 1u << 16);
  auto before = m.bytes;
  w.send("end");
  ASSERT_TRUE(rt.join(w, patience));
  m = rt.metrics();
  EXPECT_EQ(m.alive, 0u);
  // The ended worker's bytes stay in the total; the host's send is added.
  EXPECT_GE(m.bytes, before + 4);
  auto failing = rt.spawn_source("error('no')", "failing.lua");
  rt.join(failing, patience);
  EXPECT_EQ(rt.metrics().failed, 1u);
}

TEST(metrics, native_actors_count_what_they_handle) {
  troupe::runtime rt{config()};
  auto echo = rt.spawn_native([](troupe::envelope& e) {
    if (e.is_call()) e.reply(e.message());
  });
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(echo.call(value{i}, patience).get(), value{i});
  ASSERT_TRUE(wait_for(rt, echo, [](const troupe::worker_metrics& x) {
    return x.messages_in == 5;
  }));
  auto m = rt.metrics();
  const auto* x = find(m, echo);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->script, "native");
  EXPECT_EQ(x->memory, 0u);
  echo.cancel();
}

TEST(metrics, text_is_prometheus_exposition_format) {
  troupe::runtime rt{config()};
  auto w = rt.spawn_source("worker.message(1) worker.peek()",
                           "we\"ird\\name\nx");
  ASSERT_TRUE(rt.receive(w, patience));
  ASSERT_TRUE(wait_for(rt, w, [](const troupe::worker_metrics& x) {
    return x.status == "waiting";
  }));
  rt.shared_dict("d").get("nothing");
  std::string text = rt.metrics_text();
  std::istringstream lines{text};
  std::string line;
  std::string typed;
  std::regex help{R"(# HELP (troupe_[a-z_]+) .+)"};
  std::regex type{R"(# TYPE (troupe_[a-z_]+) (gauge|counter))"};
  std::regex sample{
    R"((troupe_[a-z_]+)(\{[a-z_]+="([^"\\\n]|\\["\\n])*"(,[a-z_]+="([^"\\\n]|\\["\\n])*")*\})? [-+0-9.e]+)"};
  std::smatch got;
  int samples = 0;
  while (std::getline(lines, line)) {
    if (std::regex_match(line, got, help)) continue;
    if (std::regex_match(line, got, type)) {
      typed = got[1];
      continue;
    }
    ASSERT_TRUE(std::regex_match(line, got, sample)) << line;
    EXPECT_EQ(got[1], typed) << "a sample without its # TYPE: " << line;
    ++samples;
  }
  EXPECT_GE(samples, 20);
  EXPECT_NE(text.find("troupe_workers_alive 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("troupe_shared_dict_misses_total{dict=\"d\"} 1\n"),
            std::string::npos)
    << text;
  std::string labels = "{worker=\"" + std::to_string(w.id())
                       + "\",script=\"we\\\"ird\\\\name\\nx\"}";
  EXPECT_NE(text.find("troupe_worker_messages_out_total" + labels + " 1\n"),
            std::string::npos)
    << text;
  w.cancel();
}
