// troupe::compile: source becomes bytecode that keeps its name and source;
// syntax errors are compile_errors in `name:line: message` form; the bytecode
// runs in a sandboxed state and can be loaded many times.
#include <gtest/gtest.h>

#include "lua_test_support.hpp"
#include "lua_vm/chunk.hpp"
#include "troupe/error.hpp"

using troupe::compile;

TEST(compile, keeps_name_and_source) {
  auto bc = compile("return 1 + 1", "adder");
  EXPECT_EQ(bc.name(), "adder");
  EXPECT_EQ(bc.source(), "return 1 + 1");
  auto copy = bc;
  EXPECT_EQ(copy.source(), bc.source());
}

TEST(compile, syntax_errors_name_chunk_and_line) {
  try {
    compile("local x = 1\nlocal y = = 2", "script");
    FAIL() << "no compile_error";
  } catch (const troupe::compile_error& e) {
    EXPECT_STREQ(e.what(), "script:2: unexpected symbol near '='");
  }
  EXPECT_THROW(compile("\x1bLua", "binary"), troupe::compile_error);
}

TEST(compile, bytecode_runs_many_times_with_line_numbers) {
  auto bc = compile("local a, b = ...\nif b == 0 then error('division by "
                    "zero') end\nreturn a // b",
                    "divide");
  troupe::lua_vm::state vm;
  lua_State* L = vm.get();
  for (int i = 1; i <= 3; ++i) {
    ASSERT_FALSE(vm.load(bc).has_value());
    lua_pushinteger(L, 10 * i);
    lua_pushinteger(L, 5);
    ASSERT_FALSE(vm.pcall(2, 1).has_value());
    EXPECT_EQ(lua_tointeger(L, -1), 2 * i);
    lua_pop(L, 1);
  }
  ASSERT_FALSE(vm.load(bc).has_value());
  lua_pushinteger(L, 1);
  lua_pushinteger(L, 0);
  auto err = vm.pcall(2, 1);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->message, "divide:2: division by zero");
}

TEST(compile, read_file_names_a_missing_file) {
  try {
    troupe::lua_vm::read_file("/nonexistent/script.lua");
    FAIL() << "no error";
  } catch (const troupe::error& e) {
    EXPECT_STREQ(e.what(), "cannot open /nonexistent/script.lua: No such file "
                           "or directory");
  }
}
