// Tier-3: the identify service between two hosts on loopback.
#include "p2p/protocols/identify/identify_service.hpp"

#include "run.hpp"

#include "p2p/core/timeout.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <gtest/gtest.h>

#include <algorithm>

namespace p2p::identify {
namespace {

using namespace boost::asio::experimental::awaitable_operators;

host_config config_for(std::uint8_t seed, std::string agent) {
  host_config c;
  c.identity = crypto::private_key::ed25519_from_seed(bytes(32, seed)).value();
  c.listen_addresses = {multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()};
  c.agent_version = std::move(agent);
  return c;
}

stream_handler nothing() {
  return [](std::unique_ptr<stream>, stream_info) -> task<void> { co_return; };
}

TEST(identify_service, identifies_both_ways_and_pushes_protocol_changes) {
  testing::run([](asio::any_io_executor ex) -> task<void> {
    system_clock clk;
    seeded_random rng(7);
    host a(ex, config_for(1, "agent-a/1"), clk, rng);
    host b(ex, config_for(2, "agent-b/1"), clk, rng);
    EXPECT_TRUE(a.listen());
    EXPECT_TRUE(b.listen());
    service id_a(a), id_b(b);
    id_a.start();
    id_b.start();

    auto body = [&]() -> task<void> {
      auto conn = co_await a.connect(b.listen_addresses().front().with_peer(b.id()));
      EXPECT_TRUE(conn);
      if (!conn) co_return;
      auto info = co_await id_a.wait_identified(*conn);
      EXPECT_TRUE(info);
      if (info) {
        EXPECT_EQ(info->agent_version, "agent-b/1");
        EXPECT_EQ(info->observed_addr->without_peer(), (*conn)->info().local_address);
        EXPECT_TRUE(std::count(info->protocols.begin(), info->protocols.end(), std::string(push_protocol_id)));
      }
      const auto* record = a.peers().find(b.id());
      EXPECT_TRUE(record && record->public_key && record->agent_version == "agent-b/1");
      EXPECT_FALSE(a.peers().addresses(b.id(), clk.now()).empty());

      // B learns a new protocol: A hears of it through identify/push.
      EXPECT_FALSE(a.peers().supports(b.id(), "/new/1.0.0"));
      b.set_handler("/new/1.0.0", nothing());
      // Wait (on the service's update signal, never sleeping) until the push lands.
      while (!a.peers().supports(b.id(), "/new/1.0.0")) {
        auto update = co_await with_timeout(id_a.wait_for_update(), std::chrono::seconds(10));
        EXPECT_TRUE(update) << "no identify/push arrived";
        if (!update) break;
      }
      EXPECT_TRUE(a.peers().supports(b.id(), "/new/1.0.0"));
      a.stop();
      b.stop();
    };
    co_await (a.run() && b.run() && body());
  });
}

}  // namespace
}  // namespace p2p::identify
