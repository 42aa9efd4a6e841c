// Tier-3 tests: whole hosts on loopback, port 0.
#include "p2p/host/host.hpp"

#include "p2p/transport/tcp/tcp_transport.hpp"
#include "run.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <gtest/gtest.h>

namespace p2p {
namespace {

using namespace boost::asio::experimental::awaitable_operators;

host_config config_for(std::uint8_t seed) {
  host_config c;
  c.identity = crypto::private_key::ed25519_from_seed(bytes(32, seed)).value();
  c.listen_addresses = {multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()};
  c.upgrade_timeout = std::chrono::seconds(5);
  return c;
}

stream_handler echo_handler() {
  return [](std::unique_ptr<stream> s, stream_info) -> task<void> {
    std::uint8_t buffer[4096];
    for (;;) {
      auto n = co_await s->read_some(buffer);
      if (!n) break;
      if (!co_await s->write(bytes_view(buffer, *n))) co_return;
    }
    co_await s->close_write();
  };
}

struct two_hosts {
  explicit two_hosts(asio::any_io_executor ex)
      : rng(42), a(ex, config_for(1), clk, rng), b(ex, config_for(2), clk, rng) {
    EXPECT_TRUE(a.listen());
    EXPECT_TRUE(b.listen());
  }
  multiaddr b_address() const { return b.listen_addresses().front().with_peer(b.id()); }
  // Runs both hosts while `body` runs, then stops them.
  task<void> with(std::function<task<void>()> body) {
    auto driver = [&]() -> task<void> {
      co_await body();
      a.stop();
      b.stop();
    };
    co_await (a.run() && b.run() && driver());
  }
  system_clock clk;
  seeded_random rng;
  host a;
  host b;
};

TEST(host, connect_and_echo_over_a_negotiated_stream) {
  testing::run([](asio::any_io_executor ex) -> task<void> {
    two_hosts h(ex);
    h.b.set_handler("/echo/1.0.0", echo_handler());
    co_await h.with([&]() -> task<void> {
      auto conn = co_await h.a.connect(h.b_address());
      EXPECT_TRUE(conn);
      if (!conn) co_return;
      EXPECT_EQ((*conn)->remote_peer(), h.b.id());
      EXPECT_EQ((*conn)->info().muxer, "/yamux/1.0.0");
      const std::vector<std::string> offers{"/unknown/1.0.0", "/echo/1.0.0"};
      auto s = co_await h.a.new_stream(h.b.id(), offers);
      EXPECT_TRUE(s);
      if (!s) co_return;
      EXPECT_EQ(s->protocol, "/echo/1.0.0");
      bytes payload(300000);
      for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::uint8_t>(i * 31 + 7);
      auto writer = [&]() -> task<void> {
        EXPECT_TRUE(co_await s->s->write(payload));
        EXPECT_TRUE(co_await s->s->close_write());
      };
      auto reader = [&]() -> task<void> {
        auto back = co_await read_to_end(*s->s, 1 << 20);
        EXPECT_TRUE(back);
        if (back) EXPECT_EQ(*back, payload);
      };
      co_await (writer() && reader());
    });
  });
}

TEST(host, unsupported_protocol_is_reported) {
  testing::run([](asio::any_io_executor ex) -> task<void> {
    two_hosts h(ex);
    co_await h.with([&]() -> task<void> {
      EXPECT_TRUE(co_await h.a.connect(h.b_address()));
      auto s = co_await h.a.new_stream(h.b.id(), "/nope/1.0.0");
      EXPECT_FALSE(s);
      if (!s) EXPECT_EQ(s.error(), errc::protocol_not_supported);
    });
  });
}

TEST(host, wrong_peer_id_is_refused) {
  testing::run([](asio::any_io_executor ex) -> task<void> {
    two_hosts h(ex);
    co_await h.with([&]() -> task<void> {
      const auto impostor = peer_id::from_public_key(
          crypto::private_key::ed25519_from_seed(bytes(32, 9)).value().public_key());
      auto conn = co_await h.a.connect(h.b.listen_addresses().front().with_peer(impostor));
      EXPECT_FALSE(conn);
      if (!conn) EXPECT_EQ(conn.error(), errc::peer_id_mismatch);
      EXPECT_FALSE(h.a.is_connected(h.b.id()));
    });
  });
}

TEST(host, concurrent_dials_to_one_peer_share_a_connection) {
  testing::run([](asio::any_io_executor ex) -> task<void> {
    two_hosts h(ex);
    h.a.peers().add_addresses(h.b.id(), h.b.listen_addresses(), peerstore::permanent_ttl, h.clk.now());
    co_await h.with([&]() -> task<void> {
      auto [c1, c2, c3] = co_await (h.a.connect(h.b.id()) && h.a.connect(h.b.id()) && h.a.connect(h.b.id()));
      EXPECT_TRUE(c1 && c2 && c3);
      if (c1 && c2 && c3) {
        EXPECT_EQ(c1->get(), c2->get());
        EXPECT_EQ(c1->get(), c3->get());
      }
      EXPECT_EQ(h.a.connections().size(), 1u);
    });
  });
}

TEST(host, concurrent_dials_by_address_and_by_id_share_a_connection) {
  testing::run([](asio::any_io_executor ex) -> task<void> {
    two_hosts h(ex);
    h.a.peers().add_addresses(h.b.id(), h.b.listen_addresses(), peerstore::permanent_ttl, h.clk.now());
    co_await h.with([&]() -> task<void> {
      const multiaddr address = h.b_address();
      auto [c1, c2, c3] = co_await (h.a.connect(address) && h.a.connect(h.b.id()) && h.a.connect(address));
      EXPECT_TRUE(c1 && c2 && c3);
      if (c1 && c2 && c3) {
        EXPECT_EQ(c1->get(), c2->get());
        EXPECT_EQ(c1->get(), c3->get());
      }
      EXPECT_EQ(h.a.connections().size(), 1u);
    });
  });
}

TEST(host, a_failed_shared_dial_falls_back_to_the_callers_address) {
  testing::run([](asio::any_io_executor ex) -> task<void> {
    two_hosts h(ex);
    // The peerstore only knows a dead address (a closed listener's port): a dial by ID
    // fails, and a concurrent dial with B's real address must not inherit that failure.
    auto dead = tcp::listener::open(ex, multiaddr::parse("/ip4/127.0.0.1/tcp/0").value());
    EXPECT_TRUE(dead);
    if (!dead) co_return;
    const multiaddr dead_address = (*dead)->address();
    (*dead)->close();
    dead->reset();
    h.a.peers().add_addresses(h.b.id(), {dead_address}, peerstore::permanent_ttl, h.clk.now());
    co_await h.with([&]() -> task<void> {
      const multiaddr address = h.b_address();
      auto [by_id, by_address] = co_await (h.a.connect(h.b.id()) && h.a.connect(address));
      EXPECT_TRUE(by_address);
      if (by_address) EXPECT_EQ((*by_address)->remote_peer(), h.b.id());
      (void)by_id;  // depends on which address the peerstore tries first
      EXPECT_EQ(h.a.connections().size(), 1u);
    });
  });
}

TEST(host, a_cancelled_dial_does_not_block_the_next_one) {
  testing::run([](asio::any_io_executor ex) -> task<void> {
    two_hosts h(ex);
    // A TCP listener that accepts and never speaks: a dial to it hangs in the upgrade.
    auto silent = tcp::listener::open(ex, multiaddr::parse("/ip4/127.0.0.1/tcp/0").value());
    EXPECT_TRUE(silent);
    if (!silent) co_return;
    p2p::signal accepted(ex);
    std::unique_ptr<tcp::tcp_stream> held;
    co_await h.with([&]() -> task<void> {
      auto accept_one = [&]() -> task<void> {
        auto raw = co_await (*silent)->accept();
        if (raw) held = std::move(*raw);
        accepted.notify();
      };
      auto wait_accepted = [&]() -> task<void> {
        while (!held) co_await accepted.wait();
      };
      // Dial B's identity at the silent address, and cancel it once it is in the upgrade.
      const multiaddr silent_b = (*silent)->address().with_peer(h.b.id());
      auto first = co_await (h.a.connect(silent_b) || (accept_one() && wait_accepted()));
      EXPECT_EQ(first.index(), 1u);
      // The peer is free to dial again: this must not wait for the abandoned dial.
      auto conn = co_await h.a.connect(h.b_address());
      EXPECT_TRUE(conn);
      if (conn) EXPECT_EQ((*conn)->remote_peer(), h.b.id());
      (*silent)->close();
    });
  });
}

TEST(host, dial_by_peer_id_without_addresses_fails_clearly) {
  testing::run([](asio::any_io_executor ex) -> task<void> {
    two_hosts h(ex);
    co_await h.with([&]() -> task<void> {
      auto conn = co_await h.a.connect(h.b.id());
      EXPECT_FALSE(conn);
      if (!conn) EXPECT_EQ(conn.error(), errc::no_addresses);
    });
  });
}

TEST(host, events_report_connect_and_disconnect) {
  testing::run([](asio::any_io_executor ex) -> task<void> {
    two_hosts h(ex);
    auto events = h.b.subscribe();
    co_await h.with([&]() -> task<void> {
      auto conn = co_await h.a.connect(h.b_address());
      EXPECT_TRUE(conn);
      auto first = co_await events->next();
      EXPECT_TRUE(first && first->type == host_event::kind::connected);
      if (first) EXPECT_EQ(first->conn->remote_peer(), h.a.id());
      (*conn)->close();
      auto second = co_await events->next();
      EXPECT_TRUE(second && second->type == host_event::kind::disconnected);
    });
  });
}

}  // namespace
}  // namespace p2p
