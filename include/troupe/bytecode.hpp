// Precompiled Lua chunks. troupe::compile checks and compiles source once; the
// resulting troupe::bytecode is an opaque value that only this process can
// make, so the VM never loads binary chunks from anywhere else.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "troupe/export.hpp"

namespace troupe {

/// A compiled chunk, cheap to copy (shared, immutable). Keeps its source and
/// name.
class TROUPE_API bytecode {
public:
  /// An empty bytecode that holds no chunk: running it is an error
  /// (std::invalid_argument).
  bytecode() noexcept = default;

  /// False for an empty (default-constructed) bytecode.
  explicit operator bool() const noexcept {
    return impl_ != nullptr;
  }

  /// The chunk name given to compile (used in error messages as `name:line:`);
  /// empty for an empty bytecode.
  const std::string& name() const noexcept;
  /// The source text it was compiled from; empty for an empty bytecode.
  const std::string& source() const noexcept;

  /// Internal representation; opaque outside libtroupe.
  struct impl;

private:
  explicit bytecode(std::shared_ptr<const impl> p) noexcept
      : impl_(std::move(p)) {}
  friend TROUPE_API bytecode compile(std::string_view source,
                                     std::string_view chunkname);
  friend struct bytecode_access;

  std::shared_ptr<const impl> impl_;
};

/// Compiles Lua source (text only). Throws troupe::compile_error with
/// `chunkname:line: message` on a syntax error.
TROUPE_API bytecode compile(std::string_view source,
                            std::string_view chunkname);

} // namespace troupe
