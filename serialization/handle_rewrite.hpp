// Handles rewritten in place in encoded values: how a message's handles are
// translated when it crosses from one runtime to another (a node's link). A
// handle's ext type has a fixed size (address.hpp), so each one is rewritten
// where it lies and nothing else in the bytes moves or is decoded.
#pragma once

#include <string>

#include "serialization/reader.hpp"

namespace troupe::serialization {

/// Overwrites the handle item `h`, which ends at `item_end`, with `h.tag` and
/// `h.addr` (of the kind it was read as).
void store_handle(unsigned char* item_end, const item& h) noexcept;

/// Calls `f(h)` for each handle in the encoded values `bytes`; `f` may change
/// `h.tag` and `h.addr` (not its kind), which is written back, and returns
/// false to refuse the handle. Returns read_error::handle_refused when `f`
/// refused one (the bytes are then partly rewritten), or the error of bytes
/// that are not msgpack.
template<class F>
read_error rewrite_handles(std::string& bytes, F&& f) {
  auto* data = reinterpret_cast<unsigned char*>(bytes.data());
  reader r{data, data + bytes.size()};
  item it{};
  while (r.left() > 0) {
    if (auto e = r.next(it); e != read_error::none) return e;
    if (it.type != item_type::handle) continue;
    auto kind = it.addr.kind;
    if (!f(it) || it.addr.kind != kind) return read_error::handle_refused;
    store_handle(const_cast<unsigned char*>(r.pos), it);
  }
  return read_error::none;
}

} // namespace troupe::serialization
