#include "p2p/resource/resource_manager.hpp"

#include "p2p/core/keys.hpp"

#include <gtest/gtest.h>

namespace p2p::resource {
namespace {

amounts none_limited() {
  return {unlimited, unlimited, unlimited, unlimited, unlimited, unlimited, unlimited, unlimited};
}

limits_config open_limits() {
  limits_config c;
  c.system = c.transient = c.address = c.peer = c.protected_peer = c.protocol = c.connection = c.stream =
      none_limited();
  return c;
}

multiaddr from(std::string_view text) { return multiaddr::parse(text).value(); }

peer_id some_peer(std::uint8_t seed) {
  std::array<std::uint8_t, 32> secret{};
  secret.fill(seed);
  auto key = crypto::private_key::ed25519_from_seed(bytes_view(secret.data(), secret.size()));
  return peer_id::from_public_key(key.value().public_key());
}

const multiaddr here = from("/ip4/10.0.0.1/tcp/4001");

TEST(resource_manager, address_scopes_group_ipv6_by_64) {
  EXPECT_EQ(resource_manager::address_key(from("/ip4/10.1.2.3/tcp/1")), "10.1.2.3");
  EXPECT_EQ(resource_manager::address_key(from("/ip6/2001:db8:1:2:3:4:5:6/tcp/1")), "2001:db8:1:2::/64");
  EXPECT_EQ(resource_manager::address_key(from("/ip6/2001:db8:1:2:ff::1/tcp/1")), "2001:db8:1:2::/64");
  auto c = open_limits();
  c.address.pending = 1;
  resource_manager m(c);
  auto first = m.open_connection(direction::inbound, from("/ip6/2001:db8:1:2::1/tcp/1"));
  ASSERT_TRUE(first);
  auto same_64 = m.open_connection(direction::inbound, from("/ip6/2001:db8:1:2::99/tcp/1"));
  ASSERT_TRUE(same_64);
  EXPECT_EQ(same_64->evicted, std::vector<std::uint64_t>{first->scope.id()});
  auto other_64 = m.open_connection(direction::inbound, from("/ip6/2001:db8:1:3::1/tcp/1"));
  ASSERT_TRUE(other_64);
  EXPECT_TRUE(other_64->evicted.empty());
}

TEST(resource_manager, connection_limits_of_transient_and_address_scopes) {
  auto c = open_limits();
  c.transient.connections_inbound = 2;
  c.transient.connections_outbound = 1;
  c.address.connections = 3;
  resource_manager m(c);
  auto a = m.open_connection(direction::inbound, here);
  auto b = m.open_connection(direction::inbound, from("/ip4/10.0.0.2/tcp/1"));
  ASSERT_TRUE(a && b);
  auto refused = m.open_connection(direction::inbound, from("/ip4/10.0.0.3/tcp/1"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().scope, scope_kind::transient);
  EXPECT_EQ(refused.error().resource, resource_kind::connections_inbound);
  EXPECT_EQ(refused.error().code(), errc::resource_limit);
  EXPECT_NE(refused.error().message().find("inbound connections of the transient scope"), std::string::npos)
      << refused.error().message();
  auto out = m.open_connection(direction::outbound, here);
  ASSERT_TRUE(out);
  auto out2 = m.open_connection(direction::outbound, from("/ip4/10.0.0.9/tcp/1"));
  ASSERT_FALSE(out2);
  EXPECT_EQ(out2.error().resource, resource_kind::connections_outbound);
  // The address scope counts strangers' authenticated connections, both directions.
  c = open_limits();
  c.address.connections = 2;
  resource_manager per_address(c);
  auto x = per_address.open_connection(direction::inbound, here);
  auto y = per_address.open_connection(direction::outbound, here);
  auto z = per_address.open_connection(direction::inbound, here);
  ASSERT_TRUE(x && y && z);  // handshakes are bounded by the pending slots
  ASSERT_TRUE(x->scope.set_peer(some_peer(1)));
  ASSERT_TRUE(y->scope.set_peer(some_peer(2)));
  auto third = z->scope.set_peer(some_peer(3));
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().scope_name, "address 10.0.0.1");
  EXPECT_EQ(third.error().resource, resource_kind::connections);
  auto elsewhere = per_address.open_connection(direction::inbound, from("/ip4/10.0.0.2/tcp/1"));
  ASSERT_TRUE(elsewhere);
  EXPECT_TRUE(elsewhere->scope.set_peer(some_peer(3)));
  // A protected peer from the full address is not counted there.
  per_address.protect(some_peer(4));
  auto trusted = per_address.open_connection(direction::inbound, here);
  ASSERT_TRUE(trusted);
  EXPECT_TRUE(trusted->scope.set_peer(some_peer(4)));
}

TEST(resource_manager, destruction_gives_everything_back) {
  auto c = open_limits();
  c.transient.connections = 1;
  c.system.streams = 1;
  c.system.memory = 100;
  resource_manager m(c);
  const peer_id p = some_peer(1);
  {
    auto a = m.open_connection(direction::inbound, here);
    ASSERT_TRUE(a);
    ASSERT_TRUE(a->scope.reserve_memory(10));
    ASSERT_TRUE(a->scope.set_peer(p));
    auto s = a->scope.open_stream(direction::inbound);
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->set_protocol("/x"));
    ASSERT_TRUE(s->reserve_memory(50));
    auto snap = m.take_snapshot();
    EXPECT_EQ(snap.scopes[0].used.memory, 60u);
    EXPECT_EQ(snap.scopes[0].used.streams, 1u);
    EXPECT_EQ(snap.scopes[0].used.connections, 1u);
    EXPECT_EQ(snap.peer_scopes, 1u);
    EXPECT_EQ(snap.protocol_scopes, 1u);
  }
  auto snap = m.take_snapshot();
  EXPECT_TRUE(snap.scopes[0].used.is_zero());
  EXPECT_TRUE(snap.scopes[1].used.is_zero());
  EXPECT_EQ(snap.address_scopes, 0u);
  EXPECT_EQ(snap.peer_scopes, 0u);
  EXPECT_EQ(snap.protocol_scopes, 0u);
  EXPECT_EQ(snap.scopes.size(), 2u);
}

TEST(resource_manager, a_stream_keeps_its_connection_counted_until_it_ends) {
  resource_manager m(open_limits());
  stream_scope s;
  {
    auto a = m.open_connection(direction::outbound, here);
    ASSERT_TRUE(a);
    ASSERT_TRUE(a->scope.set_peer(some_peer(1)));
    auto opened = a->scope.open_stream(direction::outbound);
    ASSERT_TRUE(opened);
    s = std::move(*opened);
  }
  EXPECT_EQ(m.take_snapshot().scopes[0].used.connections, 1u);
  EXPECT_EQ(m.take_snapshot().scopes[0].used.streams_outbound, 1u);
  s = stream_scope();
  EXPECT_TRUE(m.take_snapshot().scopes[0].used.is_zero());
}

TEST(resource_manager, authentication_moves_the_connection_from_transient_to_its_peer) {
  auto c = open_limits();
  c.peer.connections = 1;
  resource_manager m(c);
  const peer_id p = some_peer(1);
  auto a = m.open_connection(direction::inbound, here);
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->scope.reserve_memory(7));
  auto snap = m.take_snapshot();
  EXPECT_EQ(snap.scopes[1].used.connections_inbound, 1u);
  EXPECT_EQ(snap.scopes[1].used.pending, 1u);
  EXPECT_EQ(snap.scopes[1].used.memory, 7u);
  EXPECT_EQ(snap.scopes[0].used.connections, 0u);
  ASSERT_TRUE(a->scope.set_peer(p));
  snap = m.take_snapshot();
  EXPECT_TRUE(snap.scopes[1].used.is_zero());
  EXPECT_EQ(snap.scopes[0].used.connections_inbound, 1u);
  EXPECT_EQ(snap.scopes[0].used.memory, 7u);
  EXPECT_EQ(snap.scopes[0].used.pending, 0u);
  bool found_peer = false;
  for (const auto& s : snap.scopes)
    if (s.kind == scope_kind::peer) {
      found_peer = true;
      EXPECT_EQ(s.name, "peer " + p.to_string());
      EXPECT_EQ(s.used.connections, 1u);
      EXPECT_EQ(s.used.memory, 7u);
      EXPECT_EQ(s.limit.connections, 1u);
    }
  EXPECT_TRUE(found_peer);
  // A second connection of the same peer is over its limit: it stays transient.
  auto b = m.open_connection(direction::outbound, from("/ip4/10.0.0.2/tcp/1"));
  ASSERT_TRUE(b);
  auto refused = b->scope.set_peer(p);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().scope, scope_kind::peer);
  EXPECT_EQ(refused.error().resource, resource_kind::connections);
  EXPECT_EQ(m.take_snapshot().scopes[1].used.connections_outbound, 1u);
  EXPECT_EQ(m.take_snapshot().scopes[0].used.connections, 1u);
  EXPECT_EQ(m.take_snapshot().refused, 1u);
}

TEST(resource_manager, system_connection_limit_applies_at_authentication) {
  auto c = open_limits();
  c.system.connections = 1;
  resource_manager m(c);
  auto a = m.open_connection(direction::inbound, here);
  auto b = m.open_connection(direction::inbound, here);
  ASSERT_TRUE(a && b);  // handshakes are the transient scope's business
  ASSERT_TRUE(a->scope.set_peer(some_peer(1)));
  auto refused = b->scope.set_peer(some_peer(2));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().scope, scope_kind::system);
}

TEST(resource_manager, stream_limits_of_connection_peer_system_and_protocol) {
  auto c = open_limits();
  c.connection.streams_inbound = 2;
  c.peer.streams = 3;
  c.system.streams_outbound = 3;
  c.protocol.streams = 1;
  resource_manager m(c);
  const peer_id p = some_peer(1);
  auto a = m.open_connection(direction::inbound, here);
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->scope.set_peer(p));
  auto s1 = a->scope.open_stream(direction::inbound);
  auto s2 = a->scope.open_stream(direction::inbound);
  ASSERT_TRUE(s1 && s2);
  auto s3 = a->scope.open_stream(direction::inbound);
  ASSERT_FALSE(s3);
  EXPECT_EQ(s3.error().scope, scope_kind::connection);
  EXPECT_EQ(s3.error().resource, resource_kind::streams_inbound);
  auto s4 = a->scope.open_stream(direction::outbound);
  ASSERT_TRUE(s4);
  auto s5 = a->scope.open_stream(direction::outbound);
  ASSERT_FALSE(s5);
  EXPECT_EQ(s5.error().scope, scope_kind::peer);
  // Protocol: one stream of "/x" at a time.
  ASSERT_TRUE(s1->set_protocol("/x"));
  auto second = s2->set_protocol("/x");
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().scope, scope_kind::protocol);
  EXPECT_EQ(second.error().scope_name, "protocol /x");
  EXPECT_TRUE(s2->set_protocol("/y"));
  // System outbound streams: another peer's connection hits it.
  auto b = m.open_connection(direction::outbound, here);
  ASSERT_TRUE(b);
  ASSERT_TRUE(b->scope.set_peer(some_peer(2)));
  std::vector<stream_scope> held;
  for (int i = 0; i < 2; ++i) {
    auto s = b->scope.open_stream(direction::outbound);
    ASSERT_TRUE(s) << i;
    held.push_back(std::move(*s));
  }
  auto over = b->scope.open_stream(direction::outbound);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().scope, scope_kind::system);
  EXPECT_EQ(over.error().resource, resource_kind::streams_outbound);
  held.clear();
  EXPECT_TRUE(b->scope.open_stream(direction::outbound));
}

TEST(resource_manager, memory_fails_when_any_enclosing_scope_would_pass_its_limit) {
  auto c = open_limits();
  c.stream.memory = 100;
  c.connection.memory = 150;
  c.peer.memory = 200;
  c.protocol.memory = 60;
  c.system.memory = 250;
  c.transient.memory = 30;
  resource_manager m(c);
  auto a = m.open_connection(direction::inbound, here);
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->scope.reserve_memory(30));
  auto handshake = a->scope.reserve_memory(1);
  ASSERT_FALSE(handshake);
  EXPECT_EQ(handshake.error().scope, scope_kind::transient);
  a->scope.release_memory(30);
  ASSERT_TRUE(a->scope.set_peer(some_peer(1)));
  auto s = a->scope.open_stream(direction::inbound);
  auto t = a->scope.open_stream(direction::inbound);
  ASSERT_TRUE(s && t);
  auto big = s->reserve_memory(101);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().scope, scope_kind::stream);
  EXPECT_EQ(big.error().resource, resource_kind::memory);
  ASSERT_TRUE(s->reserve_memory(100));
  auto conn_full = t->reserve_memory(51);
  ASSERT_FALSE(conn_full);
  EXPECT_EQ(conn_full.error().scope, scope_kind::connection);
  EXPECT_EQ(conn_full.error().used, 100u);
  EXPECT_EQ(conn_full.error().limit, 150u);
  ASSERT_TRUE(t->set_protocol("/p"));
  ASSERT_TRUE(t->reserve_memory(20));
  s->release_memory(100);
  auto protocol_full = t->reserve_memory(41);
  ASSERT_FALSE(protocol_full);
  EXPECT_EQ(protocol_full.error().scope, scope_kind::protocol);
  // Another connection of the same peer: the peer scope (200) is the bound.
  auto b = m.open_connection(direction::inbound, here);
  ASSERT_TRUE(b);
  ASSERT_TRUE(b->scope.set_peer(some_peer(1)));
  ASSERT_TRUE(b->scope.reserve_memory(150));
  auto peer_full = b->scope.reserve_memory(0 + 31);
  ASSERT_FALSE(peer_full);
  EXPECT_EQ(peer_full.error().scope, scope_kind::connection);  // 150 of its own 150
  auto x = m.open_connection(direction::inbound, here);
  ASSERT_TRUE(x);
  ASSERT_TRUE(x->scope.set_peer(some_peer(1)));
  auto over_peer = x->scope.reserve_memory(31);  // 20 + 150 + 31 > 200
  ASSERT_FALSE(over_peer);
  EXPECT_EQ(over_peer.error().scope, scope_kind::peer);
  auto y = m.open_connection(direction::inbound, here);
  ASSERT_TRUE(y);
  ASSERT_TRUE(y->scope.set_peer(some_peer(2)));
  auto over_system = y->scope.reserve_memory(81);  // 170 + 81 > 250
  ASSERT_FALSE(over_system);
  EXPECT_EQ(over_system.error().scope, scope_kind::system);
  ASSERT_TRUE(y->scope.reserve_memory(80));
  // Nothing was taken by the refusals.
  EXPECT_EQ(m.take_snapshot().scopes[0].used.memory, 250u);
}

TEST(resource_manager, strangers_cannot_take_the_protected_room) {
  auto c = open_limits();
  c.system.connections = 4;
  c.system.memory = 100;
  c.protected_room.connections = 1;
  c.protected_room.memory = 40;
  c.peer.connections = 1;
  c.protected_peer.connections = 2;
  c.address.connections = 2;
  resource_manager m(c);
  const peer_id friend_peer = some_peer(9);
  m.protect(friend_peer);
  EXPECT_TRUE(m.is_protected(friend_peer));
  std::vector<connection_scope> strangers;
  for (std::uint8_t i = 0; i < 3; ++i) {
    auto a = m.open_connection(direction::inbound, from("/ip4/10.0.1." + std::to_string(i) + "/tcp/1"));
    ASSERT_TRUE(a);
    ASSERT_TRUE(a->scope.set_peer(some_peer(i)));
    strangers.push_back(std::move(a->scope));
  }
  auto fourth = m.open_connection(direction::inbound, from("/ip4/10.0.1.3/tcp/1"));
  ASSERT_TRUE(fourth);
  auto refused = fourth->scope.set_peer(some_peer(3));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().scope, scope_kind::system);
  EXPECT_EQ(refused.error().limit, 3u);  // 4 minus the protected room
  auto trusted = m.open_connection(direction::inbound, here);
  ASSERT_TRUE(trusted);
  ASSERT_TRUE(trusted->scope.set_peer(friend_peer));
  EXPECT_TRUE(trusted->scope.is_protected());
  // Memory: strangers stop at 60, the protected peer can use the rest.
  EXPECT_FALSE(strangers[0].reserve_memory(61));
  EXPECT_TRUE(strangers[0].reserve_memory(60));
  EXPECT_FALSE(strangers[1].reserve_memory(1));
  EXPECT_TRUE(trusted->scope.reserve_memory(40));
  // A protected peer's connections leave its address's count, and it gets the
  // protected_peer limits (2 connections, where a stranger has 1).
  auto a2 = m.open_connection(direction::inbound, here);
  ASSERT_TRUE(a2);
  strangers.pop_back();  // make system room for the next check
  ASSERT_TRUE(a2->scope.set_peer(friend_peer));
  auto a3 = m.open_connection(direction::inbound, here);
  ASSERT_TRUE(a3);
  auto third = a3->scope.set_peer(friend_peer);  // protected_peer allows 2 connections
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().scope, scope_kind::peer);
  EXPECT_EQ(third.error().limit, 2u);
}

TEST(resource_manager, full_pending_slots_drop_the_oldest_handshake_of_the_address) {
  auto c = open_limits();
  c.address.pending = 2;
  resource_manager m(c);
  auto a = m.open_connection(direction::inbound, here);
  auto b = m.open_connection(direction::inbound, here);
  auto other = m.open_connection(direction::inbound, from("/ip4/10.0.0.2/tcp/1"));
  ASSERT_TRUE(a && b && other);
  EXPECT_TRUE(a->evicted.empty());
  auto d = m.open_connection(direction::inbound, here);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->evicted.size(), 1u);
  EXPECT_EQ(d->evicted[0], a->scope.id());  // the oldest of this address, not of 10.0.0.2
  EXPECT_TRUE(a->scope.is_evicted());
  EXPECT_FALSE(b->scope.is_evicted());
  EXPECT_FALSE(other->scope.is_evicted());
  EXPECT_EQ(m.take_snapshot().evicted, 1u);
  EXPECT_EQ(m.take_snapshot().scopes[1].used.pending, 3u);
  // An authenticated connection holds no pending slot.
  ASSERT_TRUE(b->scope.set_peer(some_peer(1)));
  auto e = m.open_connection(direction::inbound, here);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->evicted.empty());
  // Outbound dials take no pending slot.
  auto out = m.open_connection(direction::outbound, here);
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->evicted.empty());
  // Releasing the evicted scope later gives back its connection, not a second slot.
  a->scope = connection_scope();
  EXPECT_EQ(m.take_snapshot().scopes[1].used.pending, 3u);  // d, e, other
}

TEST(resource_manager, handshakes_that_sent_nothing_are_dropped_first) {
  auto c = open_limits();
  c.address.pending = 3;
  resource_manager m(c);
  auto a = m.open_connection(direction::inbound, here);
  auto b = m.open_connection(direction::inbound, here);
  auto d = m.open_connection(direction::inbound, here);
  ASSERT_TRUE(a && b && d);
  m.note_progress(a->scope.id());
  auto e = m.open_connection(direction::inbound, here);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->evicted, std::vector<std::uint64_t>{b->scope.id()});  // a is under way
  m.note_progress(d->scope.id());
  m.note_progress(e->scope.id());
  auto f = m.open_connection(direction::inbound, here);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->evicted, std::vector<std::uint64_t>{a->scope.id()});  // all under way: the oldest
  m.note_progress(12345);  // unknown or finished: nothing happens
}

TEST(resource_manager, full_transient_pending_drops_the_oldest_overall) {
  auto c = open_limits();
  c.transient.pending = 2;
  resource_manager m(c);
  auto a = m.open_connection(direction::inbound, from("/ip4/10.0.0.1/tcp/1"));
  auto b = m.open_connection(direction::inbound, from("/ip4/10.0.0.2/tcp/1"));
  ASSERT_TRUE(a && b);
  auto d = m.open_connection(direction::inbound, from("/ip4/10.0.0.3/tcp/1"));
  ASSERT_TRUE(d);
  ASSERT_EQ(d->evicted.size(), 1u);
  EXPECT_EQ(d->evicted[0], a->scope.id());
  auto e = m.open_connection(direction::inbound, from("/ip4/10.0.0.4/tcp/1"));
  ASSERT_TRUE(e);
  ASSERT_EQ(e->evicted.size(), 1u);
  EXPECT_EQ(e->evicted[0], b->scope.id());
  EXPECT_EQ(m.take_snapshot().scopes[1].used.pending, 2u);
  // No pending slot at all: refused, nothing evicted.
  c.transient.pending = 0;
  resource_manager none(c);
  auto refused = none.open_connection(direction::inbound, here);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().resource, resource_kind::pending);
}

TEST(resource_manager, a_refused_connection_evicts_nobody) {
  auto c = open_limits();
  c.address.pending = 1;
  c.transient.connections = 1;
  resource_manager m(c);
  auto a = m.open_connection(direction::inbound, here);
  ASSERT_TRUE(a);
  auto b = m.open_connection(direction::inbound, here);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().resource, resource_kind::connections);
  EXPECT_EQ(b.error().scope, scope_kind::transient);
  EXPECT_FALSE(a->scope.is_evicted());
}

TEST(resource_manager, snapshot_lists_the_busiest_scopes_with_limits) {
  auto c = open_limits();
  c.address.connections = 64;
  resource_manager m(c);
  std::vector<connection_scope> held;
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j <= i; ++j) {
      auto a = m.open_connection(direction::inbound, from("/ip4/10.0.2." + std::to_string(i) + "/tcp/1"));
      ASSERT_TRUE(a);
      held.push_back(std::move(a->scope));
    }
  auto snap = m.take_snapshot(2);
  ASSERT_EQ(snap.scopes.size(), 4u);  // system, transient, the two busiest addresses
  EXPECT_EQ(snap.scopes[0].kind, scope_kind::system);
  EXPECT_EQ(snap.scopes[1].kind, scope_kind::transient);
  EXPECT_EQ(snap.scopes[1].used.connections, 15u);
  EXPECT_EQ(snap.scopes[2].name, "address 10.0.2.4");
  EXPECT_EQ(snap.scopes[2].used.pending, 5u);
  EXPECT_EQ(snap.scopes[2].limit.connections, 64u);
  EXPECT_EQ(snap.scopes[3].name, "address 10.0.2.3");
  EXPECT_EQ(snap.address_scopes, 5u);
}

TEST(resource_manager, defaults_scale_with_memory_and_descriptors) {
  constexpr std::uint64_t gib = 1024ull * 1024 * 1024;
  auto small = default_limits(2 * gib, 1024);
  EXPECT_EQ(small.system.connections, 512u);  // half of 1024 descriptors
  EXPECT_EQ(small.system.memory, 256ull * 1024 * 1024);
  auto big = default_limits(64 * gib, 1 << 20);
  EXPECT_EQ(big.system.memory, 8 * gib);
  EXPECT_EQ(big.system.connections, 8 * gib / (512 * 1024));  // memory bounds it, not descriptors
  auto tiny = default_limits(64 * 1024 * 1024, 32);
  EXPECT_EQ(tiny.system.connections, 64u);
  EXPECT_GE(tiny.system.memory, 128ull * 1024 * 1024);
  for (const auto* l : {&small, &big, &tiny}) {
    EXPECT_LT(l->protected_room.connections, l->system.connections);
    EXPECT_LT(l->protected_room.memory, l->system.memory);
    EXPECT_GT(l->transient.pending, l->address.pending);
    EXPECT_GE(l->transient.connections, 2 * l->transient.pending);
    EXPECT_GE(l->protected_peer.connections, l->peer.connections);
  }
}

}  // namespace
}  // namespace p2p::resource
