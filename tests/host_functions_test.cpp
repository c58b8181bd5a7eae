// Native functions (runtime_config::functions): scripts call them as
// `host.NAME(...)` synchronously, with deep copies both ways (handles
// included), only with the permission "host"; what they throw, return that
// cannot be sent, or are given that cannot be, is a Lua error in the caller;
// a slow one still lets the hook stop the script afterwards; pool jobs call
// them too.
#include <thread>

#include <gtest/gtest.h>

#include "runtime_support.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;
using troupe::value;

namespace {

constexpr auto patience = 20s;

troupe::runtime_config config(std::vector<std::string> permissions = {"host"}) {
  auto c = troupe::test::two_threads();
  c.permissions = std::move(permissions);
  c.functions["add"] = [](std::span<const value> args) {
    return std::vector<value>{args[0].as_int() + args[1].as_int()};
  };
  c.functions["echo"] = [](std::span<const value> args) {
    return std::vector<value>(args.begin(), args.end());
  };
  c.functions["fail"] = [](std::span<const value> args) -> std::vector<value> {
    if (args.empty()) throw 7;
    throw std::runtime_error{"failed on " + args[0].as_string()};
  };
  c.functions["nothing"] = [](std::span<const value>) {
    return std::vector<value>{};
  };
  return c;
}

// The error a script raised: runs `source` and returns its message.
std::string error_of(troupe::runtime& rt, const std::string& source,
                     const std::vector<value>& args = {}) {
  auto end = rt.join(rt.spawn_source(source, "script", args), patience);
  if (!end || end->ok) {
    ADD_FAILURE() << "the script did not fail";
    return {};
  }
  return end->error->message();
}

} // namespace

TEST(host_functions, scripts_call_them_with_deep_copies) {
  troupe::runtime rt{config()};
  auto got = troupe::test::run_script(rt, R"lua(
    assert(host.add(2, 3) == 5)
    assert(math.type(host.add(2, 3)) == "integer")
    local t = {a = {1, 2.5, "x"}, b = true}
    local a, b, c, d = host.echo(t, nil, "s\0z", 1.5)
    assert(a ~= t and a.a[3] == "x" and a.a[2] == 2.5 and a.b == true)
    assert(b == nil and c == "s\0z" and d == 1.5)
    assert(select("#", host.nothing()) == 0)
    local me = host.echo(worker.self())
    assert(me == worker.self(), "a handle comes back as the same userdata")
    return host.echo(1, 2, 3))lua");
  EXPECT_EQ(got, (std::vector<value>{1, 2, 3}));
}

TEST(host_functions, only_with_the_permission_host) {
  troupe::runtime none{config({})};
  EXPECT_EQ(troupe::test::run_script(none, "return host == nil"),
            std::vector<value>{true});
  troupe::runtime rt{config({"host", "env"})};
  auto message = error_of(rt, R"lua(
    local add = host.add
    pledge("env")
    return add(1, 2))lua");
  EXPECT_NE(message.find("permission denied: host (host.add)"),
            std::string::npos)
    << message;
  // With the permission and no functions: an empty table.
  auto bare = troupe::test::two_threads();
  bare.permissions = {"host"};
  troupe::runtime empty{bare};
  EXPECT_EQ(troupe::test::run_script(empty, "return next(host) == nil"),
            std::vector<value>{true});
}

TEST(host_functions, what_they_throw_is_a_lua_error_in_the_caller) {
  troupe::runtime rt{config()};
  auto got = troupe::test::run_script(rt, R"lua(
    local ok, e = pcall(host.fail, "purpose")
    assert(not ok)
    local ok2, e2 = pcall(host.fail)
    return e, e2)lua");
  ASSERT_EQ(got.size(), 2u);
  // Called through pcall, a C function: no position, as with luaL_error.
  EXPECT_EQ(got[0], value{"host.fail: failed on purpose"});
  EXPECT_EQ(got[1], value{"host.fail: an unknown exception (not a "
                          "std::exception)"});
  auto message = error_of(rt, "\n host.fail('x')");
  EXPECT_EQ(message.substr(0, message.find('\n')),
            "script:2: host.fail: failed on x");
}

TEST(host_functions, unsendable_arguments_and_results_are_errors) {
  auto c = config();
  troupe::runtime elsewhere{troupe::test::two_threads()};
  auto foreign = elsewhere.spawn_source("worker.peek()", "idle");
  c.functions["foreign"] = [&](std::span<const value>) {
    return std::vector<value>{value{foreign}};
  };
  c.functions["huge"] = [](std::span<const value>) {
    return std::vector<value>{
      value{std::string((std::size_t{64} << 20) + 1, 'x')}};
  };
  troupe::runtime rt{c};
  auto got = troupe::test::run_script(rt, R"lua(
    local _, a = pcall(host.echo, 1, print)
    local _, b = pcall(host.echo, {x = {coroutine.create(print)}})
    local _, r = pcall(host.foreign)
    local _, h = pcall(host.huge)
    return a, b, r, h)lua");
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].as_string(),
            "host.echo: argument #2 is a function; only nil, "
            "booleans, numbers, strings and tables can be sent");
  EXPECT_NE(got[1].as_string().find("host.echo: argument #1 (field 'x[1]') "
                                    "is a thread"),
            std::string::npos)
    << got[1].as_string();
  EXPECT_NE(got[2].as_string().find("host.foreign: cannot return its results"),
            std::string::npos)
    << got[2].as_string();
  EXPECT_NE(got[3].as_string().find("host.huge: cannot return its results"),
            std::string::npos)
    << got[3].as_string();
  foreign.cancel();
}

TEST(host_functions, a_slow_call_still_lets_the_hook_stop_the_script) {
  auto c = config();
  c.functions["slow"] = [](std::span<const value>) {
    std::this_thread::sleep_for(300ms);
    return std::vector<value>{};
  };
  c.limits.timeout = 100ms;
  troupe::runtime rt{c};
  auto end = rt.join(rt.spawn_source(R"lua(
    host.slow()
    worker.message("after the call")
    while true do end)lua",
                                     "script"),
                     patience);
  ASSERT_TRUE(end);
  EXPECT_FALSE(end->ok);
  EXPECT_NE(std::string{end->error->what()}.find("time limit exceeded"),
            std::string::npos)
    << end->error->what();
}

TEST(host_functions, pool_jobs_call_them_with_the_permission) {
  troupe::runtime rt{config()};
  troupe::pool pool{rt, {.workers = 1, .permissions = {"host"}}};
  auto bc = troupe::compile("host.extra = 1 return host.add(ctx.a, 40)", "job");
  troupe::context ctx;
  ctx.set("a", 2);
  EXPECT_EQ(pool.submit(bc, ctx), value{42});
  // The table write above died with its job.
  EXPECT_EQ(pool.submit(troupe::compile("return host.extra", "job2"), ctx),
            value{});
  troupe::pool bare{rt, 1};
  EXPECT_EQ(bare.submit(troupe::compile("return host == nil", "job3")),
            value{true});
}

TEST(host_functions, an_empty_function_is_refused) {
  auto c = config();
  c.functions["empty"] = nullptr;
  EXPECT_THROW(troupe::runtime{c}, std::invalid_argument);
}
