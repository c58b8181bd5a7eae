// Permissions (DESIGN.md "Sandbox and permissions"; Lus calls them pledges):
// the set a state holds. `load` (code from files: require, dofile, loadfile,
// and with `worker` the script of worker.create), `fs:read` and `fs:write`
// (optionally scoped to directories: `fs:read=/data/` grants that directory
// and below), `exec`, `env`, `worker`, `host` (the host's native
// functions, the `host` table) and `shared` (the shared dicts). A worker
// inherits its parent's set; pledge narrows a set and nothing widens one.
// Scopes are kept as canonical absolute paths; they only choose which directory
// a path is opened beneath, the kernel enforces the confinement
// (fs_access.hpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::lua_vm {

/// One permission.
enum class permission : std::uint8_t {
  load,
  fs_read,
  fs_write,
  exec,
  env,
  worker,
  /// The host's native functions (the `host` table).
  host,
  /// The runtime's shared dicts (worker.shared).
  shared
};

/// Whether the canonical `path` is `dir` or beneath it.
bool path_within(const std::string& path, const std::string& dir) noexcept;

/// A set of permissions (see the file comment).
class permission_set {
public:
  /// The empty set: nothing granted.
  permission_set() = default;

  /// Parses names such as "worker", "load", "fs:read=/data/"; a relative scope
  /// resolves against `base` (the current directory when empty). Throws
  /// std::invalid_argument naming an unknown name.
  static permission_set parse(const std::vector<std::string>& names,
                              const std::filesystem::path& base = {});

  /// Every permission, fs ones unscoped.
  static permission_set all();

  /// Whether `p` is granted (for fs ones: anywhere or in some scope).
  bool has(permission p) const noexcept {
    return (bits_ & bit(p)) != 0;
  }

  /// Whether fs permission `p` covers `path` (absolute, canonical). On
  /// success `scope` is the directory to open it beneath, or empty when `p`
  /// is not scoped.
  bool covers(permission p, const std::string& path, std::string& scope) const;

  /// This set narrowed to `names` (pledge). Throws std::invalid_argument when
  /// one is unknown or not held (a scope must lie within a held one).
  permission_set narrowed(const std::vector<std::string>& names,
                          const std::filesystem::path& base) const;

  /// This set without `name` ("fs:read" drops every fs:read scope); unknown
  /// names throw std::invalid_argument.
  permission_set without(std::string_view name) const;

  /// The names held, as parse reads them, in a fixed order.
  std::vector<std::string> names() const;

  /// The name of `p` as DESIGN.md spells it ("fs:read", ...).
  static const char* name(permission p) noexcept;

  /// Whether `p` takes a directory scope (fs:read=/data).
  static bool scoped_kind(permission p) noexcept {
    return p == permission::fs_read || p == permission::fs_write;
  }

private:
  static constexpr std::uint16_t bit(permission p) noexcept {
    return static_cast<std::uint16_t>(1u << static_cast<unsigned>(p));
  }
  std::vector<std::string>& scopes(permission p) {
    return p == permission::fs_read ? read_scopes_ : write_scopes_;
  }
  const std::vector<std::string>& scopes(permission p) const {
    return p == permission::fs_read ? read_scopes_ : write_scopes_;
  }
  void grant(permission p, const std::string& scope);

  std::uint16_t bits_ = 0;
  // For fs_read and fs_write: empty while granted means everywhere.
  std::vector<std::string> read_scopes_;
  std::vector<std::string> write_scopes_;
};

} // namespace troupe::lua_vm
