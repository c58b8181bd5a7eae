// detail::post_box: the ring rule (only the first post after a collect rings,
// and a ring that failed is asked for again), order per sender, a closed box,
// and four threads posting while one collects (also under ThreadSanitizer).
#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "actors/post_box.hpp"

using troupe::detail::post_box;

namespace {

std::vector<std::pair<post_box::sender, std::string>> take(post_box& box,
                                                           std::string& batch) {
  box.collect(batch);
  std::vector<std::pair<post_box::sender, std::string>> out;
  post_box::for_each(batch, [&](post_box::sender from, std::string_view b) {
    out.emplace_back(from, std::string{b});
  });
  return out;
}

} // namespace

TEST(post_box, only_the_first_post_after_a_collect_rings) {
  post_box box;
  std::string batch;
  EXPECT_TRUE(box.post(0, "a"));
  EXPECT_FALSE(box.post(7, ""));
  EXPECT_FALSE(box.post(0, std::string("b\0c", 3)));
  auto got = take(box, batch);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], (std::pair<post_box::sender, std::string>{0, "a"}));
  EXPECT_EQ(got[1], (std::pair<post_box::sender, std::string>{7, ""}));
  EXPECT_EQ(got[2].second, std::string("b\0c", 3));
  EXPECT_TRUE(take(box, batch).empty());
  EXPECT_TRUE(box.post(3, "again"));
  EXPECT_EQ(take(box, batch).size(), 1u);
}

TEST(post_box, a_ring_that_fails_is_asked_for_again_by_the_next_post) {
  post_box box;
  std::string batch;
  int rings = 0;
  EXPECT_TRUE(box.deliver(0, "a", [&] {
    ++rings;
    throw std::runtime_error{"ring lost"};
  }));
  EXPECT_TRUE(box.deliver(0, "b", [&] { ++rings; }));
  EXPECT_TRUE(box.deliver(0, "c", [&] { ++rings; }));
  EXPECT_EQ(rings, 2);
  auto got = take(box, batch);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2].second, "c");
}

TEST(post_box, a_closed_box_drops_what_it_held_and_refuses_more) {
  post_box box;
  std::string batch;
  EXPECT_TRUE(box.post(0, "lost"));
  box.close();
  EXPECT_FALSE(box.post(0, "refused"));
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
        if (box.post(static_cast<post_box::sender>(s), std::to_string(i)))
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
      ASSERT_LE(from, static_cast<post_box::sender>(senders));
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
