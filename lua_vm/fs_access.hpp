// File access on behalf of a script, under its permissions. A path (relative
// ones against control::home) is made canonical only to choose the scope that
// covers it; the file is then opened beneath that scope's directory with
// openat2 and RESOLVE_BENEATH, so `..`, symlinks and a swap between the check
// and the open cannot step out: the kernel refuses the escape. Every function
// is noexcept and reports through fs_result, for use between Lua frames.
#pragma once

#include <cstddef>

#include "lua_vm/control.hpp"

namespace troupe::lua_vm {

/// How a file operation for a script ended.
struct fs_result {
  /// A file descriptor (for opens) or 0; -1 on failure.
  int fd = -1;
  /// errno of an operating-system failure (0 when denied).
  int error = 0;
  /// The permission that was missing, when denied.
  bool denied = false;
  permission missing = permission::fs_read;
};

/// Opens `path` with open(2) `flags` (and `mode` when creating), needing
/// fs:read when `reads`, fs:write when `writes`.
fs_result open_for_script(const control& c, const char* path, int flags,
                          unsigned mode, bool reads, bool writes) noexcept;

/// Opens the module file `path` for reading without blocking: beneath the
/// fs:read scope that covers it, else when it lies in a directory of the
/// runtime's search path readable for require (module_catalog::
/// readable_roots), where a symbolic link is followed only to a `.lua` file.
fs_result open_module_for_script(const control& c, const char* path) noexcept;

/// Removes the file or empty directory `path` (fs:write).
fs_result remove_for_script(const control& c, const char* path) noexcept;

/// Renames `from` to `to` (fs:write of both).
fs_result rename_for_script(const control& c, const char* from,
                            const char* to) noexcept;

} // namespace troupe::lua_vm
