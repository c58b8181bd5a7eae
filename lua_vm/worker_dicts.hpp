// The shared dicts for states without the worker module: a pool job's state
// gets a `worker` table holding only `shared`, so a job reaches a dict as a
// worker does (worker_dicts.cpp).
#pragma once

#include <lua.hpp>

namespace troupe::lua_vm {

/// [-0, +0] In protected mode: sets the global `worker` to a table holding
/// worker.shared when the state holds the permission "shared".
void open_job_dicts(lua_State* L);

} // namespace troupe::lua_vm
