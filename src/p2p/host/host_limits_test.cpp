// Tier-3 tests of the host's resource limits: whole hosts on loopback, port 0.
#include "p2p/host/host.hpp"

#include "p2p/transport/tcp/tcp_transport.hpp"
#include "run.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

namespace p2p {
namespace {

using namespace boost::asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

resource::limits_config roomy() {
  return resource::default_limits(4ull << 30, 4096);
}

host_config config_for(std::uint8_t seed, std::optional<resource::limits_config> limits = std::nullopt) {
  host_config c;
  c.identity = crypto::private_key::ed25519_from_seed(bytes(32, seed)).value();
  c.listen_addresses = {multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()};
  c.upgrade_timeout = std::chrono::seconds(5);
  c.limits = std::move(limits);
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

// Polls `condition` every 10 ms for at most 5 s.
task<bool> eventually(std::function<bool()> condition) {
  asio::steady_timer tick(co_await asio::this_coro::executor);
  for (int i = 0; i < 500 && !condition(); ++i) {
    tick.expires_after(std::chrono::milliseconds(10));
    co_await tick.async_wait(use_tuple);
  }
  co_return condition();
}

task<bool> echoes(host& from, const peer_id& to) {
  auto s = co_await from.new_stream(to, "/echo/1.0.0");
  if (!s) co_return false;
  const bytes hello{'h', 'i'};
  if (!co_await s->s->write(hello) || !co_await s->s->close_write()) co_return false;
  auto back = co_await read_to_end(*s->s, 16);
  co_return back && *back == hello;
}

// Runs the hosts while `body` runs, then stops them.
task<void> run_hosts(std::vector<host*> hosts, std::function<task<void>()> body) {
  auto driver = [&]() -> task<void> {
    co_await body();
    for (auto* h : hosts) h->stop();
  };
  if (hosts.size() == 2) co_await (hosts[0]->run() && hosts[1]->run() && driver());
  if (hosts.size() == 3) co_await (hosts[0]->run() && hosts[1]->run() && hosts[2]->run() && driver());
}

TEST(host_limits, silent_sockets_push_each_other_out_not_an_honest_peer) {
  testing::run([](asio::any_io_executor ex) -> task<void> {
    system_clock clk;
    seeded_random rng(7);
    auto limits = roomy();
    limits.address.pending = 4;
    limits.transient.pending = 8;
    host node(ex, config_for(2, limits), clk, rng);
    host honest(ex, config_for(1), clk, rng);
    EXPECT_TRUE(node.listen());
    node.set_handler("/echo/1.0.0", echo_handler());
    std::vector<host*> hosts{&node, &honest};
    co_await run_hosts(hosts, [&]() -> task<void> {
      const auto target = tcp::to_endpoint(node.listen_addresses().front()).value();
      std::vector<asio::ip::tcp::socket> silent;
      for (int i = 0; i < 20; ++i) {
        silent.emplace_back(ex);
        auto [ec] = co_await silent.back().async_connect(target, use_tuple);
        EXPECT_FALSE(ec) << ec.message();
      }
      EXPECT_TRUE(co_await eventually([&] { return node.resources().take_snapshot().evicted >= 16; }));
      EXPECT_LE(node.resources().take_snapshot().scopes[1].used.pending, 4u);
      // The oldest silent socket was closed by the node (after its multistream header).
      auto read_to_close = [&]() -> task<bool> {
        std::uint8_t buffer[256];
        for (;;) {
          auto [ec, n] = co_await silent.front().async_read_some(asio::buffer(buffer), use_tuple);
          if (ec) co_return true;
        }
      };
      asio::steady_timer limit(ex, std::chrono::seconds(5));
      auto read = co_await (read_to_close() || limit.async_wait(use_tuple));
      EXPECT_EQ(read.index(), 0u);
      // Silent sockets still hold the slots; the honest peer's handshake takes the oldest.
      auto conn = co_await honest.connect(node.listen_addresses().front().with_peer(node.id()));
      EXPECT_TRUE(conn) << (conn ? "" : conn.error().message());
      EXPECT_TRUE(co_await echoes(honest, node.id()));
    });
  });
}

TEST(host_limits, a_full_address_refuses_strangers_but_not_a_protected_peer) {
  testing::run([](asio::any_io_executor ex) -> task<void> {
    system_clock clk;
    seeded_random rng(7);
    auto limits = roomy();
    limits.address.connections = 1;
    host node(ex, config_for(2, limits), clk, rng);
    host first(ex, config_for(3), clk, rng);
    host second(ex, config_for(4), clk, rng);
    host trusted(ex, config_for(5), clk, rng);
    EXPECT_TRUE(node.listen());
    node.set_handler("/echo/1.0.0", echo_handler());
    node.resources().protect(trusted.id());
    const auto address = node.listen_addresses().front().with_peer(node.id());
    auto body = [&]() -> task<void> {
      EXPECT_TRUE(co_await first.connect(address));
      EXPECT_TRUE(co_await eventually([&] { return node.is_connected(first.id()); }));
      (void)co_await second.connect(address);  // its handshake completes, then the node closes it
      EXPECT_TRUE(co_await eventually([&] { return node.resources().take_snapshot().refused >= 1; }));
      EXPECT_TRUE(co_await eventually([&] { return !second.is_connected(node.id()); }));
      EXPECT_FALSE(node.is_connected(second.id()));
      EXPECT_TRUE(co_await trusted.connect(address));
      EXPECT_TRUE(co_await echoes(trusted, node.id()));
      EXPECT_TRUE(co_await echoes(first, node.id()));
      // Snapshot: the streams counted and given back; the stranger's address is counted.
      auto snapshot = node.resources().take_snapshot();
      EXPECT_EQ(snapshot.scopes[0].used.connections, 2u);
      EXPECT_EQ(snapshot.scopes[0].used.streams, 0u);
      bool saw_address = false;
      for (const auto& s : snapshot.scopes)
        if (s.name == "address 127.0.0.1") {
          saw_address = true;
          EXPECT_EQ(s.used.connections, 1u);
        }
      EXPECT_TRUE(saw_address);
    };
    auto driver = [&]() -> task<void> {
      co_await body();
      node.stop();
      first.stop();
      second.stop();
      trusted.stop();
    };
    co_await (node.run() && first.run() && second.run() && trusted.run() && driver());
  });
}

TEST(host_limits, streams_over_the_peer_limit_are_reset) {
  testing::run([](asio::any_io_executor ex) -> task<void> {
    system_clock clk;
    seeded_random rng(7);
    auto limits = roomy();
    limits.peer.streams_inbound = 1;
    host node(ex, config_for(2, limits), clk, rng);
    host client(ex, config_for(1), clk, rng);
    EXPECT_TRUE(node.listen());
    bool release = false;
    p2p::signal released(ex);
    node.set_handler("/hold/1.0.0", [&](std::unique_ptr<stream> s, stream_info) -> task<void> {
      while (!release) co_await released.wait();
    });
    std::vector<host*> hosts{&node, &client};
    co_await run_hosts(hosts, [&]() -> task<void> {
      EXPECT_TRUE(co_await client.connect(node.listen_addresses().front().with_peer(node.id())));
      auto held = co_await client.new_stream(node.id(), "/hold/1.0.0");
      EXPECT_TRUE(held);
      EXPECT_TRUE(co_await eventually([&] { return node.resources().take_snapshot().scopes[0].used.streams == 1; }));
      auto refused = co_await client.new_stream(node.id(), "/hold/1.0.0");
      EXPECT_FALSE(refused);  // reset by the node before negotiation
      release = true;
      released.notify();
      EXPECT_TRUE(co_await eventually([&] { return node.resources().take_snapshot().scopes[0].used.streams == 0; }));
    });
  });
}

}  // namespace
}  // namespace p2p
