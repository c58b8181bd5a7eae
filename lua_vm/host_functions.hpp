// The `host` table: the host's native functions (runtime_config::functions)
// as Lua functions, in every state that holds the permission "host". A call
// converts its arguments to troupe::value (scalars directly, tables and
// handles through msgpack, so they are deep copies with the codec's errors),
// calls the C++ function, and brings its results back the same way. The
// lua_CFunction is a thin shell: the C++ work happens in a noexcept helper
// whose scratch lives in the state's control block, so a Lua error raised
// afterwards (the function's exception as a message, a memory error while
// the results are pushed) jumps over no destructor.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <lua.hpp>

#include "serialization/lua_codec.hpp"
#include "serialization/value_handles.hpp"
#include "troupe/runtime.hpp"

namespace troupe::lua_vm {

/// The host's functions as the states of one runtime reach them.
struct host_functions {
  /// By name; nullptr: none.
  const std::map<std::string, native_function>* table = nullptr;
  /// How handles in arguments and results become troupe::worker and back.
  serialization::value_handles values;
};

/// What one state keeps between its host calls (made on its first).
struct host_scratch {
  std::vector<value> args;
  serialization::lua_encoder encoder;
  serialization::byte_sink sink;
  /// The results' bytes, or the error's message.
  std::string out;
};

/// [-0, +0] In protected mode: sets the global `host` to a table of the
/// state's host functions (control::functions) when the state holds the
/// permission "host"; handles in their arguments and results cross as
/// `handles` says (nullptr: refused).
void open_host_table(lua_State* L, const serialization::lua_handles* handles);

} // namespace troupe::lua_vm
