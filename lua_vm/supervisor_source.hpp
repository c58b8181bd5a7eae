// The Lua source of troupe's supervisor (lua_vm/supervisor.lua, built into
// the library by CMake), and its compiled chunk.
#pragma once

#include "troupe/bytecode.hpp"

namespace troupe::lua_vm {

/// lua_vm/supervisor.lua's text.
extern const char* const supervisor_source;

/// supervisor_source compiled, once per process (chunk name
/// "troupe/supervisor.lua").
const bytecode& supervisor_chunk();

} // namespace troupe::lua_vm
