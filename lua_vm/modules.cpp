// Modules for require (see modules.hpp). The search runs as Lua's own
// searcher does (the preload table, then each template of package.path in
// turn), in C-style code: Lua errors longjmp through it, so the frames that
// touch the Lua stack hold no C++ object with a destructor (lua_vm/README.md).
// Files are opened beneath the scope that allows them (fs_access) without
// blocking, only regular files are read, and the read streams through a
// buffer on the stack into the parser, text only.
#include "lua_vm/modules.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <sys/stat.h>
#include <unistd.h>

#include "lua_vm/chunk.hpp"
#include "lua_vm/control.hpp"
#include "lua_vm/fs_access.hpp"
#include "lua_vm/sandbox.hpp"

namespace troupe::lua_vm {

namespace {

// Registry keys (their addresses): package.loaded, and the package table
// (require reads package.path from it, as a script may change it).
char loaded_key;
char package_key;

constexpr const char* lua_default_dirs[]
  = {"/usr/local/share/lua/5.4/?.lua", "/usr/local/share/lua/5.4/?/init.lua",
     "/usr/local/lib/lua/5.4/?.lua",   "/usr/local/lib/lua/5.4/?/init.lua",
     "/usr/share/lua/5.4/?.lua",       "/usr/share/lua/5.4/?/init.lua"};

constexpr const char* c_default_path
  = "/usr/local/lib/lua/5.4/?.so;/usr/lib/x86_64-linux-gnu/lua/5.4/?.so;"
    "/usr/lib/lua/5.4/?.so;/usr/local/lib/lua/5.4/loadall.so;./?.so";

// The variable of Lua 5.4's name, else its versionless one, else empty (an
// empty variable counts as unset).
std::string from_environment(const char* versioned, const char* plain) {
  for (const char* name : {versioned, plain})
    if (const char* v = std::getenv(name); v != nullptr && *v != '\0') return v;
  return {};
}

// `path` with its first ";;" replaced by `dflt`, as Lua's package library
// does.
std::string with_default(const std::string& path, const std::string& dflt) {
  auto mark = path.find(";;");
  if (mark == std::string::npos) return path;
  std::string out = path.substr(0, mark);
  if (!out.empty()) out += ';';
  out += dflt;
  if (mark + 2 < path.size()) out += ';' + path.substr(mark + 2);
  return out;
}

std::vector<std::string> split(std::string_view path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find(';', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) out.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

const module_catalog* catalog_of(lua_State* L) {
  return control_of(L).modules.get();
}

// Streams a file into lua_load.
struct file_reader {
  int fd;
  int error;
  char buffer[16384];
};

const char* read_chunk(lua_State*, void* data, std::size_t* size) {
  auto* r = static_cast<file_reader*>(data);
  for (;;) {
    ssize_t n = ::read(r->fd, r->buffer, sizeof r->buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) r->error = errno;
    if (n <= 0) {
      *size = 0;
      return nullptr;
    }
    *size = static_cast<std::size_t>(n);
    return r->buffer;
  }
}

// [-0, +(1|0)] Pushes the next template of the search path at *p (empty ones
// skipped) and moves *p past it; false at the end.
bool push_next_template(lua_State* L, const char** p) {
  while (**p != '\0') {
    const char* start = *p;
    const char* end = std::strchr(start, ';');
    std::size_t len = end != nullptr ? static_cast<std::size_t>(end - start)
                                     : std::strlen(start);
    *p = start + len + (start[len] == ';' ? 1 : 0);
    if (len > 0) {
      lua_pushlstring(L, start, len);
      return true;
    }
  }
  return false;
}

// What trying one file gave.
enum class attempt { loaded, missing, denied, failed };

// [-0, +1] Loads the Lua source file `filename` as a module: pushes its
// function (loaded), or pushes nothing (missing, denied), or the error message
// (failed: unreadable, too large, not a regular file, a syntax error).
attempt load_file(lua_State* L, const char* filename) {
  const control& c = control_of(L);
  fs_result opened = open_module_for_script(c, filename);
  if (opened.denied) return attempt::denied;
  if (opened.fd < 0) {
    if (opened.error == ENOENT || opened.error == ENOTDIR)
      return attempt::missing;
    lua_pushfstring(L, "cannot open %s: %s", filename,
                    std::strerror(opened.error));
    return attempt::failed;
  }
  struct stat st {};
  const module_catalog* cat = catalog_of(L);
  std::size_t max_size = cat != nullptr ? cat->max_size
                                        : default_max_module_size;
  if (::fstat(opened.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(opened.fd);
    lua_pushfstring(L, "cannot read %s: not a regular file", filename);
    return attempt::failed;
  }
  if (static_cast<std::size_t>(st.st_size) > max_size) {
    ::close(opened.fd);
    lua_pushfstring(L,
                    "cannot read %s: larger than the script size limit "
                    "(%I bytes)",
                    filename, static_cast<lua_Integer>(max_size));
    return attempt::failed;
  }
  file_reader reader{opened.fd, 0, {}};
  lua_pushfstring(L, "@%s", filename);
  int status = lua_load(L, read_chunk, &reader, lua_tostring(L, -1), "t");
  ::close(opened.fd);
  lua_remove(L, -2);
  if (reader.error != 0) {
    lua_pop(L, 1);
    lua_pushfstring(L, "cannot read %s: %s", filename,
                    std::strerror(reader.error));
    return attempt::failed;
  }
  return status == LUA_OK ? attempt::loaded : attempt::failed;
}

// [-0, +1] The file name of `name` in template `tmpl` (dots become
// slashes); a relative one is spelled from the script's directory, where it
// resolves (a "./" dropped), so messages and tracebacks name the real file.
const char* file_name(lua_State* L, const char* tmpl, const char* name) {
  const char* base = luaL_gsub(L, name, ".", "/");
  const char* file = luaL_gsub(L, tmpl, "?", base);
  const std::string& home = control_of(L).home;
  if (file[0] != '/' && !home.empty()) {
    if (file[0] == '.' && file[1] == '/') file += 2;
    file = lua_pushfstring(L, "%s/%s", home.c_str(), file);
    lua_remove(L, -2);
  }
  lua_remove(L, -2);
  return file;
}

// [-0, +0] Raises when `name` exists as a C module on the C path: troupe
// does not load those, and "not found" would mislead.
void refuse_c_module(lua_State* L, const char* name) {
  const module_catalog* cat = catalog_of(L);
  if (cat == nullptr) return;
  int top = lua_gettop(L);
  for (std::size_t i = 0; i < cat->c_path.size(); ++i) {
    const char* file = file_name(L, cat->c_path[i].c_str(), name);
    bool there = ::access(file, F_OK) == 0;
    lua_settop(L, top);
    if (there)
      luaL_error(L, "module '%s' is a C module; troupe loads Lua modules only",
                 name);
  }
}

// [-0, +2] Searches package.path for `name`: pushes the loader and its file
// name. Raises "not found" with every place tried, or the error of a file
// that failed to load. Between the buffer's operations the stack is
// balanced, as luaL_Buffer requires.
void find_module(lua_State* L, const char* name) {
  int base = lua_gettop(L);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &package_key);
  lua_getfield(L, -1, "path");
  const char* path = lua_tostring(L, -1);
  if (path == nullptr) luaL_error(L, "'package.path' must be a string");
  luaL_Buffer tried;
  luaL_buffinit(L, &tried);
  luaL_addstring(&tried, "\n\tno field package.preload['");
  luaL_addstring(&tried, name);
  luaL_addstring(&tried, "']");
  for (const char* p = path; push_next_template(L, &p);) {
    const char* file = file_name(L, lua_tostring(L, -1), name);
    lua_remove(L, -2);
    switch (load_file(L, file)) {
      case attempt::loaded:
        lua_copy(L, -1, base + 1);
        lua_copy(L, -2, base + 2);
        lua_settop(L, base + 2);
        return;
      case attempt::failed:
        luaL_error(L, "error loading module '%s' from file '%s':\n\t%s", name,
                   file, lua_tostring(L, -1));
        break;
      case attempt::denied:
        lua_pushfstring(L, "\n\tno access to '%s' (needs fs:read)", file);
        break;
      case attempt::missing:
        lua_pushfstring(L, "\n\tno file '%s'", file);
        break;
    }
    lua_remove(L, -2);
    luaL_addvalue(&tried);
  }
  refuse_c_module(L, name);
  luaL_pushresult(&tried);
  luaL_error(L, "module '%s' not found:%s", name, lua_tostring(L, -1));
}

// [-0, +2|0] The host's preloaded module `name`, as its loader and
// ":preload:"; nothing when there is none.
bool push_preloaded(lua_State* L, const char* name) {
  const module_catalog* cat = catalog_of(L);
  if (cat == nullptr) return false;
  auto it = cat->preload.find(std::string_view{name});
  if (it == cat->preload.end()) return false;
  if (load(L, it->second) != LUA_OK) lua_error(L);
  lua_pushliteral(L, ":preload:");
  return true;
}

int l_searchpath(lua_State* L);

// [-0, +1] package.loaded, made on first use.
void push_loaded(lua_State* L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &loaded_key) == LUA_TTABLE) return;
  lua_pop(L, 1);
  lua_newtable(L);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &loaded_key);
}

// package's __index: its fields are made the first time one is read, since
// most workers never look (the search path alone is half a kilobyte a state).
int package_field(lua_State* L) {
  if (lua_type(L, 2) != LUA_TSTRING) return 0;
  const char* key = lua_tostring(L, 2);
  if (std::strcmp(key, "path") == 0) {
    const module_catalog* cat = catalog_of(L);
    lua_pushstring(L,
                   cat != nullptr ? cat->path.c_str() : "./?.lua;./?/init.lua");
  } else if (std::strcmp(key, "cpath") == 0) {
    lua_pushliteral(L, "");
  } else if (std::strcmp(key, "config") == 0) {
    lua_pushliteral(L, "/\n;\n?\n!\n-\n");
  } else if (std::strcmp(key, "loaded") == 0) {
    push_loaded(L);
  } else if (std::strcmp(key, "searchpath") == 0) {
    lua_pushcfunction(L, l_searchpath);
  } else {
    return 0;
  }
  lua_pushvalue(L, 2);
  lua_pushvalue(L, -2);
  lua_rawset(L, 1);
  return 1;
}

int l_require(lua_State* L) {
  const char* name = luaL_checkstring(L, 1);
  lua_settop(L, 1);
  push_loaded(L);
  lua_getfield(L, 2, name);
  if (lua_toboolean(L, -1)) return 1;
  lua_pop(L, 1);
  if (!push_preloaded(L, name)) {
    if (!control_of(L).permissions.has(permission::load)) {
      control_of(L).denied = true;
      return luaL_error(L, "permission denied: load (require \"%s\")", name);
    }
    find_module(L, name);
  }
  // [name, loaded, loader, data]: loader(name, data)
  lua_pushvalue(L, 3);
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 4);
  lua_call(L, 2, 1);
  if (!lua_isnil(L, -1))
    lua_setfield(L, 2, name);
  else
    lua_pop(L, 1);
  if (lua_getfield(L, 2, name) == LUA_TNIL) {
    lua_pushboolean(L, 1);
    lua_copy(L, -1, -2);
    lua_setfield(L, 2, name);
  }
  lua_insert(L, -2);
  return 2;
}

// package.searchpath(name, path [, sep [, rep]]): the first readable file, or
// nil and the places tried.
int l_searchpath(lua_State* L) {
  const char* name = luaL_checkstring(L, 1);
  const char* path = luaL_checkstring(L, 2);
  const char* sep = luaL_optstring(L, 3, ".");
  const char* rep = luaL_optstring(L, 4, "/");
  if (*sep != '\0' && std::strchr(name, *sep) != nullptr)
    name = luaL_gsub(L, name, sep, rep);
  luaL_Buffer tried;
  luaL_buffinit(L, &tried);
  for (const char* p = path; push_next_template(L, &p);) {
    const char* file = luaL_gsub(L, lua_tostring(L, -1), "?", name);
    lua_remove(L, -2);
    fs_result opened = open_module_for_script(control_of(L), file);
    if (opened.fd >= 0) {
      ::close(opened.fd);
      return 1;
    }
    lua_pushfstring(L, "\n\tno file '%s'", file);
    lua_remove(L, -2);
    luaL_addvalue(&tried);
  }
  luaL_pushresult(&tried);
  lua_pushnil(L);
  lua_insert(L, -2);
  return 2;
}

} // namespace

std::string default_lua_path() {
  std::string path = "./?.lua;./?/init.lua";
  for (const char* d : lua_default_dirs) path += std::string{";"} + d;
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
    path += std::string{";"} + home + "/.luarocks/share/lua/5.4/?.lua;" + home
            + "/.luarocks/share/lua/5.4/?/init.lua";
  return path;
}

std::string lua_search_path(std::string_view configured) {
  std::string path = !configured.empty()
                       ? std::string{configured}
                       : from_environment("LUA_PATH_5_4", "LUA_PATH");
  if (path.empty()) return default_lua_path();
  return with_default(path, default_lua_path());
}

std::vector<std::string> search_roots(std::string_view path) {
  namespace fs = std::filesystem;
  std::vector<std::string> roots;
  for (const auto& entry : split(path)) {
    if (entry.front() != '/') continue;
    std::string prefix = entry.substr(0, entry.find('?'));
    fs::path dir = prefix.back() == '/' ? fs::path{prefix}
                                        : fs::path{prefix}.parent_path();
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    std::string root = dir.lexically_normal().string();
    while (root.size() > 1 && root.back() == '/') root.pop_back();
    if (std::find(roots.begin(), roots.end(), root) == roots.end())
      roots.push_back(std::move(root));
  }
  return roots;
}

std::vector<std::string> c_search_path() {
  std::string path = from_environment("LUA_CPATH_5_4", "LUA_CPATH");
  return split(path.empty() ? std::string{c_default_path}
                            : with_default(path, c_default_path));
}

std::shared_ptr<const module_catalog>
make_module_catalog(std::string_view lua_path, bool readable,
                    std::size_t max_size,
                    const std::map<std::string, std::string>& preload) {
  auto catalog = std::make_shared<module_catalog>();
  catalog->path = lua_search_path(lua_path);
  catalog->c_path = c_search_path();
  if (readable) catalog->readable_roots = search_roots(catalog->path);
  catalog->max_size = max_size;
  for (const auto& [name, source] : preload)
    catalog->preload.emplace(name, compile(source, name));
  return catalog;
}

void open_package(lua_State* L) {
  lua_newtable(L);
  lua_createtable(L, 0, 2);
  lua_pushcfunction(L, package_field);
  lua_setfield(L, -2, "__index");
  protect_metatable(L, -1, LUA_LOADLIBNAME);
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &package_key);
  lua_setglobal(L, LUA_LOADLIBNAME);
  lua_pushcfunction(L, l_require);
  lua_setglobal(L, "require");
}

bool modules_loaded(lua_State* L) noexcept {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &loaded_key) != LUA_TTABLE) {
    lua_pop(L, 1);
    return false;
  }
  lua_pushnil(L);
  bool any = lua_next(L, -2) != 0;
  lua_settop(L, lua_gettop(L) - (any ? 3 : 1));
  return any;
}

} // namespace troupe::lua_vm
