// The msgpack writer both encoders use. It writes straight into a byte_sink's
// memory, big-endian words with one store each (building bytes on the stack and
// copying them costs a store-forwarding stall per value), always choosing the
// smallest encoding of an integer and always float 64 for a float (msgpack-c's
// pack_double writes integral doubles as integers, which would turn Lua's 3.0
// into 3). Container headers can be fixed up after the fact, since a Lua
// table's element count is known only once it has been walked.
#pragma once

#include <cstdint>
#include <cstring>

#include "serialization/byte_sink.hpp"

namespace troupe::serialization {

namespace detail {

template<class T>
inline void put_be(char* p, T x) noexcept {
  if constexpr (sizeof(T) == 2)
    x = __builtin_bswap16(x);
  else if constexpr (sizeof(T) == 4)
    x = __builtin_bswap32(x);
  else if constexpr (sizeof(T) == 8)
    x = __builtin_bswap64(x);
  std::memcpy(p, &x, sizeof x);
}

// A type byte followed by a big-endian word.
template<class T>
inline void write_tagged(byte_sink& out, unsigned char tag, T x) noexcept {
  if (char* p = out.extend(1 + sizeof(T))) {
    p[0] = static_cast<char>(tag);
    put_be(p + 1, x);
  }
}

} // namespace detail

/// Writes nil.
inline void write_nil(byte_sink& out) noexcept {
  if (char* p = out.extend(1)) p[0] = static_cast<char>(0xc0);
}

/// Writes a boolean.
inline void write_bool(byte_sink& out, bool b) noexcept {
  if (char* p = out.extend(1)) p[0] = static_cast<char>(b ? 0xc3 : 0xc2);
}

/// Writes an integer in its smallest msgpack form.
inline void write_int(byte_sink& out, std::int64_t i) noexcept {
  if (i >= -32 && i <= 127) {
    if (char* p = out.extend(1)) p[0] = static_cast<char>(i);
  } else if (i > 0) {
    if (i <= 0xff)
      detail::write_tagged(out, 0xcc, static_cast<std::uint8_t>(i));
    else if (i <= 0xffff)
      detail::write_tagged(out, 0xcd, static_cast<std::uint16_t>(i));
    else if (i <= 0xffffffff)
      detail::write_tagged(out, 0xce, static_cast<std::uint32_t>(i));
    else
      detail::write_tagged(out, 0xcf, static_cast<std::uint64_t>(i));
  } else if (i >= INT8_MIN) {
    detail::write_tagged(out, 0xd0, static_cast<std::uint8_t>(i));
  } else if (i >= INT16_MIN) {
    detail::write_tagged(out, 0xd1, static_cast<std::uint16_t>(i));
  } else if (i >= INT32_MIN) {
    detail::write_tagged(out, 0xd2, static_cast<std::uint32_t>(i));
  } else {
    detail::write_tagged(out, 0xd3, static_cast<std::uint64_t>(i));
  }
}

/// Writes a float 64.
inline void write_float(byte_sink& out, double d) noexcept {
  std::uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  detail::write_tagged(out, 0xcb, bits);
}

/// Writes a string (msgpack str; binary safe). The caller keeps `n` within the
/// sink's cap, below 4 GiB.
inline void write_str(byte_sink& out, const char* s, std::size_t n) noexcept {
  if (n <= 31) {
    if (char* p = out.extend(1 + n)) {
      p[0] = static_cast<char>(0xa0 | n);
      std::memcpy(p + 1, s, n);
    }
    return;
  }
  if (n <= 0xff)
    detail::write_tagged(out, 0xd9, static_cast<std::uint8_t>(n));
  else if (n <= 0xffff)
    detail::write_tagged(out, 0xda, static_cast<std::uint16_t>(n));
  else
    detail::write_tagged(out, 0xdb, static_cast<std::uint32_t>(n));
  out.write(s, n);
}

/// Bytes a container header for `n` elements takes (1, 3 or 5).
constexpr std::size_t header_size(std::uint64_t n) noexcept {
  return n <= 15 ? 1 : n <= 0xffff ? 3 : 5;
}

/// Writes an array or map header for `n` elements.
void write_header(byte_sink& out, bool is_map, std::uint32_t n) noexcept;

/// Rewrites the `reserved`-byte header at `start` as an array or map header for
/// `n` elements, moving the body when the header's size changes. False if the
/// sink failed.
bool fix_header(byte_sink& out, std::size_t start, std::size_t reserved,
                bool is_map, std::uint32_t n) noexcept;

} // namespace troupe::serialization
