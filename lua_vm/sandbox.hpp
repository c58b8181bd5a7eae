// The safe libraries every script state gets (DESIGN.md "Sandbox and
// permissions"): base without dofile and loadfile and with a text-only load;
// table, string, math, utf8, coroutine; os reduced to time, clock and date;
// debug reduced to traceback; setmetatable refusing __gc (finalizers run
// without hooks, so they could not be stopped); a line-atomic print that writes
// through the state's line sink.
#pragma once

#include <lua.hpp>

namespace troupe::lua_vm {

/// [-0, +0] A lua_CFunction that opens the safe libraries into `L`'s globals;
/// call it with lua_pcall (it allocates, and a memory cap may stop it).
int open_safe_libraries(lua_State* L);

} // namespace troupe::lua_vm
