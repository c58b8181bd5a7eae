// The sandbox's own string.rep, table.move, table.insert, table.remove and
// table.concat against Lua's: each case runs in a sandboxed state and in a
// plain lua_State with Lua's libraries, and both must give the same values or
// the same error. Then what Lua's own cannot do: the loops end at the limits.
#include <memory>

#include <gtest/gtest.h>

#include "fuzz/pattern_check.hpp"
#include "lua_test_support.hpp"

using troupe::lua_vm::state;
using troupe::lua_vm::state_config;
using troupe::test::evaluate;
using troupe::test::run_error;

namespace {

const char* const cases[] = {
  // rep
  R"lua(string.rep("ab", 3))lua",
  R"lua(string.rep("ab", 3, ", "))lua",
  R"lua(string.rep("ab", 1, ", "))lua",
  R"lua(string.rep("ab", 0, ", "))lua",
  R"lua(string.rep("ab", -5))lua",
  R"lua(string.rep("", 5, "-"))lua",
  R"lua(#string.rep("xyz", 100000, "--"))lua",
  R"lua(string.rep("xyz", 100000, "--") == table.concat(table.pack(string.rep("xyz", 100000, " "):match(("%S+ "):rep(3))), ""))lua",
  R"lua(string.rep("x", 2^31))lua",
  R"lua(string.rep("x", 1.5))lua",
  R"lua(string.rep({}, 2))lua",
  // move
  R"lua(table.concat(table.move({1, 2, 3, 4, 5}, 2, 4, 1), ","))lua",
  R"lua(table.concat(table.move({1, 2, 3, 4, 5}, 1, 3, 3), ","))lua",
  R"lua(table.concat(table.move({1, 2, 3}, 1, 3, 2, {9, 9, 9, 9}), ","))lua",
  R"lua(table.concat(table.move({1, 2, 3}, 3, 1, 1), ","))lua",
  R"lua(table.move({}, 1, math.maxinteger, 2))lua",
  R"lua(table.move({}, -1, math.maxinteger, 1))lua",
  R"lua(table.move(1, 1, 2, 3))lua",
  // insert and remove
  R"lua((function() local t = {1, 2, 3} table.insert(t, 4) return table.concat(t, ",") end)())lua",
  R"lua((function() local t = {1, 2, 3} table.insert(t, 1, 0) return table.concat(t, ",") end)())lua",
  R"lua((function() local t = {1, 2, 3} table.insert(t, 4, 9) return table.concat(t, ",") end)())lua",
  R"lua(table.insert({1, 2, 3}, 5, 9))lua",
  R"lua(table.insert({1, 2, 3}, 0, 9))lua",
  R"lua(table.insert({1}, 1, 2, 3))lua",
  R"lua((function() local t = {1, 2, 3} return table.remove(t), table.concat(t, ",") end)())lua",
  R"lua((function() local t = {1, 2, 3} return table.remove(t, 1), table.concat(t, ",") end)())lua",
  R"lua((function() local t = {} return table.remove(t), #t end)())lua",
  R"lua((function() local t = {1, 2, 3} return table.remove(t, 4), #t end)())lua",
  R"lua(table.remove({1, 2, 3}, 7))lua",
  R"lua(table.remove("x"))lua",
  R"lua((function() local log = {} local t = setmetatable({}, {__len = function() return 2 end, __index = function(_, k) return "v" .. k end, __newindex = function(_, k, v) log[#log + 1] = k .. "=" .. tostring(v) end}) table.insert(t, 1, "a") return table.concat(log, " ") end)())lua",
  // concat
  R"lua(table.concat({1, 2.5, "x"}, "-"))lua",
  R"lua(table.concat({1, 2, 3}, ",", 2))lua",
  R"lua(table.concat({1, 2, 3}, ",", 2, 1))lua",
  R"lua(table.concat({1, {}, 3}))lua",
  R"lua(table.concat({}, ",", 1, 0))lua",
  R"lua(table.concat({1, 2}, ",", 1, 3))lua",
  R"lua(table.concat(setmetatable({}, {__len = function() return 3 end, __index = function(_, k) return k * 2 end}), "+"))lua",
};

class library_loops : public ::testing::TestWithParam<const char*> {};

TEST_P(library_loops, behave_as_luas_own) {
  state sandboxed;
  std::unique_ptr<lua_State, decltype(&lua_close)> plain{luaL_newstate(),
                                                         lua_close};
  luaL_openlibs(plain.get());
  EXPECT_EQ(evaluate(sandboxed.get(), GetParam()),
            evaluate(plain.get(), GetParam()));
}

INSTANTIATE_TEST_SUITE_P(against_lua, library_loops,
                         ::testing::ValuesIn(cases));

TEST(library_loops_stop, a_huge_move_and_shift_end_at_the_limits) {
  state_config config;
  config.limits.wall_time = std::chrono::milliseconds{100};
  state timed{config};
  EXPECT_EQ(run_error(timed, "table.move({}, 1, 1e17, 1)").message,
            "time limit exceeded");
  state cancelled;
  cancelled.cancel();
  EXPECT_EQ(run_error(cancelled, "table.insert(setmetatable({}, {__len = "
                                 "function() return 1e17 end}), 1, 'x')")
              .message,
            "cancelled");
}

} // namespace
