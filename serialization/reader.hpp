// A bounds-checked msgpack reader shared by the Lua and troupe::value decoders.
// It reads one item's header at a time and trusts nothing: every length is
// checked against the bytes that are really left, and a container's declared
// count must fit in them (each element takes at least one byte) before anyone
// sizes anything by it. It is trivially destructible and never throws, so the
// Lua decoder can use it where a Lua error may longjmp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "serialization/address.hpp"

namespace troupe::serialization {

/// What one msgpack item is.
enum class item_type : std::uint8_t {
  nil,
  boolean,
  integer,
  floating,
  string,
  array,
  map,
  /// A handle (see address.hpp); `tag` and `addr` hold it.
  handle,
};

/// One decoded item header (for strings the bytes themselves, for containers
/// the element count).
struct item {
  item_type type;
  bool boolean;
  std::int64_t integer;
  double floating;
  const char* str;
  std::size_t length; // string bytes, array elements or map entries
  std::uint64_t tag; // a handle's runtime tag
  address addr; // a handle's address
};

/// Why reading failed; read_error_text gives the words.
enum class read_error : std::uint8_t {
  none,
  truncated,
  bad_type_byte,
  ext_type,
  int_too_large,
  count_too_large,
  trailing_bytes,
  too_deep,
  too_many_elements,
  too_large,
  nil_key,
  nan_key,
  bad_key_type,
  duplicate_key,
  bad_handle,
  foreign_handle,
  handle_refused,
};

/// A human description of a read_error, e.g. "truncated input".
const char* read_error_text(read_error e) noexcept;

/// A cursor over untrusted bytes.
struct reader {
  const unsigned char* pos;
  const unsigned char* end;

  /// Bytes not yet read.
  std::size_t left() const noexcept {
    return static_cast<std::size_t>(end - pos);
  }

  /// Reads the next item's header into `out`; on failure leaves `pos` where the
  /// item began. The commonest items (small integers, floats, short strings)
  /// are read inline.
  read_error next(item& out) noexcept {
    if (pos != end) {
      unsigned char b = *pos;
      if (b <= 0x7f) {
        out.type = item_type::integer;
        out.integer = b;
        ++pos;
        return read_error::none;
      }
      if (b == 0xcb && left() >= 9) {
        std::uint64_t bits;
        std::memcpy(&bits, pos + 1, sizeof bits);
        bits = __builtin_bswap64(bits);
        std::memcpy(&out.floating, &bits, sizeof bits);
        out.type = item_type::floating;
        pos += 9;
        return read_error::none;
      }
      if ((b & 0xe0) == 0xa0 && left() > (b & 0x1fu)) {
        out.type = item_type::string;
        out.str = reinterpret_cast<const char*>(pos + 1);
        out.length = b & 0x1fu;
        pos += 1 + out.length;
        return read_error::none;
      }
    }
    return next_slow(out);
  }

  /// next() for every item.
  read_error next_slow(item& out) noexcept;
};

} // namespace troupe::serialization
