// troupe::runtime from C++: spawning, sending, receiving (one, select,
// timeouts), join, errors, stats, the code cache, orphans, many threads at
// once, handles that outlive their runtime, and a prompt shutdown.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "runtime_support.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;
using troupe::value;
using troupe::test::two_threads;

namespace {

constexpr auto patience = 10s;

// A script file in this test's own folder.
std::filesystem::path script(const std::string& name,
                             const std::string& source) {
  return troupe::test::write_script("troupe_runtime_test", name, source);
}

// A runtime made from `config` throws std::invalid_argument saying `what`.
void expect_refused(const troupe::runtime_config& config,
                    const std::string& what) {
  try {
    troupe::runtime rt{config};
    ADD_FAILURE() << "accepted; expected: " << what;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string{e.what()}.find(what), std::string::npos) << e.what();
  }
}

} // namespace

TEST(runtime, spawn_source_send_receive_and_join) {
  troupe::runtime rt{two_threads()};
  auto w = rt.spawn_source("local a, b = ... worker.message({sum = a + b}) "
                           "local x = worker.peek() worker.message(x * 2) "
                           "return 'done', 7",
                           "inline", {1, 2.5});
  EXPECT_EQ(rt.receive(w), value::map({{"sum", 3.5}}));
  EXPECT_TRUE(w.send(21));
  EXPECT_EQ(rt.receive(w), value{42});
  auto end = rt.join(w);
  EXPECT_TRUE(end.ok);
  EXPECT_EQ(end.values, (std::vector<value>{"done", 7}));
  EXPECT_EQ(rt.receive(w), std::nullopt);
  EXPECT_EQ(w.status(), troupe::worker_status::dead);
  EXPECT_FALSE(w.send(1));
}

TEST(runtime, errors_are_script_errors_raised_once_after_the_messages) {
  troupe::runtime rt{two_threads()};
  auto w = rt.spawn_source("worker.message(1)\nlocal function f() "
                           "error('broken') end\nf()",
                           "failing");
  EXPECT_EQ(rt.receive(w), value{1});
  try {
    rt.receive(w);
    FAIL() << "no error";
  } catch (const troupe::script_error& e) {
    EXPECT_EQ(e.message(), "failing:2: broken");
    EXPECT_NE(e.traceback().find("in local 'f'"), std::string::npos)
      << e.traceback();
  }
  EXPECT_EQ(rt.receive(w), std::nullopt);
  auto end = rt.join(w);
  EXPECT_FALSE(end.ok);
  ASSERT_TRUE(end.error);
  EXPECT_EQ(end.error->message(), "failing:2: broken");
}

TEST(runtime, select_takes_from_every_worker_and_times_out) {
  troupe::runtime rt{two_threads()};
  auto a = rt.spawn_source("for i = 1, 3 do worker.message(i) end", "a");
  auto b = rt.spawn_source("for i = 1, 3 do worker.message(-i) end", "b");
  rt.join(a);
  rt.join(b);
  for (int i = 1; i <= 3; ++i) {
    auto got = rt.receive({a, b}, patience);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0], value{i});
    EXPECT_EQ(got[1], value{-i});
    EXPECT_FALSE(got.timed_out());
  }
  auto drained = rt.receive({a, b}, patience);
  EXPECT_FALSE(drained[0] || drained[1] || drained.timed_out());

  auto quiet = rt.spawn_source("worker.peek()", "quiet");
  auto none = rt.receive({quiet}, 20ms);
  EXPECT_TRUE(none.timed_out());
  EXPECT_EQ(rt.receive(quiet, 20ms), std::nullopt);
  EXPECT_FALSE(rt.join(quiet, 20ms));
  quiet.cancel();
  auto end = rt.join(quiet);
  EXPECT_FALSE(end.ok);
  EXPECT_EQ(end.error->message(), "cancelled");
}

TEST(runtime, spawn_errors_name_the_file) {
  troupe::runtime rt{two_threads()};
  EXPECT_THROW(rt.spawn("/nonexistent/x.lua"), troupe::error);
  auto bad = script("syntax.lua", "x = = 1");
  try {
    rt.spawn(bad);
    FAIL() << "no compile_error";
  } catch (const troupe::compile_error& e) {
    EXPECT_EQ(std::string{e.what()},
              bad.string() + ":1: unexpected symbol near '='");
  }
  EXPECT_THROW(rt.spawn_source("return = 1", "bad"), troupe::compile_error);
  auto w = rt.spawn_source("return print", "unsendable");
  auto end = rt.join(w);
  EXPECT_FALSE(end.ok);
  EXPECT_EQ(end.error->message(),
            "the worker's return values cannot be sent: argument #1 is a "
            "function; only nil, "
            "booleans, numbers, strings and tables can be sent");
}

TEST(runtime, a_full_inbox_is_a_limit_error) {
  troupe::runtime_config config = two_threads();
  config.inbox_limit = 2;
  troupe::runtime rt{config};
  auto w = rt.spawn_source("worker.message('ready') worker.sleep(3600)",
                           "sleeper");
  EXPECT_EQ(rt.receive(w), value{"ready"});
  EXPECT_TRUE(w.send(1));
  EXPECT_TRUE(w.send(2));
  EXPECT_THROW(w.send(3), troupe::limit_error);
  EXPECT_THROW(w.send(value::array({value::map({{"f", 1}})})),
               troupe::limit_error);
}

TEST(runtime, print_goes_to_the_output_sink_in_whole_lines) {
  std::mutex m;
  std::vector<std::string> lines;
  troupe::runtime_config config = two_threads();
  config.output = [&](std::string_view line) {
    std::lock_guard g{m};
    lines.emplace_back(line);
  };
  troupe::runtime rt{config};
  std::vector<troupe::worker> ws;
  for (int i = 0; i < 4; ++i)
    ws.push_back(rt.spawn_source("local id = ... for i = 1, 50 do print(id, "
                                 "string.rep('x', 200)) end",
                                 "printer", {i}));
  for (auto& w : ws) ASSERT_TRUE(rt.join(w).ok);
  std::lock_guard g{m};
  ASSERT_EQ(lines.size(), 200u);
  for (const auto& line : lines) EXPECT_EQ(line.size(), 202u) << line;
}

TEST(runtime, a_script_file_is_compiled_once_for_many_workers) {
  auto path = script("answer.lua", "return 42");
  troupe::runtime rt{two_threads()};
  std::vector<troupe::worker> ws;
  for (int i = 0; i < 1000; ++i) ws.push_back(rt.spawn(path));
  for (auto& w : ws) ASSERT_EQ(rt.join(w).values, std::vector<value>{42});
  auto stats = rt.stats();
  EXPECT_EQ(stats.spawned, 1000u);
  EXPECT_EQ(stats.failed, 0u);
}

TEST(runtime,
     children_of_an_ended_parent_see_nil_and_are_cancelled_after_the_grace) {
  auto child = script("orphan_child.lua", "worker.message('ready') print('peek "
                                          "gave', worker.peek()) "
                                          "while true do end");
  auto parent = script("orphan_parent.lua",
                       "local c = worker.create('orphan_child.lua') "
                       "assert(worker.receive(c) == 'ready')");
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::string> lines;
  troupe::runtime_config config = two_threads();
  config.orphan_grace = 50ms;
  config.permissions = {"worker", "load"};
  config.output = [&](std::string_view line) {
    std::lock_guard g{m};
    lines.emplace_back(line);
    cv.notify_all();
  };
  troupe::runtime rt{config};
  auto w = rt.spawn(parent);
  ASSERT_TRUE(rt.join(w).ok);
  std::unique_lock lock{m};
  ASSERT_TRUE(cv.wait_for(lock, patience, [&] { return !lines.empty(); }));
  EXPECT_EQ(lines.front(), "peek gave\tnil");
  lock.unlock();
  auto deadline = std::chrono::steady_clock::now() + patience;
  while (rt.stats().alive != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  EXPECT_EQ(rt.stats().alive, 0u);
  EXPECT_EQ(rt.stats().failed, 1u);
}

TEST(runtime, eight_threads_spawn_send_and_receive_at_once) {
  troupe::runtime rt{two_threads()};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 10; ++round) {
        auto w = rt.spawn_source("for i = 1, 3 do worker.message(worker.peek() "
                                 "+ 1) end return 'ok'",
                                 "echo");
        for (int i = 0; i < 3; ++i) {
          if (!w.send(t * 1000 + i)
              || rt.receive(w, patience) != value{t * 1000 + i + 1})
            ++failures;
        }
        if (rt.join(w).values != std::vector<value>{"ok"}) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(rt.stats().spawned, 80u);
  EXPECT_GE(rt.stats().messages, 480u);
}

TEST(runtime, handles_outliving_their_runtime_throw_stopped_error) {
  std::optional<troupe::worker> w;
  {
    troupe::runtime rt{two_threads()};
    w = rt.spawn_source("worker.peek()", "waiting");
  }
  EXPECT_THROW(w->send(1), troupe::stopped_error);
  EXPECT_THROW(static_cast<void>(w->status()), troupe::stopped_error);
  EXPECT_THROW(w->cancel(), troupe::stopped_error);
}

TEST(runtime, a_moved_from_handle_is_a_clear_error) {
  troupe::runtime rt{two_threads()};
  auto w = rt.spawn_source("return 1", "x");
  auto kept = std::move(w);
  auto says_moved = [](auto&& use) {
    try {
      use();
      ADD_FAILURE() << "no error";
    } catch (const troupe::error& e) {
      EXPECT_NE(std::string{e.what()}.find("moved from"), std::string::npos)
        << e.what();
    }
  };
  says_moved([&] { w.send(1); });
  says_moved([&] { static_cast<void>(w.status()); });
  says_moved([&] { w.cancel(); });
  says_moved([&] { rt.receive(w); });
  says_moved([&] { rt.join(w); });
  EXPECT_TRUE(rt.join(kept).ok);
}

TEST(runtime, every_known_permission_is_accepted) {
  troupe::runtime_config config = two_threads();
  for (const auto& p : troupe::known_permissions()) {
    config.permissions = {p.name};
    EXPECT_NO_THROW(troupe::runtime{config}) << p.name;
    if (p.scoped) {
      config.permissions = {p.name + "=/tmp"};
      EXPECT_NO_THROW(troupe::runtime{config}) << p.name;
    }
  }
  auto scoped = [](const std::string& name) -> std::optional<bool> {
    for (const auto& p : troupe::known_permissions())
      if (p.name == name) return p.scoped;
    return std::nullopt;
  };
  EXPECT_EQ(scoped("fs:read"), true);
  EXPECT_EQ(scoped("fs:write"), true);
  EXPECT_EQ(scoped("worker"), false);
  EXPECT_EQ(scoped("teleport"), std::nullopt);
}

TEST(runtime, a_max_throughput_of_zero_is_refused) {
  troupe::runtime_config config = two_threads();
  config.max_throughput = 0;
  expect_refused(config, "max_throughput must be at least 1");
}

TEST(runtime, a_worker_of_another_runtime_is_rejected) {
  troupe::runtime one{two_threads()};
  troupe::runtime two{two_threads()};
  auto w = one.spawn_source("return 1", "x");
  EXPECT_THROW(two.receive(w), troupe::error);
  EXPECT_THROW(two.join(w), troupe::error);
}

TEST(runtime, the_destructor_stops_spinning_blocked_and_nested_workers) {
  auto start = std::chrono::steady_clock::now();
  {
    // Two spinners on two threads: preemption lets the blocked one start.
    troupe::runtime rt{two_threads()};
    rt.spawn_source("while true do end", "spinner");
    rt.spawn_source("while true do pcall(function() while true do end end) end",
                    "swallower");
    auto blocked = rt.spawn_source("worker.message('up') worker.peek()",
                                   "blocked");
    rt.receive(blocked);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, patience);
}

TEST(runtime, worker_create_needs_the_worker_and_load_permissions) {
  auto child = script("permitted_child.lua", "return 1");
  const std::string create = "local c = worker.create('" + child.string()
                             + "') return worker.join(c)";
  auto denied_with = [&](std::vector<std::string> permissions) {
    troupe::runtime_config config = two_threads();
    config.permissions = std::move(permissions);
    troupe::runtime rt{config};
    auto end = rt.join(rt.spawn_source(create, "parent"));
    return end.ok ? std::string{"granted"} : end.error->message();
  };
  EXPECT_EQ(denied_with({}),
            "parent:1: permission denied: worker (worker.create \""
              + child.string() + "\")");
  EXPECT_EQ(denied_with({"worker"}),
            "parent:1: permission denied: load (worker.create \""
              + child.string() + "\")");
  EXPECT_EQ(denied_with({"load", "fs:read=/tmp"}),
            "parent:1: permission denied: worker (worker.create \""
              + child.string() + "\")");
  EXPECT_EQ(denied_with({"worker", "load"}), "granted");
}

TEST(runtime, a_scoped_fs_read_bounds_the_scripts_a_worker_may_start) {
  auto child = script("bounded_child.lua", "return 1");
  troupe::runtime_config config = two_threads();
  config.permissions = {"worker", "load", "fs:read=/nonexistent/dir"};
  troupe::runtime rt{config};
  auto end = rt.join(rt.spawn_source("local c = worker.create('"
                                       + child.string() + "') return 1",
                                     "parent"));
  ASSERT_FALSE(end.ok);
  EXPECT_EQ(end.error->message(),
            "parent:1: permission denied: fs:read (worker.create \""
              + child.string() + "\")");
}

TEST(runtime, a_permission_refusal_reaches_the_host_as_permission_error) {
  troupe::runtime rt{two_threads()};
  auto w = rt.spawn_source("worker.message(1) io.open('/etc/passwd')", "nosy");
  EXPECT_EQ(rt.receive(w), value{1});
  try {
    rt.receive(w);
    FAIL() << "no error";
  } catch (const troupe::permission_error& e) {
    EXPECT_STREQ(e.what(), "nosy:1: permission denied: fs:read (io.open "
                           "\"/etc/passwd\")");
  }
  // Caught inside the script, a refusal is just an error value.
  auto careful = rt.spawn_source(
    "local ok = pcall(io.open, '/etc/passwd') error('other')", "careful");
  EXPECT_THROW(rt.receive(careful), troupe::script_error);
}

TEST(runtime, children_inherit_their_parents_permissions) {
  auto grandchild = script("inherit_grandchild.lua", "return 'deep'");
  auto child = script("inherit_child.lua",
                      "local g = worker.create('inherit_grandchild.lua') "
                      "return select(2, worker.join(g))");
  troupe::runtime_config config = two_threads();
  config.permissions = {"worker", "load"};
  troupe::runtime rt{config};
  auto end = rt.join(rt.spawn_source("local c = worker.create('"
                                       + child.string()
                                       + "') "
                                         "return select(2, worker.join(c))",
                                     "root"));
  ASSERT_TRUE(end.ok) << end.error->message();
  EXPECT_EQ(end.values, std::vector<value>{"deep"});
}

TEST(runtime, unknown_permissions_are_rejected) {
  troupe::runtime_config config = two_threads();
  config.permissions = {"worker", "teleport"};
  expect_refused(config, "unknown permission 'teleport'");
  config.permissions = {"exec=/bin"};
  EXPECT_THROW(troupe::runtime{config}, std::invalid_argument);
}

TEST(runtime, dropping_every_handle_lets_the_runtime_forget_a_worker) {
  troupe::runtime rt{two_threads()};
  for (int i = 0; i < 100; ++i) {
    auto w = rt.spawn_source("worker.message('unread') return 1", "short");
    ASSERT_TRUE(rt.join(w).ok);
  }
  EXPECT_EQ(rt.stats().host_workers, 0u);
  auto kept = rt.spawn_source("worker.peek()", "kept");
  auto copy = kept;
  {
    auto dropped_while_running = rt.spawn_source("worker.sleep(0.01) return 1",
                                                 "dropped");
  }
  auto deadline = std::chrono::steady_clock::now() + patience;
  while (rt.stats().host_workers != 1
         && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  EXPECT_EQ(rt.stats().host_workers, 1u);
  EXPECT_EQ(copy.status(), troupe::worker_status::running);
  EXPECT_TRUE(kept.send("stop"));
  EXPECT_TRUE(rt.join(copy).ok);
}

// A script file changed between two worker.create calls: the second worker
// runs the new text (the code cache checks the file at each create).
TEST(runtime, worker_create_runs_a_changed_script_anew) {
  auto file = script("changing_child.lua", "return 'first'");
  auto config = two_threads();
  config.permissions = {"worker", "load", "fs:read"};
  config.base_dir = file.parent_path();
  troupe::runtime rt{config};
  auto w = rt.spawn_source(R"lua(
    local _, a = worker.join(worker.create("changing_child.lua"))
    worker.message("change it")
    assert(worker.peek() == "changed")
    local _, b = worker.join(worker.create("changing_child.lua"))
    return a, b)lua",
                           "root");
  EXPECT_EQ(rt.receive(w, 20s), value{"change it"});
  std::ofstream{file} << "return 'second, longer'";
  w.send("changed");
  auto end = rt.join(w, 20s);
  ASSERT_TRUE(end && end->ok) << (end && end->error ? end->error->what() : "");
  EXPECT_EQ(end->values, (std::vector<value>{"first", "second, longer"}));
}
