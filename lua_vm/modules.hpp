// Lua modules for `require`, as Lua users expect them: a search path with Lua's
// own conventions (LUA_PATH_5_4, then LUA_PATH, ";;" standing for the default;
// the default holds the script's directory, Lua 5.4's standard directories and
// the user's LuaRocks tree), modules cached once per state in
// `package.loaded`, and modules a host preloads as source text. Only Lua
// modules load: a module found only as a C library is refused by name. Reading
// a module needs fs:read of it, or a directory of the runtime's search path
// that the host made readable for require alone (module_catalog).
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <lua.hpp>

#include "troupe/bytecode.hpp"

namespace troupe::lua_vm {

/// The largest module file read when the runtime gives no limit (as
/// runtime_config::max_script_size).
inline constexpr std::size_t default_max_module_size = std::size_t{16} << 20;

/// What every state of a runtime knows about modules (shared, immutable).
struct module_catalog {
  /// The search path scripts see as `package.path`.
  std::string path;
  /// Templates where a C module would be (LUA_CPATH_5_4, LUA_CPATH or Lua's
  /// default), only to say that one was found.
  std::vector<std::string> c_path;
  /// Directories require may read beneath without fs:read (those of the
  /// absolute entries of `path`, when the host grants them; symbolic links
  /// in them are followed to Lua files only); empty: none.
  std::vector<std::string> readable_roots;
  /// Modules shipped by the host, by name, compiled.
  std::map<std::string, bytecode, std::less<>> preload;
  /// The largest module file read (runtime_config::max_script_size).
  std::size_t max_size = default_max_module_size;
};

/// The search path when none is given: the script's directory, then
/// /usr/local/share/lua/5.4, /usr/share/lua/5.4 and ~/.luarocks/share/lua/5.4,
/// each as `?.lua` and `?/init.lua`.
std::string default_lua_path();

/// The search path to use: `configured` if not empty, else LUA_PATH_5_4,
/// else LUA_PATH, else the default; a ";;" in it stands for the default.
std::string lua_search_path(std::string_view configured);

/// The directories of the absolute entries of `path` (the part before the
/// first "?"), lexically normal; entries whose directory does not exist are
/// left out.
std::vector<std::string> search_roots(std::string_view path);

/// LUA_CPATH_5_4, else LUA_CPATH, else Lua 5.4's default C path, split.
std::vector<std::string> c_search_path();

/// The catalog of a runtime: its search path (lua_search_path of
/// `lua_path`), the C path, the readable roots when `readable`, files up to
/// `max_size`, and `preload` compiled (throws troupe::compile_error).
std::shared_ptr<const module_catalog>
make_module_catalog(std::string_view lua_path, bool readable,
                    std::size_t max_size,
                    const std::map<std::string, std::string>& preload);

/// [-0, +0] Creates the global `package` (path, cpath = "", config, loaded,
/// searchpath) from the state's catalog. Call in protected mode.
void open_package(lua_State* L);

/// Whether a script of this state required a module (package.loaded is not
/// empty).
bool modules_loaded(lua_State* L) noexcept;

} // namespace troupe::lua_vm
