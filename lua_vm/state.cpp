// lua_vm::state (see state.hpp).
#include "lua_vm/state.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "lua_vm/allocator.hpp"
#include "lua_vm/chunk.hpp"
#include "lua_vm/interrupt.hpp"
#include "lua_vm/sandbox.hpp"
#include "troupe/error.hpp"

namespace troupe::lua_vm {

namespace {

// Every call into Lua that can raise runs protected, so reaching this is a bug
// in troupe: say so and stop.
int panic(lua_State* L) {
  const char* msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                                                   : "(not a string)";
  std::fprintf(stderr, "troupe: unprotected Lua error (a bug in troupe): %s\n",
               msg);
  std::abort();
}

void print_to_stdout(void*, std::string_view line) noexcept {
  // One write per line: stdio's stream lock keeps lines from different threads
  // whole.
  std::fprintf(stdout, "%.*s\n", static_cast<int>(line.size()), line.data());
  std::fflush(stdout);
}

} // namespace

state::state(const state_config& config)
    : control_(std::make_unique<control>()) {
  control& c = *control_;
  c.memory_cap = config.limits.memory;
  c.instruction_budget = config.limits.instructions;
  c.print = config.print != nullptr ? config.print : print_to_stdout;
  c.print_context = config.print_context;
  if (config.cancel) c.cancel = config.cancel;
  c.modules = config.modules;
  c.functions = config.functions;
  c.dicts = config.dicts;
  reserve_slab(c);
  L_ = lua_newstate(counting_alloc, &c);
  if (L_ == nullptr) {
    if (c.memory_cap != 0)
      throw limit_error{
        "memory limit exceeded: the limit is too small for a Lua state"};
    throw std::bad_alloc{};
  }
  *static_cast<control**>(lua_getextraspace(L_)) = &c;
  c.root = L_;
  lua_atpanic(L_, panic);
  lua_pushcfunction(L_, open_safe_libraries);
  if (lua_pcall(L_, 0, 0, 0) != LUA_OK) {
    close();
    if (c.memory_cap != 0)
      throw limit_error{
        "memory limit exceeded: the limit is too small for the Lua libraries"};
    throw std::bad_alloc{};
  }
  learn_slab_size(c.slab_wanted);
  c.retry_pending = false;
  c.tripped = stop_reason::none;
  c.wall_time = std::chrono::duration_cast<clock::duration>(
    config.limits.wall_time);
  arm_hook(L_);
}

state::state(state&& other) noexcept
    : control_(std::move(other.control_)), L_(other.L_) {
  other.L_ = nullptr;
}

state& state::operator=(state&& other) noexcept {
  if (this != &other) {
    close();
    control_ = std::move(other.control_);
    L_ = other.L_;
    other.L_ = nullptr;
  }
  return *this;
}

state::~state() {
  close();
}

void state::close() noexcept {
  if (L_ != nullptr) {
    lua_close(L_);
    L_ = nullptr;
  }
}

std::optional<error_info> state::load(const bytecode& bc) {
  if (lua_vm::load(L_, bc) == LUA_OK) return std::nullopt;
  return pop_error(L_);
}

std::optional<error_info> state::pcall(int nargs, int nresults) {
  control& c = *control_;
  if (c.wall_time.count() > 0 && c.deadline == clock::time_point::max())
    c.deadline = clock::now() + c.wall_time;
  int base = lua_gettop(L_) - nargs;
  lua_pushcfunction(L_, traceback_handler);
  lua_insert(L_, base);
  int status = lua_pcall(L_, nargs, nresults, base);
  lua_remove(L_, base);
  if (status == LUA_OK) return std::nullopt;
  return pop_error(L_);
}

} // namespace troupe::lua_vm
