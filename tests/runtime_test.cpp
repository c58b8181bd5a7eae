// troupe::runtime from C++: spawning, sending, receiving (one, select,
// timeouts), join, errors, stats, the code cache, orphans, many threads at
// once, handles that outlive their runtime, and a prompt shutdown.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <malloc.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "actors/worker_end.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;
using troupe::value;

namespace {

constexpr auto patience = 10s;

// Writes `source` into a fresh directory shared by the tests and returns its
// path.
std::filesystem::path script(const std::string& name,
                             const std::string& source) {
  auto dir = std::filesystem::path{::testing::TempDir()}
             / "troupe_runtime_test";
  std::filesystem::create_directories(dir);
  std::ofstream{dir / name} << source;
  return dir / name;
}

troupe::runtime_config two_threads() {
  troupe::runtime_config config;
  config.threads = 2;
  return config;
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

TEST(runtime, cancel_stops_a_looping_xpcall_handler_and_close) {
  troupe::runtime rt{two_threads()};
  auto handler = rt.spawn_source("worker.message('spinning') "
                                 "xpcall(function() while true do end end, "
                                 "function() while true do end end)",
                                 "handler");
  auto closer = rt.spawn_source(
    "worker.message('spinning') coroutine.wrap(function() "
    "local g <close> = setmetatable({}, {__close = function() while true do "
    "end end}) while true do end end)()",
    "closer");
  for (auto* w : {&handler, &closer}) {
    ASSERT_EQ(rt.receive(*w, patience), value{"spinning"});
    w->cancel();
    auto end = rt.join(*w, patience);
    ASSERT_TRUE(end.has_value()) << "the cancel was not obeyed";
    EXPECT_FALSE(end->ok);
  }
}

TEST(runtime, the_host_that_cancels_is_not_raised_at) {
  troupe::runtime rt{two_threads()};
  auto w = rt.spawn_source("worker.message(1) worker.message(2) worker.peek()",
                           "chatty");
  EXPECT_EQ(rt.receive(w, patience), value{1});
  w.cancel();
  auto end = rt.join(w, patience);
  ASSERT_TRUE(end.has_value());
  EXPECT_FALSE(end->ok);
  EXPECT_EQ(end->error->message(), "cancelled");
  EXPECT_EQ(rt.receive(w, patience), value{2});
  EXPECT_EQ(rt.receive(w, patience), std::nullopt);
  // Raised where a cancel the host did not ask for ends a worker.
  auto e = troupe::detail::end_exception(
    troupe::detail::encode_end_error({"cancelled", "", "cancelled", {}}));
  EXPECT_THROW(std::rethrow_exception(e), troupe::cancelled_error);
}

TEST(runtime, an_error_value_travels_with_the_error) {
  auto config = two_threads();
  config.permissions = {"worker", "load"};
  troupe::runtime rt{config};
  auto w = rt.spawn_source("error({code = 42, reason = 'no stock'})", "stock");
  try {
    rt.receive(w, patience);
    FAIL() << "no error";
  } catch (const troupe::script_error& e) {
    EXPECT_EQ(e.value(), value::map({{"code", 42}, {"reason", "no stock"}}));
    EXPECT_EQ(e.message(), "(error object is a table value)");
  }
  auto unsendable = rt.spawn_source("error({f = print})", "unsendable");
  auto end = rt.join(unsendable, patience);
  ASSERT_TRUE(end.has_value());
  EXPECT_TRUE(end->error->value().is_nil());
  script("stock.lua", "error({code = 42, reason = 'no stock'})");
  auto parent = rt.spawn(script("stock_parent.lua",
                                "local w = worker.create('stock.lua') "
                                "local ok, err = pcall(worker.receive, w) "
                                "return err.value.code, err.value.reason"));
  auto got = rt.join(parent, patience);
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->ok) << got->error->message();
  EXPECT_EQ(got->values, (std::vector<value>{42, "no stock"}));
}

TEST(runtime, an_error_too_large_for_a_message_still_ends_the_worker) {
  auto config = two_threads();
  config.permissions = {"worker", "load"};
  troupe::runtime rt{config};
  const std::string huge = "error(string.rep('x', 65 * 1024 * 1024))";
  auto w = rt.spawn_source(huge, "huge");
  auto end = rt.join(w, patience);
  ASSERT_TRUE(end.has_value()) << "the end was lost";
  EXPECT_FALSE(end->ok);
  const std::string& message = end->error->message();
  EXPECT_LT(message.size(), 100u * 1024);
  EXPECT_EQ(message.substr(0, 16), "huge:1: xxxxxxxx");
  EXPECT_NE(message.find("bytes in all)"), std::string::npos);
  EXPECT_EQ(w.status(), troupe::worker_status::dead);
  script("huge.lua", huge);
  auto parent = rt.spawn(script("huge_parent.lua",
                                "local w = worker.create('huge.lua') "
                                "local ok, err = pcall(worker.receive, w) "
                                "return #err.message"));
  auto got = rt.join(parent, patience);
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->ok) << got->error->message();
  EXPECT_LT(got->values.at(0).as_int(), 100 * 1024);
}

TEST(runtime, only_regular_script_files_within_the_limit_are_started) {
  auto dir = script("probe.lua", "return 1").parent_path();
  auto config = two_threads();
  config.max_script_size = 1000;
  config.base_dir = dir;
  config.permissions = {"worker", "load", "fs:read=" + dir.string()};
  troupe::runtime rt{config};
  auto fifo = dir / "outside.fifo";
  std::filesystem::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  script("big.lua", "return '" + std::string(2000, 'x') + "'");
  auto parent = rt.spawn(
    script("creates.lua",
           "local out = {} "
           "for _, p in ipairs{'/dev/zero', '/etc/passwd', '.', '', 'big.lua', "
           "'outside.fifo', 'probe.lua\\0.txt'} do "
           "local ok, err = pcall(worker.create, p) out[#out + 1] = "
           "tostring(err) end "
           "return table.unpack(out)"));
  auto end = rt.join(parent, patience);
  ASSERT_TRUE(end.has_value());
  ASSERT_TRUE(end->ok) << end->error->message();
  auto said = [&](std::size_t i) { return end->values.at(i).as_string(); };
  EXPECT_NE(said(0).find("permission denied: fs:read (worker.create "
                         "\"/dev/zero\")"),
            std::string::npos)
    << said(0);
  EXPECT_NE(said(1).find("permission denied: fs:read"), std::string::npos);
  EXPECT_NE(said(2).find(": Is a directory"), std::string::npos) << said(2);
  EXPECT_NE(said(3).find(": Is a directory"), std::string::npos) << said(3);
  EXPECT_NE(said(4).find("larger than the script size limit (1000 bytes)"),
            std::string::npos)
    << said(4);
  EXPECT_NE(said(5).find("not a regular file"), std::string::npos) << said(5);
  EXPECT_NE(said(6).find("path contains a NUL byte"), std::string::npos)
    << said(6);
  try {
    rt.spawn(dir);
    FAIL() << "a directory was started";
  } catch (const troupe::error& e) {
    EXPECT_NE(std::string{e.what()}.find(": Is a directory"), std::string::npos)
      << e.what();
  }
  EXPECT_THROW(rt.spawn(std::string{"probe.lua\0x", 11}), troupe::error);
  EXPECT_THROW(rt.spawn("/dev/zero"), troupe::error);
}

TEST(runtime, the_longest_timeouts_mean_forever_not_at_once) {
  troupe::runtime rt{two_threads()};
  constexpr auto forever = std::chrono::nanoseconds::max();
  auto w = rt.spawn_source("worker.sleep(0.05) worker.message(1) "
                           "worker.sleep(0.05) return 2",
                           "late");
  EXPECT_EQ(rt.receive(w, forever), value{1});
  auto end = rt.join(w, forever);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->values, std::vector<value>{2});
  auto v = rt.spawn_source("worker.sleep(0.05) worker.message(3)", "later");
  auto got = rt.receive({v}, forever);
  EXPECT_FALSE(got.timed_out());
  EXPECT_EQ(got[0], value{3});
  troupe::pool pool{rt, 1};
  auto busy = troupe::compile("local t = worker and 0 or os.clock() "
                              "while os.clock() - t < 0.05 do end return 4",
                              "busy");
  EXPECT_EQ(pool.submit(busy, {}, forever), value{4});
  troupe::supervisor sup{rt};
  sup.set("k", 1);
  EXPECT_TRUE(sup.try_acquire("k", forever).has_value());
}

TEST(runtime, queues_are_bounded_by_bytes_too) {
  auto config = two_threads();
  config.inbox_bytes = 1 << 20;
  config.permissions = {"worker", "load"};
  troupe::runtime rt{config};
  // 100 KB messages: the eleventh finds the megabyte taken.
  auto chatty = rt.spawn_source(
    "local s = string.rep('x', 100000) local sent = 0 "
    "for i = 1, 1000 do "
    "  if not pcall(worker.message, s) then return sent end sent = sent + 1 "
    "end",
    "chatty");
  auto end = rt.join(chatty, patience);
  ASSERT_TRUE(end.has_value());
  ASSERT_TRUE(end->ok) << end->error->message();
  EXPECT_EQ(end->values, std::vector<value>{10});
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(rt.receive(chatty, patience)->size(), 100000u);
  EXPECT_EQ(rt.receive(chatty, patience), std::nullopt);

  auto quiet = rt.spawn_source("worker.sleep(1e6)", "quiet");
  const value big = std::string(100000, 'y');
  int sent = 0;
  try {
    for (; sent < 1000; ++sent) quiet.send(big);
  } catch (const troupe::limit_error& e) {
    EXPECT_NE(std::string{e.what()}.find("inbox full"), std::string::npos);
  }
  EXPECT_EQ(sent, 10);
  quiet.cancel();

  // A script parent's queue of its child is bounded the same way.
  script("flood.lua", "local s = string.rep('z', 100000) "
                      "for i = 1, 1000 do worker.message(s) end");
  auto parent = rt.spawn(script("flood_parent.lua",
                                "local w = worker.create('flood.lua') "
                                "local ok, err = worker.join(w) "
                                "local n = 0 "
                                "while pcall(worker.receive, w) do n = n + 1 "
                                "  if n > 100 then break end end "
                                "return ok, tostring(err), n"));
  auto got = rt.join(parent, patience);
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->ok) << got->error->message();
  EXPECT_EQ(got->values.at(0), value{false});
  EXPECT_NE(got->values.at(1).as_string().find("queue"), std::string::npos)
    << got->values.at(1);
}

TEST(runtime, a_long_lived_parent_stays_flat_over_many_children) {
  auto config = two_threads();
  config.permissions = {"worker", "load"};
  troupe::runtime rt{config};
  script("short_lived.lua", "return 1");
  auto parent = rt.spawn(
    script("many_children.lua",
           "for round = 1, 4 do "
           "  for i = 1, 5000 do "
           "    worker.join(worker.create('short_lived.lua')) "
           "  end "
           "  collectgarbage() worker.message(round) "
           "end"));
  // Heap in use after the first round (all warmed up) and after the last:
  // 15,000 children later it must not have grown by anything like the 1.5 KB
  // each that a kept child used to cost (22 MB).
  ASSERT_EQ(rt.receive(parent, patience), value{1});
  std::size_t warm = ::mallinfo2().uordblks;
  for (int round = 2; round <= 4; ++round)
    ASSERT_EQ(rt.receive(parent, patience), value{round});
  std::size_t after = ::mallinfo2().uordblks;
  EXPECT_LT(after, warm + (std::size_t{4} << 20))
    << "grew by " << (after - warm) / 1024 << " KiB";
  EXPECT_TRUE(rt.join(parent, patience).has_value());
}
