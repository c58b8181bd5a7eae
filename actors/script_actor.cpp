// The script actor (see script_actor.hpp).
#include "actors/script_actor.hpp"

#include <caf/send.hpp>

#include "actors/caf_interop.hpp"
#include "actors/messages.hpp"
#include "serialization/value_codec.hpp"
#include "troupe/caf.hpp"
#include "troupe/error.hpp"

namespace troupe::detail {

namespace {

// Pending message timers past which an ending worker drops its entries from
// the runtime's queue at once (a pass over the whole queue).
constexpr std::size_t many_timers = 256;

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
  if (init_.request.parent) monitor(init_.request.parent.get());
  // CAF tries the handlers in order: the per-message ones come first.
  return {
    [this](mail_atom) {
      collect_mail();
      wake_if_ready();
    },
    // The same mail from an actor without a post box link (see
    // docs/decisions.md, "Addresses"): unbounded by the inbox's charge, which
    // only post box senders take.
    [this](envelope_atom, std::uint64_t from, std::uint64_t token,
           std::uint8_t kind, const std::string& bytes) {
      if (kind > static_cast<std::uint8_t>(mail_kind::name)) return;
      if (!runner_) return;
      auto k = static_cast<mail_kind>(kind);
      // Counted as a post box sender would have, for peek to give back.
      if (k == mail_kind::inbox) init_.shared->inbox.add(bytes.size());
      file({from, token, k}, bytes);
      wake_if_ready();
    },
    // From a CAF actor (troupe/caf.hpp).
    [this](value& v) { take_caf_value(v); },
    [this](start_atom) { start(); },
    [this](child_end_atom, worker_id id, bool ok, std::string& bytes,
           bool cancelled) {
      // The child posted all its messages before it sent its end.
      collect_mail();
      if (auto i = children_.find(id); i != children_.end()) {
        child_ids_.erase(i->second.actor.id());
        children_.erase(i);
      }
      if (runner_) {
        runner_->context().children.on_end(id,
                                           {ok, std::move(bytes), cancelled});
        wake_if_ready();
      }
    },
    [this](cancel_atom) {
      if (runner_ && runner_->stop(lua_vm::stop_reason::cancelled))
        after(runner_->status());
    },
    [this](deadline_atom) {
      if (runner_ && runner_->stop(lua_vm::stop_reason::deadline))
        after(runner_->status());
    },
    [this](retire_atom) {
      if (runner_) {
        runner_->context().parent_gone = true;
        wake_if_ready();
      }
    },
    [this](continue_atom) {
      if (runner_ && runner_->resume()) after(runner_->status());
    },
    [this](timer_atom, std::uint64_t token) {
      if (runner_ && runner_->context().on_timer(token)) wake_if_ready();
    },
  };
}

void script_actor::on_exit() {
  if (!finished_) fail_from(nullptr);
  init_.shared->box.close();
  runner_.reset();
  children_.clear();
  child_ids_.clear();
  peers_.clear();
}

void script_actor::start() {
  if (started_) return;
  started_ = true;
  if (init_.shared->cancel.load()) {
    finish(
      lua_vm::failed_end(lua_vm::stop_message(lua_vm::stop_reason::cancelled),
                         lua_vm::failure::cancelled));
    return;
  }
  try {
    lua_vm::script_runner_config config;
    config.state.print = runtime_core::print_to;
    config.state.print_context = init_.core;
    config.state.modules = init_.core->modules;
    config.state.functions = &init_.core->host_functions();
    config.state.dicts = &init_.core->dicts;
    config.meters = &init_.shared->meters;
    config.state.cancel = cancel_flag(init_.shared);
    config.state.limits = init_.request.limits;
    config.permissions = std::move(init_.request.permissions);
    config.home = std::move(init_.request.dir);
    config.time_slice = init_.core->config.time_slice;
    config.identity = {init_.id,
                       init_.request.parent_hidden ? 0
                                                   : init_.request.parent_id,
                       init_.core->tag, init_.request.supervises};
    started_at_ = lua_vm::clock::now();
    if (auto limit = init_.request.limits.wall_time; limit.count() > 0) {
      // The hook ends a running script at the deadline; the timer one that
      // waits.
      config.deadline = started_at_
                        + std::chrono::duration_cast<lua_vm::clock::duration>(
                          limit);
      delayed_send(this, limit, deadline_atom::value);
    }
    runner_.emplace(*this, std::move(config));
  } catch (const limit_error& e) {
    finish(lua_vm::failed_end(e.what(), lua_vm::failure::limit));
    return;
  } catch (const std::exception& e) {
    finish(lua_vm::failed_end(e.what()));
    return;
  }
  after(runner_->start(init_.request.chunk, init_.request.args));
  // The first run decoded the arguments and loaded the chunk: an idle worker
  // need not keep them.
  init_.request.args = std::string{};
  init_.request.chunk = bytecode{};
}

void script_actor::after(lua_vm::run_status status) {
  using lua_vm::run_status;
  // Preempted: come back after whatever else waits for this thread.
  if (status == run_status::preempted) send(this, continue_atom::value);
  if (status == run_status::ended) finish(runner_->take_end());
}

void script_actor::file(const mail_header& h, std::string_view bytes) {
  auto& context = runner_->context();
  if (h.kind <= mail_kind::reply)
    lua_vm::worker_meters::add(init_.shared->meters.messages_in);
  switch (h.kind) {
    case mail_kind::inbox:
      context.push_inbox({h.from, h.token, lua_vm::inbox_meta::message}, bytes);
      break;
    case mail_kind::from_child:
      if (context.identity.supervises) {
        // A supervisor takes its children's messages from its inbox, to pass
        // them on; they count against the child's bound until taken.
        context.push_inbox({h.from, 0, lua_vm::inbox_meta::child_message},
                           bytes);
      } else if (!context.children.on_message(h.from, bytes)) {
        message_taken(h.from, bytes.size());
      }
      break;
    case mail_kind::reply: context.on_reply(h.token, bytes); break;
    case mail_kind::down_ok:
    case mail_kind::down_failed:
      context.on_down(h.from, h.token, h.kind == mail_kind::down_ok, bytes);
      break;
    case mail_kind::name: context.on_name(); break;
    case mail_kind::timer:
      // Counted as a post box sender would have, for peek to give back.
      if (auto size = context.on_message_timer(h.token)) {
        init_.shared->inbox.add(size);
        lua_vm::worker_meters::add(init_.shared->meters.messages_in);
      }
      break;
  }
}

void script_actor::take_caf_value(const value& v) {
  if (!runner_ || finished_) {
    refuse_caf_value(*init_.core, init_.id, *this, "the worker has ended");
    return;
  }
  serialization::byte_sink sink;
  try {
    serialization::encode(v, sink, {}, &init_.core->value_handles());
  } catch (const std::exception& e) {
    refuse_caf_value(*init_.core, init_.id, *this, e.what());
    return;
  }
  auto h = caf_header(*init_.core, init_.id, *this);
  // Counted as a post box sender would have, for peek to give back.
  init_.shared->inbox.add(sink.size());
  file(h, sink.view());
  ++init_.core->messages;
  wake_if_ready();
}

void script_actor::collect_mail() {
  init_.shared->box.collect(mail_);
  if (runner_)
    post_box::for_each(mail_, [&](const mail_header& h,
                                  std::string_view bytes) { file(h, bytes); });
  // The buffer goes back to the box for its next posts, unless a burst left
  // it far larger than the mail now needs.
  if (lua_vm::byte_queue::outgrown(mail_, mail_.size()))
    std::string{}.swap(mail_);
}

void script_actor::wake_if_ready() {
  if (runner_ && !finished_ && runner_->wake()) after(runner_->status());
}

void script_actor::finish(lua_vm::script_end end) {
  if (finished_) return;
  finished_ = true;
  // Counted before the end is posted, so whoever sees the end also sees the
  // counters updated. Gone from the directory first, then its names, so no
  // one finds it any more; the box refuses what is sent from now on, and
  // those who watch its end learn it after everything it sent them.
  init_.core->worker_ended(init_.id, end.ok);
  init_.core->drop_names(init_.id, awaited_name_);
  // Pending timers of an ended worker find no one when they fire; many are
  // dropped at once instead of waiting in the runtime's queue until due.
  if (runner_ && runner_->context().message_timers
      && runner_->context().message_timers->pending.size() >= many_timers)
    init_.core->drop_message_timers(init_.id);
  init_.shared->box.close();
  init_.core->notify_end(init_.id, *init_.shared, end.ok, end.bytes);
  if (init_.request.parent) {
    send(init_.request.parent.get(), child_end_atom::value, init_.id, end.ok,
         std::move(end.bytes), end.cancelled);
    // The monitor sits on the parent and holds this actor's memory (CAF keeps
    // an actor's storage while anything refers to its address) until the
    // parent ends: a long-lived parent would keep every child it ever had.
    demonitor(init_.request.parent.get());
  } else {
    init_.core->post_end(init_.id,
                         {end.ok, std::move(end.bytes), end.cancelled});
  }
  quit();
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
    finish(lua_vm::failed_end("troupe: " + why));
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
  if (!runner_) return;
  auto& context = runner_->context();
  // What the parent or a child posted before it went is queued first.
  collect_mail();
  if (init_.request.parent && msg.source.id() == init_.request.parent.id()) {
    context.parent_gone = true;
    init_.core->cancel_later(cancel_flag(init_.shared),
                             actor_ref{caf::actor_cast<caf::actor>(this)},
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
  if (!context.children.dead(id)) {
    auto end = lua_vm::failed_end("worker ended unexpectedly");
    context.children.on_end(id, {false, std::move(end.bytes)});
    wake_if_ready();
  }
}

} // namespace troupe::detail
