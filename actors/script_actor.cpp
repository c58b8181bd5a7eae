// The script actor (see script_actor.hpp).
#include "actors/script_actor.hpp"

#include <caf/send.hpp>

#include "actors/messages.hpp"
#include "actors/worker_end.hpp"
#include "lua_vm/chunk.hpp"
#include "lua_vm/interrupt.hpp"
#include "serialization/value_codec.hpp"

namespace troupe::detail {

namespace {

// [-0, +0] In protected mode: the worker module, and the root coroutine (kept
// in the registry).
int open_worker(lua_State* L) {
  auto* context = static_cast<lua_vm::worker_context*>(lua_touserdata(L, 1));
  lua_vm::open_worker_module(L, *context);
  lua_State* co = lua_newthread(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, co);
  lua_pushlightuserdata(L, co);
  return 1;
}

std::string encode_error(const std::string& message,
                         const std::string& traceback,
                         const char* kind = nullptr) {
  return encode_end_error({message, traceback, kind, {}});
}

const char* failure_kind(lua_vm::control& c, const std::string& message) {
  switch (c.tripped) {
    case lua_vm::stop_reason::memory:
    case lua_vm::stop_reason::instructions: return "limit";
    case lua_vm::stop_reason::deadline: return "timeout";
    case lua_vm::stop_reason::cancelled: return "cancelled";
    case lua_vm::stop_reason::none: break;
  }
  if (c.denied && message.find("permission denied: ") != std::string::npos)
    return "permission";
  return nullptr;
}

} // namespace

script_actor::script_actor(caf::actor_config& config, script_init init)
    : caf::event_based_actor(config), init_(std::move(init)) {}

script_actor::~script_actor() = default;

caf::behavior script_actor::make_behavior() {
  set_down_handler([this](caf::down_msg& msg) { on_down(msg); });
  // Whatever a handler throws (bad_alloc included) is this worker's failure,
  // never CAF's "unhandled exception" with the end lost.
  set_exception_handler([this](caf::scheduled_actor*, std::exception_ptr& e) {
    fail_from(e);
    return caf::make_error(caf::sec::runtime_error);
  });
  if (init_.request.parent) monitor(init_.request.parent);
  // CAF tries the handlers in order: the per-message ones come first.
  return {
    [this](mail_atom) {
      collect_mail();
      wake_if_ready();
    },
    [this](start_atom) { start(); },
    [this](child_end_atom, worker_id id, bool ok, std::string& bytes,
           bool cancelled) {
      // The child posted all its messages before it sent its end.
      collect_mail();
      if (auto i = children_.find(id); i != children_.end()) {
        child_ids_.erase(i->second.actor.id());
        children_.erase(i);
      }
      if (context_) {
        context_->children.on_end(id, {ok, std::move(bytes), cancelled});
        wake_if_ready();
      }
    },
    [this](cancel_atom) { stop_script(lua_vm::stop_reason::cancelled); },
    [this](deadline_atom) { stop_script(lua_vm::stop_reason::deadline); },
    [this](retire_atom) {
      if (context_) {
        context_->parent_gone = true;
        wake_if_ready();
      }
    },
    [this](continue_atom) {
      if (!finished_ && co_ != nullptr && lua_status(co_) == LUA_YIELD
          && context_->wait.kind == lua_vm::wait_state::none)
        run(0);
    },
    [this](timer_atom, std::uint64_t token) {
      if (context_ && context_->on_timer(token)) wake_if_ready();
    },
  };
}

void script_actor::on_exit() {
  if (!finished_) fail_from(nullptr);
  init_.shared->box.close();
  co_ = nullptr;
  vm_.reset();
  context_.reset();
  children_.clear();
  child_ids_.clear();
}

void script_actor::start() {
  if (started_) return;
  started_ = true;
  if (init_.shared->cancel.load()) {
    finish(false, encode_error("cancelled", "", "cancelled"), true);
    return;
  }
  try {
    lua_vm::state_config config;
    config.print = runtime_core::print_to;
    config.print_context = init_.core;
    config.cancel = cancel_flag(init_.shared);
    config.limits = init_.request.limits;
    vm_.emplace(config);
    started_at_ = lua_vm::clock::now();
    if (auto limit = init_.request.limits.wall_time; limit.count() > 0) {
      // The hook ends a running script at the deadline; the timer one that
      // waits.
      vm_->ctl().deadline = started_at_
                            + std::chrono::duration_cast<
                              lua_vm::clock::duration>(limit);
      delayed_send(this, limit, deadline_atom::value);
    }
    context_ = std::make_unique<
      lua_vm::worker_context>(*this, serialization::limits{});
    // Moved: an idle worker keeps one copy of each.
    vm_->ctl().permissions = std::move(init_.request.permissions);
    vm_->ctl().home = std::move(init_.request.dir);
  } catch (const std::exception& e) {
    finish_with_error(e.what(), "");
    return;
  }
  lua_State* L = vm_->get();
  lua_pushcfunction(L, open_worker);
  lua_pushlightuserdata(L, context_.get());
  if (auto err = vm_->pcall(1, 1)) {
    finish_with_error(err->message, err->traceback);
    return;
  }
  co_ = static_cast<lua_State*>(lua_touserdata(L, -1));
  lua_pop(L, 1);
  vm_->ctl().root = co_;
  lua_pushcfunction(co_, lua_vm::run_chunk);
  if (lua_vm::load(co_, init_.request.chunk) != LUA_OK) {
    finish_with_error("not enough memory to load the script", "");
    return;
  }
  lua_pushlightuserdata(co_, &init_.request.args);
  run(2);
  // The first resume decoded the arguments and loaded the chunk: an idle
  // worker need not keep them.
  init_.request.args = std::string{};
  init_.request.chunk = bytecode{};
}

void script_actor::run(int nargs) {
  int results = 0;
  lua_vm::start_slice(vm_->ctl(), init_.core->config.time_slice);
  vm_->ctl().host_yield = false;
  int status = lua_resume(co_, vm_->get(), nargs, &results);
  if (status == LUA_YIELD) {
    lua_pop(co_, results);
    // Preempted: come back after whatever else waits for this thread.
    if (vm_->ctl().preempted) send(this, continue_atom::value);
    return;
  }
  if (status == LUA_OK) {
    if (context_->encoder.encode_values(co_, 1, results, context_->sink)) {
      finish(true, std::string{context_->sink.view()});
    } else {
      finish_with_error("the worker's return values cannot be sent: "
                          + context_->encoder.error().describe(1),
                        "");
    }
    return;
  }
  std::string raised;
  if (lua_vm::encode_error_value(co_, context_->encoder, context_->sink))
    raised = context_->sink.view();
  auto err = lua_vm::coroutine_error(vm_->get(), co_);
  finish_with_error(std::move(err.message), std::move(err.traceback),
                    std::move(raised));
}

void script_actor::collect_mail() {
  init_.shared->box.collect(mail_);
  if (context_) {
    post_box::for_each(mail_,
                       [this](post_box::sender from, std::string_view bytes) {
                         if (from == 0)
                           context_->inbox.push_back(bytes);
                         else if (!context_->children.on_message(from, bytes))
                           message_taken(from, bytes.size());
                       });
  }
  // The buffer goes back to the box for its next posts, unless a burst left
  // it far larger than the mail now needs.
  if (lua_vm::byte_queue::outgrown(mail_, mail_.size()))
    std::string{}.swap(mail_);
}

void script_actor::wake_if_ready() {
  if (finished_ || co_ == nullptr || lua_status(co_) != LUA_YIELD) return;
  if (context_->wait.kind != lua_vm::wait_state::none && context_->ready())
    run(0);
}

void script_actor::stop_script(lua_vm::stop_reason reason) {
  if (finished_ || !started_ || co_ == nullptr) return;
  if (lua_status(co_) == LUA_YIELD) {
    lua_vm::trip_and_arm(co_, reason);
    run(0);
  }
}

void script_actor::finish(bool ok, std::string bytes, bool cancelled) {
  if (finished_) return;
  finished_ = true;
  // Counted before the end is posted, so whoever sees the end also sees the
  // counters updated.
  init_.core->worker_ended(init_.id, ok);
  if (init_.request.parent) {
    send(init_.request.parent, child_end_atom::value, init_.id, ok,
         std::move(bytes), cancelled);
    // The monitor sits on the parent and holds this actor's memory (CAF keeps
    // an actor's storage while anything refers to its address) until the
    // parent ends: a long-lived parent would keep every child it ever had.
    demonitor(init_.request.parent);
  } else {
    init_.core->post_end(init_.id, {ok, std::move(bytes), cancelled});
  }
  quit();
}

void script_actor::finish_with_error(std::string message, std::string traceback,
                                     std::string raised) {
  const char* kind = vm_ ? failure_kind(vm_->ctl(), message) : nullptr;
  bool cancelled = vm_ && vm_->ctl().tripped == lua_vm::stop_reason::cancelled;
  finish(false,
         encode_end_error(
           {std::move(message), std::move(traceback), kind, std::move(raised)}),
         cancelled);
}

void script_actor::fail_from(std::exception_ptr e) noexcept {
  if (finished_) return;
  std::string why = "worker ended unexpectedly";
  try {
    if (e) std::rethrow_exception(e);
  } catch (const std::bad_alloc&) {
    why = "not enough memory";
  } catch (const std::exception& x) {
    why = x.what();
  } catch (...) {
    why = "an unknown exception";
  }
  try {
    finish(false, encode_error("troupe: " + why, ""));
  } catch (...) {
    // Out of memory even for that: a script parent's down message reports it.
    if (!finished_) {
      finished_ = true;
      init_.core->worker_ended(init_.id, false);
    }
    quit();
  }
}

void script_actor::on_down(const caf::down_msg& msg) {
  if (!context_) return;
  // What the parent or a child posted before it went is queued first.
  collect_mail();
  if (init_.request.parent && msg.source.id() == init_.request.parent.id()) {
    context_->parent_gone = true;
    init_.core->cancel_later(cancel_flag(init_.shared), address(),
                             init_.core->config.orphan_grace);
    wake_if_ready();
    return;
  }
  // A child that ended normally has gone from child_ids_ with its end.
  auto i = child_ids_.find(msg.source.id());
  if (i == child_ids_.end()) return;
  worker_id id = i->second;
  child_ids_.erase(i);
  children_.erase(id);
  if (!context_->children.dead(id)) {
    context_->children.on_end(id, {false, encode_error("worker ended "
                                                       "unexpectedly",
                                                       "")});
    wake_if_ready();
  }
}

} // namespace troupe::detail
