// The functions the sandbox gates behind permissions (see sandbox.hpp): io.open
// and io.lines (fs:read, fs:write), os.remove and os.rename (fs:write),
// os.execute and io.popen (exec), os.getenv (env), dofile and loadfile (load,
// and fs:read of the file; require is modules.cpp's), and pledge. Each checks
// at call time, so a pledge takes effect at once. A refusal raises `permission
// denied: fs:read (io.open "/etc/passwd")`. C-style shells: Lua errors longjmp
// through them (lua_vm/README.md); the C++ work happens in fs_access's noexcept
// calls.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "lua_vm/control.hpp"
#include "lua_vm/fs_access.hpp"
#include "lua_vm/sandbox.hpp"

namespace troupe::lua_vm {

namespace {

// Registry key (its address) of Lua's own io functions (popen, type, close),
// once the io library is open.
char io_originals_key;

// [-0, +0] Opens Lua's io library the first time a script uses a file: its
// file-handle metatable is what handles need, and most workers never touch a
// file (the library costs a few µs and KB per state). Keeps its popen, type
// and close.
void ensure_io(lua_State* L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &io_originals_key) != LUA_TNIL) {
    lua_pop(L, 1);
    return;
  }
  lua_pop(L, 1);
  luaL_requiref(L, LUA_IOLIBNAME, luaopen_io, 0);
  luaL_getmetatable(L, LUA_FILEHANDLE);
  protect_metatable(L, -1, LUA_FILEHANDLE);
  lua_pop(L, 1);
  lua_createtable(L, 0, 3);
  for (const char* name : {"popen", "type", "close"}) {
    lua_getfield(L, -2, name);
    lua_setfield(L, -2, name);
  }
  lua_rawsetp(L, LUA_REGISTRYINDEX, &io_originals_key);
  lua_pop(L, 1);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_pushnil(L);
  lua_setfield(L, -2, LUA_IOLIBNAME);
  lua_pop(L, 1);
}

// Calls Lua's own io function `name` with this call's arguments.
int call_io(lua_State* L, const char* name) {
  ensure_io(L);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &io_originals_key);
  lua_getfield(L, -1, name);
  lua_remove(L, -2);
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

[[noreturn]] void raise_denied(lua_State* L, permission p, const char* what,
                               const char* arg) {
  control_of(L).denied = true;
  luaL_error(L, "permission denied: %s (%s \"%s\")", permission_set::name(p),
             what, arg);
  std::abort(); // luaL_error does not return
}

void require_permission(lua_State* L, permission p, const char* what,
                        const char* arg) {
  if (!control_of(L).permissions.has(p)) raise_denied(L, p, what, arg);
}

// ---- files

int close_stream(lua_State* L) {
  auto* p = static_cast<luaL_Stream*>(luaL_checkudata(L, 1, LUA_FILEHANDLE));
  int ok = std::fclose(p->f) == 0;
  return luaL_fileresult(L, ok, nullptr);
}

bool parse_mode(const char* mode, int& flags, bool& reads, bool& writes) {
  char kind = mode[0];
  const char* rest = mode + (kind != '\0' ? 1 : 0);
  bool plus = *rest == '+';
  if (plus) ++rest;
  if (*rest == 'b') ++rest;
  if (*rest != '\0') return false;
  switch (kind) {
    case 'r': flags = plus ? O_RDWR : O_RDONLY; break;
    case 'w': flags = (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_TRUNC; break;
    case 'a': flags = (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_APPEND; break;
    default: return false;
  }
  reads = kind == 'r' || plus;
  writes = kind != 'r' || plus;
  return true;
}

// [-0, +1] Opens `path` for the script and pushes a Lua file handle, or
// pushes the usual nil, message, errno triple (returns 3). A refusal raises.
int push_opened(lua_State* L, const char* path, const char* mode,
                const char* what) {
  int flags = 0;
  bool reads = false;
  bool writes = false;
  if (!parse_mode(mode, flags, reads, writes))
    return luaL_error(L, "%s: invalid mode '%s'", what, mode);
  ensure_io(L);
  // The handle exists before the descriptor, so no error can leak it.
  auto* p = static_cast<luaL_Stream*>(
    lua_newuserdatauv(L, sizeof(luaL_Stream), 0));
  p->f = nullptr;
  p->closef = nullptr;
  luaL_setmetatable(L, LUA_FILEHANDLE);
  fs_result r = open_for_script(control_of(L), path, flags, 0666, reads,
                                writes);
  if (r.denied) raise_denied(L, r.missing, what, path);
  if (r.fd >= 0) {
    p->f = ::fdopen(r.fd, mode);
    if (p->f == nullptr) {
      r.error = errno;
      ::close(r.fd);
    }
  }
  if (p->f == nullptr) {
    errno = r.error;
    return luaL_fileresult(L, 0, path);
  }
  p->closef = close_stream;
  return 1;
}

int l_open(lua_State* L) {
  const char* path = luaL_checkstring(L, 1);
  const char* mode = luaL_optstring(L, 2, "r");
  return push_opened(L, path, mode, "io.open");
}

// io.lines' iterator: the file's own lines iterator (upvalue 1), closing the
// file (upvalue 2) at the end.
int lines_step(lua_State* L) {
  int top = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_call(L, 0, LUA_MULTRET);
  if (lua_isnil(L, top + 1)) {
    lua_getfield(L, lua_upvalueindex(2), "close");
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_call(L, 1, 0);
  }
  return lua_gettop(L) - top;
}

int l_lines(lua_State* L) {
  const char* path = luaL_checkstring(L, 1);
  int formats = lua_gettop(L) - 1;
  if (push_opened(L, path, "r", "io.lines") != 1) {
    lua_pop(L, 1);
    return lua_error(L);
  }
  lua_replace(L, 1);
  lua_getfield(L, 1, "lines");
  lua_insert(L, 2);
  lua_pushvalue(L, 1);
  lua_insert(L, 3);
  lua_call(L, formats + 1, 1);
  lua_pushvalue(L, 1);
  lua_pushcclosure(L, lines_step, 2);
  lua_pushnil(L);
  lua_pushnil(L);
  lua_pushvalue(L, 1);
  return 4;
}

int os_result(lua_State* L, const fs_result& r, const char* what,
              const char* path) {
  if (r.denied) raise_denied(L, r.missing, what, path);
  errno = r.error;
  return luaL_fileresult(L, r.fd >= 0, path);
}

int l_remove(lua_State* L) {
  const char* path = luaL_checkstring(L, 1);
  return os_result(L, remove_for_script(control_of(L), path), "os.remove",
                   path);
}

int l_rename(lua_State* L) {
  const char* from = luaL_checkstring(L, 1);
  const char* to = luaL_checkstring(L, 2);
  fs_result r = rename_for_script(control_of(L), from, to);
  return os_result(L, r, "os.rename", r.denied ? from : nullptr);
}

// ---- exec and env

int l_execute(lua_State* L) {
  require_permission(L, permission::exec, "os.execute",
                     luaL_optstring(L, 1, ""));
  return call_wrapped(L);
}

int l_popen(lua_State* L) {
  require_permission(L, permission::exec, "io.popen", luaL_checkstring(L, 1));
  return call_io(L, "popen");
}

int l_type(lua_State* L) {
  return call_io(L, "type");
}

int l_close(lua_State* L) {
  return call_io(L, "close");
}

int l_getenv(lua_State* L) {
  require_permission(L, permission::env, "os.getenv", luaL_checkstring(L, 1));
  return call_wrapped(L);
}

// ---- code from files

// [-0, +1] Loads the Lua source file `path` (text only) and pushes the
// function, or the error message (returns the load status; a missing file is
// LUA_ERRFILE). Needs load and fs:read of the file; a refusal raises.
int load_source_file(lua_State* L, const char* path, const char* what) {
  require_permission(L, permission::load, what, path);
  int top = lua_gettop(L);
  if (push_opened(L, path, "r", what) != 1) {
    lua_settop(L, top + 2);
    lua_remove(L, top + 1);
    return LUA_ERRFILE;
  }
  lua_getfield(L, -1, "read");
  lua_pushvalue(L, -2);
  lua_pushliteral(L, "a");
  lua_call(L, 2, 1);
  lua_getfield(L, -2, "close");
  lua_pushvalue(L, -3);
  lua_call(L, 1, 0);
  std::size_t size = 0;
  const char* text = lua_tolstring(L, -1, &size);
  lua_pushfstring(L, "@%s", path);
  int status = luaL_loadbufferx(L, text, size, lua_tostring(L, -1), "t");
  lua_replace(L, top + 1);
  lua_settop(L, top + 1);
  return status;
}

int dofile_continue(lua_State* L, int, lua_KContext) {
  return lua_gettop(L) - 1;
}

int l_dofile(lua_State* L) {
  const char* path = luaL_checkstring(L, 1);
  lua_settop(L, 1);
  if (load_source_file(L, path, "dofile") != LUA_OK) return lua_error(L);
  lua_callk(L, 0, LUA_MULTRET, 0, dofile_continue);
  return dofile_continue(L, LUA_OK, 0);
}

int l_loadfile(lua_State* L) {
  const char* path = luaL_checkstring(L, 1);
  bool has_env = !lua_isnone(L, 3);
  lua_settop(L, 3);
  if (load_source_file(L, path, "loadfile") != LUA_OK) {
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
  }
  if (has_env) {
    lua_pushvalue(L, 3);
    if (lua_setupvalue(L, -2, 1) == nullptr) lua_pop(L, 1);
  }
  return 1;
}

// ---- pledge

// Narrows c's permissions to the names at stack slots 1..n; false with the
// reason in `error` when one is not held.
bool narrow(lua_State* L, int n, char* error, std::size_t size) noexcept {
  control& c = control_of(L);
  try {
    std::vector<std::string> names;
    for (int i = 1; i <= n; ++i) names.emplace_back(lua_tostring(L, i));
    c.permissions = c.permissions.narrowed(names, c.home);
    return true;
  } catch (const std::exception& e) {
    std::snprintf(error, size, "pledge: %s", e.what());
    return false;
  }
}

// Copies the i-th name held into `buf`; false past the last one.
bool held_name(const control& c, std::size_t i, char* buf,
               std::size_t size) noexcept {
  try {
    auto names = c.permissions.names();
    if (i >= names.size()) return false;
    std::snprintf(buf, size, "%s", names[i].c_str());
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

int l_pledge(lua_State* L) {
  int n = lua_gettop(L);
  for (int i = 1; i <= n; ++i) luaL_checkstring(L, i);
  char text[4200];
  if (n > 0 && !narrow(L, n, text, sizeof text))
    return luaL_error(L, "%s", text);
  lua_settop(L, 0);
  lua_newtable(L);
  for (std::size_t i = 0; held_name(control_of(L), i, text, sizeof text); ++i) {
    lua_pushstring(L, text);
    lua_rawseti(L, 1, static_cast<lua_Integer>(i) + 1);
  }
  return 1;
}

void wrap_field(lua_State* L, int t, const char* name, lua_CFunction f) {
  lua_getfield(L, t, name);
  lua_pushcclosure(L, f, 1);
  lua_setfield(L, t, name);
}

} // namespace

void open_gated_functions(lua_State* L, int io, int os) {
  static const luaL_Reg io_functions[] = {{"open", l_open},
                                          {"lines", l_lines},
                                          {"popen", l_popen},
                                          {"type", l_type},
                                          {"close", l_close},
                                          {nullptr, nullptr}};
  lua_pushvalue(L, io);
  luaL_setfuncs(L, io_functions, 0);
  lua_pop(L, 1);
  wrap_field(L, os, "execute", l_execute);
  wrap_field(L, os, "getenv", l_getenv);
  lua_pushcfunction(L, l_remove);
  lua_setfield(L, os, "remove");
  lua_pushcfunction(L, l_rename);
  lua_setfield(L, os, "rename");

  static const luaL_Reg base[] = {{"dofile", l_dofile},
                                  {"loadfile", l_loadfile},
                                  {"pledge", l_pledge},
                                  {nullptr, nullptr}};
  lua_pushglobaltable(L);
  luaL_setfuncs(L, base, 0);
  lua_pop(L, 1);
}

} // namespace troupe::lua_vm
