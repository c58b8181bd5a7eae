// Addresses on the real runtime (DESIGN.md "Addresses"), from scripts: handles
// that travel in messages and stay one userdata per state, siblings that talk
// without their parent, call and reply (delegated, once only, timeouts, ends),
// names, monitors, join of any handle, the inbox bound for every sender, and
// the bad input of each. Each script asserts what it sees and returns; a
// failed assert is its error, which the test prints.
#include <unistd.h>

#include <gtest/gtest.h>

#include "runtime_support.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;
using troupe::value;

namespace {

constexpr auto patience = 20s;

std::filesystem::path script(const std::string& name,
                             const std::string& source) {
  return troupe::test::write_process_script("troupe_addresses_test", name,
                                            source);
}

troupe::runtime_config config() {
  return troupe::test::scripts_in(script("root.lua", "").parent_path());
}

// A worker that answers every call with its value doubled, and every plain
// message by nothing.
const auto doubler = script("doubler.lua", R"lua(
  while true do
    local v, from, call = worker.peek()
    if v == nil then return end
    if call then worker.reply(call, v * 2) end
  end)lua");

} // namespace

TEST(addresses, a_handle_travels_and_stays_one_userdata_per_state) {
  script("reporter.lua", R"lua(
    local h = worker.peek()
    worker.message(h)
    worker.message(worker.self())
    worker.message(worker.parent()))lua");
  troupe::runtime rt{config()};
  auto got = troupe::test::run_script(rt, R"lua(
    local r = worker.create("reporter.lua")
    local other = worker.create("doubler.lua")
    worker.send(r, {deep = {other}})
    local back = worker.receive(r)
    assert(back.deep[1] == other, "a handle sent comes back as the same one")
    local keys = {[other] = "other"}
    assert(keys[back.deep[1]] == "other", "handles are table keys")
    assert(worker.receive(r) == r, "self() is the parent's handle of it")
    assert(worker.receive(r) == worker.self(), "parent() is self() there")
    assert(worker.parent() == nil, "the host spawned the root")
    assert(tostring(r):match("^worker: %d+$"), tostring(r))
    return true)lua");
  EXPECT_EQ(got, std::vector<value>{true});
}

TEST(addresses, siblings_pass_work_along_without_their_parent) {
  script("stage.lua", R"lua(
    local next_stage = ...
    while true do
      local v = worker.peek()
      if v == nil then return end
      if next_stage then worker.send(next_stage, v + 1)
      else worker.message(v) end
    end)lua");
  troupe::runtime rt{config()};
  auto got = troupe::test::run_script(rt, R"lua(
    local last = worker.create("stage.lua")
    local middle = worker.create("stage.lua", last)
    local first = worker.create("stage.lua", middle)
    for i = 1, 100 do worker.send(first, i) end
    local sum = 0
    for i = 1, 100 do
      local v = worker.receive(last)
      assert(v == i + 2, "in order: " .. tostring(v))
      sum = sum + v
    end
    return sum)lua");
  EXPECT_EQ(got, std::vector<value>{5250});
}

TEST(addresses, call_returns_the_replied_values) {
  script("multi.lua", R"lua(
    while true do
      local v, _, call = worker.peek()
      if v == nil then return end
      if v == "x" then worker.reply(call, "x", nil, 3) else worker.reply(call) end
    end)lua");
  troupe::runtime rt{config()};
  auto got = troupe::test::run_script(rt, R"lua(
    local d = worker.create("doubler.lua")
    local total = 0
    for i = 1, 50 do total = total + worker.call(d, i) end
    local multi = worker.create{path = "multi.lua"}
    local a, b, c = worker.call(multi, "x")
    assert(a == "x" and b == nil and c == 3, tostring(a) .. tostring(c))
    assert(select("#", worker.call(multi, "none")) == 0)
    return total)lua");
  EXPECT_EQ(got, std::vector<value>{2550});
}

TEST(addresses, a_dispatcher_hands_its_calls_to_helpers) {
  script("helper.lua", R"lua(
    while true do
      local job = worker.peek()
      if job == nil then return end
      worker.reply(job.call, job.n * job.n)
    end)lua");
  script("dispatcher.lua", R"lua(
    local helpers = {}
    for i = 1, 4 do helpers[i] = worker.create("helper.lua") end
    local i = 0
    while true do
      local n, from, call = worker.peek()
      if n == nil then return end
      i = i % 4 + 1
      worker.send(helpers[i], {n = n, call = call})
    end)lua");
  troupe::runtime rt{config()};
  auto got = troupe::test::run_script(rt, R"lua(
    local d = worker.create("dispatcher.lua")
    local sum = 0
    for n = 1, 40 do sum = sum + worker.call(d, n) end
    return sum)lua");
  EXPECT_EQ(got, std::vector<value>{22140});
}

TEST(addresses, a_call_is_answered_once_and_a_late_reply_goes_nowhere) {
  script("twice.lua", R"lua(
    local v, from, call = worker.peek()
    local first = worker.reply(call, "first")
    local second = worker.reply(call, "second")
    worker.send(from, {first, second})
    local v2, _, slow = worker.peek()
    worker.peek()          -- the caller says it has given up
    worker.send(from, worker.reply(slow, "too late")))lua");
  troupe::runtime rt{config()};
  auto got = troupe::test::run_script(rt, R"lua(
    local t = worker.create("twice.lua")
    assert(worker.call(t, 1) == "first")
    local replies = worker.peek()
    assert(replies[1] == true and replies[2] == false)
    local ok, err = pcall(worker.call, t, 2, 0.05)
    assert(not ok and err.kind == "timeout", tostring(err))
    assert(tostring(err) == "worker.call: timeout")
    worker.send(t, "gave up")
    assert(worker.peek() == false, "a reply after the timeout is refused")
    return true)lua");
  EXPECT_EQ(got, std::vector<value>{true});
}

TEST(addresses, a_call_fails_at_once_when_its_target_ends) {
  script("quitter.lua", "worker.peek() error('quit without replying')");
  troupe::runtime rt{config()};
  auto got = troupe::test::run_script(rt, R"lua(
    local q = worker.create("quitter.lua")
    local ok, err = pcall(worker.call, q, "hello", 600)
    assert(not ok and err.kind == "ended", tostring(err))
    local again_ok, again = pcall(worker.call, q, "again", 600)
    assert(not again_ok and again.kind == "ended", tostring(again))
    local unknown_ok, unknown = pcall(worker.call, "nobody", 1)
    assert(not unknown_ok and unknown.kind == "unknown", tostring(unknown))
    assert(tostring(unknown):find("nobody"), tostring(unknown))
    return true)lua");
  EXPECT_EQ(got, std::vector<value>{true});
}

TEST(addresses, bad_calls_and_replies_get_clear_errors) {
  troupe::runtime rt{config()};
  auto got = troupe::test::run_script(rt, R"lua(
    local d = worker.create("doubler.lua")
    -- Lua yields across __index, not across a metamethod a C function calls.
    local t = setmetatable({}, {__tostring = function() return worker.call(d, 1) end})
    local ok, err = pcall(tostring, t)
    assert(not ok and err:find("worker.call cannot wait here"), err)
    local okc, errc = pcall(table.sort, {3, 1, 2}, function(a, b)
      return worker.call(d, a) < worker.call(d, b) end)
    assert(not okc and errc:find("worker.call cannot wait here"), errc)
    local lazy = setmetatable({}, {__index = function(_, k) return worker.call(d, k) end})
    assert(lazy[4] == 8)
    local ok2, err2 = pcall(worker.call, d, function() end)
    assert(not ok2 and err2:find("worker.call: argument #2 is a function"), err2)
    local ok3, err3 = pcall(worker.call, d, nil)
    assert(not ok3 and err3:find("non%-nil value expected"), err3)
    local ok4, err4 = pcall(worker.reply, "token", 1)
    assert(not ok4 and err4:find("worker.call expected"), err4)
    local ok5, err5 = pcall(worker.call, worker.self(), 1)
    assert(not ok5 and err5:find("worker.call: a worker cannot call itself"), err5)
    assert(worker.call(d, 21) == 42, "the worker still answers")
    return true)lua");
  EXPECT_EQ(got, std::vector<value>{true});
}

TEST(addresses, a_reply_that_cannot_be_sent_raises_and_leaves_the_call_open) {
  script("picky.lua", R"lua(
    local v, from, call = worker.peek()
    local ok, err = pcall(worker.reply, call, {f = print})
    worker.reply(call, ok, err))lua");
  troupe::runtime rt{config()};
  auto got = troupe::test::run_script(rt, R"lua(
    local ok, err = worker.call(worker.create("picky.lua"), 1)
    assert(ok == false)
    assert(err:find("worker.reply: argument #2 %(field 'f'%) is a function"), err)
    return true)lua");
  EXPECT_EQ(got, std::vector<value>{true});
}

TEST(addresses, names_are_registered_looked_up_and_dropped) {
  script("named.lua", R"lua(
    worker.register(...)
    worker.message("registered")
    return worker.peek())lua");
  script("late.lua",
         "worker.sleep(0.05) worker.register('later') worker.peek()");
  troupe::runtime rt{config()};
  auto got = troupe::test::run_script(rt, R"lua(
    assert(worker.lookup("svc") == nil)
    local w = worker.create("named.lua", "svc")
    assert(worker.receive(w) == "registered")
    assert(worker.lookup("svc") == w)
    assert(worker.send("svc", "bye") == true)
    assert(worker.join(w) == true)
    assert(worker.lookup("svc") == nil, "a name goes with its worker")
    assert(worker.send("svc", 1) == false)
    local late = worker.create("late.lua")
    local found = worker.lookup("later", {timeout = 10})
    assert(found == late, "lookup waits for the name")
    assert(worker.lookup("never", 0.05) == nil)
    return true)lua");
  EXPECT_EQ(got, std::vector<value>{true});
}

TEST(addresses, bad_names_get_clear_errors) {
  troupe::runtime rt{config()};
  auto got = troupe::test::run_script(rt, R"lua(
    local function fails(pattern, ...)
      local ok, err = pcall(...)
      assert(not ok and err:find(pattern), tostring(err))
    end
    fails("bad argument #1 to '[%w.]*register' %(string expected, got table%)",
          worker.register, {})
    fails("the name is empty", worker.register, "")
    fails("longer than 256 bytes", worker.register, string.rep("n", 257))
    assert(worker.register(string.rep("n", 256)) == true)
    assert(worker.register("me") and worker.register("also me"))
    fails("worker.register: the name 'me' is taken", worker.register, "me")
    fails("worker.lookup: node 127.0.0.1:1: this runtime has no network",
          worker.lookup, "me", {node = "127.0.0.1:1"})
    fails("option 'timeout' must be a non%-negative number", worker.lookup,
          "me", {timeout = "soon"})
    fails("timeout must be a non%-negative number", worker.lookup, "me", -1)
    assert(worker.lookup("also me") == worker.self())
    return true)lua");
  EXPECT_EQ(got, std::vector<value>{true});
}

TEST(addresses, a_name_taken_in_a_race_has_exactly_one_winner) {
  script("racer.lua", R"lua(
    worker.peek()
    local ok = pcall(worker.register, "prize")
    worker.message(ok)
    worker.peek())lua");
  troupe::runtime rt{config()};
  auto got = troupe::test::run_script(rt, R"lua(
    for round = 1, 20 do
      local a, b = worker.create("racer.lua"), worker.create("racer.lua")
      worker.send(a, "go") worker.send(b, "go")
      local wa, wb = worker.receive(a), worker.receive(b)
      assert(wa ~= wb, "exactly one wins")
      assert(worker.lookup("prize") == (wa and a or b))
      worker.cancel(a) worker.cancel(b)
      worker.join(a) worker.join(b)
      assert(worker.lookup("prize") == nil)
    end
    return true)lua");
  EXPECT_EQ(got, std::vector<value>{true});
}

TEST(addresses, a_monitor_gets_the_end_after_every_message) {
  script("sender.lua", R"lua(
    local to = worker.peek()
    for i = 1, 100 do worker.send(to, i) end
    if worker.peek() == "fail" then error("boom") end
    return "done")lua");
  troupe::runtime rt{config()};
  auto got = troupe::test::run_script(rt, R"lua(
    local function watch(how)
      local s = worker.create("sender.lua")
      worker.monitor(s)
      worker.send(s, worker.self())
      worker.send(s, how)
      for i = 1, 100 do
        local v, from = worker.peek()
        assert(v == i and from == s, "message " .. i .. " before the down")
      end
      local down, from = worker.peek()
      assert(down.event == "down" and down.worker == s and from == s)
      return down
    end
    local ok = watch("return")
    assert(ok.ok == true and ok.error == nil)
    local failed = watch("fail")
    assert(failed.ok == false and failed.error.message:find("boom"))
    return true)lua");
  EXPECT_EQ(got, std::vector<value>{true});
}

TEST(addresses, monitors_of_dead_twice_and_by_the_thousand) {
  script("quick.lua", "return 1");
  script("waits.lua", "worker.peek()");
  troupe::runtime rt{config()};
  auto got = troupe::test::run_script(rt, R"lua(
    local q = worker.create("quick.lua")
    worker.join(q)
    worker.monitor(q)
    local down = worker.peek(5)
    assert(down and down.event == "down" and down.ok == false)
    assert(down.error.message:find("had ended before it was monitored"))
    local w = worker.create("waits.lua")
    for i = 1, 10000 do worker.monitor(w) end
    worker.send(w, "go")
    for i = 1, 10000 do
      local d = worker.peek(10)
      assert(d and d.event == "down" and d.ok, "down " .. i)
    end
    assert(worker.peek(0.05) == nil, "one down per monitor, no more")
    return true)lua");
  EXPECT_EQ(got, std::vector<value>{true});
}

TEST(addresses, join_works_for_any_handle) {
  // A join with timeout 0 sets the watch up before the joiner says it is
  // ready, so the target may end at any time after.
  script("joiner.lua", R"lua(
    local target = worker.peek()
    assert(worker.join(target, 0) == nil)
    worker.message("ready")
    worker.message({worker.join(target)}))lua");
  script("returner.lua", "worker.peek() return 'r', 2");
  script("quick.lua", "return 1");
  script("joiner_late.lua", R"lua(
    local target = worker.peek()
    local ok, err = worker.join(target)
    worker.message({ok, {kind = err.kind, message = err.message}}))lua");
  troupe::runtime rt{config()};
  auto got = troupe::test::run_script(rt, R"lua(
    local r = worker.create("returner.lua")
    local j = worker.create("joiner.lua")
    worker.send(j, r)
    assert(worker.receive(j) == "ready")
    assert(worker.status(r) == "running")
    worker.send(r, "go")
    local seen = worker.receive(j)
    assert(seen[1] == true and seen[2] == "r" and seen[3] == 2)
    -- A sibling that had ended before anyone here watched it: its end is
    -- gone with it.
    local q = worker.create("quick.lua")
    local j2 = worker.create("joiner_late.lua")
    worker.join(q)
    worker.send(j2, q)
    local late = worker.receive(j2)
    assert(late[1] == false and late[2].kind == "ended", tostring(late[2]))
    assert(late[2].message:find("had ended before it was joined"))
    return true)lua");
  EXPECT_EQ(got, std::vector<value>{true});
}

TEST(addresses, a_send_to_a_dead_handle_or_unknown_name_is_false) {
  script("quick.lua", "return 1");
  troupe::runtime rt{config()};
  auto got = troupe::test::run_script(rt, R"lua(
    local q = worker.create("quick.lua")
    local relay = worker.create("doubler.lua")
    worker.join(q)
    assert(worker.call(relay, 1) == 2)
    assert(worker.send(q, 1) == false)
    assert(worker.send("no such name", 1) == false)
    local ok, err = pcall(worker.send, 42, 1)
    assert(not ok and err:find("worker expected"), err)
    return true)lua");
  EXPECT_EQ(got, std::vector<value>{true});
}

TEST(addresses, the_inbox_bound_applies_to_every_sender) {
  script("flooder.lua", R"lua(
    local to = worker.peek()
    local sent = 0
    while true do
      local ok, err = pcall(worker.send, to, sent)
      if not ok then worker.message({sent, err}) return end
      sent = sent + 1
    end)lua");
  script("idle.lua", "worker.sleep(600)");
  troupe::runtime rt{config()};
  auto got = troupe::test::run_script(rt, R"lua(
    local target = worker.create{path = "idle.lua", inbox = 3}
    local f = worker.create("flooder.lua")
    worker.send(f, target)
    local report = worker.receive(f)
    assert(report[1] == 3, "sent " .. tostring(report[1]))
    assert(report[2]:find("inbox full"), report[2])
    return true)lua");
  EXPECT_EQ(got, std::vector<value>{true});
}

TEST(addresses, the_host_sends_receives_and_names_handles) {
  script("child_reporter.lua", R"lua(
    local grandchild = worker.create("doubler.lua")
    worker.message(worker.self())
    worker.message(grandchild)
    worker.peek())lua");
  troupe::runtime rt{config()};
  auto w = rt.spawn("child_reporter.lua");
  auto self = rt.receive(w, patience);
  ASSERT_TRUE(self && self->is_handle());
  EXPECT_EQ(self->as_worker(), w);
  auto grandchild = rt.receive(w, patience);
  ASSERT_TRUE(grandchild && grandchild->is_handle());
  troupe::worker g = grandchild->as_worker();
  EXPECT_NE(g, w);
  EXPECT_EQ(g.status(), troupe::worker_status::running);
  EXPECT_EQ(g.call(21, patience).get(), value{42});
  EXPECT_THROW(rt.receive(g, 10ms), troupe::error);
  EXPECT_THROW(g.cancel(), troupe::error);
  rt.register_name("grandchild", g);
  EXPECT_THROW(rt.register_name("grandchild", w), troupe::error);
  EXPECT_THROW(rt.register_name("", w), troupe::error);
  auto found = rt.lookup("grandchild");
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, g);
  EXPECT_FALSE(rt.lookup("nobody"));
  // A script reaches what the host named; a handle the host sends arrives.
  auto caller = rt.spawn_source(
    "local h = worker.peek() return worker.call('grandchild', 5), h", "caller");
  ASSERT_TRUE(caller.send(value::map({{"w", w}})));
  auto end = rt.join(caller, patience);
  ASSERT_TRUE(end && end->ok) << (end ? end->error->what() : "no end");
  EXPECT_EQ(end->values[0], value{10});
  EXPECT_EQ(end->values[1], value::map({{"w", w}}));
}

TEST(addresses, a_host_call_times_out_or_learns_the_end) {
  script("silent.lua", "worker.peek() worker.peek()");
  script("quitter.lua", "worker.peek() error('quit without replying')");
  troupe::runtime rt{config()};
  auto silent = rt.spawn("silent.lua");
  auto late = silent.call(1, 50ms);
  EXPECT_THROW(late.get(), troupe::timeout_error);
  auto quitter = rt.spawn("quitter.lua");
  auto ended = quitter.call(1, 600s);
  ASSERT_EQ(ended.wait_for(patience), std::future_status::ready)
    << "the call waited for its timeout";
  try {
    ended.get();
    ADD_FAILURE() << "no error";
  } catch (const troupe::error& e) {
    EXPECT_NE(std::string{e.what()}.find("ended before it replied"),
              std::string::npos)
      << e.what();
  }
  rt.join(quitter);
  EXPECT_THROW(quitter.call(1, 1s).get(), troupe::error);
  EXPECT_FALSE(quitter.send(1));
}

TEST(addresses, handles_of_another_or_a_stopped_runtime_are_refused) {
  std::optional<troupe::worker> gone;
  troupe::runtime other{config()};
  auto foreign = other.spawn_source("worker.peek()", "foreign");
  {
    troupe::runtime rt{config()};
    auto w = rt.spawn_source("worker.peek()", "local");
    EXPECT_THROW(w.send(value{foreign}), troupe::codec_error);
    EXPECT_THROW(rt.register_name("x", foreign), troupe::error);
    gone = w;
  }
  EXPECT_THROW(gone->send(1), troupe::stopped_error);
  EXPECT_THROW(gone->call(1, 1s), troupe::stopped_error);
}

TEST(addresses, handles_cross_a_pools_ctx_and_results) {
  troupe::runtime rt{config()};
  auto w = rt.spawn_source("worker.peek()", "target");
  troupe::pool pool{rt, 1};
  troupe::context ctx;
  ctx.set("target", w);
  auto bc = troupe::
    compile("return {t = ctx.target, s = tostring(ctx.target)}, ctx.target",
            "job");
  auto r = pool.submit(bc, ctx);
  ASSERT_TRUE(r.is_array()) << r;
  EXPECT_EQ(r.as_array()[0]["t"], value{w});
  EXPECT_EQ(r.as_array()[0]["s"], value{"worker: " + std::to_string(w.id())});
  EXPECT_EQ(r.as_array()[1].as_worker(), w);
  troupe::runtime other{config()};
  troupe::context foreign;
  foreign.set("target", other.spawn_source("worker.peek()", "foreign"));
  EXPECT_THROW(pool.submit(bc, foreign), troupe::codec_error);
}

TEST(addresses, a_supervised_jobs_result_may_be_a_handle) {
  troupe::runtime rt{config()};
  troupe::supervisor sup{rt};
  sup.set("k", 1);
  auto f = sup.submit("k", troupe::job{
                             .code = troupe::compile("return worker.self()",
                                                     "self")});
  ASSERT_EQ(f.wait_for(patience), std::future_status::ready);
  auto v = f.get();
  ASSERT_TRUE(v.is_handle()) << v;
  EXPECT_EQ(v.as_worker().status(), troupe::worker_status::dead);
}
