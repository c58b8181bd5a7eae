// detail::post_box: the ring rule (only the first post after a collect rings,
// and a ring that failed is asked for again), headers kept, order per sender,
// a closed box, and four threads posting while one collects (also under
// ThreadSanitizer).
#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "actors/post_box.hpp"

using troupe::detail::delivery;
using troupe::detail::mail_header;
using troupe::detail::mail_kind;
using troupe::detail::post_box;
using posted = post_box::posted;
using sender = std::uint64_t;

namespace {

mail_header from(sender s) {
  return {s, 0, mail_kind::inbox};
}

std::vector<std::pair<sender, std::string>> take(post_box& box,
                                                 std::string& batch) {
  box.collect(batch);
  std::vector<std::pair<sender, std::string>> out;
  post_box::for_each(batch, [&](const mail_header& h, std::string_view b) {
    out.emplace_back(h.from, std::string{b});
  });
  return out;
}

} // namespace

TEST(post_box, a_header_arrives_as_it_was_posted) {
  post_box box;
  std::string batch;
  EXPECT_EQ(box.post({7, 0xfedcba9876543210, mail_kind::down_failed}, "x"),
            posted::ring);
  EXPECT_EQ(box.post({0, 3, mail_kind::reply}, ""), posted::quiet);
  box.collect(batch);
  std::vector<mail_header> got;
  post_box::for_each(batch, [&](const mail_header& h, std::string_view) {
    got.push_back(h);
  });
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].from, 7u);
  EXPECT_EQ(got[0].token, 0xfedcba9876543210u);
  EXPECT_EQ(got[0].kind, mail_kind::down_failed);
  EXPECT_EQ(got[1].token, 3u);
  EXPECT_EQ(got[1].kind, mail_kind::reply);
}

TEST(post_box, only_the_first_post_after_a_collect_rings) {
  post_box box;
  std::string batch;
  EXPECT_EQ(box.post(from(0), "a"), posted::ring);
  EXPECT_EQ(box.post(from(7), ""), posted::quiet);
  EXPECT_EQ(box.post(from(0), std::string("b\0c", 3)), posted::quiet);
  auto got = take(box, batch);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], (std::pair<sender, std::string>{0, "a"}));
  EXPECT_EQ(got[1], (std::pair<sender, std::string>{7, ""}));
  EXPECT_EQ(got[2].second, std::string("b\0c", 3));
  EXPECT_TRUE(take(box, batch).empty());
  EXPECT_EQ(box.post(from(3), "again"), posted::ring);
  EXPECT_EQ(take(box, batch).size(), 1u);
}

TEST(post_box, a_ring_that_fails_is_asked_for_again_by_the_next_post) {
  post_box box;
  std::string batch;
  int rings = 0;
  EXPECT_EQ(box.deliver(from(0), "a",
                        [&] {
                          ++rings;
                          throw std::runtime_error{"ring lost"};
                        }),
            delivery::delivered);
  EXPECT_EQ(box.deliver(from(0), "b", [&] { ++rings; }), delivery::delivered);
  EXPECT_EQ(box.deliver(from(0), "c", [&] { ++rings; }), delivery::delivered);
  EXPECT_EQ(rings, 2);
  auto got = take(box, batch);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2].second, "c");
}

TEST(post_box, a_closed_box_drops_what_it_held_and_refuses_more) {
  post_box box;
  std::string batch;
  EXPECT_EQ(box.post(from(0), "lost"), posted::ring);
  box.close();
  EXPECT_EQ(box.post(from(0), "refused"), posted::closed);
  EXPECT_EQ(box.deliver(from(0), "refused", [] {}), delivery::closed);
  EXPECT_TRUE(take(box, batch).empty());
}

TEST(post_box, concurrent_senders_keep_their_order_and_lose_nothing) {
  constexpr int senders = 4;
  constexpr int per_sender = 20000;
  post_box box;
  std::atomic<int> rings{0};
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  for (int s = 1; s <= senders; ++s) {
    threads.emplace_back([&, s] {
      for (int i = 0; i < per_sender; ++i)
        if (box.post(from(static_cast<sender>(s)), std::to_string(i))
            == posted::ring)
          rings.fetch_add(1);
      done.fetch_add(1);
    });
  }
  std::vector<int> next(senders + 1, 0);
  std::string batch;
  int collects_with_mail = 0;
  auto drain = [&] {
    auto got = take(box, batch);
    if (!got.empty()) ++collects_with_mail;
    for (auto& [from, bytes] : got) {
      ASSERT_GE(from, 1u);
      ASSERT_LE(from, static_cast<sender>(senders));
      ASSERT_EQ(bytes, std::to_string(next[from]));
      ++next[from];
    }
  };
  while (done.load() < senders) drain();
  drain();
  for (auto& t : threads) t.join();
  for (int s = 1; s <= senders; ++s) EXPECT_EQ(next[s], per_sender);
  // Every batch that held mail was announced by exactly one ring.
  EXPECT_EQ(rings.load(), collects_with_mail);
}
