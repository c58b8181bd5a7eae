// Bounds on a message, applied when encoding and again, against hostile bytes,
// when decoding.
#pragma once

#include <cstddef>

namespace troupe::serialization {

/// Limits on one encoded message.
struct limits {
  /// Deepest nesting of tables (the outermost table is depth 1).
  std::size_t max_depth = 100;
  /// Largest encoded size in bytes.
  std::size_t max_bytes = std::size_t{64} << 20;
  /// Most values (scalars, tables, keys) in one message.
  std::size_t max_elements = std::size_t{1} << 24;
};

} // namespace troupe::serialization
