// troupe::value <-> msgpack (see value_codec.hpp). The decoder uses the same
// hostile-input reader as the Lua decoder and the same limits; maps are rebuilt
// through value::map, which normalizes float keys and rejects duplicates.
#include "serialization/value_codec.hpp"

#include <cmath>

#include "serialization/msgpack_writer.hpp"
#include "serialization/reader.hpp"
#include "troupe/error.hpp"

namespace troupe::serialization {

namespace {

struct value_writer {
  byte_sink& out;
  const limits& lim;
  const value_handles* handles;
  std::size_t elements = 0;

  void write(const value& v, std::size_t depth) {
    if (++elements > lim.max_elements)
      throw codec_error{
        "troupe: value has more elements than the element limit"};
    switch (v.type()) {
      case value::kind::nil: write_nil(out); break;
      case value::kind::boolean: write_bool(out, v.as_bool()); break;
      case value::kind::integer: write_int(out, v.as_int()); break;
      case value::kind::floating: write_float(out, v.as_double()); break;
      case value::kind::string:
        if (v.size() > lim.max_bytes)
          throw codec_error{
            "troupe: value is larger than the message size limit"};
        write_str(out, v.as_string().data(), v.size());
        break;
      case value::kind::array:
        enter(depth, v.size());
        write_header(out, false, static_cast<std::uint32_t>(v.size()));
        for (const auto& x : v.as_array()) write(x, depth + 1);
        break;
      case value::kind::map:
        enter(depth, v.size());
        write_header(out, true, static_cast<std::uint32_t>(v.size()));
        for (const auto& [k, x] : v.as_map()) {
          write(k, depth + 1);
          write(x, depth + 1);
        }
        break;
      case value::kind::handle: handle(v.as_worker()); break;
    }
  }

  void handle(const worker& w) {
    if (handles == nullptr)
      throw codec_error{"troupe: a handle cannot be sent here"};
    if (troupe::detail::worker_access::runtime(w) != handles->tag)
      throw codec_error{"troupe: worker " + std::to_string(w.id())
                        + " belongs to another runtime"};
    write_address(out, handles->tag, {address::actor, w.id(), 0});
  }

  void enter(std::size_t depth, std::size_t size) const {
    if (depth + 1 > lim.max_depth)
      throw codec_error{"troupe: value nests deeper than the depth limit"};
    if (size > UINT32_MAX)
      throw codec_error{
        "troupe: value has more elements than the element limit"};
  }
};

void check(const byte_sink& out) {
  if (out.failed() == byte_sink::failure::too_large)
    throw codec_error{"troupe: value is larger than the message size limit"};
  if (out.failed() == byte_sink::failure::no_memory) throw std::bad_alloc{};
}

struct value_reader {
  reader r;
  const unsigned char* begin;
  const limits& lim;
  const value_handles* handles;
  std::size_t elements = 0;

  [[noreturn]] void fail(read_error e, const unsigned char* at) const {
    throw codec_error{"malformed message at byte " + std::to_string(at - begin)
                      + ": " + read_error_text(e)};
  }

  value read(std::size_t depth) {
    const unsigned char* at = r.pos;
    item it;
    if (read_error e = r.next(it); e != read_error::none) fail(e, at);
    if (++elements > lim.max_elements) fail(read_error::too_many_elements, at);
    switch (it.type) {
      case item_type::nil: return {};
      case item_type::boolean: return value{it.boolean};
      case item_type::integer: return value{it.integer};
      case item_type::floating: return value{it.floating};
      case item_type::string: return value{std::string{it.str, it.length}};
      case item_type::array: {
        enter(depth, it, at);
        value::array_type elems;
        elems.reserve(it.length);
        for (std::size_t i = 0; i < it.length; ++i)
          elems.push_back(read(depth + 1));
        return value::array(std::move(elems));
      }
      case item_type::map: return read_map(depth, it, at);
      case item_type::handle: return handle(it, at);
    }
    fail(read_error::bad_type_byte, at);
  }

  // Only actors' handles reach the host: a reply token answers a script's
  // call, and the host is called by no one.
  value handle(const item& it, const unsigned char* at) const {
    if (handles == nullptr || handles->make == nullptr
        || it.addr.kind != address::actor)
      fail(read_error::handle_refused, at);
    if (it.tag != handles->tag) fail(read_error::foreign_handle, at);
    return value{handles->make(handles->context, it.addr.id)};
  }

  value read_map(std::size_t depth, const item& it, const unsigned char* at) {
    enter(depth, it, at);
    value::map_type entries;
    entries.reserve(it.length);
    for (std::size_t i = 0; i < it.length; ++i) {
      const unsigned char* key_at = r.pos;
      value k = read(depth + 1);
      if (k.is_nil()) fail(read_error::nil_key, key_at);
      if (k.is_double() && std::isnan(k.as_double()))
        fail(read_error::nan_key, key_at);
      if (k.is_array() || k.is_map() || k.is_handle())
        fail(read_error::bad_key_type, key_at);
      entries.emplace_back(std::move(k), read(depth + 1));
    }
    try {
      return value::map(std::move(entries));
    } catch (const type_error&) {
      fail(read_error::duplicate_key, at);
    }
  }

  void enter(std::size_t depth, const item& it, const unsigned char* at) const {
    if (depth + 1 > lim.max_depth) fail(read_error::too_deep, at);
    if (it.length > lim.max_elements - elements)
      fail(read_error::too_many_elements, at);
  }
};

} // namespace

void encode(const value& v, byte_sink& out, const limits& lim,
            const value_handles* handles) {
  out.reset(lim.max_bytes);
  value_writer w{out, lim, handles};
  w.write(v, 0);
  check(out);
}

void encode_values(const value::array_type& values, byte_sink& out,
                   const limits& lim, const value_handles* handles) {
  out.reset(lim.max_bytes);
  value_writer w{out, lim, handles};
  write_header(out, false, static_cast<std::uint32_t>(values.size()));
  for (const auto& v : values) w.write(v, 0);
  check(out);
}

value decode_value(std::string_view bytes, const limits& lim,
                   const value_handles* handles) {
  auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  value_reader vr{reader{p, p + bytes.size()}, p, lim, handles};
  if (bytes.size() > lim.max_bytes) vr.fail(read_error::too_large, p);
  value v = vr.read(0);
  if (vr.r.pos != vr.r.end) vr.fail(read_error::trailing_bytes, vr.r.pos);
  return v;
}

} // namespace troupe::serialization
