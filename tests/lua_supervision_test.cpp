// Supervision trees from Lua (DESIGN.md "Supervision from Lua"): each
// strategy, giving up at exactly the intensity, transient and temporary
// children, a client calling a supervised service by name across restarts,
// nested supervisors giving up upward, run-time which/stop/start, children's
// messages passed on to the supervisor's parent, a supervisor cancelled while
// it waits to restart, and the bad input of each. Every script asserts what
// it sees; a failed assert is its error, which the test prints.
#include <unistd.h>

#include <gtest/gtest.h>

#include "runtime_support.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;
using troupe::value;

namespace {

std::filesystem::path script(const std::string& name,
                             const std::string& source) {
  return troupe::test::write_process_script("troupe_lua_supervision_test", name,
                                            source);
}

troupe::runtime_config config() {
  return troupe::test::scripts_in(script("root.lua", "").parent_path());
}

// Answers "ping" calls with "pong" and its own handle; "crash" makes it fail.
const auto service = script("service.lua", R"lua(
  while true do
    local v, from, call = worker.peek()
    if v == nil then return end
    if v == "crash" then error("crashed on purpose") end
    if call then worker.reply(call, "pong", worker.self()) end
  end)lua");

// Says it is up (to its supervisor, which passes it on), then fails.
const auto failing = script("failing.lua", R"lua(
  worker.message("up")
  error("fails every time"))lua");

// Says goodbye, and returns when it is told to.
const auto quitter = script("quitter.lua", R"lua(
  worker.message("bye")
  worker.peek()
  return "done")lua");

std::vector<value> run(const std::string& source) {
  troupe::runtime rt{config()};
  return troupe::test::run_script(rt, source);
}

// Lua helpers every script below starts with.
const std::string helpers = R"lua(
  local function which(sup)
    local list = worker.call(sup, "which")
    local by = {}
    for _, c in ipairs(list) do by[c.name] = c end
    return by, list
  end
  -- Crashes the named child and waits for its replacement.
  local function crash(name)
    local old = worker.lookup(name)
    worker.monitor(old)
    worker.send(name, "crash")
    local down = worker.peek(10)
    assert(down and down.event == "down" and down.worker == old, "down")
    local new = worker.lookup(name, 10)
    assert(new and new ~= old, "a new instance of " .. name)
    return new
  end
)lua";

} // namespace

TEST(lua_supervision, one_for_one_restarts_the_failed_child_alone) {
  run(helpers + R"lua(
    local sup = worker.supervise{strategy = "one_for_one", children = {
      {name = "a", path = "service.lua"}, {name = "b", path = "service.lua"}}}
    local before = which(sup)
    assert(before.a.restarts == 0 and before.b.restarts == 0)
    local a2 = crash("a")
    local after = which(sup)
    assert(after.a.worker == a2 and after.a.restarts == 1)
    assert(after.b.worker == before.b.worker and after.b.restarts == 0)
    local answer, who = worker.call("a", "ping", 10)
    assert(answer == "pong" and who == a2))lua");
}

TEST(lua_supervision, one_for_all_restarts_every_child) {
  run(helpers + R"lua(
    local sup = worker.supervise{strategy = "one_for_all", children = {
      {name = "a", path = "service.lua"}, {name = "b", path = "service.lua"},
      {name = "c", path = "service.lua"}}}
    local before = which(sup)
    crash("b")
    local after = which(sup)
    for _, n in ipairs{"a", "b", "c"} do
      assert(after[n].worker ~= before[n].worker, n .. " restarted")
      assert(after[n].restarts == 1, n .. " counted once")
      assert(worker.call(n, "ping", 10) == "pong")
    end)lua");
}

TEST(lua_supervision, rest_for_one_restarts_the_failed_child_and_later_ones) {
  run(helpers + R"lua(
    local sup = worker.supervise{strategy = "rest_for_one", children = {
      {name = "a", path = "service.lua"}, {name = "b", path = "service.lua"},
      {name = "c", path = "service.lua"}}}
    local before = which(sup)
    crash("b")
    local after = which(sup)
    assert(after.a.worker == before.a.worker and after.a.restarts == 0)
    assert(after.b.worker ~= before.b.worker and after.b.restarts == 1)
    assert(after.c.worker ~= before.c.worker and after.c.restarts == 1)
    local _, list = which(sup)
    assert(list[1].name == "a" and list[2].name == "b" and list[3].name == "c",
      "the start order stays"))lua");
}

TEST(lua_supervision, a_child_that_always_fails_gives_up_at_the_intensity) {
  run(R"lua(
    local sup = worker.supervise{intensity = 3, period = 60,
      children = {{name = "f", path = "failing.lua"}}}
    local ok, err = worker.join(sup, 10)
    assert(ok == false, "the supervisor failed")
    assert(err.kind == "gave_up", tostring(err.kind))
    assert(err.message:find("child 'f'", 1, true), err.message)
    assert(err.message:find("fails every time", 1, true), err.message)
    -- Its messages (one "up" per run) come first, then its error, once.
    local ups, errors = 0, 0
    while true do
      local got, m = pcall(worker.receive, sup)
      if not got then
        errors = errors + 1
        assert(m.kind == "gave_up")
      elseif m == nil then
        break
      else
        assert(m == "up")
        ups = ups + 1
      end
    end
    assert(ups == 4, "one start and three restarts, ran " .. ups)
    assert(errors == 1)
    assert(worker.lookup("f") == nil, "the name went with it"))lua");
}

TEST(lua_supervision, intensity_zero_gives_up_at_the_first_failure) {
  run(R"lua(
    local sup = worker.supervise{intensity = 0,
      children = {{name = "f", path = "failing.lua"}}}
    local ok, err = worker.join(sup, 10)
    assert(not ok and err.kind == "gave_up")
    assert(worker.receive(sup) == "up")
    local got = pcall(worker.receive, sup)
    assert(not got, "then its error"))lua");
}

TEST(lua_supervision, transient_and_temporary_children_follow_their_mode) {
  run(helpers + R"lua(
    local sup = worker.supervise{children = {
      {name = "t", path = "quitter.lua", restart = "transient"},
      {name = "tf", path = "service.lua", restart = "transient"},
      {name = "tmp", path = "service.lua", restart = "temporary"}}}
    local by = which(sup)
    -- Monitored after the supervisor, so its down reaches the supervisor
    -- before this script's next call does.
    worker.monitor(by.t.worker)
    worker.send(by.t.worker, "go")
    local down = worker.peek(10)
    assert(down and down.event == "down" and down.ok, "t returned")
    by = which(sup)
    assert(by.t.worker == nil and by.t.restarts == 0,
      "a transient child that returned is not restarted")
    assert(worker.lookup("t") == nil, "and its name is free")
    crash("tf")
    by = which(sup)
    assert(by.tf.restarts == 1, "a transient child that failed is")
    local tmp = worker.lookup("tmp")
    worker.monitor(tmp)
    worker.send("tmp", "crash")
    down = worker.peek(10)
    assert(down and down.event == "down" and down.worker == tmp)
    by = which(sup)
    assert(by.tmp == nil, "a temporary child is never restarted")
    assert(worker.lookup("tmp") == nil)
    assert(worker.receive(sup) == "bye"))lua");
}

TEST(lua_supervision, a_client_calling_by_name_across_restarts_never_hangs) {
  script("client.lua", R"lua(
    local answers, ended = 0, 0
    for i = 1, 300 do
      if i % 25 == 0 then worker.send("svc", "crash") end
      local ok, r = pcall(worker.call, "svc", "ping", 10)
      if ok then
        assert(r == "pong")
        answers = answers + 1
      else
        assert(type(r) == "table" and r.kind == "ended",
          "a call either gets an answer or ends: " .. tostring(r.kind)
            .. " " .. tostring(r.message))
        ended = ended + 1
        -- The instance it called has gone: wait for the next one.
        assert(worker.lookup("svc", 10), "a new instance")
      end
    end
    return answers, ended)lua");
  run(R"lua(
    local sup = worker.supervise{intensity = 100, children = {
      {name = "svc", path = "service.lua"}}}
    local clients = {}
    for i = 1, 3 do clients[i] = worker.create("client.lua") end
    local answers = 0
    for i = 1, 3 do
      local ok, a, e = worker.join(clients[i], 60)
      assert(ok == true, "client " .. i .. ": " .. tostring(a))
      answers = answers + a
      assert(a + e == 300)
    end
    -- Each of the 36 crashes ends at most one call of each client.
    assert(answers >= 900 - 3 * 36, "most calls are answered: " .. answers)
    local list = worker.call(sup, "which")
    assert(list[1].restarts >= 1))lua");
}

TEST(lua_supervision, nested_supervisors_give_up_upward) {
  run(R"lua(
    local top = worker.supervise{intensity = 1, children = {
      {name = "inner", supervise = {intensity = 1, children = {
        {name = "leaf", path = "failing.lua"}}}}}}
    local ok, err = worker.join(top, 10)
    assert(ok == false and err.kind == "gave_up", tostring(err))
    assert(err.message:find("child 'inner'", 1, true), err.message)
    assert(err.message:find("child 'leaf'", 1, true),
      "the inner supervisor's reason is kept: " .. err.message)
    -- Two inner supervisors ran, each running its leaf twice; every "up"
    -- was passed on up the tree.
    local ups, errors = 0, 0
    while true do
      local got, m = pcall(worker.receive, top)
      if got and m == nil then break end
      if got then ups = ups + 1 else errors = errors + 1 end
    end
    assert(ups == 4 and errors == 1, ups .. " ups, " .. errors .. " errors")
    assert(worker.lookup("inner") == nil and worker.lookup("leaf") == nil))lua");
}

TEST(lua_supervision, which_stop_and_start_change_it_at_run_time) {
  run(R"lua(
    local sup = worker.supervise{children = {{name = "a", path = "service.lua"}}}
    local h, err = worker.call(sup, {start = {name = "b", path = "service.lua"}})
    assert(h and worker.lookup("b") == h, tostring(err))
    assert(worker.call("b", "ping", 10) == "pong")
    local list = worker.call(sup, "which")
    assert(#list == 2 and list[2].name == "b" and list[2].worker == h)
    local again, why = worker.call(sup, {start = {name = "b", path = "service.lua"}})
    assert(again == nil and why:find("exists", 1, true), why)
    local bad, why2 = worker.call(sup, {start = {name = "c", path = "service.lua",
      restrat = "permanent"}})
    assert(bad == nil and why2:find("unknown option 'restrat'", 1, true), why2)
    local missing, why3 = worker.call(sup, {start = {name = "m", path = "nope.lua"}})
    assert(missing == nil and why3:find("nope.lua", 1, true), why3)
    assert(worker.lookup("m") == nil, "a child that could not start leaves no name")
    assert(worker.call(sup, {stop = "a"}) == true)
    assert(worker.lookup("a") == nil)
    list = worker.call(sup, "which")
    assert(#list == 1 and list[1].name == "b")
    local no, why4 = worker.call(sup, {stop = "zzz"})
    assert(no == false and why4:find("no child named 'zzz'", 1, true))
    local odd, why5 = worker.call(sup, {frobnicate = 1})
    assert(odd == nil and why5:find("unknown request", 1, true))
    assert(worker.call(sup, "shutdown") == true)
    local ok = worker.join(sup, 10)
    assert(ok == true, "a shut down supervisor ends well")
    assert(worker.lookup("b") == nil))lua");
}

TEST(lua_supervision, a_supervisor_cancelled_while_it_waits_to_restart) {
  run(R"lua(
    local sup = worker.supervise{backoff_min = 30, backoff_max = 60,
      children = {{name = "f", path = "failing.lua"}}}
    assert(worker.receive(sup) == "up")
    -- The child has failed (or will): its restart waits 30 s.
    worker.cancel(sup)
    local ok, err = worker.join(sup, 10)
    assert(ok == false and err.kind == "cancelled", tostring(err and err.kind))
    assert(worker.lookup("f") == nil, "its names went with it")
    assert(worker.receive(sup) == nil, "nothing restarted: no more ups"))lua");
}

TEST(lua_supervision, bad_specs_raise_in_the_caller) {
  run(R"lua(
    local function raises(spec, text)
      local ok, err = pcall(worker.supervise, spec)
      assert(not ok, "raised for " .. text)
      assert(tostring(err):find(text, 1, true), tostring(err))
    end
    raises(nil, "the spec must be a table")
    raises({children = {}, strategy = "one_for_some"}, "option 'strategy'")
    raises({children = {{name = "a", path = "service.lua", restrat = "x"}}},
      "worker.supervise: children[1] (child 'a'): unknown option 'restrat'")
    raises({children = {{path = "service.lua"}}},
      "children[1]: option 'name' must be a non-empty string")
    raises({children = {{name = "a"}}}, "give either 'path' or 'supervise'")
    raises({children = {{name = "a", path = "service.lua", restart = "often"}}},
      "option 'restart'")
    raises({children = {{name = "a", path = "service.lua"},
      {name = "a", path = "service.lua"}}}, "the name 'a' is used twice")
    raises({intensity = -1, children = {}}, "option 'intensity'")
    raises({period = 0, children = {}}, "option 'period'")
    raises({children = {}, colour = "red"}, "unknown option 'colour'")
    raises({children = {{name = "a", path = "service.lua", args = {print}}}},
      "is a function")
    raises({children = {{name = "a", path = "missing.lua"}}},
      "worker.supervise: children[1] (child 'a'): worker.create: cannot open")
    raises({children = {{name = "a", supervise = {children = {
      {name = "b", path = "service.lua", x = 1}}}}}}, "unknown option 'x'")
    worker.register("taken")
    raises({children = {{name = "ok", path = "service.lua"},
      {name = "taken", path = "service.lua"}}},
      "children[2] (child 'taken'): the name 'taken' is taken")
    assert(worker.lookup("ok") == nil,
      "a failed start ends the children it started and frees their names"))lua");
}

TEST(lua_supervision, needs_the_worker_permission) {
  auto c = config();
  c.permissions = {"load", "fs:read"};
  troupe::runtime rt{c};
  troupe::test::run_script(rt, R"lua(
    local ok, err = pcall(worker.supervise, {children = {}})
    assert(not ok and err:find("permission denied: worker (worker.supervise)",
      1, true), err))lua");
}
