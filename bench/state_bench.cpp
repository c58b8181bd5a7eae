// The cost of a sandboxed state: creating one with the safe libraries, and the
// bytes it holds afterwards.
#include <benchmark/benchmark.h>

#include "lua_vm/state.hpp"

namespace {

void state_create(benchmark::State& s) {
  std::size_t bytes = 0;
  for (auto _ : s) {
    troupe::lua_vm::state vm;
    bytes = vm.memory_used();
    benchmark::DoNotOptimize(vm.get());
  }
  s.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(state_create);

} // namespace

namespace {

// The floor in the same run: a bare state with Lua's standard libraries,
// default allocator, no sandboxing.
void floor_state_openlibs(benchmark::State& s) {
  for (auto _ : s) {
    lua_State* L = luaL_newstate();
    luaL_openlibs(L);
    benchmark::DoNotOptimize(L);
    lua_close(L);
  }
}
BENCHMARK(floor_state_openlibs);

} // namespace
