// Permission names (see permissions.hpp).
#include "lua_vm/permissions.hpp"

#include <stdexcept>

namespace troupe::lua_vm {

namespace {

constexpr permission every[] = {permission::load,     permission::fs_read,
                                permission::fs_write, permission::exec,
                                permission::env,      permission::worker};

} // namespace

const char* permission_set::name(permission p) noexcept {
  switch (p) {
    case permission::load: return "load";
    case permission::fs_read: return "fs:read";
    case permission::fs_write: return "fs:write";
    case permission::exec: return "exec";
    case permission::env: return "env";
    case permission::worker: return "worker";
  }
  return "?";
}

permission_set permission_set::parse(const std::vector<std::string>& names) {
  permission_set set;
  for (const auto& full : names) {
    std::string_view n = full;
    bool scoped = false;
    if (auto eq = n.find('='); eq != std::string_view::npos) {
      n = n.substr(0, eq);
      scoped = true;
    }
    bool known = false;
    for (permission p : every) {
      if (n == name(p)
          && (!scoped || p == permission::fs_read
              || p == permission::fs_write)) {
        set.grant(p);
        known = true;
      }
    }
    if (!known)
      throw std::invalid_argument{
        "troupe: unknown permission '" + full
        + "' (known: load, fs:read[=dir], fs:write[=dir], exec, env, worker)"};
  }
  return set;
}

} // namespace troupe::lua_vm
