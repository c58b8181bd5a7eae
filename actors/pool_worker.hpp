// A pool worker: a CAF actor owning one job runner (one Lua state). A `work`
// message makes it take jobs from the pool's queue until the queue is empty
// (then it parks in the pool's idle list) or a time slice has passed (then it
// sends itself `work` again, so other actors get the thread). A job the
// runner's time slice preempts continues at the next `work`.
#pragma once

#include <memory>
#include <optional>

#include <caf/event_based_actor.hpp>

#include "actors/pool_core.hpp"
#include "actors/sets_no_timeouts.hpp"

namespace troupe::detail {

/// One pool worker actor: takes jobs from its pool's queue, one time slice
/// at a time.
class pool_worker : public caf::event_based_actor, public sets_no_timeouts {
public:
  /// CAF's constructor shape plus the pool and this worker's slot in it.
  pool_worker(caf::actor_config& config, std::shared_ptr<pool_core> core,
              pool_slot* slot);
  ~pool_worker() override;

  /// Handles `work`.
  caf::behavior make_behavior() override;
  /// Closes the state and tells the pool.
  void on_exit() override;

private:
  void work();
  bool run_jobs(lua_vm::clock::time_point until);
  void fail_job(const char* what) noexcept;

  std::shared_ptr<pool_core> core_;
  pool_slot* slot_;
  std::optional<lua_vm::job_runner> runner_;
  std::shared_ptr<pool_job> job_;
};

} // namespace troupe::detail
