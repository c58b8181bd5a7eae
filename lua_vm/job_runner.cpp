// The job runner (see job_runner.hpp). Everything that can raise a Lua error
// runs protected: loading and caching a function in a state::pcall, the job
// itself (its globals and `ctx` included) inside the job coroutine.
#include "lua_vm/job_runner.hpp"

#include <algorithm>

#include "lua_vm/chunk.hpp"
#include "lua_vm/host_functions.hpp"
#include "lua_vm/interrupt.hpp"
#include "lua_vm/isolation.hpp"
#include "lua_vm/modules.hpp"
#include "lua_vm/sandbox.hpp"
#include "lua_vm/worker_dicts.hpp"
#include "serialization/value_codec.hpp"
#include "troupe/error.hpp"

namespace troupe::lua_vm {

namespace {

// Lua 5.4's own collector settings (lgc.h): what a job's collectgarbage calls
// are undone to.
constexpr int gc_pause = 200;
constexpr int gc_step_multiplier = 100;
constexpr int gc_step_size = 13;

// Registry key (its address) of the job coroutine, kept alive there.
char coroutine_key;

// In protected mode: [bytecode*, ref to drop] -> [ref of the loaded function].
int load_function(lua_State* L) {
  const auto* chunk = static_cast<const bytecode*>(lua_touserdata(L, 1));
  auto drop = static_cast<int>(lua_tointeger(L, 2));
  if (drop != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, drop);
  if (load(L, *chunk) != LUA_OK) return lua_error(L);
  lua_pushinteger(L, luaL_ref(L, LUA_REGISTRYINDEX));
  return 1;
}

// In protected mode: a new job coroutine, replacing the last one.
int make_coroutine(lua_State* L) {
  lua_State* co = lua_newthread(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &coroutine_key);
  lua_pushlightuserdata(L, co);
  return 1;
}

// [-1, +0] In protected mode: the state's handle types.
int open_handles(lua_State* L) {
  static_cast<plain_handles*>(lua_touserdata(L, 1))->open(L);
  return 0;
}

int open_host(lua_State* L) {
  open_host_table(L, static_cast<const serialization::lua_handles*>(
                       lua_touserdata(L, 1)));
  open_job_dicts(L);
  return 0;
}

int job_continue(lua_State* L, int, lua_KContext) {
  return lua_gettop(L);
}

// [-0, +1, e] The job's ctx table, decoded from `ctx` (empty: an empty
// table).
void push_ctx(lua_State* L, std::string_view ctx,
              const serialization::lua_handles* handles) {
  if (ctx.empty()) {
    lua_newtable(L);
    return;
  }
  auto status = serialization::decode(L, ctx, serialization::limits{}, handles);
  if (!status) {
    char buf[96];
    luaL_error(L, "job context: %s",
               serialization::describe(status, buf, sizeof buf));
  }
}

// The job coroutine's body: [function, string_view* ctx, isolate,
// lua_handles* (or nullptr), string_view* args].
int job_main(lua_State* L) {
  const auto* ctx = static_cast<const std::string_view*>(lua_touserdata(L, 2));
  bool isolate = lua_toboolean(L, 3) != 0;
  const auto* handles = static_cast<const serialization::lua_handles*>(
    lua_touserdata(L, 4));
  const auto* args = static_cast<const std::string_view*>(lua_touserdata(L, 5));
  lua_settop(L, 1);
  if (isolate)
    push_job_globals(L);
  else
    lua_pushglobaltable(L);
  push_ctx(L, *ctx, handles);
  lua_setfield(L, -2, "ctx");
  if (isolate) set_globals(L, -1);
  lua_setupvalue(L, 1, 1);
  int count = 0;
  if (!args->empty()) {
    auto status = serialization::decode_values(L, *args,
                                               serialization::limits{}, count,
                                               handles);
    if (!status) {
      char buf[96];
      return luaL_error(L, "job arguments: %s",
                        serialization::describe(status, buf, sizeof buf));
    }
  }
  lua_callk(L, count, LUA_MULTRET, 0, job_continue);
  return job_continue(L, LUA_OK, 0);
}

} // namespace

job_runner::job_runner(job_runner_config config) : config_(std::move(config)) {
  config_.cache_size = std::max<std::size_t>(config_.cache_size, 1);
  make_state();
}

job_runner::~job_runner() = default;

void job_runner::make_state() {
  state_config sc;
  sc.limits.memory = config_.memory_limit;
  sc.print = config_.print;
  sc.print_context = config_.print_context;
  sc.modules = config_.modules;
  sc.functions = config_.functions;
  sc.dicts = config_.dicts;
  sc.cancel = config_.cancel;
  state fresh{sc};
  fresh.ctl().permissions = config_.permissions;
  fresh.ctl().home = config_.home;
  auto handles = std::make_unique<plain_handles>(config_.handle_tag);
  // Before isolation, which puts the host and worker tables behind a proxy as
  // it does the libraries.
  lua_pushcfunction(fresh.get(), open_host);
  lua_pushlightuserdata(fresh.get(), const_cast<serialization::lua_handles*>(
                                       handles->hooks()));
  if (fresh.pcall(1, 0))
    throw limit_error{"memory limit exceeded: the limit is too small for "
                      "a job's state"};
  if (config_.isolate) {
    lua_pushcfunction(fresh.get(), install_isolation);
    if (fresh.pcall(0, 0))
      throw limit_error{"memory limit exceeded: the limit is too small for "
                        "a job's state"};
  }
  if (handles->hooks() != nullptr) {
    lua_pushcfunction(fresh.get(), open_handles);
    lua_pushlightuserdata(fresh.get(), handles.get());
    if (fresh.pcall(1, 0))
      throw limit_error{"memory limit exceeded: the limit is too small for "
                        "a job's state"};
  }
  cache_.clear();
  recent_.clear();
  last_ref_ = LUA_NOREF;
  vm_ = std::move(fresh);
  handles_ = std::move(handles);
  encoder_.use_handles(handles_->hooks());
  if (!new_coroutine())
    throw limit_error{
      "memory limit exceeded: the limit is too small for a job's state"};
  collected_size_ = vm_->memory_used();
}

bool job_runner::new_coroutine() {
  lua_State* L = vm_->get();
  lua_pushcfunction(L, make_coroutine);
  if (vm_->pcall(0, 1)) return false;
  co_ = static_cast<lua_State*>(lua_touserdata(L, -1));
  lua_pop(L, 1);
  vm_->ctl().root = co_;
  return true;
}

bool job_runner::push_function(const bytecode& chunk) {
  lua_State* L = vm_->get();
  const void* key = &bytecode_access::get(chunk);
  if (auto i = cache_.find(key); i != cache_.end()) {
    recent_.splice(recent_.begin(), recent_, i->second.position);
    last_ref_ = i->second.ref;
    lua_rawgeti(L, LUA_REGISTRYINDEX, last_ref_);
    return true;
  }
  int drop = LUA_NOREF;
  if (cache_.size() >= config_.cache_size) {
    auto last = cache_.find(recent_.back());
    drop = last->second.ref;
    recent_.pop_back();
    cache_.erase(last);
  }
  lua_pushcfunction(L, load_function);
  lua_pushlightuserdata(L, const_cast<bytecode*>(&chunk));
  lua_pushinteger(L, drop);
  if (auto err = vm_->pcall(2, 1)) {
    outcome_.error = std::move(*err);
    outcome_.stop = vm_->ctl().tripped;
    outcome_.kind = failure_of(outcome_.stop);
    return false;
  }
  auto ref = static_cast<int>(lua_tointeger(L, -1));
  lua_pop(L, 1);
  ++loads_;
  recent_.push_front(key);
  cache_.emplace(key, cached{chunk, ref, recent_.begin()});
  last_ref_ = ref;
  lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
  return true;
}

bool job_runner::start(const bytecode& chunk, std::string_view ctx,
                       clock::time_point deadline, std::string_view args) {
  outcome_ = job_outcome{};
  vm_->ctl().deadline = deadline;
  if (!push_function(chunk)) return true;
  lua_pushcfunction(co_, job_main);
  lua_xmove(vm_->get(), co_, 1);
  lua_pushlightuserdata(co_, &ctx);
  lua_pushboolean(co_, config_.isolate ? 1 : 0);
  lua_pushlightuserdata(co_, const_cast<serialization::lua_handles*>(
                               handles_->hooks()));
  lua_pushlightuserdata(co_, &args);
  return run(5);
}

bool job_runner::resume() {
  return run(0);
}

bool job_runner::run(int nargs) {
  control& c = vm_->ctl();
  start_slice(c, config_.time_slice);
  c.host_yield = false;
  int results = 0;
  int status = lua_resume(co_, vm_->get(), nargs, &results);
  // Only preemption yields the job coroutine (coroutine.yield refuses it).
  if (status == LUA_YIELD) {
    lua_pop(co_, results);
    return false;
  }
  finish(status, results);
  return true;
}

void job_runner::finish(int status, int results) {
  control& c = vm_->ctl();
  if (status != LUA_OK) {
    if (encode_error_value(co_, encoder_, sink_)) {
      try {
        outcome_.raised = serialization::decode_value(sink_.view(), {},
                                                      config_.value_handles);
      } catch (const codec_error&) {
        // Not one value troupe reads back: the error goes without it.
      }
    }
    outcome_.error = coroutine_error(vm_->get(), co_);
    outcome_.stop = c.tripped;
    outcome_.kind = classify(c, outcome_.error.message);
    return;
  }
  if (c.tripped != stop_reason::none) {
    outcome_.error = {stop_message(c.tripped), ""};
    outcome_.stop = c.tripped;
    outcome_.kind = failure_of(c.tripped);
  } else if (!encoder_.encode_values(co_, 1, results, sink_)) {
    outcome_.error = {"the job's return values cannot be sent: "
                        + encoder_.error().describe(1),
                      ""};
  } else {
    value all = serialization::decode_value(sink_.view(), {},
                                            config_.value_handles);
    auto& items = all.as_array();
    if (items.size() == 1)
      outcome_.result = std::move(items.front());
    else if (!items.empty())
      outcome_.result = std::move(all);
    outcome_.ok = true;
  }
  lua_settop(co_, 0);
}

// The cached function keeps the last job's globals as its _ENV: point it back
// at the pristine globals, so what the job left there can be collected.
void job_runner::forget_job_globals() noexcept {
  if (last_ref_ == LUA_NOREF) return;
  lua_State* L = vm_->get();
  lua_rawgeti(L, LUA_REGISTRYINDEX, last_ref_);
  lua_pushglobaltable(L);
  lua_setupvalue(L, -2, 1);
  lua_pop(L, 1);
  last_ref_ = LUA_NOREF;
}

void job_runner::end_job() {
  control& c = vm_->ctl();
  lua_State* L = vm_->get();
  stop_reason stop = c.tripped;
  bool coroutine_dead = lua_status(co_) != LUA_OK || stop != stop_reason::none;
  if (config_.isolate) {
    restore_globals(L);
    forget_job_globals();
  }
  c.tripped = stop_reason::none;
  c.retry_pending = false;
  c.cap_refused = false;
  c.deadline = clock::time_point::max();
  c.slice_end = clock::time_point::max();
  c.preempted = false;
  c.host_yield = false;
  c.chain_yieldable = true;
  c.warnings_on = false;
  c.executed = 0;
  c.denied = false;
  // Restarting also zeroes the collector's debt, which forces a step at the
  // next allocation: only when a job really stopped it.
  if (lua_gc(L, LUA_GCISRUNNING) == 0) lua_gc(L, LUA_GCRESTART);
  lua_gc(L, LUA_GCINC, gc_pause, gc_step_multiplier, gc_step_size);
  // Modules a job required are shared state too: the next job must load its
  // own.
  if (config_.isolate && modules_loaded(L)) c.shared_state_changed = true;
  if (c.shared_state_changed) {
    ++replacements_;
    make_state();
    return;
  }
  if (stop != stop_reason::none) arm_hook(L);
  if (coroutine_dead && !new_coroutine()) {
    make_state();
    return;
  }
  if (stop == stop_reason::memory
      || c.used > collected_size_ + config_.collect_above) {
    lua_gc(L, LUA_GCCOLLECT);
    collected_size_ = c.used;
  }
}

} // namespace troupe::lua_vm
