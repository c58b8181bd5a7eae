// Container header fix-ups for the encoders (see msgpack_writer.hpp).
#include "serialization/msgpack_writer.hpp"

#include <cstring>

namespace troupe::serialization {

bool fix_header(byte_sink& out, std::size_t start, std::size_t reserved, bool is_map, std::uint32_t n) noexcept {
  std::size_t needed = header_size(n);
  if (needed > reserved) {
    if (!out.open_gap(start + reserved, needed - reserved))
      return false;
  } else if (needed < reserved) {
    std::size_t body = start + reserved;
    std::memmove(out.at(start + needed), out.at(body), out.size() - body);
    out.truncate(out.size() - (reserved - needed));
  }
  auto* p = reinterpret_cast<unsigned char*>(out.at(start));
  if (needed == 1) {
    p[0] = static_cast<unsigned char>((is_map ? 0x80 : 0x90) | n);
  } else if (needed == 3) {
    p[0] = is_map ? 0xde : 0xdc;
    p[1] = static_cast<unsigned char>(n >> 8);
    p[2] = static_cast<unsigned char>(n);
  } else {
    p[0] = is_map ? 0xdf : 0xdd;
    for (int i = 0; i < 4; ++i)
      p[1 + i] = static_cast<unsigned char>(n >> (24 - 8 * i));
  }
  return true;
}

} // namespace troupe::serialization
