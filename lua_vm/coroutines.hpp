// Host-yield pass-through for the script's own coroutines (see coroutines.cpp).
#pragma once

#include <lua.hpp>

namespace troupe::lua_vm {

/// [-0, +0] Replaces coroutine.resume and coroutine.wrap with versions that
/// pass host yields through to the root coroutine. Call in protected mode,
/// after the coroutine library is open.
void install_passthrough_coroutines(lua_State* L);

/// Whether a host yield from `L` can reach the actor: L is yieldable and so is
/// every resume above it.
bool can_host_yield(lua_State* L) noexcept;

} // namespace troupe::lua_vm
