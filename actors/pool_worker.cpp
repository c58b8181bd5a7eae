// The pool worker actor (see pool_worker.hpp).
#include "actors/pool_worker.hpp"

#include <caf/send.hpp>

#include "actors/messages.hpp"

namespace troupe::detail {

pool_worker::pool_worker(caf::actor_config& config,
                         std::shared_ptr<pool_core> core, pool_slot* slot)
    : caf::event_based_actor(config), core_(std::move(core)), slot_(slot) {}

pool_worker::~pool_worker() = default;

caf::behavior pool_worker::make_behavior() {
  return {
    [this](work_atom) { work(); },
  };
}

void pool_worker::on_exit() {
  runner_.reset();
  job_.reset();
  core_->worker_exited(*slot_);
}

void pool_worker::work() {
  try {
    if (!runner_) runner_.emplace(core_->runner_config(slot_->cancel));
    auto until = lua_vm::clock::now() + core_->time_slice();
    if (run_jobs(until)) send(this, work_atom::value);
  } catch (const std::exception& e) {
    fail_job(e.what());
    quit();
  }
}

// Runs jobs until the queue is empty (false: idle, or quit) or the slice is
// used up (true: come back with `work`).
bool pool_worker::run_jobs(lua_vm::clock::time_point until) {
  for (;;) {
    bool ended = false;
    if (job_) {
      ended = runner_->resume();
    } else {
      bool stop = false;
      job_ = core_->take(*slot_, stop);
      if (!job_) {
        if (stop) quit();
        return false;
      }
      ended = runner_->start(job_->chunk, job_->ctx, job_->deadline,
                             job_->args);
    }
    if (!ended) return true;
    bool keep_going = core_->finish(*slot_, *job_, runner_->outcome());
    job_.reset();
    runner_->end_job();
    slot_->memory.store(runner_->memory_used());
    if (!keep_going) {
      quit();
      return false;
    }
    if (lua_vm::clock::now() >= until) return true;
  }
}

void pool_worker::fail_job(const char* what) noexcept {
  if (!job_) return;
  try {
    lua_vm::job_outcome out;
    out.error.message = what;
    core_->finish(*slot_, *job_, out);
  } catch (const std::exception&) {
    // Out of memory: worker_exited fails the job instead.
    return;
  }
  job_.reset();
}

} // namespace troupe::detail
