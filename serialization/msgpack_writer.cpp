// Container headers for the encoders (see msgpack_writer.hpp).
#include "serialization/msgpack_writer.hpp"

namespace troupe::serialization {

namespace {

void put_header(char* p, std::size_t size, bool is_map,
                std::uint32_t n) noexcept {
  if (size == 1) {
    p[0] = static_cast<char>((is_map ? 0x80 : 0x90) | n);
  } else if (size == 3) {
    p[0] = static_cast<char>(is_map ? 0xde : 0xdc);
    detail::put_be(p + 1, static_cast<std::uint16_t>(n));
  } else {
    p[0] = static_cast<char>(is_map ? 0xdf : 0xdd);
    detail::put_be(p + 1, n);
  }
}

} // namespace

void write_header(byte_sink& out, bool is_map, std::uint32_t n) noexcept {
  std::size_t size = header_size(n);
  if (char* p = out.extend(size)) put_header(p, size, is_map, n);
}

bool fix_header(byte_sink& out, std::size_t start, std::size_t reserved,
                bool is_map, std::uint32_t n) noexcept {
  std::size_t needed = header_size(n);
  if (needed > reserved) {
    if (!out.open_gap(start + reserved, needed - reserved)) return false;
  } else if (needed < reserved) {
    std::size_t body = start + reserved;
    std::memmove(out.at(start + needed), out.at(body), out.size() - body);
    out.truncate(out.size() - (reserved - needed));
  }
  put_header(out.at(start), needed, is_map, n);
  return true;
}

} // namespace troupe::serialization
