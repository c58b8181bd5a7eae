// The property both decoders must hold on any input, shared by the fuzzer and
// the regression test: decode or fail cleanly (the sanitizers watch for the
// rest); what decodes re-encodes, and decoding that again gives the same data.
// A violation aborts, which both harnesses report with the input.
#pragma once

#include <cstdlib>
#include <string>
#include <string_view>

#include <lua.hpp>

#include "serialization/lua_codec.hpp"
#include "serialization/value_codec.hpp"
#include "troupe/error.hpp"

namespace troupe::test {

namespace ser = troupe::serialization;

namespace detail {

struct input {
  std::string_view bytes;
  ser::decode_status status;
};

inline int decode_in_lua(lua_State* L) {
  auto* in = static_cast<input*>(lua_touserdata(L, 1));
  in->status = ser::decode(L, in->bytes, ser::limits{});
  return in->status ? 1 : 0;
}

// Decodes `bytes` in L and re-encodes the result; returns the encoding, or ""
// when it did not decode.
inline std::string lua_round(lua_State* L, std::string_view bytes) {
  static ser::lua_encoder encoder;
  static ser::byte_sink sink;
  input in{bytes, {}};
  lua_settop(L, 0);
  lua_pushcfunction(L, decode_in_lua);
  lua_pushlightuserdata(L, &in);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK || !in.status) return {};
  if (!encoder.encode(L, -1, sink)) std::abort();
  lua_settop(L, 0);
  return std::string{sink.view()};
}

inline std::string canonical(std::string_view bytes) {
  return to_string(ser::decode_value(bytes));
}

} // namespace detail

/// Checks the decoders' property on `bytes` using the scratch state `L`; aborts
/// on a violation.
inline void check_decoders(lua_State* L, std::string_view bytes) {
  std::string once = detail::lua_round(L, bytes);
  if (!once.empty()) {
    std::string twice = detail::lua_round(L, once);
    if (twice.empty() || detail::canonical(once) != detail::canonical(twice))
      std::abort();
  }

  try {
    troupe::value v = ser::decode_value(bytes);
    ser::byte_sink sink;
    ser::encode(v, sink);
    if (to_string(ser::decode_value(sink.view())) != to_string(v)) std::abort();
  } catch (const troupe::codec_error&) {
  }
}

} // namespace troupe::test
