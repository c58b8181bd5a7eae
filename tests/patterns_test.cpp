// The sandbox's string.find, match, gmatch and gsub against Lua's own: each
// case runs in a sandboxed state and in a plain lua_State with Lua's string
// library, and both must give the same values or the same error. Then what
// Lua's own cannot do: a pathological pattern ends at the deadline and on
// cancel.
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
  // find
  R"lua(("hello world"):find("o w"))lua",
  R"lua(("hello world"):find("l+"))lua",
  R"lua(("hello world"):find("(l)(l)"))lua",
  R"lua(("hello world"):find("()ll()"))lua",
  R"lua(("hello world"):find("x"))lua",
  R"lua(("hello"):find(""))lua",
  R"lua(("hello"):find("", 10))lua",
  R"lua(("hello"):find("", 6))lua",
  R"lua(("hello"):find("l", -2))lua",
  R"lua(("hello"):find("l", -100))lua",
  R"lua(("hello"):find(".", 0))lua",
  R"lua(("a.b"):find(".", 1, true))lua",
  R"lua(("a+b"):find("+", 1, true))lua",
  R"lua(("hello"):find("^h"))lua",
  R"lua(("hello"):find("^e"))lua",
  R"lua(("hello"):find("o$"))lua",
  R"lua(("hel$lo"):find("l$l"))lua",
  R"lua(("one two"):find("[^%s]+$"))lua",
  R"lua(("THE (quick) fox"):find("%f[%a]%a+", 5))lua",
  R"lua(("x(a(b)c)y"):find("%b()"))lua",
  R"lua(("a\0b"):find("\0"))lua",
  R"lua(("a\0b"):find("%z"))lua",
  // match
  R"lua(("key = value"):match("(%w+)%s*=%s*(%w+)"))lua",
  R"lua(("2024-01-02"):match("(%d+)-(%d+)-(%d+)"))lua",
  R"lua(("THE (quick) fox"):match("%((%a+)%)"))lua",
  R"lua(("[[x]]"):match("%b[]"))lua",
  R"lua(("aaa"):match("a-b"))lua",
  R"lua(("aaab"):match("a-b"))lua",
  R"lua(("aaa"):match("^(a*)$"))lua",
  R"lua(("abc"):match("((a)(b))"))lua",
  R"lua(("  trim me  "):match("^%s*(.-)%s*$"))lua",
  R"lua(("x"):match("()"))lua",
  R"lua(("abcabc"):match("(abc)%1"))lua",
  R"lua(("abcabd"):match("(abc)%1"))lua",
  R"lua(("THE END"):match("%f[%a]%a+$"))lua",
  R"lua(("a]b"):match("[%]]"))lua",
  R"lua(("a]b"):match("[]]"))lua",
  R"lua(("-"):match("[a-]"))lua",
  R"lua(("b"):match("[a-c]"))lua",
  R"lua(("B"):match("[^a-c]+"))lua",
  R"lua(("x1y2"):match("%d", 3))lua",
  R"lua(("Ab1_!"):match("%u%l%d%p?%w*%p"))lua",
  R"lua(("\t \n"):match("%s+"))lua",
  R"lua(("caf\xc3\xa9"):match("[\xc3][\x80-\xbf]"))lua",
  R"lua(("abc"):match("a?b?c?d?"))lua",
  R"lua(("aaa"):match("a+?"))lua",
  R"lua(("ab"):match(".-$"))lua",
  // gmatch
  R"lua(collect(("one two  three"):gmatch("%a+")))lua",
  R"lua(collect(("a=1, b=2"):gmatch("(%w+)=(%w+)")))lua",
  R"lua(collect(("abc"):gmatch("")))lua",
  R"lua(collect(("axxb"):gmatch("x*")))lua",
  R"lua(collect(("abcabc"):gmatch("b", 3)))lua",
  R"lua(collect(("abc"):gmatch("b", 10)))lua",
  R"lua(collect(("a^b"):gmatch("^b")))lua",
  R"lua(collect(("a1b22"):gmatch("()%d+()")))lua",
  // gsub
  R"lua(("hello world"):gsub("o", "0"))lua",
  R"lua(("hello world"):gsub("(%w+)", "<%1>"))lua",
  R"lua(("hello world"):gsub("%w+", "%0 %0", 1))lua",
  R"lua(("abc"):gsub("", "-"))lua",
  R"lua(("abc"):gsub("x*", "-"))lua",
  R"lua(("a=1, b=2"):gsub("(%w+)=(%w+)", "%2=%1"))lua",
  R"lua(("hello world"):gsub("%w+", {hello = "HI"}))lua",
  R"lua(("hello world"):gsub("%w+", function(w) return #w end))lua",
  R"lua(("hello world"):gsub("%w+", function() return nil end))lua",
  R"lua(("  x"):gsub("^%s+", ""))lua",
  R"lua(("100%"):gsub("%%", "%%%%"))lua",
  R"lua(("abc"):gsub("b", "%1"))lua",
  R"lua(("abc"):gsub("(b)", {b = false}))lua",
  R"lua(("abc"):gsub("()", "%1"))lua",
  R"lua(("abc"):gsub("%w", "%0", 0))lua",
  R"lua(("abc"):gsub("%w", "x", -1))lua",
  R"lua(("aaa"):gsub("^a", "b"))lua",
  // errors
  R"lua(("a"):gsub("a", "%"))lua",
  R"lua(("a"):gsub("a", "%2"))lua",
  R"lua(("a"):gsub("a", true))lua",
  R"lua(("a"):gsub("a", function() return {} end))lua",
  R"lua(("a"):find("[a"))lua",
  R"lua(("a"):find("%"))lua",
  R"lua(("a"):match("(a"))lua",
  R"lua(("a"):match("a)"))lua",
  R"lua(("a"):match("%1"))lua",
  R"lua(("a"):match("(a)%2"))lua",
  R"lua(("a"):match("%b"))lua",
  R"lua(("a"):match("%f"))lua",
  R"lua(("a"):match(string.rep("()", 33)))lua",
  R"lua((string.rep("a", 300)):match(string.rep("(a)?", 250)))lua",
  R"lua(string.find())lua",
  R"lua(string.match("a", {}))lua",
};

class patterns : public ::testing::TestWithParam<const char*> {};

TEST_P(patterns, give_what_lua_gives) {
  state sandboxed;
  std::unique_ptr<lua_State, void (*)(lua_State*)> plain{luaL_newstate(),
                                                         lua_close};
  luaL_openlibs(plain.get());
  EXPECT_EQ(evaluate(sandboxed.get(), GetParam()),
            evaluate(plain.get(), GetParam()));
}

INSTANTIATE_TEST_SUITE_P(against_lua, patterns, ::testing::ValuesIn(cases));

constexpr const char* pathological = "return string.find(('a'):rep(3000), "
                                     "('a*'):rep(6) .. 'b')";

TEST(patterns_stop, a_pathological_pattern_ends_at_the_deadline) {
  state_config config;
  config.limits.wall_time = std::chrono::milliseconds{100};
  state vm{config};
  EXPECT_EQ(run_error(vm, pathological).message, "time limit exceeded");
}

TEST(patterns_stop, a_pathological_pattern_ends_on_cancel) {
  // Set before the script runs: its few instructions before the call do not
  // reach the hook, so the match itself must notice.
  state vm;
  vm.cancel();
  EXPECT_EQ(run_error(vm, "string.gsub(('a'):rep(3000), ('a*'):rep(6) .. "
                          "'b', '')")
              .message,
            "cancelled");
}

TEST(patterns_stop, pattern_steps_count_against_the_instruction_budget) {
  state_config config;
  config.limits.instructions = 10000000;
  state vm{config};
  EXPECT_EQ(run_error(vm, "for m in ('a'):rep(3000):gmatch(('a*'):rep(6) .. "
                          "'b') do end")
              .message,
            "instruction limit exceeded");
}

// Lua's own matcher recurses in C and gives up 200 levels down ("pattern too
// complex"); troupe's keeps its backtracking on a stack of its own (spilling
// into the state's memory past a few dozen entries), so depth is no limit.
TEST(patterns_depth, a_pattern_too_deep_for_luas_matcher_still_matches) {
  const std::string deep = "string.find(('a'):rep(250), ('a?'):rep(250) .. "
                           "'()')";
  std::unique_ptr<lua_State, decltype(&lua_close)> plain{luaL_newstate(),
                                                         lua_close};
  luaL_openlibs(plain.get());
  EXPECT_NE(evaluate(plain.get(), deep).find("pattern too complex"),
            std::string::npos);
  state vm;
  EXPECT_EQ(evaluate(vm.get(), deep), "number:1, number:250, number:251");
  const std::string nested
    = "string.match(('('):rep(31) .. 'x' .. (')'):rep(31), "
      "('%(?'):rep(31) .. '(x)' .. ('%)?'):rep(31) .. '$')";
  EXPECT_EQ(evaluate(vm.get(), nested), "string:x");
}

} // namespace
