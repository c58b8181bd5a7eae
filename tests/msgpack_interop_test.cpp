// troupe's msgpack against msgpack-c, an independent implementation of the
// format: what troupe writes, msgpack-c reads as the same data with the same
// subtypes; what msgpack-c writes, troupe reads.
#include <limits>

#include <gtest/gtest.h>
#include <msgpack.hpp>

#include "serialization/value_codec.hpp"

namespace ser = troupe::serialization;
using troupe::value;

namespace {

msgpack::object_handle unpack(const value& v) {
  ser::byte_sink sink;
  ser::encode(v, sink);
  return msgpack::unpack(sink.view().data(), sink.size());
}

value decode(const msgpack::sbuffer& buf) {
  return ser::decode_value({buf.data(), buf.size()});
}

} // namespace

TEST(msgpack_interop, msgpack_c_reads_what_troupe_writes) {
  EXPECT_EQ(unpack(value{3.0}).get().type, msgpack::type::FLOAT64);
  EXPECT_EQ(unpack(value{3.0}).get().as<double>(), 3.0);
  EXPECT_EQ(unpack(value{3}).get().type, msgpack::type::POSITIVE_INTEGER);
  EXPECT_EQ(unpack(value{-300}).get().as<std::int64_t>(), -300);
  EXPECT_EQ(unpack(value{std::numeric_limits<std::int64_t>::min()})
              .get()
              .as<std::int64_t>(),
            std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(unpack(value{std::string("a\0b", 3)}).get().as<std::string>(),
            std::string("a\0b", 3));
  EXPECT_EQ(unpack(value{std::string(300, 'x')}).get().as<std::string>(),
            std::string(300, 'x'));
  auto arr = unpack(value::array({1, "x", true}));
  ASSERT_EQ(arr.get().type, msgpack::type::ARRAY);
  EXPECT_EQ(arr.get().via.array.size, 3u);
  auto m = unpack(value::map({{"id", "123"}, {"n", 4}}));
  ASSERT_EQ(m.get().type, msgpack::type::MAP);
  auto as_map = m.get().as<std::map<std::string, msgpack::object>>();
  EXPECT_EQ(as_map.at("id").as<std::string>(), "123");
  EXPECT_EQ(as_map.at("n").as<int>(), 4);
}

TEST(msgpack_interop, troupe_reads_what_msgpack_c_writes) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk{buf};
  pk.pack_array(9);
  pk.pack_uint8(200);
  pk.pack_int16(-1000);
  pk.pack_uint64(std::numeric_limits<std::int64_t>::max());
  pk.pack_float(1.5f);
  pk.pack_nil();
  pk.pack_true();
  pk.pack_bin(2);
  pk.pack_bin_body("\xff\x00", 2);
  pk.pack(std::string(70000, 'y'));
  pk.pack_map(1);
  pk.pack(std::string{"k"});
  pk.pack_array(0);
  EXPECT_EQ(decode(buf),
            value::array({200, -1000, std::numeric_limits<std::int64_t>::max(),
                          1.5, value{}, true, std::string("\xff\x00", 2),
                          std::string(70000, 'y'),
                          value::map({{"k", value::array()}})}));
}
