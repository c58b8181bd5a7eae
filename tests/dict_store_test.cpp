// lua_vm::dict_store: OpenResty's shared dict semantics (stores and their
// refusals, eviction of the least recently used, expiry, incr, lists), and
// many threads on one dict (run under ThreadSanitizer by scripts/test --tsan).
#include "lua_vm/dict_store.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace troupe::lua_vm {
namespace {

using namespace std::chrono_literals;
using kind = dict_scalar::kind;

dict_scalar_view text(std::string_view s) {
  dict_scalar_view v;
  v.type = kind::string;
  v.text = s;
  return v;
}

dict_scalar_view integer(std::int64_t i) {
  dict_scalar_view v;
  v.type = kind::integer;
  v.integer = i;
  return v;
}

dict_scalar_view number(double d) {
  dict_scalar_view v;
  v.type = kind::number;
  v.number = d;
  return v;
}

dict_outcome set(dict_store& d, std::string_view k, const dict_scalar_view& v,
                 clock::duration ttl = {}) {
  return d.store(dict_store_mode::set, k, v, ttl);
}

// The string at `k`, "<nil>" when absent, "<list>" for a list.
std::string read(dict_store& d, std::string_view k) {
  dict_scalar out;
  if (d.get(k, out) == dict_error::is_list) return "<list>";
  if (out.type == kind::nil) return "<nil>";
  return out.text;
}

// Waits (at most five seconds) until `k` is gone.
bool wait_gone(dict_store& d, std::string_view k) {
  auto until = clock::now() + 5s;
  while (read(d, k) != "<nil>") {
    if (clock::now() > until) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

TEST(dict_store, keeps_each_kind_of_scalar_as_it_was_given) {
  dict_store d{4096};
  dict_scalar_view yes;
  yes.type = kind::boolean;
  yes.boolean = true;
  ASSERT_EQ(set(d, "b", yes).error, dict_error::none);
  ASSERT_EQ(set(d, "i", integer(7)).error, dict_error::none);
  ASSERT_EQ(set(d, "f", number(7.0)).error, dict_error::none);
  ASSERT_EQ(set(d, "s", text(std::string_view{"a\0b", 3})).error,
            dict_error::none);
  dict_scalar out;
  d.get("b", out);
  EXPECT_EQ(out.type, kind::boolean);
  EXPECT_TRUE(out.boolean);
  d.get("i", out);
  EXPECT_EQ(out.type, kind::integer);
  EXPECT_EQ(out.integer, 7);
  d.get("f", out);
  EXPECT_EQ(out.type, kind::number);
  EXPECT_EQ(out.number, 7.0);
  d.get("s", out);
  EXPECT_EQ(out.type, kind::string);
  EXPECT_EQ(out.text, std::string("a\0b", 3));
  d.get("absent", out);
  EXPECT_EQ(out.type, kind::nil);
}

TEST(dict_store, add_and_replace_refuse_as_openresty_does) {
  dict_store d{4096};
  EXPECT_EQ(d.store(dict_store_mode::replace, "k", text("x"), {}).error,
            dict_error::not_found);
  EXPECT_EQ(d.store(dict_store_mode::add, "k", text("1"), {}).error,
            dict_error::none);
  EXPECT_EQ(d.store(dict_store_mode::add, "k", text("2"), {}).error,
            dict_error::exists);
  EXPECT_EQ(read(d, "k"), "1");
  EXPECT_EQ(d.store(dict_store_mode::replace, "k", text("3"), {}).error,
            dict_error::none);
  EXPECT_EQ(read(d, "k"), "3");
  EXPECT_EQ(set(d, "k", {}).error, dict_error::none);
  EXPECT_EQ(read(d, "k"), "<nil>");
  EXPECT_EQ(d.free_space(), d.capacity());
}

TEST(dict_store, evicts_the_least_recently_used_and_says_forcible) {
  dict_store d{2000};
  std::string big(400, 'x');
  for (int i = 0; i < 4; ++i)
    ASSERT_FALSE(set(d, "k" + std::to_string(i), text(big)).forcible);
  // k0 is read, so k1 is now the least recently used.
  EXPECT_EQ(read(d, "k0"), big);
  dict_outcome o = set(d, "k4", text(big));
  EXPECT_EQ(o.error, dict_error::none);
  EXPECT_TRUE(o.forcible);
  EXPECT_EQ(read(d, "k1"), "<nil>");
  EXPECT_EQ(read(d, "k0"), big);
  EXPECT_EQ(read(d, "k4"), big);
  EXPECT_LE(d.capacity() - d.free_space(), d.capacity());
}

TEST(dict_store, one_value_past_the_capacity_is_no_memory_and_evicts_nothing) {
  dict_store d{1000};
  ASSERT_EQ(set(d, "small", text("x")).error, dict_error::none);
  dict_outcome o = set(d, "huge", text(std::string(2000, 'y')));
  EXPECT_EQ(o.error, dict_error::no_memory);
  EXPECT_FALSE(o.forcible);
  EXPECT_EQ(read(d, "small"), "x");
  EXPECT_EQ(read(d, "huge"), "<nil>");
}

TEST(dict_store, safe_set_does_not_evict_live_entries) {
  dict_store d{1000};
  std::string half(350, 'x');
  ASSERT_EQ(set(d, "a", text(half)).error, dict_error::none);
  ASSERT_EQ(set(d, "b", text(half)).error, dict_error::none);
  dict_outcome o = d.store(dict_store_mode::safe_set, "c", text(half), {});
  EXPECT_EQ(o.error, dict_error::no_memory);
  EXPECT_FALSE(o.forcible);
  EXPECT_EQ(read(d, "a"), half);
  EXPECT_EQ(d.store(dict_store_mode::safe_add, "c", text(half), {}).error,
            dict_error::no_memory);
  // An expired entry makes room even for safe_set.
  ASSERT_EQ(d.expire("a", 1ns), dict_error::none);
  ASSERT_TRUE(wait_gone(d, "a"));
  EXPECT_EQ(d.store(dict_store_mode::safe_set, "c", text(half), {}).error,
            dict_error::none);
}

TEST(dict_store, an_entry_expires_at_its_time_not_before) {
  dict_store d{4096};
  auto start = clock::now();
  ASSERT_EQ(set(d, "k", text("v"), 50ms).error, dict_error::none);
  double left = 0;
  ASSERT_EQ(d.ttl("k", left), dict_error::none);
  EXPECT_GT(left, 0.0);
  EXPECT_LE(left, 0.05);
  ASSERT_TRUE(wait_gone(d, "k"));
  EXPECT_GE(clock::now() - start, 50ms);
  EXPECT_EQ(d.ttl("k", left), dict_error::not_found);
  EXPECT_EQ(d.expire("k", 1s), dict_error::not_found);
  ASSERT_EQ(set(d, "forever", text("v")).error, dict_error::none);
  ASSERT_EQ(d.ttl("forever", left), dict_error::none);
  EXPECT_EQ(left, 0.0);
}

TEST(dict_store, flush_all_expires_and_flush_expired_frees) {
  dict_store d{4096};
  for (auto k : {"a", "b", "c"}) ASSERT_FALSE(set(d, k, text("v")).forcible);
  std::size_t free_before = d.free_space();
  d.flush_all();
  EXPECT_EQ(read(d, "a"), "<nil>");
  EXPECT_TRUE(d.keys(0).empty());
  // Reading "a" freed it; "b" and "c" still hold their bytes.
  EXPECT_LT(d.free_space(), d.capacity());
  EXPECT_GT(d.free_space(), free_before);
  EXPECT_EQ(d.flush_expired(1), 1u);
  EXPECT_EQ(d.flush_expired(0), 1u);
  EXPECT_EQ(d.free_space(), d.capacity());
}

TEST(dict_store, incr_adds_as_lua_does_and_refuses_non_numbers) {
  dict_store d{4096};
  dict_scalar out;
  EXPECT_EQ(d.incr("n", integer(1), nullptr, {}, out).error,
            dict_error::not_found);
  auto init = integer(10);
  ASSERT_EQ(d.incr("n", integer(5), &init, {}, out).error, dict_error::none);
  EXPECT_EQ(out.type, kind::integer);
  EXPECT_EQ(out.integer, 15);
  ASSERT_EQ(d.incr("n", number(0.5), nullptr, {}, out).error, dict_error::none);
  EXPECT_EQ(out.type, kind::number);
  EXPECT_EQ(out.number, 15.5);
  auto top = integer(INT64_MAX);
  ASSERT_EQ(d.incr("wrap", integer(1), &top, {}, out).error, dict_error::none);
  EXPECT_EQ(out.integer, INT64_MIN);
  ASSERT_EQ(set(d, "s", text("12")).error, dict_error::none);
  EXPECT_EQ(d.incr("s", integer(1), nullptr, {}, out).error,
            dict_error::not_a_number);
  std::size_t length = 0;
  ASSERT_EQ(d.push("l", true, integer(1), length).error, dict_error::none);
  EXPECT_EQ(d.incr("l", integer(1), nullptr, {}, out).error,
            dict_error::not_a_number);
}

TEST(dict_store, lists_push_pop_from_both_ends_and_vanish_when_empty) {
  dict_store d{4096};
  std::size_t length = 0;
  ASSERT_EQ(d.push("q", false, text("b"), length).error, dict_error::none);
  ASSERT_EQ(d.push("q", false, text("c"), length).error, dict_error::none);
  ASSERT_EQ(d.push("q", true, text("a"), length).error, dict_error::none);
  EXPECT_EQ(length, 3u);
  EXPECT_EQ(read(d, "q"), "<list>");
  dict_scalar out;
  ASSERT_EQ(d.pop("q", true, out), dict_error::none);
  EXPECT_EQ(out.text, "a");
  ASSERT_EQ(d.pop("q", false, out), dict_error::none);
  EXPECT_EQ(out.text, "c");
  ASSERT_EQ(d.length("q", length), dict_error::none);
  EXPECT_EQ(length, 1u);
  ASSERT_EQ(d.pop("q", false, out), dict_error::none);
  EXPECT_EQ(out.text, "b");
  EXPECT_EQ(d.free_space(), d.capacity());
  ASSERT_EQ(d.pop("q", false, out), dict_error::none);
  EXPECT_EQ(out.type, kind::nil);
  ASSERT_EQ(set(d, "s", text("x")).error, dict_error::none);
  EXPECT_EQ(d.push("s", true, text("y"), length).error, dict_error::not_a_list);
  EXPECT_EQ(d.pop("s", true, out), dict_error::not_a_list);
  EXPECT_EQ(d.length("s", length), dict_error::not_a_list);
}

TEST(dict_store, a_growing_list_evicts_others_but_never_itself) {
  dict_store d{1500};
  ASSERT_EQ(set(d, "other", text("x")).error, dict_error::none);
  std::size_t length = 0;
  bool forced = false;
  for (int i = 0; i < 20; ++i) {
    dict_outcome o = d.push("q", false, text(std::string(40, 'e')), length);
    ASSERT_EQ(o.error, dict_error::none) << i;
    forced = forced || o.forcible;
    if (read(d, "other") == "<nil>") break;
  }
  EXPECT_TRUE(forced);
  EXPECT_EQ(read(d, "other"), "<nil>");
  EXPECT_EQ(d.length("q", length), dict_error::none);
  EXPECT_GT(length, 1u);
}

TEST(dict_store, keys_come_most_recently_used_first_up_to_max) {
  dict_store d{4096};
  for (auto k : {"a", "b", "c"}) ASSERT_FALSE(set(d, k, text("v")).forcible);
  read(d, "a");
  EXPECT_EQ(d.keys(0), (std::vector<std::string>{"a", "c", "b"}));
  EXPECT_EQ(d.keys(2), (std::vector<std::string>{"a", "c"}));
}

TEST(dict_store, counts_hits_and_misses_of_gets) {
  dict_store d{4096};
  ASSERT_FALSE(set(d, "k", text("v")).forcible);
  read(d, "k");
  read(d, "k");
  read(d, "nope");
  dict_counts c = d.counts();
  EXPECT_EQ(c.hits, 2u);
  EXPECT_EQ(c.misses, 1u);
  EXPECT_EQ(c.entries, 1u);
  EXPECT_EQ(c.used, d.capacity() - d.free_space());
}

TEST(dict_store, a_large_dict_is_sharded_and_one_value_must_fit_a_shard) {
  // 4 MiB: sixteen shards of 256 KiB.
  dict_store d{std::size_t{4} << 20};
  EXPECT_EQ(set(d, "fits", text(std::string(200 << 10, 'x'))).error,
            dict_error::none);
  EXPECT_EQ(set(d, "too big", text(std::string(300 << 10, 'x'))).error,
            dict_error::no_memory);
  for (int i = 0; i < 200; ++i)
    ASSERT_EQ(set(d, "k" + std::to_string(i), integer(i)).error,
              dict_error::none);
  EXPECT_EQ(d.keys(0).size(), 201u);
  EXPECT_EQ(d.keys(10).size(), 10u);
  EXPECT_EQ(d.counts().entries, 201u);
  EXPECT_EQ(d.capacity() - d.free_space(), d.counts().used);
  d.flush_all();
  EXPECT_EQ(d.flush_expired(5), 5u);
  EXPECT_EQ(d.flush_expired(0), 196u);
  EXPECT_EQ(d.free_space(), d.capacity());
}

TEST(dict_store, threads_incrementing_one_key_lose_no_update) {
  dict_store d{1 << 20};
  constexpr int per_thread = 20000;
  auto work = [&d](int id) {
    dict_scalar out;
    auto zero = integer(0);
    std::string own = "own" + std::to_string(id);
    for (int i = 0; i < per_thread; ++i) {
      d.incr("shared", integer(1), &zero, {}, out);
      d.store(dict_store_mode::set, own, integer(i), {});
      d.get(own, out);
      std::size_t length = 0;
      d.push("q", (i & 1) != 0, integer(i), length);
      d.pop("q", (i & 2) != 0, out);
    }
  };
  std::thread a{work, 0}, b{work, 1};
  work(2);
  a.join();
  b.join();
  dict_scalar out;
  ASSERT_EQ(d.get("shared", out), dict_error::none);
  EXPECT_EQ(out.integer, 3 * per_thread);
  std::size_t length = 0;
  ASSERT_EQ(d.length("q", length), dict_error::none);
  EXPECT_EQ(length, 0u);
}

TEST(dict_store, threads_evicting_from_a_small_dict_keep_its_bound) {
  dict_store d{8192};
  auto work = [&d](int id) {
    dict_scalar out;
    for (int i = 0; i < 20000; ++i) {
      std::string key = std::to_string(id) + ":" + std::to_string(i % 500);
      d.store(dict_store_mode::set, key, text(std::string(i % 300, 'v')), {});
      d.get(key, out);
    }
  };
  std::thread a{work, 0};
  work(1);
  a.join();
  dict_counts c = d.counts();
  EXPECT_LE(c.used, d.capacity());
  EXPECT_EQ(c.used, d.capacity() - d.free_space());
  EXPECT_GT(c.entries, 0u);
}

} // namespace
} // namespace troupe::lua_vm
