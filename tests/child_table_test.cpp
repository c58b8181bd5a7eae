// The parent's view of its children on its own: FIFO queues under interleaved
// pushes and takes, and the select decisions (take from all that have a
// message, raise an error that is next, all drained).
#include <gtest/gtest.h>

#include "lua_vm/child_table.hpp"

using troupe::lua_vm::child_table;
using troupe::lua_vm::worker_id;

TEST(byte_queue, keeps_order_through_interleaved_pushes_and_pops) {
  troupe::lua_vm::byte_queue q;
  EXPECT_TRUE(q.empty());
  int next_in = 0, next_out = 0;
  for (int round = 0; round < 100; ++round) {
    for (int i = 0; i < 7; ++i) q.push_back(std::to_string(next_in++));
    for (int i = 0; i < 5; ++i) {
      ASSERT_EQ(q.front(), std::to_string(next_out++));
      q.pop_front();
    }
  }
  EXPECT_EQ(q.size(), 200u);
  while (!q.empty()) {
    ASSERT_EQ(q.front(), std::to_string(next_out++));
    q.pop_front();
  }
  EXPECT_EQ(next_out, next_in);
}

TEST(byte_queue, holds_empty_binary_and_large_messages) {
  troupe::lua_vm::byte_queue q;
  const std::string binary{"a\0b\xff", 4};
  const std::string large(200000, 'x');
  for (int round = 0; round < 3; ++round) {
    q.push_back("");
    q.push_back(binary);
    q.push_back(large);
    ASSERT_EQ(q.size(), 3u);
    EXPECT_EQ(q.front(), "");
    q.pop_front();
    EXPECT_EQ(q.front(), binary);
    q.pop_front();
    EXPECT_EQ(q.front(), large);
    q.pop_front();
    EXPECT_TRUE(q.empty());
  }
  q.push_back(binary);
  q.clear();
  EXPECT_TRUE(q.empty());
  q.push_back("after");
  EXPECT_EQ(q.front(), "after");
}

TEST(child_table, select_takes_raises_or_reports_drained) {
  child_table t;
  t.add(1);
  t.add(2);
  const worker_id both[] = {1, 2};
  EXPECT_EQ(t.select(both).kind, child_table::decision::wait);
  t.on_message(2, "m");
  EXPECT_EQ(t.select(both).kind, child_table::decision::take);
  t.on_end(1, {false, "err"});
  auto d = t.select(both);
  EXPECT_EQ(d.kind, child_table::decision::raise);
  EXPECT_EQ(d.index, 0u);
  EXPECT_EQ(t.take_error(1), "err");
  EXPECT_EQ(t.select(both).kind, child_table::decision::take);
  EXPECT_EQ(t.front_message(2), "m");
  t.pop_message(2);
  EXPECT_EQ(t.select(both).kind, child_table::decision::wait);
  t.on_end(2, {true, ""});
  EXPECT_EQ(t.select(both).kind, child_table::decision::all_drained);
  EXPECT_TRUE(t.dead(1) && t.dead(2));
}
