// Workers on another node (DESIGN.md "Nodes"): a `troupe node` process the
// test starts on loopback, and this process's runtime creating workers
// there from Lua. What a child handle does works on a remote one; a node that
// dies or hangs ends its workers as "lost"; the node's secret, root,
// permissions and cap hold.
#include <csignal>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "node_process.hpp"
#include "runtime_support.hpp"
#include "troupe/troupe.hpp"
#include "wait_support.hpp"

namespace troupe::test {
namespace {

// The node's root: the scripts remote workers run.
std::filesystem::path node_root() {
  write_process_script("nodes", "echo.lua", R"lua(
    local who = ...
    worker.message("hello from " .. tostring(who))
    while true do
      local m, from = worker.peek()
      if m == nil or m == "stop" then break end
      if m == "to parent" then
        worker.send(worker.parent(), "sent to parent")
      else
        worker.message("echo " .. tostring(m))
      end
    end
    return "done", who
  )lua");
  write_process_script("nodes", "stream.lua", R"lua(
    local i = 0
    while true do
      i = i + 1
      worker.message(i)
      if i % 50 == 0 then worker.sleep(0.001) end
    end
  )lua");
  write_process_script("nodes", "wait.lua", R"lua(
    local n = ...
    local m = worker.peek()
    return n + m
  )lua");
  write_process_script("nodes", "loads.lua", R"lua(
    local ok, f, err = pcall(loadfile, "/etc/hostname")
    return ok and f ~= nil, tostring(ok and err or f)
  )lua");
  write_process_script("nodes", "opens.lua", R"lua(
    return io.open("opens.lua")
  )lua");
  write_process_script("nodes", "broken.lua", "x = = 1\n");
  write_process_script("nodes", "server.lua", R"lua(
    while true do
      local m, from, call = worker.peek()
      if m == nil or m == "stop" then break end
      if call then worker.reply(call, "answer to " .. m, m * 2) end
    end
  )lua");
  write_process_script("nodes", "forward.lua", R"lua(
    local target = ...
    worker.send(target, {text = "hi", me = worker.self()})
    local m, from = worker.peek()
    return m, from == worker.parent(), from == target
  )lua");
  write_process_script("nodes", "answers_from.lua", R"lua(
    while true do
      local m, from, call = worker.peek()
      if m == nil or m == "stop" then break end
      if call then
        worker.reply(call, "called with " .. m)
      else
        worker.send(from, "echo " .. m)
      end
    end
  )lua");
  write_process_script("nodes", "pair.lua", R"lua(
    local other = worker.peek()
    worker.send(other, "hello sibling")
    local m, from = worker.peek()
    return m, from == other
  )lua");
  write_process_script("nodes", "spawner.lua", R"lua(
    local c = worker.create{path = "server.lua"}
    worker.message(c)
    return worker.peek()
  )lua");
  write_process_script("nodes", "sibling.lua", R"lua(
    local r = worker.peek()
    worker.send(r, "from sibling")
    local echo, from = worker.peek(10)
    local a = worker.call(r, "x", 10)
    worker.message({echo, from == r, a})
  )lua");
  write_process_script("nodes", "registers.lua", R"lua(
    local name, delay = ...
    if delay then worker.sleep(delay) end
    worker.register(name)
    while true do
      local m, from, call = worker.peek()
      if m == nil or m == "stop" then break end
      if call then worker.reply(call, name .. " got " .. m) end
    end
  )lua");
  write_process_script("nodes", "orphan.lua", R"lua(
    return worker.parent() == nil, pcall(worker.call, worker.parent(), "x")
  )lua");
  write_process_script("nodes", "asks.lua", R"lua(
    local a, b = worker.call(worker.parent(), "question", 10)
    return a, b
  )lua");
  return write_process_script("nodes", "spin.lua", R"lua(
    worker.message("up")
    while true do end
  )lua")
    .parent_path();
}

runtime_config origin() {
  auto c = two_threads();
  c.network = true;
  c.permissions = {"worker", "load"};
  return c;
}

// Runs `source` with the node's address as `...` and returns what it
// returned (or its error's text as the single value when it failed).
std::vector<value> run_with(runtime& rt, const node_process& node,
                            const std::string& source) {
  auto w = rt.spawn_source(source, "origin", {node.address()});
  auto end = rt.join(w, std::chrono::seconds{30});
  if (!end) {
    ADD_FAILURE() << "the script did not end in time";
    return {};
  }
  if (!end->ok) return {value{end->error->what()}};
  return end->values;
}

class nodes : public ::testing::Test {
protected:
  std::filesystem::path root_ = node_root();
};

TEST_F(nodes, a_remote_worker_is_created_messaged_and_joined) {
  node_process node{{"--root", root_.string()}};
  ASSERT_FALSE(node.address().empty()) << node.text();
  runtime rt{origin()};
  auto got = run_with(rt, node, R"lua(
    local w = worker.create{node = ..., path = "echo.lua", args = {"me"}}
    local hello = worker.receive(w)
    worker.send(w, "ping")
    local echo = worker.receive(w)
    worker.send(w, "to parent")
    local m, from = worker.peek(10)
    local alive = worker.status(w)
    worker.send(w, "stop")
    local ok, a, b = worker.join(w, 10)
    return hello, echo, m, from == w, alive, ok, a, b, tostring(w):sub(1, 7)
  )lua");
  ASSERT_EQ(got.size(), 9u) << (got.empty() ? "" : to_string(got[0]));
  EXPECT_EQ(got[0], value{"hello from me"});
  EXPECT_EQ(got[1], value{"echo ping"});
  EXPECT_EQ(got[2], value{"sent to parent"});
  EXPECT_EQ(got[3], value{true});
  EXPECT_EQ(got[4], value{"running"});
  EXPECT_EQ(got[5], value{true});
  EXPECT_EQ(got[6], value{"done"});
  EXPECT_EQ(got[7], value{"me"});
  EXPECT_EQ(got[8], value{"worker:"});
  // The actors that serve the link (this runtime's agent, the lookups, the
  // proxies of the node's actors) are not among its workers.
  EXPECT_TRUE(eventually([&] { return rt.stats().alive == 0; }))
    << rt.stats().alive;
  EXPECT_EQ(rt.metrics().alive, 0u);
  EXPECT_TRUE(rt.metrics().workers.empty());
  EXPECT_EQ(rt.stats().failed, 0u);
}

// `troupe run` ends once its root has returned and the root's orphans have
// ended, a worker on a node among them (its runtime's agent keeps running
// until the runtime stops, and once counted as a worker: the command waited
// for ever).
TEST_F(nodes, troupe_run_ends_with_a_worker_still_running_on_a_node) {
  node_process node{{"--root", root_.string()}};
  ASSERT_FALSE(node.address().empty()) << node.text();
  auto main = write_process_script("nodes", "leaves_a_remote_worker.lua", R"lua(
    local w = worker.create{node = ..., path = "echo.lua", args = {"run"}}
    print(worker.receive(w))
  )lua");
  node_process run{{TROUPE_CLI, "run", "--network", main.string(),
                    node.address()},
                   node_process::as_command};
  EXPECT_EQ(run.wait_exit(), 0) << run.text();
  EXPECT_EQ(run.text(), "hello from run\n");
}

TEST_F(nodes, calls_go_both_ways) {
  node_process node{{"--root", root_.string()}};
  ASSERT_FALSE(node.address().empty()) << node.text();
  runtime rt{origin()};
  auto got = run_with(rt, node, R"lua(
    local node = ...
    local s = worker.create{node = node, path = "server.lua"}
    local a, b = worker.call(s, 21, 10)
    worker.send(s, "stop")
    local asks = worker.create{node = node, path = "asks.lua"}
    local m, from, call = worker.peek(10)
    worker.reply(call, "reply", 42)
    local ok, x, y = worker.join(asks, 10)
    return a, b, m, from == asks, x, y
  )lua");
  ASSERT_EQ(got.size(), 6u) << (got.empty() ? "" : to_string(got[0]));
  EXPECT_EQ(got[0], value{"answer to 21"});
  EXPECT_EQ(got[1], value{42});
  EXPECT_EQ(got[2], value{"question"});
  EXPECT_EQ(got[3], value{true});
  EXPECT_EQ(got[4], value{"reply"});
  EXPECT_EQ(got[5], value{42});
}

TEST_F(nodes, the_host_calls_a_remote_worker_many_times_at_once) {
  node_process node{{"--root", root_.string()}};
  ASSERT_FALSE(node.address().empty()) << node.text();
  runtime rt{origin()};
  auto root = rt.spawn_source(R"lua(
    local s = worker.create{node = ..., path = "server.lua"}
    worker.message(s)
    worker.peek()
    worker.send(s, "stop")
    return worker.join(s, 10)
  )lua",
                              "origin", {node.address()});
  auto handle = rt.receive(root, std::chrono::seconds{20});
  ASSERT_TRUE(handle && handle->is_handle());
  auto server = handle->as_worker();
  std::vector<std::future<value>> answers;
  for (int i = 1; i <= 200; ++i)
    answers.push_back(server.call(value{i}, std::chrono::seconds{20}));
  bool each_once = true;
  for (int i = 1; i <= 200; ++i) {
    auto v = answers[static_cast<std::size_t>(i - 1)].get();
    // Two values come back as an array.
    each_once = each_once
                && to_string(v)
                     == "[\"answer to " + std::to_string(i) + "\", "
                          + std::to_string(2 * i) + "]";
  }
  EXPECT_TRUE(each_once);
  root.send(value{"go"});
  auto end = rt.join(root, std::chrono::seconds{20});
  ASSERT_TRUE(end && end->ok) << (end ? end->error->what() : "no end");
  EXPECT_EQ(end->values.at(0), value{true});
}

TEST_F(nodes, the_host_starts_a_worker_on_a_node) {
  node_process node{{"--root", root_.string()}};
  ASSERT_FALSE(node.address().empty()) << node.text();
  runtime rt{origin()};
  spawn_options on_node;
  on_node.node = node.address();
  auto w = rt.spawn("echo.lua", {value{"host"}}, on_node);
  EXPECT_EQ(rt.receive(w, std::chrono::seconds{20}), value{"hello from host"});
  w.send(value{"ping"});
  EXPECT_EQ(rt.receive(w, std::chrono::seconds{20}), value{"echo ping"});
  w.send(value{"stop"});
  auto end = rt.join(w, std::chrono::seconds{20});
  ASSERT_TRUE(end && end->ok);
  EXPECT_EQ(end->values.at(0), value{"done"});
  try {
    rt.spawn("missing.lua", {}, on_node);
    ADD_FAILURE() << "no error";
  } catch (const error& e) {
    EXPECT_EQ(std::string{e.what()}.rfind("troupe::runtime::spawn: node "
                                            + node.address() + ": ",
                                          0),
              0u)
      << e.what();
    EXPECT_NE(std::string{e.what()}.find("missing.lua"), std::string::npos);
  }
  on_node.node = "nowhere";
  EXPECT_THROW(rt.spawn("echo.lua", {}, on_node), error);
}

TEST_F(nodes, a_worker_the_host_started_on_a_node_has_no_parent_handle) {
  // As a host child here: nothing to call (a call would wait for ever, since
  // the host answers none).
  node_process node{{"--root", root_.string()}};
  ASSERT_FALSE(node.address().empty()) << node.text();
  runtime rt{origin()};
  spawn_options on_node;
  on_node.node = node.address();
  auto end = rt.join(rt.spawn("orphan.lua", {}, on_node),
                     std::chrono::seconds{20});
  ASSERT_TRUE(end && end->ok) << (end ? end->error->what() : "no end");
  ASSERT_EQ(end->values.size(), 3u);
  EXPECT_EQ(end->values[0], value{true});
  EXPECT_EQ(end->values[1], value{false});
  EXPECT_NE(end->values[2].as_string().find(
              "bad argument #1 to 'worker.call' (worker expected, got nil)"),
            std::string::npos)
    << end->values[2].as_string();
}

TEST_F(nodes, a_creator_that_ends_while_the_node_answers_leaves_no_worker) {
  node_process node{{"--root", root_.string(), "--max-workers", "1"}};
  ASSERT_FALSE(node.address().empty()) << node.text();
  runtime rt{origin()};
  // Stopped, the node cannot answer: the stand-in waits to connect while its
  // creator is cancelled; the node starts the worker once it runs again.
  node.signal(SIGSTOP);
  auto creator = rt.spawn_source("worker.create{node = ..., path = 'wait.lua', "
                                 "args = {1}}",
                                 "creator", {value{node.address()}});
  EXPECT_TRUE(eventually([&] { return rt.metrics().alive >= 2; }));
  creator.cancel();
  auto end = rt.join(creator, std::chrono::seconds{20});
  node.signal(SIGCONT);
  ASSERT_TRUE(end && !end->ok);
  // Its orphan is cancelled as soon as it runs, which frees the peer's one
  // place on the node for the next create.
  auto got = run_with(rt, node, R"lua(
    for _ = 1, 200 do
      local ok, w = pcall(worker.create, {node = ..., path = "wait.lua",
                                          args = {1}})
      if ok then
        worker.send(w, 2)
        return select(2, worker.join(w, 10))
      end
      if not tostring(w):find("limit reached") then error(w) end
      worker.sleep(0.05)
    end
    return "the place stayed taken"
  )lua");
  EXPECT_EQ(got, std::vector<value>{value{3}});
}

TEST_F(nodes, a_remote_worker_sends_to_a_local_handle_it_was_given) {
  node_process node{{"--root", root_.string()}};
  ASSERT_FALSE(node.address().empty()) << node.text();
  runtime rt{origin()};
  auto got = run_with(rt, node, R"lua(
    local r = worker.create{node = ..., path = "forward.lua",
                            args = {worker.self()}}
    local m, from = worker.peek(10)
    worker.send(from, "back")
    local ok, back, from_parent, from_target = worker.join(r, 10)
    return m.text, m.me == r, from == r, ok, back, from_parent, from_target
  )lua");
  // Its creator's message comes from its parent, as locally.
  EXPECT_EQ(got,
            (std::vector<value>{"hi", true, true, true, "back", true, false}));
}

TEST_F(nodes, a_local_that_is_not_the_creator_sends_and_calls_across) {
  node_process node{{"--root", root_.string()}};
  ASSERT_FALSE(node.address().empty()) << node.text();
  auto config = origin();
  config.permissions.push_back("fs:read=" + root_.string());
  runtime rt{config};
  auto w = rt.spawn_source(R"lua(
    local r = worker.create{node = ..., path = "answers_from.lua"}
    local sibling = worker.create{path = select(2, ...)}
    worker.send(sibling, r)
    local m = worker.receive(sibling)
    worker.send(r, "stop")
    assert(worker.join(r, 10))
    return m[1], m[2], m[3]
  )lua",
                           "origin",
                           {node.address(), (root_ / "sibling.lua").string()});
  auto end = rt.join(w, std::chrono::seconds{30});
  ASSERT_TRUE(end && end->ok) << (end ? end->error->what() : "no end");
  EXPECT_EQ(end->values,
            (std::vector<value>{"echo from sibling", true, "called with x"}));
}

TEST_F(nodes, two_remote_workers_given_each_other_talk_on_their_node) {
  node_process node{{"--root", root_.string()}};
  ASSERT_FALSE(node.address().empty()) << node.text();
  runtime rt{origin()};
  auto got = run_with(rt, node, R"lua(
    local node = ...
    local a = worker.create{node = node, path = "pair.lua"}
    local b = worker.create{node = node, path = "answers_from.lua"}
    worker.send(a, b)
    local ok, m, same = worker.join(a, 10)
    worker.send(b, "stop")
    return ok, m, same, (worker.join(b, 10))
  )lua");
  EXPECT_EQ(got, (std::vector<value>{true, "echo hello sibling", true, true}));
}

TEST_F(nodes, a_handle_of_a_remote_workers_child_is_called_and_monitored) {
  node_process node{{"--root", root_.string()}};
  ASSERT_FALSE(node.address().empty()) << node.text();
  runtime rt{origin()};
  auto got = run_with(rt, node, R"lua(
    local r = worker.create{node = ..., path = "spawner.lua"}
    local c = worker.receive(r)
    local a, b = worker.call(c, 21, 10)
    worker.monitor(c)
    worker.send(c, "stop")
    local down, from = worker.peek(10)
    worker.send(r, "done")
    local ok, last = worker.join(r, 10)
    return a, b, down.ok, from == c, last
  )lua");
  EXPECT_EQ(got, (std::vector<value>{"answer to 21", 42, true, true, "done"}));
}

TEST_F(nodes, the_host_reaches_a_remote_handle_it_receives) {
  node_process node{{"--root", root_.string()}};
  ASSERT_FALSE(node.address().empty()) << node.text();
  runtime rt{origin()};
  spawn_options on_node;
  on_node.node = node.address();
  auto r = rt.spawn("spawner.lua", {}, on_node);
  auto c = rt.receive(r, std::chrono::seconds{20});
  ASSERT_TRUE(c && c->is_handle()) << (c ? to_string(*c) : "nothing");
  const auto& child = c->as_worker();
  auto reply = child.call(value{5}, std::chrono::seconds{20}).get();
  EXPECT_EQ(reply, value::array({"answer to 5", 10}));
  child.send(value{"stop"});
  r.send(value{"done"});
  auto end = rt.join(r, std::chrono::seconds{20});
  ASSERT_TRUE(end && end->ok);
  EXPECT_EQ(end->values.at(0), value{"done"});
}

TEST_F(nodes, a_name_on_a_node_is_looked_up_from_here) {
  node_process node{{"--root", root_.string()}};
  ASSERT_FALSE(node.address().empty()) << node.text();
  runtime rt{origin()};
  auto got = run_with(rt, node, R"lua(
    local node = ...
    local svc = worker.create{node = node, path = "registers.lua",
                              args = {"svc"}}
    -- Registered a moment later, while the lookup waits for it.
    local late = worker.create{node = node, path = "registers.lua",
                               args = {"late", 0.2}}
    local found = worker.lookup("svc", {node = node, timeout = 10})
    local waited = worker.lookup("late", {node = node, timeout = 10})
    local none = worker.lookup("nobody", {node = node})
    local expired = worker.lookup("nobody", {node = node, timeout = 0.1})
    local answer = worker.call(waited, "x", 10)
    worker.send(svc, "stop")
    worker.send(late, "stop")
    return found == svc, waited == late, none, expired, answer,
           (worker.join(svc, 10)), (worker.join(late, 10))
  )lua");
  EXPECT_EQ(got, (std::vector<value>{true, true, value{}, value{}, "late got x",
                                     true, true}));
}

TEST_F(nodes, a_lookup_on_a_node_that_cannot_answer_raises) {
  node_process node{{"--root", root_.string()}};
  ASSERT_FALSE(node.address().empty()) << node.text();
  runtime rt{origin()};
  auto got = run_with(rt, node, R"lua(
    local function try(name, options)
      local ok, err = pcall(worker.lookup, name, options)
      return ok, tostring(err)
    end
    local a, ea = try("x", {node = 7})
    local b, eb = try("x", {node = "nowhere"})
    local c, ec = try("x", {node = "127.0.0.1:1"})
    return a, ea, b, eb, c, ec
  )lua");
  ASSERT_EQ(got.size(), 6u) << (got.empty() ? "" : to_string(got[0]));
  EXPECT_EQ(got[0], value{false});
  EXPECT_NE(got[1].as_string().find("option 'node' must be a string"),
            std::string::npos)
    << got[1].as_string();
  EXPECT_EQ(got[2], value{false});
  EXPECT_NE(got[3].as_string().find("has no port"), std::string::npos)
    << got[3].as_string();
  EXPECT_EQ(got[4], value{false});
  EXPECT_NE(got[5].as_string().find("cannot reach"), std::string::npos)
    << got[5].as_string();
}

TEST_F(nodes, a_script_the_node_cannot_start_raises_in_the_creator) {
  node_process node{{"--root", root_.string()}};
  ASSERT_FALSE(node.address().empty()) << node.text();
  runtime rt{origin()};
  auto got = run_with(rt, node, R"lua(
    local node = ...
    local function try(path)
      local ok, err = pcall(worker.create, {node = node, path = path})
      return ok, err
    end
    local a, ea = try("missing.lua")
    local b, eb = try("broken.lua")
    local c, ec = try("../escape.lua")
    local d, ed = try("/etc/passwd")
    return a, ea, b, eb, c, ec, d, ed
  )lua");
  ASSERT_EQ(got.size(), 8u) << (got.empty() ? "" : to_string(got[0]));
  auto says = [&](std::size_t i, const std::string& part) {
    EXPECT_EQ(got[i - 1], value{false});
    EXPECT_NE(got[i].as_string().find(part), std::string::npos)
      << got[i].as_string();
    EXPECT_EQ(got[i].as_string().rfind("worker.create: node " + node.address(),
                                       0),
              0u)
      << got[i].as_string();
  };
  says(1, "cannot open");
  says(1, "missing.lua");
  says(3, "broken.lua:1:");
  says(5, "leaves the node's root");
  says(7, "must be relative to the node's root");
  auto root = std::filesystem::weakly_canonical(root_).string();
  for (const auto& v : got) {
    if (v.is_string()) {
      EXPECT_EQ(v.as_string().find(root), std::string::npos)
        << "the node's root is its own: " << v.as_string();
    }
  }
}

TEST_F(nodes, a_malformed_node_option_says_what_is_wrong) {
  runtime rt{origin()};
  auto w = rt.spawn_source(R"lua(
    local function try(node)
      local ok, err = pcall(worker.create, {node = node, path = "echo.lua"})
      return tostring(ok) .. " " .. tostring(err)
    end
    return try(5), try("nowhere"), try("host:"), try("host:99999"),
           try(":7000"), try("host:12x")
  )lua",
                           "origin");
  auto end = rt.join(w, std::chrono::seconds{20});
  ASSERT_TRUE(end && end->ok) << (end ? end->error->what() : "no end");
  const auto& got = end->values;
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got[0], value{"false worker.create: option 'node' must be a string "
                          "(HOST:PORT)"});
  EXPECT_EQ(got[1], value{"false worker.create: node 'nowhere' has no port "
                          "(expected HOST:PORT)"});
  EXPECT_NE(got[4].as_string().find("has no host"), std::string::npos);
  for (std::size_t i = 2; i < 6; ++i)
    EXPECT_NE(got[i].as_string().find("(expected HOST:PORT)"),
              std::string::npos)
      << got[i].as_string();
  EXPECT_NE(got[3].as_string().find("no valid port"), std::string::npos);
}

TEST_F(nodes, an_unreachable_node_raises_in_the_creator) {
  // A port nothing listens on: the node that was there has gone.
  unsigned port = 0;
  {
    node_process gone{{"--root", root_.string()}};
    port = gone.port();
  }
  ASSERT_NE(port, 0u);
  runtime rt{origin()};
  auto w = rt.spawn_source(R"lua(
    local ok, err = pcall(worker.create, {node = ..., path = "echo.lua"})
    return ok, err
  )lua",
                           "origin", {"127.0.0.1:" + std::to_string(port)});
  auto end = rt.join(w, std::chrono::seconds{30});
  ASSERT_TRUE(end && end->ok);
  EXPECT_EQ(end->values.at(0), value{false});
  EXPECT_NE(end->values.at(1).as_string().find("cannot reach"),
            std::string::npos)
    << end->values.at(1).as_string();
}

TEST_F(nodes, a_remote_worker_is_cancelled_and_monitored) {
  node_process node{{"--root", root_.string()}};
  ASSERT_FALSE(node.address().empty()) << node.text();
  runtime rt{origin()};
  auto got = run_with(rt, node, R"lua(
    local w = worker.create{node = ..., path = "spin.lua"}
    local up = worker.receive(w)
    worker.monitor(w)
    worker.cancel(w)
    local down, from = worker.peek(10)
    local ok, err = worker.join(w, 10)
    return up, down.event, from == w, down.ok, ok, err.kind
  )lua");
  ASSERT_EQ(got.size(), 6u) << (got.empty() ? "" : to_string(got[0]));
  EXPECT_EQ(got[0], value{"up"});
  EXPECT_EQ(got[1], value{"down"});
  EXPECT_EQ(got[2], value{true});
  EXPECT_EQ(got[3], value{false});
  EXPECT_EQ(got[4], value{false});
  EXPECT_EQ(got[5], value{"cancelled"});
}

// A node killed or stopped while its worker streams numbered messages: the
// worker ends "lost" (its monitor fires, a join says so), and what reached
// this process is received in order, each once.
void lose_node_mid_traffic(const std::filesystem::path& root, int sig) {
  node_process node{{"--root", root.string()}};
  ASSERT_FALSE(node.address().empty()) << node.text();
  runtime rt{origin()};
  auto w = rt.spawn_source(R"lua(
    local w = worker.create{node = ..., path = "stream.lua"}
    worker.monitor(w)
    local last = 0
    while last < 200 do last = worker.receive(w) end
    worker.message("streaming")
    local in_order = true
    local raised
    while true do
      -- A receive raises the child's error once its queue is drained.
      local ok, v = pcall(worker.receive, 10, w)
      if not ok then raised = v break end
      if v == nil then break end
      if in_order and v ~= last + 1 then in_order = last .. " then " .. v end
      last = v
    end
    local down = worker.peek(10)
    local ok, err = worker.join(w, 10)
    return in_order, last >= 200, down.event, ok, err.kind, raised.message
  )lua",
                           "origin", {node.address()});
  auto streaming = rt.receive(w, std::chrono::seconds{20});
  ASSERT_TRUE(streaming.has_value());
  node.signal(sig);
  auto end = rt.join(w, std::chrono::seconds{30});
  ASSERT_TRUE(end.has_value()) << "no end in time";
  ASSERT_TRUE(end->ok) << end->error->what();
  auto& got = end->values;
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got[0], value{true})
    << to_string(got[0]) << " " << to_string(got[5]);
  EXPECT_EQ(got[1], value{true});
  EXPECT_EQ(got[2], value{"down"});
  EXPECT_EQ(got[3], value{false});
  EXPECT_EQ(got[4], value{"lost"});
  EXPECT_NE(got[5].as_string().find(node.address()), std::string::npos)
    << got[5].as_string();
}

TEST_F(nodes, a_killed_node_ends_its_workers_as_lost) {
  lose_node_mid_traffic(root_, SIGKILL);
}

TEST_F(nodes, a_hung_node_ends_its_workers_as_lost) {
  lose_node_mid_traffic(root_, SIGSTOP);
}

TEST_F(nodes, a_node_that_comes_back_is_reached_again) {
  unsigned port = 0;
  runtime rt{origin()};
  const char* use = R"lua(
    local w = worker.create{node = ..., path = "wait.lua", args = {1}}
    worker.send(w, 2)
    local ok, v = worker.join(w, 10)
    return v
  )lua";
  {
    node_process first{{"--root", root_.string()}};
    ASSERT_FALSE(first.address().empty()) << first.text();
    port = first.port();
    EXPECT_EQ(run_with(rt, first, use), std::vector<value>{value{3}});
    first.signal(SIGKILL);
  }
  node_process again{{"--root", root_.string()}, port};
  ASSERT_FALSE(again.address().empty()) << again.text();
  EXPECT_EQ(run_with(rt, again, use), std::vector<value>{value{3}});
}

TEST_F(nodes, a_secret_is_checked_before_anything_else) {
  auto secret = std::filesystem::path{::testing::TempDir()} / "node_secret";
  std::ofstream{secret} << "s3cret\n";
  node_process node{
    {"--root", root_.string(), "--secret-file", secret.string()}};
  ASSERT_FALSE(node.address().empty()) << node.text();
  const char* use = R"lua(
    local ok, w = pcall(worker.create, {node = ..., path = "wait.lua",
                                        args = {1}})
    if not ok then return w end
    worker.send(w, 2)
    local _, v = worker.join(w, 10)
    return v
  )lua";
  {
    runtime none{origin()};
    auto got = run_with(none, node, use);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_NE(got[0].as_string().find("wrong secret"), std::string::npos)
      << got[0].as_string();
  }
  {
    auto config = origin();
    config.node_secret = "guess";
    runtime wrong{config};
    auto got = run_with(wrong, node, use);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_NE(got[0].as_string().find("wrong secret"), std::string::npos)
      << got[0].as_string();
  }
  auto config = origin();
  config.node_secret = "s3cret";
  runtime right{config};
  EXPECT_EQ(run_with(right, node, use), std::vector<value>{value{3}});
}

TEST_F(nodes, listening_beyond_loopback_needs_a_secret) {
  std::string cmd = std::string{TROUPE_CLI} + " node --listen 0.0.0.0:0 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  EXPECT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 1);
  EXPECT_NE(out.find("--secret-file"), std::string::npos) << out;
  EXPECT_NE(out.find("0.0.0.0"), std::string::npos) << out;
}

TEST_F(nodes, a_remote_worker_gets_no_more_than_the_node_allows) {
  node_process node{{"--root", root_.string(), "--allow", "worker,load"}};
  ASSERT_FALSE(node.address().empty()) << node.text();
  // The creator may read files; the node grants no fs:read.
  auto config = origin();
  config.permissions = {"worker", "load", "fs:read"};
  runtime rt{config};
  auto got = run_with(rt, node, R"lua(
    local w = worker.create{node = ..., path = "opens.lua"}
    local ok, err = worker.join(w, 10)
    return ok, err.kind
  )lua");
  ASSERT_EQ(got.size(), 2u) << (got.empty() ? "" : to_string(got[0]));
  EXPECT_EQ(got[0], value{false});
  EXPECT_EQ(got[1], value{"permission"});
}

TEST_F(nodes, code_loads_only_beneath_the_root_whatever_the_creator_holds) {
  // The node's default keeps fs:read of its root; the creator holds no
  // fs:read at all, which must not make `load` unconfined there.
  node_process node{{"--root", root_.string()}};
  ASSERT_FALSE(node.address().empty()) << node.text();
  runtime rt{origin()};
  auto got = run_with(rt, node, R"lua(
    local w = worker.create{node = ..., path = "loads.lua"}
    local ok, loaded, why = worker.join(w, 10)
    return ok, loaded, why
  )lua");
  ASSERT_EQ(got.size(), 3u) << (got.empty() ? "" : to_string(got[0]));
  EXPECT_EQ(got[0], value{true});
  EXPECT_EQ(got[1], value{false});
  EXPECT_NE(got[2].as_string().find("permission denied"), std::string::npos)
    << got[2].as_string();
}

TEST_F(nodes, a_node_caps_the_workers_of_a_peer) {
  node_process node{{"--root", root_.string(), "--max-workers", "2"}};
  ASSERT_FALSE(node.address().empty()) << node.text();
  runtime rt{origin()};
  auto got = run_with(rt, node, R"lua(
    local node = ...
    local a = worker.create{node = node, path = "wait.lua", args = {1}}
    local b = worker.create{node = node, path = "wait.lua", args = {2}}
    local ok, err = pcall(worker.create, {node = node, path = "wait.lua",
                                          args = {3}})
    worker.send(a, 10)
    worker.send(b, 10)
    local _, x = worker.join(a, 10)
    local _, y = worker.join(b, 10)
    -- Room again once they have ended.
    local c = worker.create{node = node, path = "wait.lua", args = {3}}
    worker.send(c, 10)
    local _, z = worker.join(c, 10)
    return ok, err, x + y + z
  )lua");
  ASSERT_EQ(got.size(), 3u) << (got.empty() ? "" : to_string(got[0]));
  EXPECT_EQ(got[0], value{false});
  EXPECT_NE(got[1].as_string().find("limit reached (2 workers per peer)"),
            std::string::npos)
    << got[1].as_string();
  EXPECT_EQ(got[2], value{36});
}

TEST_F(nodes, a_thousand_remote_workers_run_on_one_node) {
  node_process node{{"--root", root_.string()}};
  ASSERT_FALSE(node.address().empty()) << node.text();
  runtime rt{origin()};
  auto got = run_with(rt, node, R"lua(
    local node = ...
    local ws = {}
    for i = 1, 1000 do
      ws[i] = worker.create{node = node, path = "wait.lua", args = {i}}
    end
    for i = 1, 1000 do worker.send(ws[i], 1) end
    local sum = 0
    for i = 1, 1000 do
      local ok, v = worker.join(ws[i], 30)
      sum = sum + v
    end
    return sum
  )lua");
  EXPECT_EQ(got, std::vector<value>{value{500500 + 1000}});
}

TEST_F(nodes, a_node_ends_its_workers_and_exits_on_sigterm) {
  node_process node{{"--root", root_.string()}};
  ASSERT_FALSE(node.address().empty()) << node.text();
  runtime rt{origin()};
  auto w = rt.spawn_source(R"lua(
    local w = worker.create{node = ..., path = "spin.lua"}
    worker.message(worker.receive(w))
    local ok, err = worker.join(w, 20)
    return ok, err.kind, err.message
  )lua",
                           "origin", {node.address()});
  auto up = rt.receive(w, std::chrono::seconds{20});
  ASSERT_TRUE(up.has_value());
  node.signal(SIGTERM);
  EXPECT_EQ(node.wait_exit(), 0) << node.text();
  auto end = rt.join(w, std::chrono::seconds{30});
  ASSERT_TRUE(end && end->ok);
  EXPECT_EQ(end->values.at(0), value{false});
  // The node told it before it went.
  EXPECT_EQ(end->values.at(1), value{"cancelled"});
  EXPECT_NE(end->values.at(2).as_string().find("the node shut down"),
            std::string::npos)
    << end->values.at(2).as_string();
}

} // namespace
} // namespace troupe::test
