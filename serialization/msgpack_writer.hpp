// The msgpack writer both encoders use: msgpack-c's packer over a byte_sink, plus container headers that can be
// fixed up after the fact (a Lua table's element count is known only once it has been walked).
#pragma once

#include <cstdint>

#include <msgpack/pack.hpp>

#include "serialization/byte_sink.hpp"

namespace troupe::serialization {

/// msgpack-c's packer writing into a byte_sink.
using packer = msgpack::packer<byte_sink>;

/// Bytes a container header for `n` elements takes (1, 3 or 5).
constexpr std::size_t header_size(std::uint64_t n) noexcept {
  return n <= 15 ? 1 : n <= 0xffff ? 3 : 5;
}

/// Rewrites the `reserved`-byte header at `start` as an array or map header for `n` elements, moving the body
/// when the header's size changes. False if the sink failed.
bool fix_header(byte_sink& out, std::size_t start, std::size_t reserved, bool is_map, std::uint32_t n) noexcept;

} // namespace troupe::serialization
