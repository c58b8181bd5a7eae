// The per-state limits the interrupt hook and allocator enforce: memory cap,
// instruction budget, wall time and cancellation from another thread. Each one
// ends the script with an error that names it, also when the script tries to
// swallow it with pcall, and a tripped state stays stopped.
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "lua_test_support.hpp"
#include "serialization/lua_codec.hpp"
#include "troupe/error.hpp"

using troupe::lua_vm::state;
using troupe::lua_vm::state_config;
using troupe::lua_vm::stop_reason;
using troupe::test::run_error;

namespace {

state limited(std::size_t memory, std::uint64_t instructions = 0,
              std::chrono::nanoseconds wall = {}) {
  state_config config;
  config.limits.memory = memory;
  config.limits.instructions = instructions;
  config.limits.wall_time = wall;
  return state{config};
}

constexpr const char* grow = "local t = {} for i = 1, 1e9 do t[i] = "
                             "string.rep('x', 100) .. i end";
constexpr const char* swallow_forever = "while true do pcall(function() %s "
                                        "end) end";

std::string swallowing(const char* body) {
  char buf[512];
  std::snprintf(buf, sizeof buf, swallow_forever, body);
  return buf;
}

} // namespace

TEST(limits, memory_cap_ends_the_script) {
  state vm = limited(1 << 20);
  auto err = run_error(vm, grow);
  EXPECT_EQ(err.message, "memory limit exceeded");
  EXPECT_EQ(vm.ctl().tripped, stop_reason::memory);
  EXPECT_LE(vm.memory_used(),
            (std::size_t{1} << 20) + troupe::lua_vm::control::error_headroom);
}

TEST(limits, memory_cap_cannot_be_swallowed_by_pcall) {
  state vm = limited(1 << 20);
  auto err = run_error(vm, "local keep = {} "
                             + swallowing("for i = 1, 1e9 do keep[#keep + 1] = "
                                          "string.rep('y', 64) .. i end"));
  EXPECT_EQ(err.message, "memory limit exceeded");
}

TEST(limits, memory_below_the_cap_is_reclaimed_not_tripped) {
  state vm = limited(2 << 20);
  troupe::test::
    run(vm,
        "for i = 1, 200 do local t = {} for j = 1, 1000 do t[j] = j end end");
  EXPECT_EQ(vm.ctl().tripped, stop_reason::none);
}

TEST(limits, a_cap_too_small_for_the_libraries_is_a_limit_error) {
  EXPECT_THROW(limited(2048), troupe::limit_error);
}

TEST(limits, instruction_budget_ends_the_script) {
  state vm = limited(0, 100000);
  auto err = run_error(vm, "local n = 0 while true do n = n + 1 end");
  EXPECT_EQ(err.message, "instruction limit exceeded");
  EXPECT_GE(vm.ctl().executed, 100000u);
}

TEST(limits, instruction_budget_cannot_be_swallowed_by_pcall) {
  state vm = limited(0, 100000);
  EXPECT_EQ(run_error(vm, swallowing("local n = 0 while true do n = n + 1 end"))
              .message,
            "instruction limit exceeded");
}

TEST(limits, small_instruction_budgets_are_exact_enough) {
  state vm = limited(0, 50);
  EXPECT_EQ(run_error(vm, "local n = 0 for i = 1, 100 do n = n + i end")
              .message,
            "instruction limit exceeded");
}

TEST(limits, wall_time_ends_the_script) {
  state vm = limited(0, 0, std::chrono::milliseconds{50});
  EXPECT_EQ(run_error(vm, swallowing("while true do end")).message,
            "time limit exceeded");
}

TEST(limits, cancel_from_another_thread_stops_a_spinning_script) {
  state vm;
  std::atomic<bool> started{false};
  vm.ctl().print = [](void* ctx, std::string_view) noexcept {
    static_cast<std::atomic<bool>*>(ctx)->store(true);
  };
  vm.ctl().print_context = &started;
  std::thread canceller{[&] {
    while (!started.load()) std::this_thread::yield();
    vm.cancel();
  }};
  auto err = run_error(vm,
                       "print('started') " + swallowing("while true do end"));
  canceller.join();
  EXPECT_EQ(err.message, "cancelled");
  EXPECT_NE(err.traceback.find("stack traceback:"), std::string::npos);
}

TEST(limits, a_tripped_state_stays_stopped) {
  state vm = limited(0, 100000);
  run_error(vm, "while true do end");
  EXPECT_EQ(run_error(vm, "local x = 1 for i = 1, 10 do x = x + i end").message,
            "instruction limit exceeded");
}

TEST(limits, finalizers_are_refused_because_no_hook_could_stop_them) {
  state vm;
  EXPECT_EQ(run_error(vm, "setmetatable({}, {__gc = function() while true do "
                          "end end})")
              .message,
            "test:1: setmetatable: __gc metamethods are not allowed "
            "(finalizers cannot be interrupted)");
  EXPECT_EQ(run_error(vm, "setmetatable({}, setmetatable({__gc = false}, "
                          "{__index = {}}))")
              .message,
            "test:1: setmetatable: __gc metamethods are not allowed "
            "(finalizers cannot be interrupted)");
  // A __gc added after setmetatable does not mark the object for finalization
  // (Lua's rule), so it never runs.
  std::atomic<int> printed{0};
  vm.ctl().print = [](void* ctx, std::string_view) noexcept {
    ++*static_cast<std::atomic<int>*>(ctx);
  };
  vm.ctl().print_context = &printed;
  troupe::test::run(vm, "local mt = {} setmetatable({}, mt) mt.__gc = "
                        "function() print('finalized') end "
                        "collectgarbage() collectgarbage()");
  EXPECT_EQ(printed.load(), 0);
  EXPECT_TRUE(troupe::test::check(vm, "return getmetatable(setmetatable({}, "
                                      "{__index = {x = 1}})).__index.x == 1"));
}

namespace {

// Decodes the bytes a light userdata points at (a std::string_view), as an
// actor decodes its inbox.
int decode_argument(lua_State* L) {
  auto* bytes = static_cast<std::string_view*>(lua_touserdata(L, 1));
  auto st = troupe::serialization::decode(L, *bytes, {});
  return st ? 1 : 0;
}

} // namespace

TEST(limits, decoding_past_the_memory_cap_is_the_states_error_not_a_crash) {
  state big;
  troupe::test::run(big, "t = {} for i = 1, 20000 do t[i] = i + 0.5 end");
  lua_getglobal(big.get(), "t");
  troupe::serialization::lua_encoder encoder;
  troupe::serialization::byte_sink sink;
  ASSERT_TRUE(encoder.encode(big.get(), -1, sink));
  lua_pop(big.get(), 1);

  state small = limited(64 * 1024);
  lua_State* L = small.get();
  lua_pushcfunction(L, decode_argument);
  std::string_view bytes = sink.view();
  lua_pushlightuserdata(L, &bytes);
  auto err = small.pcall(1, 1);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->message, "memory limit exceeded");
  EXPECT_EQ(lua_gettop(L), 0);
}
