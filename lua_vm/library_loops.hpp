// The string and table functions whose loops never return to the VM, made
// stoppable (see library_loops.cpp).
#pragma once

#include <lua.hpp>

namespace troupe::lua_vm {

/// [-0, +0] Replaces string.rep, table.move, table.insert, table.remove and
/// table.concat in `L`'s libraries with versions that poll the state's limits
/// as they loop. Call in protected mode, after both libraries are open.
void install_stoppable_loops(lua_State* L);

} // namespace troupe::lua_vm
