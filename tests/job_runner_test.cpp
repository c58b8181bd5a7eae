// lua_vm::job_runner, the state behind a pool worker: results and errors, the
// context, the deadline and cancel, the memory cap, preemption, the function
// cache, and isolation: every way a job can try to leave something for the
// next one, with Lua's semantics kept inside the job.
#include <atomic>
#include <string>

#include <gtest/gtest.h>

#include "leak_cases.hpp"
#include "lua_vm/job_runner.hpp"
#include "serialization/value_codec.hpp"

using troupe::compile;
using troupe::value;
using steady = troupe::lua_vm::clock;
using troupe::lua_vm::job_outcome;
using troupe::lua_vm::job_runner;
using troupe::lua_vm::job_runner_config;
using troupe::lua_vm::stop_reason;

namespace {

std::string encode(const value& v) {
  troupe::serialization::byte_sink sink;
  troupe::serialization::encode(v, sink);
  return std::string{sink.view()};
}

const std::string no_ctx = encode(value::map());

class job_runner_test : public ::testing::Test {
protected:
  job_runner_config config() {
    job_runner_config c;
    c.cancel = cancel;
    return c;
  }

  // Runs `source` to its end (through any preemption) and cleans up after it.
  job_outcome run(job_runner& r, const std::string& source,
                  const std::string& ctx = no_ctx,
                  steady::time_point deadline = steady::time_point::max()) {
    auto chunk = compile(source, "job");
    bool done = r.start(chunk, ctx, deadline);
    while (!done) done = r.resume();
    job_outcome out = r.outcome();
    r.end_job();
    return out;
  }

  value ok(job_runner& r, const std::string& source,
           const std::string& ctx = no_ctx) {
    auto out = run(r, source, ctx);
    EXPECT_TRUE(out.ok) << source << ": " << out.error.message;
    return out.result;
  }

  std::shared_ptr<std::atomic<bool>>
    cancel = std::make_shared<std::atomic<bool>>(false);
};

TEST_F(job_runner_test, return_values_map_to_values) {
  job_runner r{config()};
  EXPECT_TRUE(ok(r, "return").is_nil());
  EXPECT_EQ(ok(r, "return 42"), value{42});
  EXPECT_EQ(ok(r, "return 1, 'two', 3.5"), value::array({1, "two", 3.5}));
  EXPECT_EQ(ok(r, "return {1, 2}"), value::array({1, 2}));
  EXPECT_EQ(ok(r, "return {a = 1}"), value::map({{"a", 1}}));
}

TEST_F(job_runner_test, context_is_the_global_ctx) {
  job_runner r{config()};
  auto ctx = encode(value::map(
    {{"message", "Hello"}, {"params", value::map({{"id", "123"}})}}));
  EXPECT_EQ(ok(r,
               "return ctx.message .. ' from Lua', ctx.params.id, "
               "ctx.missing",
               ctx),
            value::array({"Hello from Lua", "123", value{}}));
  EXPECT_EQ(ok(r, "return next(ctx)"), value{});
}

TEST_F(job_runner_test,
       an_error_comes_back_with_traceback_and_the_runner_goes_on) {
  job_runner r{config()};
  auto out = run(r, "local function f() error('boom') end f()");
  EXPECT_FALSE(out.ok);
  EXPECT_NE(out.error.message.find("job:1: boom"), std::string::npos);
  EXPECT_NE(out.error.traceback.find("stack traceback:"), std::string::npos);
  EXPECT_EQ(out.stop, stop_reason::none);
  EXPECT_EQ(ok(r, "return 1"), value{1});
}

TEST_F(job_runner_test, a_return_value_that_cannot_be_sent_is_an_error) {
  job_runner r{config()};
  auto out = run(r, "return 1, print");
  EXPECT_FALSE(out.ok);
  EXPECT_NE(out.error.message.find("#2 is a function"), std::string::npos)
    << out.error.message;
}

TEST_F(job_runner_test,
       deadline_ends_a_loop_inside_pcall_and_the_next_job_runs) {
  job_runner r{config()};
  auto out = run(r, "while true do pcall(function() while true do end end) end",
                 no_ctx, steady::now() + std::chrono::milliseconds{50});
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.stop, stop_reason::deadline);
  EXPECT_EQ(out.error.message, "time limit exceeded");
  EXPECT_EQ(ok(r, "local n = 0 for i = 1, 1e5 do n = n + 1 end return n"),
            value{100000});
}

TEST_F(job_runner_test, cancel_ends_the_job) {
  job_runner r{config()};
  cancel->store(true);
  auto out = run(r, "while true do end");
  EXPECT_EQ(out.stop, stop_reason::cancelled);
  cancel->store(false);
  EXPECT_EQ(ok(r, "return 'next'"), value{"next"});
}

TEST_F(job_runner_test, memory_cap_ends_the_job_and_memory_comes_back) {
  auto c = config();
  c.memory_limit = std::size_t{8} << 20;
  job_runner r{c};
  ok(r, "return 1");
  auto before = r.memory_used();
  auto out = run(r, "local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(64) .. i "
                    "end");
  EXPECT_EQ(out.stop, stop_reason::memory);
  EXPECT_LT(r.memory_used(), before + (std::size_t{1} << 20));
  EXPECT_EQ(ok(r, "return #('x'):rep(1000)"), value{1000});
}

TEST_F(job_runner_test, preemption_suspends_and_resumes_a_long_job) {
  auto c = config();
  c.time_slice = std::chrono::microseconds{200};
  job_runner r{c};
  auto chunk = compile(
    "local gen = coroutine.wrap(function() for i = 1, 3e6 do "
    "coroutine.yield(i) end end) local s = 0 for i = 1, 3e6 do s = s + gen() "
    "end return s",
    "long");
  int preemptions = 0;
  bool done = r.start(chunk, no_ctx, steady::time_point::max());
  for (; !done; ++preemptions) done = r.resume();
  EXPECT_GT(preemptions, 0);
  ASSERT_TRUE(r.outcome().ok) << r.outcome().error.message;
  EXPECT_EQ(r.outcome().result, value{std::int64_t{4500001500000}});
  r.end_job();
}

TEST_F(job_runner_test, a_yield_at_the_top_of_a_job_is_an_error) {
  job_runner r{config()};
  auto out = run(r, "coroutine.yield(1)");
  EXPECT_NE(out.error.message.find("outside a coroutine"), std::string::npos);
  EXPECT_EQ(ok(r, "return 2"), value{2});
}

TEST_F(job_runner_test, functions_are_cached_per_bytecode_with_lru_eviction) {
  auto c = config();
  c.cache_size = 2;
  job_runner r{c};
  auto a = compile("return 'a'", "a");
  auto b = compile("return 'b'", "b");
  auto d = compile("return 'd'", "d");
  auto once = [&](const troupe::bytecode& chunk) {
    EXPECT_TRUE(r.start(chunk, no_ctx, steady::time_point::max()));
    value v = r.outcome().result;
    r.end_job();
    return v;
  };
  EXPECT_EQ(once(a), value{"a"});
  EXPECT_EQ(once(a), value{"a"});
  EXPECT_EQ(r.loads(), 1u);
  once(b);
  once(a);
  EXPECT_EQ(r.loads(), 2u);
  once(d); // evicts b, the least recently used
  once(a);
  EXPECT_EQ(r.loads(), 3u);
  once(b);
  EXPECT_EQ(r.loads(), 4u);
}

class job_isolation
    : public job_runner_test,
      public ::testing::WithParamInterface<troupe::test::leak_case> {};

TEST_P(job_isolation, nothing_reaches_the_next_job) {
  job_runner r{config()};
  auto first = run(r, GetParam().attempt);
  EXPECT_TRUE(first.ok) << first.error.message;
  EXPECT_EQ(ok(r, GetParam().check), value{true});
}

INSTANTIATE_TEST_SUITE_P(attempts, job_isolation,
                         ::testing::ValuesIn(troupe::test::leak_cases),
                         [](const auto& test) {
                           return std::string{test.param.name};
                         });

TEST_F(job_runner_test, only_jobs_that_change_shared_state_replace_the_state) {
  job_runner r{config()};
  ok(r, "x = 1 _G.y = 2 local s = ('a'):upper()");
  EXPECT_EQ(r.replacements(), 0u);
  ok(r, "string.upper = nil");
  EXPECT_EQ(r.replacements(), 1u);
}

TEST_F(job_runner_test, lua_semantics_hold_inside_a_job) {
  job_runner r{config()};
  // Libraries read, iterate and raw-read as plain tables do.
  EXPECT_EQ(ok(r, "local n = 0 for k, v in pairs(string) do n = n + 1 end "
                  "return n > 10 and rawget(string, 'upper') == string.upper "
                  "and next(string) ~= nil and getmetatable(string) == nil"),
            value{true});
  // Monkey-patching works for the job that does it.
  EXPECT_EQ(ok(r, "string.shout = function(s) return s:upper() .. '!' end "
                  "return ('hi'):shout()"),
            value{"HI!"});
  // A strict-mode metatable on _G keeps every global visible.
  EXPECT_EQ(ok(r,
               "setmetatable(_G, {__index = function(_, k) error('undeclared "
               "' .. k) end}) local ok, e = pcall(function() return nope end) "
               "return print ~= nil and not ok and e:find('undeclared nope') "
               "~= nil"),
            value{true});
  // _G lists every global, and is the job's own table.
  EXPECT_EQ(ok(r, "local seen = {} for k in pairs(_G) do seen[k] = true end "
                  "return seen.print and seen.string and seen.ctx and _G._G == "
                  "_G and _ENV == _G"),
            value{true});
  EXPECT_EQ(ok(r, "y = 5 return load('return y')()"), value{5});
}

TEST_F(job_runner_test, a_big_table_left_in_a_global_is_collected) {
  job_runner r{config()};
  ok(r, "return 1");
  auto before = r.memory_used();
  ok(r, "big = {} for i = 1, 1e6 do big[i] = ('x'):rep(80) .. i end");
  // About 110 MB were live; what stays is Lua's string table, which halves
  // at each later collection.
  EXPECT_LT(r.memory_used(), before + (std::size_t{4} << 20));
  EXPECT_EQ(ok(r, "return big"), value{});
}

} // namespace
