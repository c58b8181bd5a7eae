// The msgpack item reader (see reader.hpp): one switch over the type byte,
// every length checked against what is left before it is used.
#include "serialization/reader.hpp"

#include <array>

#include "serialization/handle_rewrite.hpp"

namespace troupe::serialization {

namespace {

std::uint64_t load_be(const unsigned char* p, int n) noexcept {
  std::uint64_t x = 0;
  for (int i = 0; i < n; ++i) x = (x << 8) | p[i];
  return x;
}

// Writes the first `count` of `words` at `p`, big-endian.
void store_words(unsigned char* p, std::array<std::uint64_t, 3> words,
                 std::size_t count) noexcept {
  for (std::size_t i = 0; i < count; ++i)
    for (int j = 0; j < 8; ++j)
      p[8 * i + static_cast<std::size_t>(j)] = static_cast<unsigned char>(
        words[i] >> (56 - 8 * j));
}

// Reads an n-byte big-endian unsigned after the type byte.
bool take_uint(reader& r, int n, std::uint64_t& x) noexcept {
  if (r.left() < 1 + static_cast<std::size_t>(n)) return false;
  x = load_be(r.pos + 1, n);
  r.pos += 1 + n;
  return true;
}

read_error take_string(reader& r, item& out, int len_bytes,
                       const unsigned char* start) noexcept {
  std::uint64_t n = 0;
  if (!take_uint(r, len_bytes, n)) return read_error::truncated;
  if (n > r.left()) {
    r.pos = start;
    return read_error::truncated;
  }
  out.type = item_type::string;
  out.str = reinterpret_cast<const char*>(r.pos);
  out.length = static_cast<std::size_t>(n);
  r.pos += n;
  return read_error::none;
}

// A container's count must fit in the bytes left: each element takes at least
// one byte.
read_error take_container(reader& r, item& out, item_type type, std::uint64_t n,
                          const unsigned char* start) noexcept {
  std::uint64_t min_bytes = type == item_type::map ? 2 : 1;
  if (n > r.left() / min_bytes) {
    r.pos = start;
    return read_error::count_too_large;
  }
  out.type = type;
  out.length = static_cast<std::size_t>(n);
  return read_error::none;
}

read_error take_sized_container(reader& r, item& out, item_type type,
                                int len_bytes,
                                const unsigned char* start) noexcept {
  std::uint64_t n = 0;
  if (!take_uint(r, len_bytes, n)) return read_error::truncated;
  return take_container(r, out, type, n, start);
}

read_error take_int(reader& r, item& out, int n, bool is_signed) noexcept {
  std::uint64_t x = 0;
  if (!take_uint(r, n, x)) return read_error::truncated;
  out.type = item_type::integer;
  if (is_signed) {
    int shift = 64 - 8 * n;
    out.integer = static_cast<std::int64_t>(x << shift) >> shift;
  } else {
    if (x > static_cast<std::uint64_t>(INT64_MAX)) {
      r.pos -= 1 + n;
      return read_error::int_too_large;
    }
    out.integer = static_cast<std::int64_t>(x);
  }
  return read_error::none;
}

// troupe's two ext types, in exactly their own lengths (address.hpp).
read_error take_handle(reader& r, item& out, unsigned char b) noexcept {
  std::size_t header = b == 0xd8 ? 2 : 3;
  std::size_t length = b == 0xd8                    ? 16
                       : b == 0xc7 && r.left() >= 2 ? r.pos[1]
                                                    : 0;
  if (r.left() < header || r.left() - header < length)
    return read_error::truncated;
  auto type = static_cast<signed char>(r.pos[header - 1]);
  if (type != address::actor && type != address::reply)
    return read_error::ext_type;
  if (b != (type == address::actor ? 0xd8 : 0xc7)
      || length != (type == address::actor ? 16u : 24u))
    return read_error::bad_handle;
  const unsigned char* p = r.pos + header;
  std::uint64_t id = load_be(p + 8, 8);
  if (id == 0 && type == address::actor) return read_error::bad_handle;
  out.type = item_type::handle;
  out.tag = load_be(p, 8);
  out.addr.kind = static_cast<address::kind_t>(type);
  out.addr.id = id;
  out.addr.call = type == address::reply ? load_be(p + 16, 8) : 0;
  r.pos = p + length;
  return read_error::none;
}

} // namespace

void write_address(byte_sink& out, std::uint64_t tag,
                   const address& a) noexcept {
  bool actor = a.kind == address::actor;
  std::size_t header = actor ? 2 : 3;
  std::size_t length = actor ? 16 : 24;
  char* p = out.extend(header + length);
  if (p == nullptr) return;
  p[0] = static_cast<char>(actor ? 0xd8 : 0xc7);
  if (!actor) p[1] = static_cast<char>(length);
  p[header - 1] = static_cast<char>(a.kind);
  store_words(reinterpret_cast<unsigned char*>(p) + header, {tag, a.id, a.call},
              length / 8);
}

void store_handle(unsigned char* item_end, const item& h) noexcept {
  std::size_t count = h.addr.kind == address::actor ? 2 : 3;
  store_words(item_end - 8 * count, {h.tag, h.addr.id, h.addr.call}, count);
}

const char* read_error_text(read_error e) noexcept {
  switch (e) {
    case read_error::none: return "no error";
    case read_error::truncated: return "truncated input";
    case read_error::bad_type_byte: return "invalid type byte";
    case read_error::ext_type: return "unsupported ext type";
    case read_error::int_too_large: return "integer above INT64_MAX";
    case read_error::count_too_large:
      return "declared element count exceeds the input";
    case read_error::trailing_bytes: return "trailing bytes after the value";
    case read_error::too_deep: return "nesting deeper than the depth limit";
    case read_error::too_many_elements:
      return "more elements than the element limit";
    case read_error::too_large: return "larger than the size limit";
    case read_error::nil_key: return "nil map key";
    case read_error::nan_key: return "NaN map key";
    case read_error::bad_key_type: return "map key is a table or a handle";
    case read_error::duplicate_key: return "duplicate map key";
    case read_error::bad_handle: return "malformed handle";
    case read_error::foreign_handle:
      return "handle of another runtime (or forged)";
    case read_error::handle_refused: return "handles cannot be received here";
  }
  return "unknown error";
}

read_error reader::next_slow(item& out) noexcept {
  if (pos == end) return read_error::truncated;
  const unsigned char* start = pos;
  unsigned char b = *pos;
  if (b <= 0x7f || b >= 0xe0) {
    out.type = item_type::integer;
    out.integer = b <= 0x7f ? b : static_cast<int>(b) - 256;
    ++pos;
    return read_error::none;
  }
  if (b >= 0x80 && b <= 0x8f) {
    ++pos;
    return take_container(*this, out, item_type::map, b & 0x0f, start);
  }
  if (b >= 0x90 && b <= 0x9f) {
    ++pos;
    return take_container(*this, out, item_type::array, b & 0x0f, start);
  }
  if (b >= 0xa0 && b <= 0xbf) {
    std::size_t n = b & 0x1f;
    if (left() < 1 + n) return read_error::truncated;
    out.type = item_type::string;
    out.str = reinterpret_cast<const char*>(pos + 1);
    out.length = n;
    pos += 1 + n;
    return read_error::none;
  }
  switch (b) {
    case 0xc0:
      out.type = item_type::nil;
      ++pos;
      return read_error::none;
    case 0xc2:
    case 0xc3:
      out.type = item_type::boolean;
      out.boolean = b == 0xc3;
      ++pos;
      return read_error::none;
    case 0xc4:
    case 0xd9: return take_string(*this, out, 1, start);
    case 0xc5:
    case 0xda: return take_string(*this, out, 2, start);
    case 0xc6:
    case 0xdb: return take_string(*this, out, 4, start);
    case 0xca: {
      std::uint64_t x = 0;
      if (!take_uint(*this, 4, x)) return read_error::truncated;
      auto bits = static_cast<std::uint32_t>(x);
      float f;
      std::memcpy(&f, &bits, sizeof f);
      out.type = item_type::floating;
      out.floating = f;
      return read_error::none;
    }
    case 0xcb: {
      std::uint64_t bits = 0;
      if (!take_uint(*this, 8, bits)) return read_error::truncated;
      out.type = item_type::floating;
      std::memcpy(&out.floating, &bits, sizeof bits);
      return read_error::none;
    }
    case 0xcc: return take_int(*this, out, 1, false);
    case 0xcd: return take_int(*this, out, 2, false);
    case 0xce: return take_int(*this, out, 4, false);
    case 0xcf: return take_int(*this, out, 8, false);
    case 0xd0: return take_int(*this, out, 1, true);
    case 0xd1: return take_int(*this, out, 2, true);
    case 0xd2: return take_int(*this, out, 4, true);
    case 0xd3: return take_int(*this, out, 8, true);
    case 0xdc:
      return take_sized_container(*this, out, item_type::array, 2, start);
    case 0xdd:
      return take_sized_container(*this, out, item_type::array, 4, start);
    case 0xde:
      return take_sized_container(*this, out, item_type::map, 2, start);
    case 0xdf:
      return take_sized_container(*this, out, item_type::map, 4, start);
    case 0xc7:
    case 0xd8: return take_handle(*this, out, b);
    case 0xc8:
    case 0xc9:
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7: return read_error::ext_type;
    default: return read_error::bad_type_byte;
  }
}

} // namespace troupe::serialization
