// troupe::value: construction, typed access and its errors, maps (lookup, key
// normalization, order-insensitive equality), printing.
#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "troupe/error.hpp"
#include "troupe/value.hpp"

using troupe::value;

TEST(value, scalars_keep_their_kind) {
  value n;
  value b = true;
  value i = 1;
  value big = std::numeric_limits<std::int64_t>::max();
  value d = 2.5;
  value s = "text";
  EXPECT_TRUE(n.is_nil());
  EXPECT_TRUE(value{nullptr}.is_nil());
  EXPECT_TRUE(b.as_bool());
  EXPECT_EQ(i.as_int(), 1);
  EXPECT_TRUE(i.is_int());
  EXPECT_FALSE(i.is_double());
  EXPECT_EQ(big.as_int(), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(d.as_double(), 2.5);
  EXPECT_TRUE(d.is_double());
  EXPECT_EQ(s.as_string(), "text");
  EXPECT_EQ(value{std::string("a\0b", 3)}.size(), 3u);
}

TEST(value, integers_are_not_floats) {
  EXPECT_NE(value{1}, value{1.0});
  EXPECT_EQ(value{1}.as_double(), 1.0);
  EXPECT_THROW(value{1.0}.as_int(), troupe::type_error);
}

TEST(value, wrong_kind_access_throws_a_clear_error) {
  value s = "text";
  try {
    s.as_int();
    FAIL() << "as_int on a string did not throw";
  } catch (const troupe::type_error& e) {
    EXPECT_STREQ(e.what(), "troupe::value::as_int: the value is a string");
  }
  EXPECT_THROW(value{}.as_bool(), troupe::type_error);
  EXPECT_THROW(value{1}.as_string(), troupe::type_error);
  EXPECT_THROW(value{1}.as_array(), troupe::type_error);
  EXPECT_THROW(value::array().as_map(), troupe::type_error);
  EXPECT_THROW(value{1}["x"], troupe::type_error);
  EXPECT_THROW(value{"s"}.set("k", 1), troupe::type_error);
}

TEST(value, unsigned_above_int64_max_is_rejected) {
  EXPECT_THROW(value{std::numeric_limits<std::uint64_t>::max()}, troupe::error);
  EXPECT_EQ(value{std::uint64_t{42}}.as_int(), 42);
}

TEST(value, arrays_hold_mixed_elements) {
  auto a = value::array({1, 2.5, "x", value::array({true})});
  ASSERT_EQ(a.size(), 4u);
  EXPECT_EQ(a.as_array()[0], value{1});
  EXPECT_EQ(a.as_array()[2], value{"x"});
  EXPECT_TRUE(a.as_array()[3].as_array()[0].as_bool());
  a.as_array().push_back(value{});
  EXPECT_EQ(a.size(), 5u);
}

TEST(value, map_lookup_and_missing_keys) {
  auto m = value::map({{"id", "123"}, {"n", 4}, {1, "one"}, {true, "yes"}});
  EXPECT_EQ(m["id"].as_string(), "123");
  EXPECT_EQ(m["n"].as_int(), 4);
  EXPECT_EQ(m[1].as_string(), "one");
  EXPECT_EQ(m[true].as_string(), "yes");
  EXPECT_TRUE(m["absent"].is_nil());
  EXPECT_EQ(m.size(), 4u);
}

TEST(value, integral_float_keys_become_integer_keys) {
  auto m = value::map({{2.0, "two"}, {2.5, "two and a half"}});
  EXPECT_EQ(m[2].as_string(), "two");
  EXPECT_EQ(m[2.0].as_string(), "two");
  EXPECT_EQ(m[2.5].as_string(), "two and a half");
  EXPECT_TRUE(m.as_map()[0].first.is_int());
}

TEST(value, bad_map_keys_are_rejected) {
  EXPECT_THROW(value::map({{value{}, 1}}), troupe::type_error);
  EXPECT_THROW(value::map({{std::nan(""), 1}}), troupe::type_error);
  EXPECT_THROW(value::map({{value::array(), 1}}), troupe::type_error);
  try {
    value::map({{"a", 1}, {"a", 2}});
    FAIL() << "duplicate key accepted";
  } catch (const troupe::type_error& e) {
    EXPECT_STREQ(e.what(), "troupe::value::map: key \"a\" is given twice");
  }
  EXPECT_THROW(value::map({{1, 1}, {1.0, 2}}), troupe::type_error);
}

TEST(value, set_inserts_replaces_and_removes) {
  auto m = value::map();
  m.set("b", 2);
  m.set("a", 1);
  m.set("b", 3);
  EXPECT_EQ(m, value::map({{"a", 1}, {"b", 3}}));
  m.set("a", value{});
  EXPECT_EQ(m, value::map({{"b", 3}}));
}

TEST(value, nil_map_values_are_absent) {
  EXPECT_EQ(value::map({{"a", value{}}, {"b", 1}}), value::map({{"b", 1}}));
}

TEST(value, map_equality_ignores_order_and_is_deep) {
  auto x = value::map(
    {{"id", "123"}, {"n", 4}, {"list", value::array({1, 2})}});
  auto y = value::map(
    {{"list", value::array({1, 2})}, {"n", 4}, {"id", "123"}});
  EXPECT_EQ(x, y);
  EXPECT_NE(x, value::map(
                 {{"id", "123"}, {"n", 4}, {"list", value::array({2, 1})}}));
  EXPECT_NE(value::array({1, 2}), value::array({2, 1}));
}

TEST(value, to_string_is_readable) {
  auto m = value::map({{"n", 4}, {"id", "1\"2"}});
  EXPECT_EQ(to_string(m), R"({"id": "1\"2", "n": 4})");
  EXPECT_EQ(to_string(value::array({1, 2.5, 3.0, "x", true, value{}})),
            R"([1, 2.5, 3.0, "x", true, nil])");
  EXPECT_EQ(to_string(value{std::string("a\0", 2)}), R"("a\x00")");
  EXPECT_EQ(to_string(value{-std::numeric_limits<double>::infinity()}), "-inf");
}

TEST(value, any_depth_prints_compares_and_is_destroyed) {
  auto nest = [](int depth) {
    value v = 1;
    for (int i = 0; i < depth; ++i) {
      value::array_type a;
      a.push_back(std::move(v));
      v = value::array(std::move(a));
      if (i % 2 == 0) {
        value::map_type m;
        m.emplace_back("k", std::move(v));
        v = value::map(std::move(m));
      }
    }
    return v;
  };
  // Far deeper than a recursive walk's stack would allow.
  constexpr int depth = 200000;
  value deep = nest(depth);
  std::string text = to_string(deep);
  EXPECT_EQ(text.size(), depth * 2u + depth / 2 * 7u + 1);
  EXPECT_EQ(text.substr(0, 8), "[{\"k\": [");
  EXPECT_TRUE(deep == nest(depth));
  EXPECT_FALSE(deep == nest(depth - 1));
  deep = value{};
  EXPECT_TRUE(deep.is_nil());
}
