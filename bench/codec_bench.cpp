// Deep copy of a value from one Lua state to another (encode in one, decode in
// the other), beside memcpy of the same bytes in the same run, and decoding the
// same bytes into troupe::value.
#include <cstring>
#include <string>

#include <benchmark/benchmark.h>

#include "lua_vm/state.hpp"
#include "serialization/lua_codec.hpp"
#include "serialization/value_codec.hpp"

namespace ser = troupe::serialization;

namespace {

// [-0, +1] The three payloads. `i` varies the small message as a real loop
// would.
void push_record(lua_State* L, lua_Integer) {
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, 123);
  lua_setfield(L, -2, "id");
  lua_pushliteral(L, "hello");
  lua_setfield(L, -2, "name");
  lua_createtable(L, 3, 0);
  for (int i = 1; i <= 3; ++i) {
    char c = static_cast<char>('a' + i - 1);
    lua_pushlstring(L, &c, 1);
    lua_rawseti(L, -2, i);
  }
  lua_setfield(L, -2, "tags");
  lua_createtable(L, 0, 2);
  lua_pushnumber(L, 1.5);
  lua_setfield(L, -2, "x");
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, "y");
  lua_setfield(L, -2, "nested");
}

void push_id_name(lua_State* L, lua_Integer i) {
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, i);
  lua_setfield(L, -2, "id");
  lua_pushliteral(L, "x");
  lua_setfield(L, -2, "name");
}

// Built as a script builds it (`local a = {} for i = 1, 10000 do a[i] = i + 0.5
// end`, the payload workload), so its array part has grown past 10,000 slots.
void push_floats(lua_State* L, lua_Integer) {
  lua_newtable(L);
  for (int i = 1; i <= 10000; ++i) {
    lua_pushnumber(L, i + 0.5);
    lua_rawseti(L, -2, i);
  }
}

// Pre-sized to exactly 10,000 (a table constructor, table.pack, or a C caller),
// which takes the encoder's slower proof that there are no other keys (see
// lua_encode.cpp).
void push_floats_presized(lua_State* L, lua_Integer) {
  lua_createtable(L, 10000, 0);
  for (int i = 1; i <= 10000; ++i) {
    lua_pushnumber(L, i + 0.5);
    lua_rawseti(L, -2, i);
  }
}

using pusher = void (*)(lua_State*, lua_Integer);

// Creating the value in the source state counts for the small messages (it is
// part of sending one) but not for the 10,000-float array, which a sender would
// build once.
void deep_copy(benchmark::State& s, pusher push, bool create_each_time) {
  troupe::lua_vm::state from;
  troupe::lua_vm::state to;
  ser::lua_encoder encoder;
  ser::byte_sink sink;
  lua_State* A = from.get();
  lua_State* B = to.get();
  if (!create_each_time) push(A, 0);
  lua_Integer i = 0;
  for (auto _ : s) {
    if (create_each_time) push(A, ++i);
    if (!encoder.encode(A, -1, sink)) s.SkipWithError("encode failed");
    if (create_each_time) lua_pop(A, 1);
    if (!ser::decode(B, sink.view(), encoder.limits_applied()))
      s.SkipWithError("decode failed");
    lua_pop(B, 1);
  }
  s.counters["bytes"] = static_cast<double>(sink.size());
  s.SetBytesProcessed(static_cast<std::int64_t>(s.iterations() * sink.size()));
}

// The msgpack bytes of what `push` builds.
std::string encoded(pusher push) {
  troupe::lua_vm::state from;
  ser::lua_encoder encoder;
  ser::byte_sink sink;
  push(from.get(), 1);
  encoder.encode(from.get(), -1, sink);
  return std::string{sink.view()};
}

void memcpy_of(benchmark::State& s, pusher push) {
  std::string src = encoded(push);
  std::string dst(src.size(), '\0');
  for (auto _ : s) {
    benchmark::DoNotOptimize(src.data());
    std::memcpy(dst.data(), src.data(), src.size());
    benchmark::ClobberMemory();
  }
  s.counters["bytes"] = static_cast<double>(src.size());
}

// The two halves of a copy of a prebuilt value, to see where the time goes.
void encode_only(benchmark::State& s, pusher push) {
  troupe::lua_vm::state from;
  ser::lua_encoder encoder;
  ser::byte_sink sink;
  push(from.get(), 1);
  for (auto _ : s)
    benchmark::DoNotOptimize(encoder.encode(from.get(), -1, sink));
}

void decode_only(benchmark::State& s, pusher push) {
  troupe::lua_vm::state to;
  std::string bytes = encoded(push);
  for (auto _ : s) {
    ser::decode(to.get(), bytes, ser::limits{});
    lua_pop(to.get(), 1);
  }
}

void decode_to_value(benchmark::State& s, pusher push) {
  std::string bytes = encoded(push);
  for (auto _ : s) benchmark::DoNotOptimize(ser::decode_value(bytes));
}

// The floor on this machine, in the same run: the fewest Lua API calls that can
// copy these values when the shape is known in advance (no type checks, no
// array/map decision, no limits, no msgpack framing).
void floor_floats_10k(benchmark::State& s) {
  troupe::lua_vm::state from;
  troupe::lua_vm::state to;
  lua_State* A = from.get();
  lua_State* B = to.get();
  push_floats(A, 0);
  std::string buf(10000 * sizeof(double), '\0');
  for (auto _ : s) {
    char* p = buf.data();
    for (int i = 1; i <= 10000; ++i, p += sizeof(double)) {
      lua_rawgeti(A, -1, i);
      double d = lua_tonumber(A, -1);
      std::memcpy(p, &d, sizeof d);
      lua_pop(A, 1);
    }
    lua_createtable(B, 10000, 0);
    p = buf.data();
    for (int i = 1; i <= 10000; ++i, p += sizeof(double)) {
      double d;
      std::memcpy(&d, p, sizeof d);
      lua_pushnumber(B, d);
      lua_rawseti(B, -2, i);
    }
    lua_pop(B, 1);
  }
}
BENCHMARK(floor_floats_10k);

void floor_id_name(benchmark::State& s) {
  troupe::lua_vm::state from;
  troupe::lua_vm::state to;
  lua_State* A = from.get();
  lua_State* B = to.get();
  lua_Integer i = 0;
  for (auto _ : s) {
    push_id_name(A, ++i);
    lua_getfield(A, -1, "id");
    lua_Integer id = lua_tointeger(A, -1);
    lua_getfield(A, -2, "name");
    std::size_t n = 0;
    const char* name = lua_tolstring(A, -1, &n);
    lua_createtable(B, 0, 2);
    lua_pushinteger(B, id);
    lua_setfield(B, -2, "id");
    lua_pushlstring(B, name, n);
    lua_setfield(B, -2, "name");
    lua_pop(B, 1);
    lua_pop(A, 3);
  }
}
BENCHMARK(floor_id_name);

BENCHMARK_CAPTURE(deep_copy, record, push_record, true);
BENCHMARK_CAPTURE(deep_copy, id_name, push_id_name, true);
BENCHMARK_CAPTURE(deep_copy, floats_10k, push_floats, false);
BENCHMARK_CAPTURE(deep_copy, floats_10k_presized, push_floats_presized, false);
BENCHMARK_CAPTURE(memcpy_of, record, push_record);
BENCHMARK_CAPTURE(memcpy_of, id_name, push_id_name);
BENCHMARK_CAPTURE(memcpy_of, floats_10k, push_floats);
BENCHMARK_CAPTURE(encode_only, record, push_record);
BENCHMARK_CAPTURE(encode_only, floats_10k, push_floats);
BENCHMARK_CAPTURE(decode_only, record, push_record);
BENCHMARK_CAPTURE(decode_only, floats_10k, push_floats);
BENCHMARK_CAPTURE(decode_to_value, record, push_record);
BENCHMARK_CAPTURE(decode_to_value, id_name, push_id_name);
BENCHMARK_CAPTURE(decode_to_value, floats_10k, push_floats);

} // namespace
