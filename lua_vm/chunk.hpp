// Loading chunks into a state: compiled troupe::bytecode (the only binary the
// VM accepts, since this process made it) and, for the CLI and tests, source
// text.
#pragma once

#include <string>
#include <string_view>

#include <lua.hpp>

#include "troupe/bytecode.hpp"

namespace troupe {

/// What troupe::bytecode holds.
struct bytecode::impl {
  std::string name;
  std::string source;
  std::string dump;
};

/// libtroupe's access to a bytecode's representation.
struct bytecode_access {
  /// The representation of `bc`.
  static const bytecode::impl& get(const bytecode& bc) noexcept {
    return *bc.impl_;
  }
};

} // namespace troupe

namespace troupe::lua_vm {

/// [-0, +1] Loads `bc` as a function. Returns the lua_load status (LUA_OK, or
/// LUA_ERRMEM with the message pushed).
int load(lua_State* L, const bytecode& bc) noexcept;

/// Reads a whole file; throws troupe::error naming the file when it cannot.
std::string read_file(const std::string& path);

} // namespace troupe::lua_vm
