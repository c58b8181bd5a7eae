// Lua <-> msgpack between two real states: every type and shape round-trips;
// every rejection names the path of the offending value; limits apply both
// ways; hostile bytes give a clean error and leave the stack as it was; and the
// bytes interoperate with troupe::value.
#include <gtest/gtest.h>

#include "lua_test_support.hpp"
#include "msgpack_bytes.hpp"
#include "serialization/lua_codec.hpp"
#include "serialization/value_codec.hpp"

namespace ser = troupe::serialization;
using troupe::value;
using troupe::test::bytes;
using troupe::test::check;
using troupe::test::run;

namespace {

class lua_codec : public ::testing::Test {
protected:
  troupe::lua_vm::state a;
  troupe::lua_vm::state b;
  ser::lua_encoder encoder;
  ser::byte_sink out;

  // Evaluates `expr` in a and encodes it; false (and the error in encoder) when
  // it cannot be sent.
  bool encode(const std::string& expr) {
    run(a, "return " + expr, 1);
    bool ok = encoder.encode(a.get(), -1, out);
    lua_pop(a.get(), 1);
    EXPECT_EQ(lua_gettop(a.get()), 0);
    return ok;
  }

  // Sends `expr` from a to b as global `v`.
  void transfer(const std::string& expr) {
    ASSERT_TRUE(encode(expr)) << encoder.error().describe(1);
    decode_into_b(std::string{out.view()});
  }

  void decode_into_b(const std::string& input) {
    ser::decode_status st = ser::decode(b.get(), input,
                                        encoder.limits_applied());
    ASSERT_TRUE(st) << ser::read_error_text(st.error) << " at " << st.offset;
    lua_setglobal(b.get(), "v");
  }

  std::string rejection(const std::string& expr) {
    EXPECT_FALSE(encode(expr)) << expr << " was accepted";
    return encoder.error().describe(2);
  }

  std::string decode_error(const std::string& input,
                           const ser::limits& lim = {}) {
    ser::decode_status st = ser::decode(b.get(), input, lim);
    EXPECT_EQ(lua_gettop(b.get()), 0)
      << "a failed decode left values on the stack";
    char buf[128];
    return st ? "no error" : ser::describe(st, buf, sizeof buf);
  }
};

} // namespace

TEST_F(lua_codec, scalars_keep_type_and_subtype) {
  transfer("nil");
  EXPECT_TRUE(check(b, "return v == nil"));
  transfer("true");
  EXPECT_TRUE(check(b, "return v == true"));
  transfer("math.maxinteger");
  EXPECT_TRUE(
    check(b, "return math.type(v) == 'integer' and v == math.maxinteger"));
  transfer("math.mininteger");
  EXPECT_TRUE(check(b, "return v == math.mininteger"));
  transfer("3");
  EXPECT_TRUE(check(b, "return math.type(v) == 'integer' and v == 3"));
  transfer("3.0");
  EXPECT_TRUE(check(b, "return math.type(v) == 'float' and v == 3.0"));
  transfer("-0.0");
  EXPECT_TRUE(check(b, "return math.type(v) == 'float' and 1/v == -math.huge"));
  transfer("0/0");
  EXPECT_TRUE(check(b, "return v ~= v"));
  transfer("-math.huge");
  EXPECT_TRUE(check(b, "return v == -math.huge"));
  transfer(
    "{(1 << 53) + 1, -((1 << 53) + 1), 2.0^60, -2.0^63, 2.0^63, 0.5, -7}");
  EXPECT_TRUE(check(
    b, "return v[1] == 9007199254740993 and math.type(v[1]) == 'integer'"
       " and v[2] == -9007199254740993 and math.type(v[3]) == 'float' and v[3] "
       "== 2.0^60"
       " and math.type(v[4]) == 'float' and v[4] == -2.0^63 and v[5] == 2.0^63"
       " and v[6] == 0.5 and math.type(v[7]) == 'integer' and v[7] == -7"));
}

TEST_F(lua_codec, strings_are_binary_safe) {
  run(a, "s = {} for i = 0, 255 do s[#s + 1] = string.char(i) end s = "
         "table.concat(s)");
  transfer("s .. '\\0' .. s");
  EXPECT_TRUE(check(b, "local s = {} for i = 0, 255 do s[#s + 1] = "
                       "string.char(i) end s = table.concat(s)"
                       "return v == s .. '\\0' .. s and #v == 513"));
  transfer("string.rep('x', 100000)");
  EXPECT_TRUE(check(b, "return v == string.rep('x', 100000)"));
}

TEST_F(lua_codec, tables_of_every_shape) {
  transfer("{}");
  EXPECT_TRUE(check(b, "return type(v) == 'table' and next(v) == nil"));
  transfer("{10, 20, 30}");
  EXPECT_TRUE(check(b, "return #v == 3 and v[1] == 10 and v[3] == 30"));
  transfer("{id = 123, name = 'hello', tags = {'a', 'b', 'c'}, nested = {x = "
           "1.5, y = true}}");
  EXPECT_TRUE(check(b, "return v.id == 123 and v.name == 'hello' and #v.tags "
                       "== 3 and v.tags[3] == 'c'"
                       " and v.nested.x == 1.5 and v.nested.y == true"));
  transfer("{1, 2, x = 'mixed', [10] = 'sparse', [2.5] = 'float key', [true] = "
           "'bool key'}");
  EXPECT_TRUE(check(b, "return v[1] == 1 and v[2] == 2 and v.x == 'mixed' and "
                       "v[10] == 'sparse'"
                       " and v[2.5] == 'float key' and v[true] == 'bool key'"));
  transfer("{{{{{'deep'}}}}}");
  EXPECT_TRUE(check(b, "return v[1][1][1][1][1] == 'deep'"));
}

TEST_F(lua_codec, sequences_become_arrays_and_others_maps) {
  auto as_value = [&](const std::string& expr) {
    EXPECT_TRUE(encode(expr)) << encoder.error().describe(1);
    return ser::decode_value(out.view());
  };
  EXPECT_EQ(as_value("{1, 2, 3}"), value::array({1, 2, 3}));
  EXPECT_EQ(as_value("{}"), value::map());
  EXPECT_EQ(as_value("(function() local t = {} for i = 5, 1, -1 do t[i] = i "
                     "end return t end)()"),
            value::array({1, 2, 3, 4, 5}));
  EXPECT_EQ(as_value("{[1] = 'a', [3] = 'c'}"),
            value::map({{1, "a"}, {3, "c"}}));
  EXPECT_EQ(as_value("{1, 2, x = 3}"), value::map({{1, 1}, {2, 2}, {"x", 3}}));
  EXPECT_EQ(as_value("{[0] = 'z', 'a'}"), value::map({{0, "z"}, {1, "a"}}));
  EXPECT_EQ(as_value(
              "(function() local t = {1, 2, 3} t[2] = nil return t end)()"),
            value::map({{1, 1}, {3, 3}}));
  value::array_type big;
  for (int i = 1; i <= 70000; ++i) big.emplace_back(i);
  EXPECT_EQ(as_value("(function() local t = {} for i = 1, 70000 do t[i] = i "
                     "end return t end)()"),
            value::array(big));
}

TEST_F(lua_codec, metatables_are_not_sent_and_shared_tables_are_copied_twice) {
  transfer("(function() local s = {n = 1} return setmetatable({a = s, b = s}, "
           "{__index = function() return 1 end}) end)()");
  EXPECT_TRUE(check(b, "return getmetatable(v) == nil and v.a.n == 1 and v.b.n "
                       "== 1 and v.a ~= v.b and v.zzz == nil"));
}

TEST_F(lua_codec, rejections_name_the_path) {
  EXPECT_EQ(rejection("print"),
            "argument #2 is a function; only nil, booleans, numbers, strings "
            "and tables can be sent");
  EXPECT_EQ(rejection("{a = {b = print}}"),
            "argument #2 (field 'a.b') is a function; only nil, booleans, "
            "numbers, strings and tables can be sent");
  EXPECT_EQ(rejection("{list = {1, 2, coroutine.create(print)}}"),
            "argument #2 (field 'list[3]') is a thread; only nil, booleans, "
            "numbers, strings and tables can be sent");
  EXPECT_EQ(rejection("{['a b'] = {[7] = {x = print}}}"),
            "argument #2 (field '[\"a b\"][7].x') is a function; only nil, "
            "booleans, numbers, strings and tables "
            "can be sent");
  EXPECT_EQ(rejection("{a = {[{}] = 1}}"),
            "argument #2 (field 'a') has a table as a key; only booleans, "
            "numbers and strings can be keys");
  EXPECT_EQ(rejection("{[print] = 1}"),
            "argument #2 has a function as a key; only booleans, numbers and "
            "strings can be keys");
  EXPECT_EQ(rejection(
              "(function() local t = {x = {}} t.x.back = t return t end)()"),
            "argument #2 (field 'x.back') is a table that contains itself; "
            "cycles cannot be sent");
  EXPECT_EQ(rejection("(function() local t = {} t[1] = t return t end)()"),
            "argument #2 (field '[1]') is a table that contains itself; cycles "
            "cannot be sent");
}

TEST_F(lua_codec, userdata_is_rejected) {
  lua_State* L = a.get();
  lua_newuserdatauv(L, 8, 0);
  EXPECT_FALSE(encoder.encode(L, -1, out));
  EXPECT_EQ(encoder.error().describe(1),
            "argument #1 is a userdata; only nil, booleans, numbers, strings "
            "and tables can be sent");
  lua_pushlightuserdata(L, &out);
  EXPECT_FALSE(encoder.encode(L, -1, out));
  EXPECT_EQ(encoder.error().describe(1),
            "argument #1 is a light userdata; only nil, booleans, numbers, "
            "strings and tables can be sent");
  lua_settop(L, 0);
}

TEST_F(lua_codec, several_values_keep_nils_and_name_the_argument) {
  lua_State* L = a.get();
  run(a, "return 1, nil, {x = 'y'}", 3);
  ASSERT_TRUE(encoder.encode_values(L, 1, 3, out));
  lua_settop(L, 0);
  int count = 0;
  ASSERT_TRUE(ser::decode_values(b.get(), out.view(), {}, count));
  ASSERT_EQ(count, 3);
  lua_setglobal(b.get(), "z");
  lua_setglobal(b.get(), "y");
  lua_setglobal(b.get(), "x");
  EXPECT_TRUE(check(b, "return x == 1 and y == nil and z.x == 'y'"));
  run(a, "return 1, {a = {print}}", 2);
  EXPECT_FALSE(encoder.encode_values(L, 1, 2, out));
  EXPECT_EQ(encoder.error().describe(2),
            "argument #3 (field 'a[1]') is a function; only nil, booleans, "
            "numbers, strings and tables can be sent");
  lua_settop(L, 0);
}

TEST_F(lua_codec, encode_limits) {
  ser::limits lim;
  lim.max_depth = 3;
  encoder = ser::lua_encoder{lim};
  EXPECT_TRUE(encode("{{{1}}}"));
  EXPECT_EQ(rejection("{{{{1}}}}"),
            "argument #2 (field '[1][1][1]') nests tables too deeply (the "
            "depth limit is reached)");
  lim = ser::limits{};
  lim.max_bytes = 100;
  encoder = ser::lua_encoder{lim};
  EXPECT_EQ(rejection("string.rep('x', 200)"),
            "argument #2 is too large to send (the message size limit is "
            "reached)");
  EXPECT_EQ(rejection("{a = string.rep('x', 200)}"),
            "argument #2 (field 'a') is too large to send (the message size "
            "limit is reached)");
  lim = ser::limits{};
  lim.max_elements = 5;
  encoder = ser::lua_encoder{lim};
  EXPECT_TRUE(encode("{1, 2, 3, 4}"));
  EXPECT_EQ(rejection("{1, 2, 3, 4, 5}"),
            "argument #2 (field '[5]') has too many elements to send (the "
            "element limit is reached)");
}

TEST_F(lua_codec, default_depth_limit_is_100) {
  run(a, "deep = {} local t = deep for i = 2, 100 do t[1] = {} t = t[1] end");
  EXPECT_TRUE(encode("deep"));
  run(a, "local t = deep while t[1] do t = t[1] end t[1] = {}");
  EXPECT_FALSE(encode("deep"));
  EXPECT_EQ(encoder.error().problem, ser::encode_problem::too_deep);
}

TEST_F(lua_codec, hostile_bytes_are_clean_errors) {
  EXPECT_EQ(decode_error(""), "malformed message at byte 0: truncated input");
  EXPECT_EQ(decode_error(bytes({0x93, 0x01, 0x02})),
            "malformed message at byte 0: declared element count exceeds the "
            "input");
  EXPECT_EQ(decode_error(bytes({0x92, 0x01, 0xcb, 0x00})),
            "malformed message at byte 2: truncated input");
  EXPECT_EQ(decode_error(bytes({0xc0, 0xc0})),
            "malformed message at byte 1: trailing bytes after the value");
  EXPECT_EQ(decode_error(bytes({0xc1})),
            "malformed message at byte 0: invalid type byte");
  EXPECT_EQ(decode_error(bytes({0xd6, 0xff, 0, 0, 0, 0})),
            "malformed message at byte 0: unsupported ext type");
  EXPECT_EQ(decode_error(
              bytes({0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})),
            "malformed message at byte 0: integer above INT64_MAX");
  EXPECT_EQ(decode_error(bytes({0xdd, 0xff, 0xff, 0xff, 0xff, 0x01})),
            "malformed message at byte 0: declared element count exceeds the "
            "input");
  EXPECT_EQ(decode_error(bytes({0xc6, 0xff, 0xff, 0xff, 0xff})),
            "malformed message at byte 0: truncated input");
  EXPECT_EQ(decode_error(bytes({0x91, 0x81, 0xc0, 0x01})),
            "malformed message at byte 2: nil map key");
  EXPECT_EQ(decode_error(bytes({0x81, 0xca, 0x7f, 0xc0, 0, 0, 0x01})),
            "malformed message at byte 1: NaN map key");
  EXPECT_EQ(decode_error(bytes({0x81, 0x80, 0x01})),
            "malformed message at byte 1: map key is a table or a handle");
  EXPECT_EQ(decode_error(bytes(
              {0x82, 0x01, 0x00, 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x00})),
            "malformed message at byte 3: duplicate map key");
  EXPECT_EQ(decode_error(bytes({0x82, 0xc3, 0x00, 0xc3, 0x01})),
            "malformed message at byte 3: duplicate map key");
  EXPECT_EQ(decode_error(
              bytes({0x89, 1, 0, 2,    0,    3,    0, 4, 0, 5, 0, 6, 0, 7,
                     0,    8, 0, 0xcb, 0x40, 0x14, 0, 0, 0, 0, 0, 0, 0})),
            "malformed message at byte 17: duplicate map key");
  EXPECT_EQ(decode_error(bytes({0x83, 0xa1, 'k', 0, 0xc3, 0, 0xa1, 'k', 0})),
            "malformed message at byte 6: duplicate map key");
  EXPECT_EQ(decode_error(troupe::test::nested_arrays(101)),
            "malformed message at byte 100: nesting deeper than the depth "
            "limit");
  ser::limits lim;
  lim.max_elements = 2;
  EXPECT_EQ(decode_error(bytes({0x92, 0x01, 0x02}), lim),
            "malformed message at byte 0: more elements than the element "
            "limit");
}

TEST_F(lua_codec, float_keys_with_integral_values_become_integer_keys) {
  decode_into_b(bytes({0x81, 0xcb, 0x40, 0x00, 0, 0, 0, 0, 0, 0, 0xa1, 'x'}));
  EXPECT_TRUE(check(b, "local k = next(v) return math.type(k) == 'integer' and "
                       "v[2] == 'x'"));
}

TEST_F(lua_codec, values_from_cpp_arrive_as_tables) {
  ser::byte_sink sink;
  ser::encode(value::map({{"id", "123"},
                          {"n", 4},
                          {"list", value::array({1, 2.5, "x"})}}),
              sink);
  decode_into_b(std::string{sink.view()});
  EXPECT_TRUE(check(b, "return v.id == '123' and v.n == 4 and math.type(v.n) "
                       "== 'integer' and #v.list == 3 "
                       "and v.list[2] == 2.5"));
}

TEST_F(lua_codec,
       large_tables_are_arrays_only_when_their_keys_are_exactly_1_to_n) {
  auto kind = [&](const std::string& build) {
    EXPECT_TRUE(
      encode("(function() local t = {} " + build + " return t end)()"))
      << encoder.error().describe(1);
    return ser::decode_value(out.view()).type();
  };
  using kind_t = value::kind;
  EXPECT_EQ(kind("for i = 1, 100 do t[i] = i end"), kind_t::array);
  EXPECT_EQ(kind("for i = 1, 128 do t[i] = i end"), kind_t::array);
  EXPECT_EQ(kind("for i = 1, 100 do t[i] = i end t.extra = 1"), kind_t::map);
  EXPECT_EQ(kind("for i = 1, 100 do t[i] = i end t[102] = 1"), kind_t::map);
  EXPECT_EQ(kind("for i = 1, 128 do t[i] = i end t[130] = 1"), kind_t::map);
  EXPECT_EQ(kind("for i = 1, 128 do t[i] = i end t[0] = 1"), kind_t::map);
  EXPECT_EQ(kind("for i = 1, 128 do t[i] = i end t[-1] = 1"), kind_t::map);
  EXPECT_EQ(kind("t.a, t.b, t.c = 1, 2, 3 t.a, t.b, t.c = nil, nil, nil for i "
                 "= 1, 100 do t[i] = i end"),
            kind_t::array);
  EXPECT_EQ(kind("t.x = 1 for i = 1, 100 do t[i] = i end"), kind_t::map);
  const std::string hundred_ones = "1" + [] {
    std::string more;
    for (int i = 1; i < 100; ++i) more += ", 1";
    return more;
  }();
  EXPECT_EQ(kind("t = {" + hundred_ones + "}"), kind_t::array);
  EXPECT_EQ(kind("t = {" + hundred_ones + ", x = 1}"), kind_t::map);
  EXPECT_EQ(kind("local n = 0 for i = 64, 1, -1 do t[i] = i end"),
            kind_t::array);
  run(a, "big = {} for i = 1, 200 do big[i] = i end big[201] = nil");
  EXPECT_TRUE(encode("big"));
  EXPECT_EQ(ser::decode_value(out.view()).size(), 200u);
}

TEST(lua_next_behaviour, that_the_array_probe_relies_on) {
  // lua_encode.cpp's probe_after_border relies on Lua 5.4's next(): an integer
  // key inside the array part is accepted even when its slot is empty, and a
  // key it cannot find raises.
  lua_State* L = luaL_newstate();
  luaL_openlibs(L);
  ASSERT_EQ(luaL_dostring(L, "local t = {} for i = 1, 100 do t[i] = i end "
                             "assert(next(t, 101) == nil) t[110] = 'x' "
                             "assert(next(t, 101) == 110) "
                             "local ok = pcall(next, {1, 2, 3}, 4) assert(not "
                             "ok)"),
            LUA_OK)
    << lua_tostring(L, -1);
  lua_close(L);
}

TEST_F(lua_codec, decoded_arrays_are_sent_on_as_arrays) {
  transfer("(function() local t = {} for i = 1, 100 do t[i] = i + 0.5 end "
           "return t end)()");
  lua_getglobal(b.get(), "v");
  ASSERT_TRUE(encoder.encode(b.get(), -1, out));
  lua_pop(b.get(), 1);
  auto v = ser::decode_value(out.view());
  ASSERT_TRUE(v.is_array());
  EXPECT_EQ(v.size(), 100u);
  EXPECT_EQ(v.as_array()[99], value{100.5});
  run(b, "v[101] = 'more'");
  lua_getglobal(b.get(), "v");
  ASSERT_TRUE(encoder.encode(b.get(), -1, out));
  lua_pop(b.get(), 1);
  EXPECT_EQ(ser::decode_value(out.view()).size(), 101u);
  run(b, "v.extra = true");
  lua_getglobal(b.get(), "v");
  ASSERT_TRUE(encoder.encode(b.get(), -1, out));
  lua_pop(b.get(), 1);
  EXPECT_TRUE(ser::decode_value(out.view()).is_map());
}
