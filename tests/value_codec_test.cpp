// troupe::value <-> msgpack: every kind round-trips, and hostile bytes give a
// clean codec_error naming the byte offset and the problem.
#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "msgpack_bytes.hpp"
#include "serialization/value_codec.hpp"
#include "troupe/error.hpp"

using troupe::value;
using troupe::serialization::byte_sink;
using troupe::serialization::decode_value;
using troupe::serialization::encode;
using troupe::serialization::limits;
using troupe::test::bytes;

namespace {

value round_trip(const value& v) {
  byte_sink out;
  encode(v, out);
  return decode_value(out.view());
}

std::string decode_error(const std::string& input, const limits& lim = {}) {
  try {
    decode_value(input, lim);
  } catch (const troupe::codec_error& e) {
    return e.what();
  }
  return "no error";
}

} // namespace

TEST(value_codec, every_kind_round_trips) {
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes += static_cast<char>(i);
  const value cases[] = {
    value{},
    value{true},
    value{false},
    value{0},
    value{-1},
    value{std::numeric_limits<std::int64_t>::max()},
    value{std::numeric_limits<std::int64_t>::min()},
    value{0.0},
    value{-0.0},
    value{1e300},
    value{std::numeric_limits<double>::infinity()},
    value{""},
    value{all_bytes},
    value{std::string(70000, 'x')},
    value::array(),
    value::map(),
    value::array(
      {1, 2.5, "x", value{}, value::array({value::map({{"k", false}})})}),
    value::map(
      {{"id", "123"}, {1, "one"}, {2.5, "f"}, {true, value::array({1})}}),
  };
  for (const auto& v : cases) EXPECT_EQ(round_trip(v), v) << to_string(v);
  EXPECT_TRUE(std::signbit(round_trip(value{-0.0}).as_double()));
  EXPECT_TRUE(std::isnan(round_trip(value{std::nan("")}).as_double()));
  EXPECT_TRUE(round_trip(value{1.0}).is_double());
  EXPECT_TRUE(round_trip(value{1}).is_int());
}

TEST(value_codec, large_containers_round_trip) {
  value::array_type floats;
  value big_map = value::map();
  for (int i = 0; i < 70000; ++i) {
    floats.push_back(value{i + 0.5});
    big_map.set(i, i);
  }
  auto arr = value::array(std::move(floats));
  EXPECT_EQ(round_trip(arr), arr);
  EXPECT_EQ(round_trip(big_map), big_map);
}

TEST(value_codec, decodes_other_encodings_of_the_same_data) {
  EXPECT_EQ(decode_value(bytes({0xca, 0x3f, 0xc0, 0x00, 0x00})), value{1.5});
  EXPECT_EQ(decode_value(bytes({0xc4, 0x02, 0x00, 0xff})),
            value{std::string("\0\xff", 2)});
  EXPECT_EQ(decode_value(bytes({0xd0, 0x80})), value{-128});
  EXPECT_EQ(decode_value(
              bytes({0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})),
            value{std::numeric_limits<std::int64_t>::max()});
  EXPECT_EQ(decode_value(
              bytes({0x81, 0xcb, 0x40, 0x00, 0, 0, 0, 0, 0, 0, 0x01})),
            value::map({{2, 1}}));
}

TEST(value_codec, hostile_bytes_are_clean_errors) {
  EXPECT_EQ(decode_error(""), "malformed message at byte 0: truncated input");
  EXPECT_EQ(decode_error(bytes({0xa5, 'a', 'b'})),
            "malformed message at byte 0: truncated input");
  EXPECT_EQ(decode_error(bytes({0x92, 0x01})),
            "malformed message at byte 0: declared element count exceeds the "
            "input");
  EXPECT_EQ(decode_error(bytes({0x92, 0xa3, 'a'})),
            "malformed message at byte 1: truncated input");
  EXPECT_EQ(decode_error(bytes({0x01, 0x02})),
            "malformed message at byte 1: trailing bytes after the value");
  EXPECT_EQ(decode_error(bytes({0xc1})),
            "malformed message at byte 0: invalid type byte");
  EXPECT_EQ(decode_error(bytes({0xd4, 0x01, 0x00})),
            "malformed message at byte 0: unsupported ext type");
  EXPECT_EQ(decode_error(bytes({0xc7, 0x01, 0xff, 0x00})),
            "malformed message at byte 0: unsupported ext type");
  EXPECT_EQ(decode_error(bytes({0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0})),
            "malformed message at byte 0: integer above INT64_MAX");
  EXPECT_EQ(decode_error(bytes({0xdd, 0xff, 0xff, 0xff, 0xff})),
            "malformed message at byte 0: declared element count exceeds the "
            "input");
  EXPECT_EQ(decode_error(bytes({0xdf, 0x7f, 0xff, 0xff, 0xff, 0xc0})),
            "malformed message at byte 0: declared element count exceeds the "
            "input");
  EXPECT_EQ(decode_error(bytes({0xdb, 0xff, 0xff, 0xff, 0xff, 'x'})),
            "malformed message at byte 0: truncated input");
  EXPECT_EQ(decode_error(bytes({0x81, 0xc0, 0x01})),
            "malformed message at byte 1: nil map key");
  EXPECT_EQ(decode_error(
              bytes({0x81, 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0, 0x01})),
            "malformed message at byte 1: NaN map key");
  EXPECT_EQ(decode_error(bytes({0x81, 0x90, 0x01})),
            "malformed message at byte 1: map key is a table or a handle");
  EXPECT_EQ(decode_error(bytes({0x82, 0xa1, 'a', 0x01, 0xa1, 'a', 0x02})),
            "malformed message at byte 0: duplicate map key");
  EXPECT_EQ(decode_error(bytes(
              {0x82, 0x01, 0x01, 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x02})),
            "malformed message at byte 0: duplicate map key");
}

TEST(value_codec, limits_apply_to_decoding) {
  EXPECT_EQ(decode_error(troupe::test::nested_arrays(101)),
            "malformed message at byte 100: nesting deeper than the depth "
            "limit");
  EXPECT_EQ(round_trip(decode_value(troupe::test::nested_arrays(100))).type(),
            value::kind::array);
  limits small;
  small.max_elements = 3;
  EXPECT_EQ(decode_error(bytes({0x93, 1, 2, 3}), small),
            "malformed message at byte 0: more elements than the element "
            "limit");
  small.max_bytes = 2;
  EXPECT_EQ(decode_error(bytes({0x92, 1, 2}), small),
            "malformed message at byte 0: larger than the size limit");
}

TEST(value_codec, limits_apply_to_encoding) {
  limits small;
  small.max_bytes = 10;
  byte_sink out;
  EXPECT_THROW(encode(value{std::string(20, 'x')}, out, small),
               troupe::codec_error);
  small = limits{};
  small.max_depth = 2;
  EXPECT_THROW(encode(value::array({value::array({value::array()})}), out,
                      small),
               troupe::codec_error);
  EXPECT_NO_THROW(encode(value::array({value::array()}), out, small));
}
