// Lua's pattern functions, stoppable (see patterns.cpp).
#pragma once

#include <lua.hpp>

namespace troupe::lua_vm {

/// [-0, +0] Replaces string.find, string.match, string.gmatch and string.gsub
/// in `L`'s string library with versions whose matching polls the state's
/// limits, so a pathological pattern ends at the deadline or on cancel. Call
/// in protected mode, after the string library is open.
void install_interruptible_patterns(lua_State* L);

} // namespace troupe::lua_vm
