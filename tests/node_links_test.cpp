// The table of peers (actors/node_links.hpp) without actors or a network:
// how handles are rewritten going to a peer and coming from one, what is
// refused, the pair's tokens, and the calls in flight.
#include <gtest/gtest.h>

#include "actors/node_links.hpp"
#include "serialization/byte_sink.hpp"
#include "serialization/reader.hpp"

namespace troupe::detail {
namespace {

using serialization::address;

constexpr std::uint64_t own = 1001;
constexpr std::uint64_t peer = 2002;
constexpr std::uint64_t third = 3003;

// An encoded array of the handles `hs` (tag, address).
std::string
handles(std::initializer_list<std::pair<std::uint64_t, address>> hs) {
  serialization::byte_sink sink;
  char* head = sink.extend(1);
  head[0] = static_cast<char>(0x90 | hs.size());
  for (const auto& [tag, a] : hs) serialization::write_address(sink, tag, a);
  return std::string{sink.view()};
}

std::string
actors(std::initializer_list<std::pair<std::uint64_t, worker_id>> hs) {
  serialization::byte_sink sink;
  char* head = sink.extend(1);
  head[0] = static_cast<char>(0x90 | hs.size());
  for (const auto& [tag, id] : hs)
    serialization::write_address(sink, tag, {address::actor, id, 0});
  return std::string{sink.view()};
}

struct peer_table : ::testing::Test {
  std::vector<std::pair<std::uint64_t, worker_id>> made;
  std::vector<worker_id> watched;
  worker_id next_proxy = 100;
  node_links links{own,
                   [this](std::uint64_t p, worker_id remote, const actor_ref&) {
                     made.emplace_back(p, remote);
                     return next_proxy++;
                   },
                   [this](worker_id id) { watched.push_back(id); }};
};

TEST_F(peer_table, a_local_actor_crosses_as_itself_and_is_given_to_that_peer) {
  auto bytes = actors({{own, 5}, {own, 5}});
  EXPECT_EQ(links.to_peer(peer, bytes), std::nullopt);
  EXPECT_EQ(bytes, actors({{own, 5}, {own, 5}}));
  EXPECT_TRUE(links.given(peer, 5));
  EXPECT_FALSE(links.given(third, 5));
  auto again = actors({{own, 5}});
  EXPECT_EQ(links.to_peer(third, again), std::nullopt);
  // Its end is watched once, whoever it went to.
  EXPECT_EQ(watched, std::vector<worker_id>{5});
  auto peers = links.ended(5);
  std::sort(peers.begin(), peers.end());
  EXPECT_EQ(peers, (std::vector<std::uint64_t>{peer, third}));
  EXPECT_FALSE(links.given(peer, 5));
}

TEST_F(peer_table, only_what_a_peer_was_given_comes_back_from_it) {
  auto out = actors({{own, 5}});
  ASSERT_EQ(links.to_peer(peer, out), std::nullopt);
  auto back = actors({{own, 5}});
  EXPECT_EQ(links.from_peer(peer, back), std::nullopt);
  EXPECT_EQ(back, actors({{own, 5}}));
  for (auto forged : {actors({{own, 6}}), actors({{third, 9}})}) {
    auto why = links.from_peer(peer, forged);
    ASSERT_TRUE(why);
    EXPECT_NE(why->find("never given"), std::string::npos) << *why;
  }
  auto elsewhere = actors({{own, 5}});
  EXPECT_TRUE(links.from_peer(third, elsewhere));
  EXPECT_TRUE(made.empty());
}

TEST_F(peer_table, a_peers_actor_becomes_one_proxy_and_crosses_back_as_itself) {
  auto in = actors({{peer, 7}, {peer, 7}, {peer, 8}});
  EXPECT_EQ(links.from_peer(peer, in), std::nullopt);
  EXPECT_EQ(in, actors({{own, 100}, {own, 100}, {own, 101}}));
  EXPECT_EQ(made,
            (std::vector<std::pair<std::uint64_t, worker_id>>{{peer, 7},
                                                              {peer, 8}}));
  EXPECT_EQ(links.proxy_of(peer, 7), 100u);
  auto out = actors({{own, 100}});
  EXPECT_EQ(links.to_peer(peer, out), std::nullopt);
  EXPECT_EQ(out, actors({{peer, 7}}));
  // To a third runtime the proxy is an actor of this one.
  auto onward = actors({{own, 100}});
  EXPECT_EQ(links.to_peer(third, onward), std::nullopt);
  EXPECT_EQ(onward, actors({{own, 100}}));
  // Once the proxy has ended, the actor gets a new one.
  links.forget(100);
  auto later = actors({{peer, 7}});
  EXPECT_EQ(links.from_peer(peer, later), std::nullopt);
  EXPECT_EQ(later, actors({{own, 102}}));
}

TEST_F(peer_table, a_worker_and_its_stand_in_cross_as_each_other) {
  links.give(peer, 50);
  links.adopt(peer, 8, 50);
  auto out = actors({{own, 50}});
  EXPECT_EQ(links.to_peer(peer, out), std::nullopt);
  EXPECT_EQ(out, actors({{peer, 8}}));
  auto in = actors({{peer, 8}, {own, 50}});
  EXPECT_EQ(links.from_peer(peer, in), std::nullopt);
  EXPECT_EQ(in, actors({{own, 50}, {own, 50}}));
  EXPECT_TRUE(made.empty());
  EXPECT_TRUE(watched.empty());
}

TEST_F(peer_table, reply_tokens_and_bad_bytes_do_not_cross) {
  auto token = handles({{own, {address::reply, 5, 3}}});
  auto why = links.to_peer(peer, token);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("reply token"), std::string::npos) << *why;
  auto in = handles({{peer, {address::reply, 7, 3}}});
  EXPECT_TRUE(links.from_peer(peer, in));
  std::string truncated = actors({{peer, 7}}).substr(0, 6);
  why = links.from_peer(peer, truncated);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("truncated"), std::string::npos) << *why;
}

TEST_F(peer_table, the_pairs_tokens_admit_its_messages) {
  auto token = links.greet(peer, {});
  EXPECT_NE(token, 0u);
  EXPECT_EQ(links.greet(peer, {}), token);
  EXPECT_TRUE(links.admits(peer, token));
  EXPECT_FALSE(links.admits(peer, token + 1));
  EXPECT_FALSE(links.admits(third, token));
  EXPECT_FALSE(links.admits(peer, 0));
  // Greeted by the other side at once: both tokens stand, ours goes out.
  links.greeted(peer, {}, 77);
  EXPECT_TRUE(links.admits(peer, 77));
  EXPECT_TRUE(links.admits(peer, token));
  ASSERT_TRUE(links.route(peer));
  EXPECT_EQ(links.route(peer)->token, token);
  EXPECT_FALSE(links.route(third));
}

TEST_F(peer_table, calls_in_flight_are_taken_once_and_go_with_their_proxy) {
  auto a = links.open_outbound({1, 11, 100});
  auto b = links.open_outbound({2, 22, 101});
  auto c = links.open_inbound({peer, 33, 5});
  EXPECT_NE(a, b);
  EXPECT_NE(b, c);
  EXPECT_NE(links.number(), c);
  auto taken = links.take_inbound(c);
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->call, 33u);
  EXPECT_FALSE(links.take_inbound(c));
  links.adopt(peer, 9, 100);
  links.forget(100);
  EXPECT_FALSE(links.take_outbound(a));
  ASSERT_TRUE(links.take_outbound(b));
  EXPECT_FALSE(links.take_outbound(b));
}

} // namespace
} // namespace troupe::detail
