// The script runner (see script_runner.hpp). Everything that can raise runs
// protected: opening the module (and the host table) in a state::pcall, the
// chunk's arguments decoded inside the root coroutine (run_chunk).
#include "lua_vm/script_runner.hpp"

#include "lua_vm/chunk.hpp"
#include "lua_vm/error_value.hpp"
#include "lua_vm/host_functions.hpp"
#include "lua_vm/interrupt.hpp"
#include "lua_vm/worker_end.hpp"
#include "troupe/error.hpp"

namespace troupe::lua_vm {

namespace {

// [-0, +1] In protected mode: the worker module, and the root coroutine (kept
// in the registry).
int open_worker(lua_State* L) {
  auto* context = static_cast<worker_context*>(lua_touserdata(L, 1));
  open_worker_module(L, *context);
  open_host_table(L, &context->handles);
  lua_State* co = lua_newthread(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, co);
  lua_pushlightuserdata(L, co);
  return 1;
}

} // namespace

script_end failed_end(std::string message, failure kind) {
  return {false, encode_end_error({std::move(message), "", kind, {}}),
          kind == failure::cancelled};
}

script_runner::script_runner(worker_transport& transport,
                             script_runner_config config)
    : time_slice_(config.time_slice), meters_(config.meters) {
  vm_.emplace(config.state);
  context_ = std::make_unique<worker_context>(transport,
                                              serialization::limits{},
                                              config.identity);
  control& c = vm_->ctl();
  c.deadline = config.deadline;
  // Moved: an idle worker keeps one copy of each.
  c.permissions = std::move(config.permissions);
  c.home = std::move(config.home);
  lua_State* L = vm_->get();
  lua_pushcfunction(L, open_worker);
  lua_pushlightuserdata(L, context_.get());
  if (auto err = vm_->pcall(1, 1)) {
    if (classify(c, err->message) == failure::limit)
      throw limit_error{err->message};
    throw error{"troupe: cannot open the worker module: " + err->message};
  }
  co_ = static_cast<lua_State*>(lua_touserdata(L, -1));
  lua_pop(L, 1);
  c.root = co_;
}

script_runner::~script_runner() = default;

run_status script_runner::start(const bytecode& chunk,
                                const std::string& args) {
  if (started_) return status_;
  started_ = true;
  lua_pushcfunction(co_, run_chunk);
  if (load(co_, chunk) != LUA_OK) {
    lua_settop(co_, 0);
    end_failed("not enough memory to load the script", "");
    return status_;
  }
  lua_pushlightuserdata(co_, const_cast<std::string*>(&args));
  run(2);
  return status_;
}

bool script_runner::resume() {
  if (!started_ || status_ != run_status::preempted) return false;
  run(0);
  return true;
}

bool script_runner::wake() {
  if (!started_ || status_ != run_status::waiting || !context_->ready())
    return false;
  run(0);
  return true;
}

bool script_runner::stop(stop_reason reason) {
  if (!started_ || status_ == run_status::ended) return false;
  trip_and_arm(co_, reason);
  run(0);
  return true;
}

void script_runner::run(int nargs) {
  control& c = vm_->ctl();
  start_slice(c, time_slice_);
  c.host_yield = false;
  int results = 0;
  std::uint64_t began = meters_ != nullptr ? cycle_count() : 0;
  int status = lua_resume(co_, vm_->get(), nargs, &results);
  if (status == LUA_YIELD) {
    lua_pop(co_, results);
    status_ = c.preempted ? run_status::preempted : run_status::waiting;
  } else if (status == LUA_OK) {
    end_with_values(results);
  } else {
    end_with_error();
  }
  if (meters_ != nullptr) {
    worker_meters::add(meters_->busy, cycle_count() - began);
    meters_->memory.store(c.used, std::memory_order_relaxed);
    meters_->waiting.store(status_ == run_status::waiting,
                           std::memory_order_relaxed);
  }
}

void script_runner::end_with_values(int results) {
  if (context_->encoder.encode_values(co_, 1, results, context_->sink)) {
    status_ = run_status::ended;
    end_ = {true, std::string{context_->sink.view()}, false};
  } else {
    end_failed("the worker's return values cannot be sent: "
                 + context_->encoder.error().describe(1),
               "");
  }
  lua_settop(co_, 0);
}

void script_runner::end_with_error() {
  std::string raised;
  if (encode_error_value(co_, context_->encoder, context_->sink))
    raised = context_->sink.view();
  auto err = coroutine_error(vm_->get(), co_);
  end_failed(std::move(err.message), std::move(err.traceback),
             std::move(raised));
}

void script_runner::end_failed(std::string message, std::string traceback,
                               std::string raised) {
  failure kind = classify(vm_->ctl(), message);
  status_ = run_status::ended;
  end_ = {false,
          encode_end_error({std::move(message), std::move(traceback), kind,
                            std::move(raised)}),
          kind == failure::cancelled};
}

} // namespace troupe::lua_vm
