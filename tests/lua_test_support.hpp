// Helpers for tests that run Lua: evaluate source in a state and read results,
// with failures as test failures.
#pragma once

#include <string>

#include <gtest/gtest.h>

#include "lua_vm/state.hpp"
#include "troupe/bytecode.hpp"

namespace troupe::test {

/// [-0, +nresults] Runs `source` in `vm` and leaves its results; fails the test
/// on an error.
inline void run(lua_vm::state& vm, const std::string& source,
                int nresults = 0) {
  auto chunk = compile(source, "test");
  ASSERT_FALSE(vm.load(chunk).has_value());
  auto err = vm.pcall(0, nresults);
  ASSERT_FALSE(err.has_value()) << err->message << "\n" << err->traceback;
}

/// Runs `source` in `vm` and returns its error; fails the test if it succeeds.
inline lua_vm::error_info run_error(lua_vm::state& vm,
                                    const std::string& source) {
  auto chunk = compile(source, "test");
  EXPECT_FALSE(vm.load(chunk).has_value());
  auto err = vm.pcall(0, 0);
  EXPECT_TRUE(err.has_value()) << "expected an error from: " << source;
  return err.value_or(lua_vm::error_info{});
}

/// Runs `source`, which must return a boolean, and returns it.
inline bool check(lua_vm::state& vm, const std::string& source) {
  int top = lua_gettop(vm.get());
  run(vm, source, 1);
  bool result = lua_toboolean(vm.get(), -1);
  lua_settop(vm.get(), top);
  return result;
}

} // namespace troupe::test
