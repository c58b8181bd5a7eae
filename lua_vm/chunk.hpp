// Loading chunks into a state: compiled troupe::bytecode (the only binary the
// VM accepts, since this process made it) and, for the CLI and tests, source
// text.
#pragma once

#include <cstddef>
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

/// Opens the script at `path` for reading, without blocking on a FIFO (whose
/// read read_script then refuses). Returns the descriptor, or -1 with errno.
int open_script(const std::string& path) noexcept;

/// Reads the whole script open as `fd` (named `path` in errors): only a
/// regular file of at most `max_size` bytes; throws troupe::error (`cannot
/// read PATH: Is a directory`, `... not a regular file`, `... larger than the
/// script size limit (N bytes)`) otherwise. Does not close `fd`.
std::string read_script(int fd, const std::string& path, std::size_t max_size);

} // namespace troupe::lua_vm
