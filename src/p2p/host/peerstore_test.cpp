#include "p2p/host/peerstore.hpp"

#include <gtest/gtest.h>

namespace p2p {
namespace {

peer_id make_peer(std::uint8_t n) {
  bytes seed(32, n);
  return peer_id::from_public_key(crypto::private_key::ed25519_from_seed(seed).value().public_key());
}

multiaddr addr(std::string_view text) { return multiaddr::parse(text).value(); }

TEST(peerstore, addresses_expire_and_longest_ttl_wins) {
  peerstore store;
  const auto peer = make_peer(1);
  const time_point t0{};
  store.add_addresses(peer, {addr("/ip4/10.0.0.1/tcp/1")}, std::chrono::seconds(10), t0);
  store.add_addresses(peer, {addr("/ip4/10.0.0.2/tcp/2")}, std::chrono::seconds(100), t0);
  store.add_addresses(peer, {addr("/ip4/10.0.0.1/tcp/1")}, std::chrono::seconds(5), t0);  // shorter: ignored
  auto live = store.addresses(peer, t0 + std::chrono::seconds(1));
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(live[0], addr("/ip4/10.0.0.2/tcp/2"));  // latest expiry first
  EXPECT_EQ(store.addresses(peer, t0 + std::chrono::seconds(11)).size(), 1u);
  EXPECT_TRUE(store.addresses(peer, t0 + std::chrono::seconds(101)).empty());
}

TEST(peerstore, strips_p2p_suffix_and_bounds_addresses) {
  peerstore store({.max_peers = 2, .max_addresses = 3});
  const auto peer = make_peer(2);
  std::vector<multiaddr> many;
  for (int i = 1; i <= 10; ++i) many.push_back(addr("/ip4/10.0.0." + std::to_string(i) + "/tcp/4001"));
  store.add_addresses(peer, many, std::chrono::seconds(10), time_point{});
  EXPECT_EQ(store.addresses(peer, time_point{}).size(), 3u);

  const auto with_id = addr("/ip4/1.2.3.4/tcp/5").with_peer(peer);
  store.add_addresses(peer, {with_id}, peerstore::permanent_ttl, time_point{});
  auto live = store.addresses(peer, time_point{} + std::chrono::hours(1000));
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0], addr("/ip4/1.2.3.4/tcp/5"));
}

TEST(peerstore, bounded_peer_count_and_protocols) {
  peerstore store({.max_peers = 2, .max_addresses = 3});
  const auto a = make_peer(3), b = make_peer(4), c = make_peer(5);
  store.touch(a, time_point{} + std::chrono::seconds(1));
  store.touch(b, time_point{} + std::chrono::seconds(2));
  store.touch(c, time_point{} + std::chrono::seconds(3));
  EXPECT_EQ(store.peers().size(), 2u);
  EXPECT_EQ(store.find(a), nullptr);  // the oldest gave way
  store.set_protocols(b, {"/ipfs/ping/1.0.0"});
  EXPECT_TRUE(store.supports(b, "/ipfs/ping/1.0.0"));
  EXPECT_FALSE(store.supports(b, "/other"));
}

TEST(peerstore, keeps_only_matching_public_keys) {
  peerstore store;
  auto key_a = crypto::private_key::ed25519_from_seed(bytes(32, 7)).value().public_key();
  auto key_b = crypto::private_key::ed25519_from_seed(bytes(32, 8)).value().public_key();
  const auto a = peer_id::from_public_key(key_a);
  store.set_public_key(a, key_b);
  EXPECT_TRUE(store.find(a) == nullptr || !store.find(a)->public_key);
  store.set_public_key(a, key_a);
  ASSERT_NE(store.find(a), nullptr);
  EXPECT_TRUE(store.find(a)->public_key.has_value());
}

}  // namespace
}  // namespace p2p
