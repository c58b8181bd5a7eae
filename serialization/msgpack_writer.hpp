// The msgpack writer both encoders use: msgpack-c's packer over a byte_sink, plus container headers that can be
// fixed up after the fact (a Lua table's element count is known only once it has been walked).
#pragma once

#include <cstdint>
#include <cstring>

#include <msgpack/pack.hpp>

#include "serialization/byte_sink.hpp"

namespace troupe::serialization {

/// msgpack-c's packer writing into a byte_sink.
using packer = msgpack::packer<byte_sink>;

/// Writes `d` as a msgpack float 64. (msgpack-c's pack_double writes integral doubles as integers, which would
/// turn Lua's 3.0 into 3.)
inline void write_float64(byte_sink& out, double d) noexcept {
  std::uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  char buf[9];
  buf[0] = static_cast<char>(0xcb);
  for (int i = 0; i < 8; ++i)
    buf[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
  out.write(buf, sizeof buf);
}

/// Bytes a container header for `n` elements takes (1, 3 or 5).
constexpr std::size_t header_size(std::uint64_t n) noexcept {
  return n <= 15 ? 1 : n <= 0xffff ? 3 : 5;
}

/// Rewrites the `reserved`-byte header at `start` as an array or map header for `n` elements, moving the body
/// when the header's size changes. False if the sink failed.
bool fix_header(byte_sink& out, std::size_t start, std::size_t reserved, bool is_map, std::uint32_t n) noexcept;

} // namespace troupe::serialization
