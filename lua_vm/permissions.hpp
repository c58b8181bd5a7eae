// Permission names (DESIGN.md "Sandbox and permissions") and the set a state
// holds. This first version knows the names and enforces `worker` and `load`
// for worker.create; scoping of fs permissions to a directory and the other
// grants' functions (io, os.execute, os.getenv, require) arrive with the
// permissions issue.
#pragma once

#include <cstdint>
#include <optional>
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
  worker
};

/// A set of permissions (a worker inherits its parent's).
class permission_set {
public:
  /// The empty set: nothing granted.
  permission_set() = default;

  /// Parses names such as "worker", "load", "fs:read=/data/"; throws
  /// std::invalid_argument naming an unknown one.
  static permission_set parse(const std::vector<std::string>& names);

  /// Whether `p` is granted.
  bool has(permission p) const noexcept {
    return (bits_ & bit(p)) != 0;
  }

  /// Grants `p`.
  void grant(permission p) noexcept {
    bits_ |= bit(p);
  }

  /// The name of `p` as DESIGN.md spells it ("fs:read", ...).
  static const char* name(permission p) noexcept;

private:
  static constexpr std::uint8_t bit(permission p) noexcept {
    return static_cast<std::uint8_t>(1u << static_cast<unsigned>(p));
  }
  std::uint8_t bits_ = 0;
};

} // namespace troupe::lua_vm
