// The safe libraries every script state gets (DESIGN.md "Sandbox and
// permissions"): base with a text-only load; table, string, math, utf8,
// coroutine; os reduced to time, clock, date and difftime; debug reduced to
// traceback; setmetatable refusing __gc (finalizers run without hooks, so they
// could not be stopped); a line-atomic print that writes through the state's
// line sink. Then the functions gated by permissions (sandbox_io.cpp): io.open,
// io.lines, io.popen, os.execute, os.getenv, os.remove, os.rename, dofile,
// loadfile, require, and pledge. Never: the rest of debug, os.exit,
// os.setlocale, os.tmpname, package and C modules, binary chunks, and the
// standard streams (print is the output).
#pragma once

#include <lua.hpp>

namespace troupe::lua_vm {

/// [-0, +0] A lua_CFunction that opens the safe libraries into `L`'s globals;
/// call it with lua_pcall (it allocates, and a memory cap may stop it).
int open_safe_libraries(lua_State* L);

/// A lua_CFunction body for wrappers: calls the wrapped function (upvalue 1)
/// with this call's arguments and returns all its results.
int call_wrapped(lua_State* L);

/// [-0, +0] Protects the metatable at `idx`, which the sandbox made:
/// getmetatable gives the string `name` in its place and setmetatable refuses
/// to replace it, so no script can add a __gc (run with hooks off) or change
/// what every other value of its kind does. Call in protected mode.
void protect_metatable(lua_State* L, int idx, const char* name);

/// [-0, +0, m] Registers the protected metatable `name` of a userdata type
/// with `__tostring` (and `__gc` unless nullptr); returns its address, by
/// which the codec knows the type without a call that could raise.
const void* make_userdata_type(lua_State* L, const char* name,
                               lua_CFunction tostring,
                               lua_CFunction gc = nullptr);

/// [-0, +0] Installs the gated functions into the io table at `io`, the os
/// table at `os` (both already holding Lua's originals of popen, execute and
/// getenv) and the globals. Protected mode.
void open_gated_functions(lua_State* L, int io, int os);

} // namespace troupe::lua_vm
