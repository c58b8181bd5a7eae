// The property both decoders must hold on any input, shared by the fuzzer and
// the regression test: decode or fail cleanly (the sanitizers watch for the
// rest); what decodes re-encodes, and decoding that again gives the same data.
// Handles of one test runtime (tag fuzz_tag) are accepted both ways, so the
// ext types are fuzzed as well. A violation aborts, which both harnesses
// report with the input.
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

inline constexpr std::uint64_t fuzz_tag = 0x66757a7a;

// The test's handles in Lua: a userdata holding the address, known by its
// metatable (registry key: the address of fuzz_tag).
inline void push_fuzz_handle(lua_State* L, void*, const ser::address& a) {
  auto* u = static_cast<ser::address*>(
    lua_newuserdatauv(L, sizeof(ser::address), 0));
  *u = a;
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &fuzz_tag) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &fuzz_tag);
  }
  lua_setmetatable(L, -2);
}

inline bool read_fuzz_handle(lua_State* L, int idx, void*, ser::address& out) {
  if (lua_getmetatable(L, idx) == 0) return false;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &fuzz_tag);
  bool ours = lua_rawequal(L, -1, -2) != 0;
  lua_pop(L, 2);
  if (ours) out = *static_cast<const ser::address*>(lua_touserdata(L, idx));
  return ours;
}

inline const ser::lua_handles lua_fuzz_handles{fuzz_tag, nullptr,
                                               push_fuzz_handle,
                                               read_fuzz_handle};
inline const ser::value_handles
  value_fuzz_handles{fuzz_tag, nullptr, [](void*, std::uint64_t id) {
                       return troupe::detail::worker_access::make(nullptr, id,
                                                                  fuzz_tag);
                     }};

struct input {
  std::string_view bytes;
  ser::decode_status status;
};

inline int decode_in_lua(lua_State* L) {
  auto* in = static_cast<input*>(lua_touserdata(L, 1));
  in->status = ser::decode(L, in->bytes, ser::limits{}, &lua_fuzz_handles);
  return in->status ? 1 : 0;
}

// Decodes `bytes` in L and re-encodes the result; returns the encoding, or ""
// when it did not decode.
inline std::string lua_round(lua_State* L, std::string_view bytes) {
  static ser::lua_encoder encoder;
  static ser::byte_sink sink;
  encoder.use_handles(&lua_fuzz_handles);
  input in{bytes, {}};
  lua_settop(L, 0);
  lua_pushcfunction(L, decode_in_lua);
  lua_pushlightuserdata(L, &in);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK || !in.status) return {};
  if (!encoder.encode(L, -1, sink)) std::abort();
  lua_settop(L, 0);
  return std::string{sink.view()};
}

// A rendering that ignores map order; the value decoder refuses reply
// tokens (the host receives none), and then the error stands for the value.
inline std::string canonical(std::string_view bytes) {
  try {
    return to_string(ser::decode_value(bytes, {}, &value_fuzz_handles));
  } catch (const troupe::codec_error&) {
    // Where it was refused moves with the map order: only that it was counts.
    return "refused";
  }
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
    troupe::value v = ser::decode_value(bytes, {}, &detail::value_fuzz_handles);
    ser::byte_sink sink;
    ser::encode(v, sink, {}, &detail::value_fuzz_handles);
    if (to_string(
          ser::decode_value(sink.view(), {}, &detail::value_fuzz_handles))
        != to_string(v))
      std::abort();
  } catch (const troupe::codec_error&) {
  }
}

} // namespace troupe::test
