// lua_vm::state: the sandbox's contents, line-atomic print through the sink,
// errors with tracebacks and described non-string values, errors raised by
// troupe's own C functions (leak-free under ASan), moves, the time slice
// that preempts the root coroutine, and the allocator's slab.
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lua_test_support.hpp"
#include "lua_vm/chunk.hpp"
#include "lua_vm/interrupt.hpp"

using troupe::lua_vm::state;
using troupe::lua_vm::state_config;
using troupe::test::check;
using troupe::test::run;
using troupe::test::run_error;

namespace {

void collect(void* context, std::string_view line) noexcept {
  static_cast<std::vector<std::string>*>(context)->emplace_back(line);
}

} // namespace

TEST(state, safe_libraries_are_there) {
  state vm;
  EXPECT_TRUE(check(
    vm,
    "return type(table.concat) == 'function' and type(string.format) == "
    "'function'"
    " and type(math.floor) == 'function' and type(utf8.char) == 'function'"
    " and type(coroutine.wrap) == 'function' and type(os.time) == 'function'"
    " and type(os.clock) == 'function' and type(os.date) == 'function'"
    " and type(debug.traceback) == 'function' and type(pcall) == 'function'"
    " and type(load) == 'function' and type(select) == 'function'"));
}

TEST(state, unsafe_functions_are_absent) {
  state vm;
  for (const char* name :
       {"package.loadlib", "package.searchers", "os.exit", "os.tmpname",
        "os.setlocale", "io.stdin", "io.stdout", "io.stderr", "io.read",
        "io.write", "io.input", "io.output", "debug.getinfo", "debug.sethook",
        "debug.getregistry", "debug.setmetatable", "debug.getlocal",
        "debug.upvalueid"}) {
    std::string path = name;
    std::string expr = path.find('.') == std::string::npos ? "_G." + path
                                                           : path;
    EXPECT_TRUE(check(vm, "return " + expr + " == nil"))
      << name << " is reachable";
  }
}

TEST(state, states_made_one_after_another_draw_different_random_numbers) {
  // Lua seeds from the time in seconds and the state's address, and a freed
  // state's address comes back at once: the sandbox seeds every state apart.
  std::vector<lua_Integer> first_draws;
  for (int i = 0; i < 4; ++i) {
    state vm;
    troupe::test::run(vm, "return math.random(1, 1 << 50)", 1);
    first_draws.push_back(lua_tointeger(vm.get(), -1));
  }
  std::sort(first_draws.begin(), first_draws.end());
  EXPECT_EQ(std::adjacent_find(first_draws.begin(), first_draws.end()),
            first_draws.end());
}

TEST(state, load_runs_text_in_the_same_sandbox_and_refuses_binary) {
  state vm;
  EXPECT_TRUE(check(vm,
                    "return load('return package.loadlib == nil and os.exit == "
                    "nil')()"));
  EXPECT_TRUE(check(vm, "local f, err = load(string.dump(function() end)) "
                        "return f == nil and err:find('binary chunk') ~= nil"));
  EXPECT_TRUE(
    check(vm, "local f, err = load(string.dump(function() end), 'x', 'b') "
              "return f == nil and err:find('binary chunk') ~= nil"));
  EXPECT_TRUE(
    check(vm, "local parts = {'return ', '4', '2'} local i = 0 "
              "return load(function() i = i + 1 return parts[i] end)() == 42"));
}

TEST(state, print_sends_whole_lines_to_the_sink) {
  std::vector<std::string> lines;
  state_config config;
  config.print = collect;
  config.print_context = &lines;
  state vm{config};
  run(vm, "print('a', 1, 2.5, nil, true) print() print(setmetatable({}, "
          "{__tostring = function() return 'obj' end}))");
  EXPECT_EQ(lines,
            (std::vector<std::string>{"a\t1\t2.5\tnil\ttrue", "", "obj"}));
}

TEST(state, errors_carry_message_and_traceback) {
  state vm;
  auto err = run_error(vm, "local function inner() error('boom') end\ninner()");
  EXPECT_EQ(err.message, "test:1: boom");
  EXPECT_NE(err.traceback.find("stack traceback:"), std::string::npos);
  EXPECT_NE(err.traceback.find("in local 'inner'"), std::string::npos)
    << err.traceback;
  EXPECT_NE(err.traceback.find("test:2:"), std::string::npos) << err.traceback;
}

TEST(state, non_string_errors_are_described) {
  state vm;
  EXPECT_EQ(run_error(vm, "error({code = 1})").message,
            "(error object is a table value)");
  EXPECT_EQ(run_error(vm, "error()").message, "(error object is a nil value)");
  EXPECT_EQ(run_error(vm, "error(42)").message, "42");
  EXPECT_EQ(run_error(vm, "error(false)").message, "false");
  EXPECT_EQ(run_error(vm, "error(setmetatable({}, {__tostring = function() "
                          "return 'custom' end}))")
              .message,
            "custom");
  EXPECT_EQ(run_error(vm, "error(setmetatable({}, {__tostring = function() "
                          "error('bad tostring', 0) end}))")
              .message,
            "(error object is a table value whose __tostring failed: bad "
            "tostring)");
  // A __tostring that never ends is cut short; the state runs on after it.
  EXPECT_EQ(run_error(vm, "error(setmetatable({}, {__tostring = function() "
                          "while true do end end}))")
              .message,
            "(error object is a table value whose __tostring failed: it did "
            "not finish)");
  EXPECT_TRUE(check(vm, "local n = 0 for i = 1, 3e6 do n = n + 1 end return "
                        "n == 3e6"));
  EXPECT_EQ(run_error(vm, "error(setmetatable({}, {__tostring = function() "
                          "return {} end}))")
              .message,
            "(error object is a table value whose __tostring failed: "
            "'__tostring' must return a string)");
  EXPECT_EQ(run_error(vm, "error(coroutine.create(print))").message,
            "(error object is a thread value)");
}

TEST(state, errors_in_our_c_functions_leak_nothing) {
  // Each of these raises from inside a troupe lua_CFunction (print, load);
  // ASan's leak check proves nothing a longjmp skipped was left behind.
  state vm;
  EXPECT_NE(run_error(vm, "print(setmetatable({}, {__tostring = function() "
                          "error('in tostring') end}))")
              .message.find("in tostring"),
            std::string::npos);
  EXPECT_NE(run_error(vm, "print(setmetatable({}, {__tostring = function() "
                          "return {} end}))")
              .message.find("'__tostring' must return a string"),
            std::string::npos);
  EXPECT_TRUE(check(vm, "return not pcall(load, {})"));
  EXPECT_TRUE(check(vm, "local ok = pcall(load(function() error('reader "
                        "failed') end)) return not ok"));
  EXPECT_TRUE(
    check(vm,
          "return not pcall(print, setmetatable({}, {__tostring = error}))"));
}

TEST(state, a_moved_state_keeps_working) {
  state first;
  run(first, "x = 42");
  state second = std::move(first);
  EXPECT_TRUE(check(second, "return x == 42"));
  state third;
  third = std::move(second);
  EXPECT_TRUE(check(third, "return x == 42"));
}

TEST(state, time_slice_yields_the_root_coroutine) {
  state vm;
  lua_State* co = lua_newthread(vm.get());
  vm.ctl().root = co;
  auto chunk = troupe::compile("local n = 0 while true do n = n + 1 if n == "
                               "3e7 then return 'finished' end end",
                               "spin");
  ASSERT_EQ(troupe::lua_vm::load(co, chunk), LUA_OK);
  troupe::lua_vm::start_slice(vm.ctl(), std::chrono::microseconds{100});
  int nres = 0;
  ASSERT_EQ(lua_resume(co, vm.get(), 0, &nres), LUA_YIELD);
  EXPECT_TRUE(vm.ctl().preempted);
  int yields = 1;
  int status = LUA_YIELD;
  while (status == LUA_YIELD) {
    troupe::lua_vm::start_slice(vm.ctl(), std::chrono::hours{1});
    status = lua_resume(co, vm.get(), 0, &nres);
    if (status == LUA_YIELD) ++yields;
  }
  ASSERT_EQ(status, LUA_OK);
  EXPECT_EQ(yields, 1);
  EXPECT_STREQ(lua_tostring(co, -1), "finished");
}

TEST(state, preemption_inside_a_user_coroutine_is_invisible_to_it) {
  state vm;
  lua_State* co = lua_newthread(vm.get());
  vm.ctl().root = co;
  auto chunk = troupe::
    compile("local inner = coroutine.wrap(function() local n = 0 "
            "while n < 3e6 do n = n + 1 end return n end) return inner()",
            "nested");
  ASSERT_EQ(troupe::lua_vm::load(co, chunk), LUA_OK);
  troupe::lua_vm::start_slice(vm.ctl(), std::chrono::nanoseconds{1});
  int nres = 0;
  int status = lua_resume(co, vm.get(), 0, &nres);
  while (status == LUA_YIELD) status = lua_resume(co, vm.get(), 0, &nres);
  ASSERT_EQ(status, LUA_OK) << lua_tostring(co, -1);
  EXPECT_EQ(lua_tointeger(co, -1), 3000000);
}

TEST(state, small_blocks_come_from_a_slab_and_the_count_stays_exact) {
  state first;
  state vm;
  const auto& c = vm.ctl();
  ASSERT_NE(c.slab, nullptr) << "a state after the first has a slab";
  EXPECT_GT(c.slab_next - c.slab.get(), 0);
  auto lua_count = [&] {
    lua_State* L = vm.get();
    return static_cast<std::size_t>(lua_gc(L, LUA_GCCOUNT)) * 1024
           + static_cast<std::size_t>(lua_gc(L, LUA_GCCOUNTB));
  };
  EXPECT_EQ(c.used, lua_count());
  // Grows, shrinks and frees blocks of the slab (short strings, small tables
  // and closures made with the libraries) and of malloc.
  EXPECT_TRUE(check(vm, "local t = {} for i = 1, 2000 do t[i] = {tostring(i), "
                        "function() return i end} end string.rep('x', 1e5) "
                        "math.floor = nil math.floor = function() end "
                        "t = nil collectgarbage() return true"));
  lua_gc(vm.get(), LUA_GCCOLLECT);
  EXPECT_EQ(c.used, lua_count());
  EXPECT_TRUE(check(vm, "return string.format('%d', 42) == '42'"));
}
