// File access under a script's permissions (see fs_access.hpp).
#include "lua_vm/fs_access.hpp"

#include <cerrno>
#include <filesystem>
#include <string>

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lua_vm/modules.hpp"

namespace troupe::lua_vm {

namespace {

namespace fs = std::filesystem;

// A path resolved for a script: its canonical spelling, or empty when it has
// none (then the operation fails with `error`).
struct resolved {
  std::string path;
  int error = 0;
};

resolved resolve(const control& c, const fs::path& given) {
  fs::path full = given;
  if (full.is_relative())
    full = (c.home.empty() ? fs::current_path() : fs::path{c.home}) / full;
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(full, ec);
  if (ec) return {{}, ec.value()};
  return {canonical.string(), 0};
}

fs_result denied(permission p) {
  fs_result r;
  r.denied = true;
  r.missing = p;
  return r;
}

fs_result failed(int error) {
  fs_result r;
  r.error = error;
  return r;
}

// The result of a call that returned `rc` and left `error` in errno.
fs_result outcome(int rc, int error) {
  if (rc != 0) return failed(error);
  fs_result r;
  r.fd = 0;
  return r;
}

// The directory `path` is to be opened beneath for permissions `need` (one or
// two), or a denial. An unscoped permission leaves `scope` empty.
bool choose_scope(const control& c, const std::string& path, bool reads,
                  bool writes, std::string& scope, fs_result& refusal) {
  std::string read_scope;
  std::string write_scope;
  if (reads && !c.permissions.covers(permission::fs_read, path, read_scope)) {
    refusal = denied(permission::fs_read);
    return false;
  }
  if (writes
      && !c.permissions.covers(permission::fs_write, path, write_scope)) {
    refusal = denied(permission::fs_write);
    return false;
  }
  scope = read_scope.size() >= write_scope.size() ? read_scope : write_scope;
  return true;
}

// open(2) of `path` beneath directory `scope` (plain open when empty).
// Returns the descriptor, or -1 with errno set (EXDEV for an escape).
int open_beneath(const std::string& scope, const std::string& path, int flags,
                 unsigned mode) {
  if (scope.empty()) return ::open(path.c_str(), flags | O_CLOEXEC, mode);
  int dir = ::open(scope.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return -1;
  std::string rel = path.size() > scope.size()
                      ? path.substr(scope == "/" ? 1 : scope.size() + 1)
                      : std::string{"."};
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) != 0 ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  auto fd = static_cast<int>(
    ::syscall(SYS_openat2, dir, rel.c_str(), &how, sizeof how));
  int saved = errno;
  ::close(dir);
  errno = saved;
  return fd;
}

// The directory holding `given`, opened beneath its scope (fs:write), and the
// entry's name in it.
fs_result open_parent(const control& c, const char* given, std::string& name) {
  fs::path p{given};
  name = p.filename().string();
  if (name.empty() || name == "." || name == "..") return failed(EINVAL);
  resolved parent = resolve(c, p.has_parent_path() ? p.parent_path()
                                                   : fs::path{"."});
  if (parent.path.empty()) return failed(parent.error);
  std::string entry = parent.path == "/" ? "/" + name
                                         : parent.path + "/" + name;
  std::string scope;
  fs_result refusal;
  if (!choose_scope(c, entry, false, true, scope, refusal)) return refusal;
  int fd = open_beneath(scope, parent.path, O_PATH | O_DIRECTORY, 0);
  if (fd < 0)
    return errno == EXDEV ? denied(permission::fs_write) : failed(errno);
  fs_result r;
  r.fd = fd;
  return r;
}

} // namespace

fs_result open_for_script(const control& c, const char* path, int flags,
                          unsigned mode, bool reads, bool writes) noexcept {
  try {
    resolved where = resolve(c, path);
    if (where.path.empty()) return failed(where.error);
    std::string scope;
    fs_result refusal;
    if (!choose_scope(c, where.path, reads, writes, scope, refusal))
      return refusal;
    int fd = open_beneath(scope, where.path, flags, mode);
    if (fd < 0)
      return errno == EXDEV
               ? denied(reads ? permission::fs_read : permission::fs_write)
               : failed(errno);
    fs_result r;
    r.fd = fd;
    return r;
  } catch (const std::exception&) {
    return failed(ENOMEM);
  }
}

fs_result open_module_for_script(const control& c, const char* path) noexcept {
  constexpr int flags = O_RDONLY | O_NONBLOCK;
  fs_result r = open_for_script(c, path, flags, 0, true, false);
  if (!r.denied || !c.modules) return r;
  try {
    fs::path given{path};
    if (given.is_relative())
      given = (c.home.empty() ? fs::current_path() : fs::path{c.home}) / given;
    std::string lexical = given.lexically_normal().string();
    for (const auto& root : c.modules->readable_roots) {
      if (!path_within(lexical, root)) continue;
      // Distributions link a module into each version's directory (Debian:
      // 5.4/dkjson.lua -> ../5.1/dkjson.lua): a link is followed, but only to
      // a Lua file.
      std::error_code ec;
      fs::path target = fs::canonical(lexical, ec);
      if (ec) return failed(ec.value());
      if (target.extension() != ".lua") return r;
      int fd = ::open(target.c_str(), flags | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return failed(errno);
      fs_result opened;
      opened.fd = fd;
      return opened;
    }
    return r;
  } catch (const std::exception&) {
    return failed(ENOMEM);
  }
}

fs_result remove_for_script(const control& c, const char* path) noexcept {
  try {
    std::string name;
    fs_result dir = open_parent(c, path, name);
    if (dir.fd < 0) return dir;
    int rc = ::unlinkat(dir.fd, name.c_str(), 0);
    if (rc != 0 && (errno == EISDIR || errno == EPERM))
      rc = ::unlinkat(dir.fd, name.c_str(), AT_REMOVEDIR);
    int saved = errno;
    ::close(dir.fd);
    return outcome(rc, saved);
  } catch (const std::exception&) {
    return failed(ENOMEM);
  }
}

fs_result rename_for_script(const control& c, const char* from,
                            const char* to) noexcept {
  try {
    std::string from_name;
    std::string to_name;
    fs_result a = open_parent(c, from, from_name);
    if (a.fd < 0) return a;
    fs_result b = open_parent(c, to, to_name);
    if (b.fd < 0) {
      ::close(a.fd);
      return b;
    }
    int rc = ::renameat(a.fd, from_name.c_str(), b.fd, to_name.c_str());
    int saved = errno;
    ::close(a.fd);
    ::close(b.fd);
    return outcome(rc, saved);
  } catch (const std::exception&) {
    return failed(ENOMEM);
  }
}

} // namespace troupe::lua_vm
