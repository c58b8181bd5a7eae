// The supervisor's lease table: targets hold exactly, releases hand units on
// one at a time and in order, grants rotate across keys, targets move at run
// time, stop wakes every waiter, and under 8 threads with moving targets no
// grant ever exceeds its key's target (this file also runs under TSan:
// scripts/test --tsan).
#include <atomic>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "actors/lease_table.hpp"
#include "troupe/error.hpp"
#include "troupe/supervisor.hpp"

using namespace std::chrono_literals;
using troupe::lease;
using troupe::supervisor;

namespace {

// A bound for things that must happen; generous, since the machine may be
// loaded.
constexpr auto patience = 10s;

// Waits until `n` acquirers are blocked (polling the table's own count, not
// sleeping for a guess).
void until_waiting(const supervisor& sup, std::size_t n) {
  auto deadline = std::chrono::steady_clock::now() + patience;
  while (sup.waiting() < n) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline)
      << "acquirers never blocked";
    std::this_thread::yield();
  }
}

// Waits until no more than `n` acquirers are blocked.
void until_waiting_at_most(const supervisor& sup, std::size_t n) {
  auto deadline = std::chrono::steady_clock::now() + patience;
  while (sup.waiting() > n) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline)
      << "acquirers never woke";
    std::this_thread::yield();
  }
}

} // namespace

TEST(supervisor, a_target_admits_exactly_that_many) {
  supervisor sup;
  sup.set("a", 200);
  std::vector<lease> held;
  for (int i = 0; i < 200; ++i) held.push_back(sup.acquire("a"));
  EXPECT_EQ(sup.counts("a").active, 200u);
  EXPECT_FALSE(sup.try_acquire("a", 10ms));
  held.pop_back();
  auto one = sup.try_acquire("a", 0ms);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->key(), "a");
  EXPECT_FALSE(sup.try_acquire("a", 10ms));
}

TEST(supervisor, the_201st_waits_and_one_release_lets_exactly_one_through) {
  supervisor sup;
  sup.set("a", 200);
  std::vector<lease> held;
  for (int i = 0; i < 200; ++i) held.push_back(sup.acquire("a"));
  std::mutex m;
  std::vector<lease> granted;
  std::vector<std::thread> waiters;
  for (int i = 0; i < 2; ++i)
    waiters.emplace_back([&] {
      try {
        lease l = sup.acquire("a");
        std::lock_guard g{m};
        granted.push_back(std::move(l));
      } catch (const troupe::stopped_error&) {
      }
    });
  until_waiting(sup, 2);
  held.back().release();
  until_waiting_at_most(sup, 1);
  EXPECT_EQ(sup.waiting(), 1u);
  EXPECT_EQ(sup.counts("a").active, 200u);
  sup.stop();
  for (auto& t : waiters) t.join();
  EXPECT_EQ(granted.size(), 1u);
}

TEST(supervisor, release_is_idempotent_and_moves_carry_the_unit) {
  supervisor sup;
  sup.set("a", 1);
  lease l = sup.acquire("a");
  EXPECT_NE(l.id(), 0u);
  lease moved = std::move(l);
  EXPECT_FALSE(l.held());
  EXPECT_THROW(static_cast<void>(l.key()), troupe::error);
  l.release();
  EXPECT_EQ(sup.counts("a").active, 1u);
  moved.release();
  moved.release();
  EXPECT_EQ(sup.counts("a").active, 0u);
  lease a = sup.acquire("a");
  lease b;
  b = std::move(a);
  EXPECT_EQ(sup.counts("a").active, 1u);
  { lease c = std::move(b); }
  EXPECT_EQ(sup.counts("a").active, 0u);
}

TEST(supervisor, raising_a_target_grants_exactly_the_difference) {
  supervisor sup;
  sup.set("a", 200);
  std::vector<lease> held;
  for (int i = 0; i < 200; ++i) held.push_back(sup.acquire("a"));
  std::optional<lease> first;
  bool second_stopped = false;
  std::thread w1{[&] { first = sup.try_acquire("a", patience); }};
  until_waiting(sup, 1);
  std::thread w2{[&] {
    try {
      sup.acquire("a");
    } catch (const troupe::stopped_error&) {
      second_stopped = true;
    }
  }};
  until_waiting(sup, 2);
  sup.set("a", 201);
  w1.join();
  EXPECT_TRUE(first);
  EXPECT_EQ(sup.counts("a").active, 201u);
  EXPECT_EQ(sup.waiting(), 1u);
  sup.stop();
  w2.join();
  EXPECT_TRUE(second_stopped);
}

TEST(supervisor, target_zero_stops_grants_keeps_leases_and_the_key_goes_away) {
  supervisor sup;
  sup.set("a", 2);
  lease x = sup.acquire("a");
  lease y = sup.acquire("a");
  sup.set("a", 0);
  EXPECT_FALSE(sup.try_acquire("a", 10ms));
  EXPECT_FALSE(sup.try_acquire(10ms));
  EXPECT_EQ(sup.counts("a").active, 2u);
  EXPECT_EQ(sup.counts("a").target, 0u);
  EXPECT_EQ(x.key(), "a");
  x.release();
  EXPECT_EQ(sup.keys(), std::vector<std::string>{"a"});
  y.release();
  EXPECT_TRUE(sup.keys().empty());
  EXPECT_EQ(sup.counts("a").active, 0u);
}

TEST(supervisor, lowering_a_target_stops_grants_until_below_it) {
  supervisor sup;
  sup.set("a", 3);
  std::vector<lease> held;
  for (int i = 0; i < 3; ++i) held.push_back(sup.acquire("a"));
  sup.set("a", 1);
  held.pop_back();
  EXPECT_FALSE(sup.try_acquire("a", 10ms));
  held.pop_back();
  EXPECT_FALSE(sup.try_acquire("a", 10ms));
  held.pop_back();
  EXPECT_TRUE(sup.try_acquire("a", 0ms));
}

TEST(supervisor, anonymous_grants_rotate_across_keys_with_room) {
  supervisor sup;
  sup.set("a", 10);
  sup.set("b", 10);
  std::vector<lease> held;
  std::vector<std::string> order;
  for (int i = 0; i < 6; ++i) {
    held.push_back(sup.acquire());
    order.push_back(held.back().key());
  }
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "a", "b", "a", "b"}));
  sup.set("c", 1);
  std::vector<std::string> more;
  for (int i = 0; i < 3; ++i) {
    held.push_back(sup.acquire());
    more.push_back(held.back().key());
  }
  EXPECT_EQ(std::count(more.begin(), more.end(), "c"), 1);
}

TEST(supervisor, waiters_on_one_key_are_served_in_arrival_order) {
  supervisor sup;
  sup.set("a", 1);
  lease gate = sup.acquire("a");
  std::mutex m;
  std::vector<int> served;
  std::vector<std::thread> waiters;
  for (int i = 0; i < 5; ++i) {
    waiters.emplace_back([&, i] {
      lease l = sup.acquire("a");
      std::lock_guard g{m};
      served.push_back(i);
    });
    until_waiting(sup, static_cast<std::size_t>(i + 1));
  }
  gate.release();
  for (auto& t : waiters) t.join();
  EXPECT_EQ(served, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(supervisor, an_anonymous_waiter_is_woken_by_room_on_any_key) {
  supervisor sup;
  std::optional<lease> got;
  std::thread w{[&] { got = sup.try_acquire(patience); }};
  until_waiting(sup, 1);
  sup.set("late", 1);
  w.join();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->key(), "late");
}

TEST(supervisor, stop_wakes_waiters_with_stopped_error) {
  supervisor sup;
  sup.set("k", 1);
  lease held = sup.acquire("k");
  std::exception_ptr keyed, anonymous;
  std::thread w1{[&] {
    try {
      sup.acquire("k");
    } catch (...) {
      keyed = std::current_exception();
    }
  }};
  std::thread w2{[&] {
    try {
      sup.acquire();
    } catch (...) {
      anonymous = std::current_exception();
    }
  }};
  until_waiting(sup, 2);
  sup.stop();
  w1.join();
  w2.join();
  EXPECT_THROW(std::rethrow_exception(keyed), troupe::stopped_error);
  EXPECT_THROW(std::rethrow_exception(anonymous), troupe::stopped_error);
  EXPECT_THROW(sup.acquire("k"), troupe::stopped_error);
  sup.set("k", 5);
  EXPECT_THROW(sup.try_acquire("k", 0ms), troupe::stopped_error);
  held.release();
  EXPECT_EQ(sup.counts("k").active, 0u);
}

TEST(supervisor, a_lease_outlives_its_supervisor) {
  std::optional<lease> l;
  {
    supervisor sup;
    sup.set("k", 1);
    l = sup.acquire("k");
  }
  EXPECT_EQ(l->key(), "k");
  l->release();
  EXPECT_FALSE(l->held());
}

TEST(lease_table, keys_can_be_kept_from_anonymous_acquires) {
  troupe::detail::lease_table table;
  table.set("open", 1);
  table.set("reserved", 1);
  table.set_anonymous("reserved", false);
  auto any = table.acquire(nullptr, std::chrono::steady_clock::now());
  ASSERT_TRUE(any);
  EXPECT_EQ(any->key->name, "open");
  EXPECT_FALSE(table.acquire(nullptr, std::chrono::steady_clock::now() + 10ms));
  const std::string reserved = "reserved";
  auto keyed = table.acquire(&reserved, std::chrono::steady_clock::now());
  ASSERT_TRUE(keyed);
  table.release(keyed->key);
  table.release(any->key);
  table.set("reserved", 0);
  EXPECT_EQ(table.keys().size(), 2u) << "a reserved key stays until readmitted";
  table.set_anonymous("reserved", true);
  table.set("open", 0);
  EXPECT_TRUE(table.keys().empty());
}

// The supervisor's keeper takes leases with it on its own thread: it must
// neither wait, nor barge past a waiter, nor throw once stopped.
TEST(lease_table, try_acquire_grants_only_free_room_and_never_throws) {
  troupe::detail::lease_table table;
  const std::string k = "k";
  EXPECT_FALSE(table.try_acquire(k)) << "an unknown key has no room";
  table.set(k, 1);
  auto first = table.try_acquire(k);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->key->name, "k");
  EXPECT_FALSE(table.try_acquire(k));
  EXPECT_EQ(table.waiting(), 0u) << "a try never queues";
  table.release(first->key);
  table.stop();
  EXPECT_FALSE(table.try_acquire(k));
  EXPECT_EQ(table.counts(k).active, 0u);
}

TEST(lease_table, moving_targets_never_let_a_grant_exceed_its_target) {
  troupe::detail::lease_table table;
  std::atomic<int> grants{0}, violations{0};
  table.on_grant([&](const troupe::detail::lease_key& k) {
    ++grants;
    if (k.active > k.target) ++violations;
  });
  const std::vector<std::string> names{"k0", "k1", "k2", "k3"};
  for (const auto& n : names) table.set(n, 2);
  std::atomic<bool> done{false};
  std::thread mover{[&] {
    std::mt19937 rng{42};
    while (!done.load()) {
      table.set(names[rng() % names.size()], rng() % 6);
      std::this_thread::yield();
    }
  }};
  std::vector<std::thread> workers;
  for (int t = 0; t < 8; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937 rng{static_cast<unsigned>(t)};
      for (int i = 0; i < 2000; ++i) {
        const std::string* key = (i + t) % 3 == 0
                                   ? nullptr
                                   : &names[rng() % names.size()];
        auto g = table.acquire(key, std::chrono::steady_clock::now() + 1ms);
        if (g) table.release(g->key);
      }
    });
  }
  for (auto& w : workers) w.join();
  done = true;
  mover.join();
  EXPECT_GT(grants.load(), 1000);
  EXPECT_EQ(violations.load(), 0);
  for (const auto& n : names) {
    EXPECT_EQ(table.counts(n).active, 0u) << n;
    table.set(n, 0);
  }
  EXPECT_TRUE(table.keys().empty());
  EXPECT_EQ(table.waiting(), 0u);
}
