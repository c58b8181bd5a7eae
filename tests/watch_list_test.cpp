// detail::watch_list: watches added before the close are all handed over
// exactly once, later ones are refused, a removed watch is not handed over;
// and the same with threads adding, removing and closing at once (also under
// ThreadSanitizer).
#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "actors/watch_list.hpp"

using troupe::detail::watch_list;

TEST(watch_list, close_hands_over_what_was_added_and_refuses_more) {
  watch_list list;
  EXPECT_TRUE(list.add({1, 10}));
  EXPECT_TRUE(list.add({2, 20}));
  EXPECT_TRUE(list.add({1, 10}));
  list.remove({1, 10});
  list.remove({3, 30});
  auto got = list.close();
  ASSERT_EQ(got.size(), 2u) << "one of the two equal watches was removed";
  EXPECT_FALSE(list.add({4, 40}));
  EXPECT_TRUE(list.close().empty());
}

TEST(watch_list, concurrent_watchers_see_the_end_or_are_refused) {
  constexpr int watchers = 4;
  constexpr int per_watcher = 5000;
  watch_list list;
  // The odd-numbered watches each thread had accepted and kept.
  std::vector<std::vector<std::uint64_t>> kept(watchers + 1);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int w = 1; w <= watchers; ++w) {
    threads.emplace_back([&, w] {
      while (!go.load()) std::this_thread::yield();
      for (std::uint64_t i = 0; i < per_watcher; ++i) {
        watch_list::watch x{static_cast<std::uint64_t>(w), i};
        if (!list.add(x)) continue;
        // Every other watch is withdrawn again, as a call's is on its reply.
        if (i % 2 == 0)
          list.remove(x);
        else
          kept[w].push_back(i);
      }
    });
  }
  go.store(true);
  std::this_thread::yield();
  auto closed = list.close();
  for (auto& t : threads) t.join();
  EXPECT_FALSE(list.add({9, 9}));
  EXPECT_TRUE(list.close().empty());
  // Each kept watch is handed over exactly once; a withdrawn one at most once
  // (when the close came between its add and its remove).
  std::vector<std::vector<int>> times(watchers + 1,
                                      std::vector<int>(per_watcher, 0));
  for (const auto& x : closed) {
    ASSERT_GE(x.who, 1u);
    ASSERT_LE(x.who, static_cast<std::uint64_t>(watchers));
    ASSERT_LT(x.token, static_cast<std::uint64_t>(per_watcher));
    ++times[x.who][x.token];
  }
  for (int w = 1; w <= watchers; ++w) {
    for (std::uint64_t i : kept[w]) EXPECT_EQ(times[w][i], 1) << w << "/" << i;
    for (int n : times[w]) EXPECT_LE(n, 1);
  }
}
