// Shared dicts as scripts and C++ reach them: worker.shared(NAME) with the
// permission "shared" and OpenResty's methods and returns, argument errors for
// bad keys, values and times to live, eviction and "no memory" from a script,
// several workers on one dict, and troupe::shared_dict on the same store.
#include <cmath>

#include <gtest/gtest.h>

#include "runtime_support.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;
using troupe::value;

namespace {

constexpr auto patience = 20s;

troupe::runtime_config
config(std::vector<std::string> permissions = {"shared", "worker"}) {
  auto c = troupe::test::two_threads();
  c.permissions = std::move(permissions);
  c.shared_dicts = {{"cache", 1 << 20}, {"tiny", 2000}};
  return c;
}

std::string error_of(troupe::runtime& rt, const std::string& source) {
  auto end = rt.join(rt.spawn_source(source, "script"), patience);
  if (!end || end->ok) {
    ADD_FAILURE() << "the script did not fail";
    return {};
  }
  return end->error->message();
}

} // namespace

TEST(shared_dict, scripts_use_openresty_methods_and_returns) {
  troupe::runtime rt{config()};
  troupe::test::run_script(rt, R"lua(
    local d = worker.shared("cache")
    assert(d == worker.shared("cache"))
    assert(worker.shared("undeclared") == nil)
    local ok, err, forcible = d:set("k", "v")
    assert(ok == true and err == nil and forcible == false)
    assert(d:get("k") == "v")
    assert(d:get("absent") == nil)
    assert(d:set("i", 3) and math.type(d:get("i")) == "integer")
    assert(d:set("f", 3.0) and math.type(d:get("f")) == "float")
    assert(d:set("b", false) and d:get("b") == false)
    ok, err = d:add("k", "w")
    assert(ok == false and err == "exists" and d:get("k") == "v")
    ok, err = d:replace("nope", 1)
    assert(ok == false and err == "not found")
    assert(d:replace("k", "w") and d:get("k") == "w")
    assert(d:safe_set("s", 1) and d:safe_add("t", 2))
    d:delete("k")
    assert(d:get("k") == nil)
    assert(d:set("k", "x") and d:set("k", nil) and d:get("k") == nil)
    local n, e = d:incr("counter", 1)
    assert(n == nil and e == "not found")
    n, e, forcible = d:incr("counter", 2, 10)
    assert(n == 12 and e == nil and forcible == false)
    assert(d:incr("counter", 0.5) == 12.5)
    n, e = d:incr("s", 1)
    assert(n == 1 + 1)
    d:set("word", "12")
    n, e = d:incr("word", 1)
    assert(n == nil and e == "not a number")
    assert(d:ttl("counter") == 0)
    n, e = d:ttl("nope")
    assert(n == nil and e == "not found")
    assert(d:expire("counter", 100) == true)
    local left = d:ttl("counter")
    assert(left > 99 and left <= 100)
    ok, e = d:expire("nope", 1)
    assert(ok == nil and e == "not found")
    assert(d:lpush("q", "b") == 1 and d:lpush("q", "a") == 2)
    assert(d:rpush("q", 3) == 3 and d:llen("q") == 3)
    assert(d:lpop("q") == "a" and d:rpop("q") == 3 and d:rpop("q") == "b")
    assert(d:lpop("q") == nil and d:llen("q") == 0)
    d:rpush("q2", 1)
    local v, le = d:get("q2")
    assert(v == nil and le == "value is a list")
    n, le = d:lpush("word", 1)
    assert(n == nil and le == "value not a list")
    n, le = d:llen("word")
    assert(n == nil and le == "value not a list")
    v, e = d:get("")
    assert(v == nil and e == "empty key")
    ok, e = d:set(string.rep("k", 70000), 1)
    assert(ok == false and e == "key too long")
    local keys = d:get_keys(0)
    assert(#keys >= 5)
    assert(#d:get_keys(2) == 2)
    assert(d:capacity() == 1 << 20 and d:free_space() < d:capacity())
    d:flush_all()
    assert(d:get("i") == nil and #d:get_keys() == 0)
    assert(d:flush_expired() > 0 and d:free_space() == d:capacity())
  )lua");
}

TEST(shared_dict, bad_keys_values_and_ttls_raise_argument_errors) {
  troupe::runtime rt{config()};
  auto d = R"lua(local d = worker.shared("cache") )lua";
  auto expect = [&](const std::string& body, const std::string& message) {
    std::string got = error_of(rt, d + body);
    EXPECT_NE(got.find(message), std::string::npos) << body << ": " << got;
  };
  expect("d:get({})", "bad argument #1 to 'get' (string expected, got table)");
  expect("d:set(1, 2)", "bad argument #1 to 'set' (string expected, got "
                        "number)");
  expect("d:set('k', {1})", "bad argument #2 to 'set' (nil, boolean, number "
                            "or string expected, got table)");
  expect("d:set('k', print)", "got function");
  expect("d:set('k', 1, -1)", "bad argument #3 to 'set' (non-negative number "
                              "of seconds expected)");
  expect("d:set('k', 1, 0/0)", "bad argument #3 to 'set' (non-negative "
                               "number of seconds expected)");
  expect("d:expire('k', -5)", "bad argument #2 to 'expire'");
  expect("d:incr('k', 'one')", "bad argument #2 to 'incr' (number expected, "
                               "got string)");
  expect("d:incr('k', 1, {})", "bad argument #3 to 'incr' (number expected, "
                               "got table)");
  expect("d:lpush('q', nil)", "bad argument #2 to 'lpush' (boolean, number or "
                              "string expected, got nil)");
  expect("d.get('k')", "worker.shared expected, got string");
  expect("worker.shared(5)", "bad argument #1 to 'shared' (string expected");
  expect("worker.send(worker.self(), d)", "userdata");
  expect("getmetatable(d).__index = nil", "attempt to index a string value");
}

TEST(shared_dict, needs_the_permission_shared) {
  troupe::runtime rt{config({"worker"})};
  auto w = rt.spawn_source("worker.shared('cache')", "script");
  try {
    rt.receive(w, patience);
    FAIL() << "no error";
  } catch (const troupe::permission_error& e) {
    EXPECT_NE(std::string{e.what()}.find(
                "permission denied: shared (worker.shared \"cache\")"),
              std::string::npos)
      << e.what();
  }
}

TEST(shared_dict, a_full_dict_evicts_then_reports_no_memory) {
  troupe::runtime rt{config()};
  troupe::test::run_script(rt, R"lua(
    local d = worker.shared("tiny")
    local big = string.rep("x", 500)
    local forced = false
    for i = 1, 10 do
      local ok, err, forcible = d:set("k" .. i, big)
      assert(ok, err)
      forced = forced or forcible
    end
    assert(forced, "storing past the capacity evicted nothing")
    assert(d:get("k1") == nil and d:get("k10") == big)
    local ok, err, forcible = d:set("huge", string.rep("y", 5000))
    assert(ok == false and err == "no memory" and forcible == false)
    assert(d:get("k10") == big)
    ok, err = d:safe_set("another", big)
    assert(ok == false and err == "no memory")
  )lua");
}

TEST(shared_dict, large_values_come_back_whole_one_after_another) {
  auto c = config();
  c.shared_dicts = {{"big", std::size_t{64} << 20}};
  troupe::runtime rt{c};
  troupe::test::run_script(rt, R"lua(
    local d = worker.shared("big")
    for i = 1, 3 do
      local v = string.rep(string.char(64 + i), 3000000)
      assert(d:set("v", v))
      assert(d:get("v") == v)
      assert(d:lpush("l", string.sub(v, 1, 1000000)) == 1)
      assert(d:rpop("l") == string.sub(v, 1, 1000000))
    end
    assert(d:set("v", "small") and d:get("v") == "small")
  )lua");
}

TEST(shared_dict, workers_and_the_host_share_one_store) {
  troupe::runtime rt{config({"shared", "worker", "load", "fs:read"})};
  auto dict = rt.shared_dict("cache");
  ASSERT_TRUE(dict.set("from_host", "hello").ok());
  auto counter = troupe::test::write_script("shared_dict", "counter.lua", R"lua(
    local d = worker.shared("cache")
    for _ = 1, 1000 do d:incr("hits", 1, 0) end
  )lua");
  troupe::test::run_script(rt, R"lua(
    local d = worker.shared("cache")
    assert(d:get("from_host") == "hello")
    local children = {}
    for i = 1, 4 do children[i] = worker.create(...) end
    for i = 1, 4 do assert(worker.join(children[i])) end
    assert(d:get("hits") == 4000)
    d:set("from_script", 42)
  )lua",
                           {counter.string()});
  EXPECT_EQ(dict.get("from_script").value, value{42});
  EXPECT_EQ(dict.get("hits").value, value{4000});
}

TEST(shared_dict, the_cpp_api_reports_as_openresty_does) {
  troupe::runtime rt{config()};
  auto d = rt.shared_dict("tiny");
  EXPECT_EQ(d.capacity(), 2000u);
  auto r = d.add("k", 1.5);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.value, value{true});
  r = d.add("k", 2);
  EXPECT_EQ(r.error, "exists");
  EXPECT_EQ(r.value, value{false});
  EXPECT_EQ(d.replace("nope", 1).error, "not found");
  EXPECT_EQ(d.incr("k", 1).value, value{2.5});
  EXPECT_EQ(d.incr("n", 1).error, "not found");
  EXPECT_EQ(d.incr("n", 1, 41, 10s).value, value{42});
  double left = d.ttl("n").value.as_double();
  EXPECT_GT(left, 9.0);
  EXPECT_LE(left, 10.0);
  EXPECT_EQ(d.ttl("nope").error, "not found");
  EXPECT_TRUE(d.expire("n", troupe::dict_ttl{0}).ok());
  EXPECT_EQ(d.ttl("n").value, value{0.0});
  EXPECT_EQ(d.rpush("q", "a").value, value{1});
  EXPECT_EQ(d.lpush("q", true).value, value{2});
  EXPECT_EQ(d.llen("q").value, value{2});
  EXPECT_EQ(d.get("q").error, "value is a list");
  EXPECT_EQ(d.lpop("q").value, value{true});
  EXPECT_EQ(d.rpop("q").value, value{"a"});
  EXPECT_EQ(d.lpush("k", 1).error, "value not a list");
  auto full = d.set("big", std::string(5000, 'x'));
  EXPECT_EQ(full.error, "no memory");
  EXPECT_FALSE(full.forcible);
  d.erase("k");
  EXPECT_TRUE(d.get("k").value.is_nil());
  EXPECT_EQ(d.keys(0), std::vector<std::string>{"n"});
  d.flush_all();
  EXPECT_TRUE(d.keys(0).empty());
  EXPECT_EQ(d.flush_expired(), 1u);
  EXPECT_EQ(d.free_space(), d.capacity());
}

TEST(shared_dict, the_cpp_api_refuses_bad_input) {
  troupe::runtime rt{config()};
  auto d = rt.shared_dict("cache");
  EXPECT_THROW(d.set("k", value::map({{"a", 1}})), std::invalid_argument);
  EXPECT_THROW(d.set("k", value::array({1})), std::invalid_argument);
  EXPECT_THROW(d.set("", 1), std::invalid_argument);
  EXPECT_THROW(d.set("k", 1, troupe::dict_ttl{-1}), std::invalid_argument);
  EXPECT_THROW(d.set("k", 1, troupe::dict_ttl{std::nan("")}),
               std::invalid_argument);
  EXPECT_THROW(d.incr("k", "1"), std::invalid_argument);
  EXPECT_THROW(d.lpush("k", value{}), std::invalid_argument);
  try {
    rt.shared_dict("nope");
    ADD_FAILURE() << "an undeclared dict was found";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string{e.what()}.find("no shared dict is named 'nope'"),
              std::string::npos);
  }
}

TEST(shared_dict, a_dict_outliving_its_runtime_is_a_clear_error) {
  std::optional<troupe::shared_dict> d;
  {
    troupe::runtime rt{config()};
    d = rt.shared_dict("cache");
    ASSERT_TRUE(d->set("k", 1).ok());
  }
  EXPECT_THROW(d->get("k"), troupe::stopped_error);
  EXPECT_THROW(d->set("k", 2), troupe::stopped_error);
}

TEST(shared_dict, declarations_need_a_name_and_a_capacity) {
  auto c = config();
  c.shared_dicts = {{"zero", 0}};
  EXPECT_THROW(troupe::runtime{c}, std::invalid_argument);
  c.shared_dicts = {{"", 100}};
  EXPECT_THROW(troupe::runtime{c}, std::invalid_argument);
}

TEST(shared_dict, pool_jobs_with_the_permission_reach_dicts_too) {
  troupe::runtime rt{config()};
  troupe::pool_config pc;
  pc.workers = 2;
  pc.permissions = {"shared"};
  troupe::pool pool{rt, pc};
  auto job = troupe::compile(R"lua(
    assert(worker.create == nil, "a job has worker.shared alone")
    return (worker.shared("cache"):incr("jobs", 1, 0))
  )lua",
                             "job");
  for (int i = 1; i <= 20; ++i) EXPECT_EQ(pool.submit(job, {}), value{i});
  EXPECT_EQ(rt.shared_dict("cache").get("jobs").value, value{20});
  troupe::pool bare{rt, 1};
  try {
    bare.submit(job, {});
    ADD_FAILURE() << "a job without the permission reached a dict";
  } catch (const troupe::script_error& e) {
    EXPECT_NE(std::string{e.what()}.find("global 'worker'"), std::string::npos)
      << e.what();
  }
}
