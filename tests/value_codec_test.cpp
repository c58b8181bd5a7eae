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

namespace {

constexpr std::uint64_t test_tag = 0x1122334455667788;

troupe::serialization::value_handles test_handles() {
  return {test_tag, nullptr, [](void*, std::uint64_t id) {
            return troupe::detail::worker_access::make(nullptr, id, test_tag);
          }};
}

// A handle's bytes as troupe writes them: fixext 16, type 1, tag, id.
std::string handle_bytes(std::uint64_t tag, std::uint64_t id) {
  std::string out = bytes({0xd8, 0x01});
  for (std::uint64_t word : {tag, id})
    for (int i = 7; i >= 0; --i) out += static_cast<char>(word >> (8 * i));
  return out;
}

std::string handle_error(const std::string& input) {
  auto handles = test_handles();
  try {
    decode_value(input, {}, &handles);
  } catch (const troupe::codec_error& e) {
    return e.what();
  }
  return "no error";
}

} // namespace

TEST(value_codec, handles_round_trip_within_their_runtime_only) {
  auto handles = test_handles();
  value w = value{troupe::detail::worker_access::make(nullptr, 7, test_tag)};
  ASSERT_TRUE(w.is_handle());
  EXPECT_EQ(to_string(w), "worker: 7");
  byte_sink out;
  encode(value::array({w, 1}), out, {}, &handles);
  EXPECT_EQ(std::string{out.view()}.substr(1),
            handle_bytes(test_tag, 7) + "\x01");
  auto back = decode_value(out.view(), {}, &handles);
  EXPECT_EQ(back, value::array({w, 1}));
  EXPECT_EQ(back.as_array()[0].as_worker().id(), 7u);
  // Without handles, or into another runtime, a handle is refused.
  EXPECT_THROW(encode(w, out), troupe::codec_error);
  troupe::serialization::value_handles other{test_tag + 1, nullptr, nullptr};
  EXPECT_THROW(encode(w, out, {}, &other), troupe::codec_error);
  EXPECT_THROW(value::map({{w, 1}}), troupe::type_error);
}

TEST(value_codec, forged_and_garbled_handles_are_refused) {
  EXPECT_EQ(handle_error(handle_bytes(test_tag + 1, 7)),
            "malformed message at byte 0: handle of another runtime (or "
            "forged)");
  EXPECT_EQ(decode_error(handle_bytes(test_tag, 7)),
            "malformed message at byte 0: handles cannot be received here");
  EXPECT_EQ(handle_error(handle_bytes(test_tag, 0)),
            "malformed message at byte 0: malformed handle");
  std::string as_reply = handle_bytes(test_tag, 7);
  as_reply[1] = 2;
  EXPECT_EQ(handle_error(as_reply),
            "malformed message at byte 0: malformed handle");
  std::string other_type = handle_bytes(test_tag, 7);
  other_type[1] = 5;
  EXPECT_EQ(handle_error(other_type),
            "malformed message at byte 0: unsupported ext type");
  EXPECT_EQ(handle_error(handle_bytes(test_tag, 7).substr(0, 12)),
            "malformed message at byte 0: truncated input");
  EXPECT_EQ(handle_error(bytes({0xc7, 0x10, 0x01})
                         + handle_bytes(test_tag, 7).substr(2)),
            "malformed message at byte 0: malformed handle");
  EXPECT_EQ(handle_error(bytes({0x81}) + handle_bytes(test_tag, 7)
                         + bytes({0x01})),
            "malformed message at byte 1: map key is a table or a handle");
  // A reply token is a script's; the host is called by no one.
  std::string token = bytes({0xc7, 0x18, 0x02});
  for (std::uint64_t word : {test_tag, std::uint64_t{7}, std::uint64_t{1}})
    for (int i = 7; i >= 0; --i) token += static_cast<char>(word >> (8 * i));
  EXPECT_EQ(handle_error(token),
            "malformed message at byte 0: handles cannot be received here");
}
