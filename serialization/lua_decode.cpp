// msgpack -> Lua value (see lua_codec.hpp). Everything here is trivially
// destructible: a Lua memory error raised by lua_createtable or lua_pushlstring
// longjmps through these frames and must leave nothing to clean up. Containers
// are pre-sized only by counts the reader has already checked against the bytes
// really present.
#include <cmath>
#include <cstdio>
#include <cstring>

#include "serialization/lua_codec.hpp"

namespace troupe::serialization {

namespace {

struct decoder {
  lua_State* L;
  reader r;
  const unsigned char* begin;
  const limits* lim;
  const lua_handles* handles;
  std::size_t elements;
  decode_status status;

  bool fail(read_error e, const unsigned char* at) {
    status.error = e;
    status.offset = static_cast<std::size_t>(at - begin);
    return false;
  }

  bool next(item& it) {
    const unsigned char* at = r.pos;
    read_error e = r.next(it);
    if (e != read_error::none) return fail(e, at);
    if (++elements > lim->max_elements)
      return fail(read_error::too_many_elements, at);
    if ((it.type == item_type::array || it.type == item_type::map)
        && it.length > lim->max_elements - elements)
      return fail(read_error::too_many_elements, at);
    return true;
  }

  void push_scalar(const item& it) {
    switch (it.type) {
      case item_type::nil: lua_pushnil(L); break;
      case item_type::boolean: lua_pushboolean(L, it.boolean); break;
      case item_type::integer: lua_pushinteger(L, it.integer); break;
      case item_type::floating: lua_pushnumber(L, it.floating); break;
      case item_type::handle:
        handles->push(L, handles->context, it.addr);
        break;
      default: lua_pushlstring(L, it.str, it.length); break;
    }
  }

  // A handle is pushed only when it is this runtime's.
  bool check_handle(const item& it, const unsigned char* at) {
    if (handles == nullptr || handles->push == nullptr)
      return fail(read_error::handle_refused, at);
    if (it.tag != handles->tag) return fail(read_error::foreign_handle, at);
    return true;
  }

  // [-0, +1] on success.
  bool value(std::size_t depth) {
    item it;
    const unsigned char* at = r.pos;
    if (!next(it)) return false;
    if (it.type == item_type::array || it.type == item_type::map) {
      if (depth + 1 > lim->max_depth) return fail(read_error::too_deep, at);
      if (!lua_checkstack(L, 4)) return fail(read_error::too_deep, at);
      return it.type == item_type::array ? array(it.length, depth + 1)
                                         : map(it.length, depth + 1);
    }
    if (it.type == item_type::handle && !check_handle(it, at)) return false;
    push_scalar(it);
    return true;
  }

  bool array(std::size_t n, std::size_t depth) {
    // One slot more than needed: an array part reaching past n lets the encoder
    // prove, without a traversal, that the table has no keys besides 1..n when
    // it is sent on (see lua_encode.cpp).
    lua_createtable(L, static_cast<int>(n) + 1, 0);
    for (std::size_t i = 1; i <= n; ++i) {
      if (!float_element() && !value(depth)) return false;
      lua_rawseti(L, -2, static_cast<lua_Integer>(i));
    }
    return true;
  }

  // [-0, +1|0] Numeric arrays are the bulk of large messages: a float 64
  // element is read here without the general item dispatch. False (nothing
  // pushed) for anything else.
  bool float_element() {
    if (r.left() < 9 || *r.pos != 0xcb || elements >= lim->max_elements)
      return false;
    std::uint64_t bits;
    std::memcpy(&bits, r.pos + 1, sizeof bits);
    bits = __builtin_bswap64(bits);
    double d;
    std::memcpy(&d, &bits, sizeof d);
    r.pos += 9;
    ++elements;
    lua_pushnumber(L, d);
    return true;
  }

  // [-0, +1] pushes a key: a boolean, number or string; never nil or NaN. `it`
  // receives the key's item.
  bool key(item& it) {
    const unsigned char* at = r.pos;
    if (!next(it)) return false;
    switch (it.type) {
      case item_type::nil: return fail(read_error::nil_key, at);
      case item_type::array:
      case item_type::map:
      case item_type::handle: return fail(read_error::bad_key_type, at);
      case item_type::floating:
        if (std::isnan(it.floating)) return fail(read_error::nan_key, at);
        if (it.floating >= -0x1p63 && it.floating < 0x1p63
            && static_cast<double>(static_cast<std::int64_t>(it.floating))
                 == it.floating) {
          it.type = item_type::integer;
          it.integer = static_cast<std::int64_t>(it.floating);
        }
        break;
      default: break;
    }
    push_scalar(it);
    return true;
  }

  // Small maps find duplicate keys by comparing the keys' items; larger ones
  // ask the table.
  static constexpr std::size_t small_map = 8;

  static bool same_key(const item& x, const item& y) {
    if (x.type != y.type) return false;
    switch (x.type) {
      case item_type::boolean: return x.boolean == y.boolean;
      case item_type::integer: return x.integer == y.integer;
      case item_type::floating: return x.floating == y.floating;
      default:
        return x.length == y.length && std::memcmp(x.str, y.str, x.length) == 0;
    }
  }

  bool map(std::size_t n, std::size_t depth) {
    lua_createtable(L, 0, static_cast<int>(n));
    item seen[small_map];
    for (std::size_t i = 0; i < n; ++i) {
      const unsigned char* at = r.pos;
      item& k = seen[i < small_map ? i : 0];
      if (!key(k)) return false;
      if (n <= small_map) {
        for (std::size_t j = 0; j < i; ++j)
          if (same_key(seen[j], k)) return fail(read_error::duplicate_key, at);
      } else {
        lua_pushvalue(L, -1);
        if (lua_rawget(L, -3) != LUA_TNIL)
          return fail(read_error::duplicate_key, at);
        lua_pop(L, 1);
      }
      if (!value(depth)) return false;
      lua_rawset(L, -3);
    }
    return true;
  }
};

decoder make_decoder(lua_State* L, std::string_view bytes, const limits& lim,
                     const lua_handles* handles) {
  auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  return decoder{L, reader{p, p + bytes.size()}, p, &lim, handles, 0, {}};
}

bool finish(decoder& d) {
  if (d.r.pos != d.r.end) return d.fail(read_error::trailing_bytes, d.r.pos);
  return true;
}

} // namespace

decode_status decode(lua_State* L, std::string_view bytes, const limits& lim,
                     const lua_handles* handles) {
  decoder d = make_decoder(L, bytes, lim, handles);
  if (bytes.size() > lim.max_bytes) {
    d.fail(read_error::too_large, d.begin);
    return d.status;
  }
  int top = lua_gettop(L);
  if (!lua_checkstack(L, 4) || !d.value(0) || !finish(d)) lua_settop(L, top);
  return d.status;
}

decode_status decode_values(lua_State* L, std::string_view bytes,
                            const limits& lim, int& count,
                            const lua_handles* handles) {
  decoder d = make_decoder(L, bytes, lim, handles);
  count = 0;
  int top = lua_gettop(L);
  item it;
  if (bytes.size() > lim.max_bytes) {
    d.fail(read_error::too_large, d.begin);
  } else if (d.next(it)) {
    if (it.type != item_type::array) {
      d.fail(read_error::bad_type_byte, d.begin);
    } else if (it.length > INT32_MAX - 8
               || !lua_checkstack(L, static_cast<int>(it.length) + 4)) {
      d.fail(read_error::too_many_elements, d.begin);
    } else {
      bool ok = true;
      for (std::size_t i = 0; ok && i < it.length; ++i) ok = d.value(0);
      if (ok && finish(d)) count = static_cast<int>(it.length);
    }
  }
  if (count == 0) lua_settop(L, top);
  return d.status;
}

const char* describe(const decode_status& status, char* buf,
                     std::size_t size) noexcept {
  std::snprintf(buf, size, "malformed message at byte %zu: %s", status.offset,
                read_error_text(status.error));
  return buf;
}

} // namespace troupe::serialization
