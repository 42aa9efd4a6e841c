// Interop with the real js-libp2p 3.x (TCP + Noise + yamux + identify + ping), both
// directions: js dials our host, and our host dials js.
#include "js_peer.hpp"

#include "echo.hpp"
#include "run.hpp"

#include "p2p/host/host.hpp"
#include "p2p/protocols/identify/identify_service.hpp"
#include "p2p/protocols/ping/ping.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

#include <algorithm>

namespace p2p::interop {
namespace {

using namespace boost::asio::experimental::awaitable_operators;
using nlohmann::json;

constexpr std::uint64_t big_stream = 64ull << 20;
constexpr int many_streams = 200;
constexpr std::uint64_t many_stream_bytes = 256 << 10;
constexpr std::string_view our_agent = "p2pmcp-interop-test/1.0";

// Our side: a host with identify, ping and echo, as a node assembles it.
struct our_node {
  explicit our_node(asio::any_io_executor ex) : host_(ex, config(), clock_, random_), identify_(host_) {
    host_.set_handler(std::string(ping::protocol_id), [](std::unique_ptr<stream> s, stream_info) -> task<void> {
      co_await ping::serve(*s);
    });
    host_.set_handler(std::string(testing::echo_protocol), [](std::unique_ptr<stream> s, stream_info) {
      return testing::serve_echo(std::move(s));
    });
    EXPECT_TRUE(host_.listen());
    identify_.start();
  }
  static host_config config() {
    host_config c;
    c.identity = crypto::private_key::generate_ed25519();
    c.listen_addresses = {multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()};
    c.agent_version = std::string(our_agent);
    return c;
  }
  std::string address() const { return host_.listen_addresses().front().with_peer(host_.id()).to_string(); }

  system_clock clock_;
  system_random random_;
  host host_;
  identify::service identify_;
};

bool contains(const json& list, std::string_view value) {
  return std::any_of(list.begin(), list.end(), [&](const json& v) { return v == value; });
}

TEST(js_interop, js_dials_us_ping_identify_echo) {
  testing::run([](asio::any_io_executor ex) -> task<void> {
    our_node ours(ex);
    auto body = [&]() -> task<void> {
      js_peer js(ex, {"dial", ours.address(), "--no-conn-monitor", "--ping", "3", "--identify", "--echo-bytes",
                      std::to_string(big_stream), "--echo-streams", std::to_string(many_streams),
                      "--echo-stream-bytes", std::to_string(many_stream_bytes), "--protocol", "/echo/1.0.0",
                      "--protocol", "/does-not-exist/1.0.0", "--timeout", "240"});
      auto connection = co_await js.expect("connection");
      EXPECT_TRUE(connection);
      if (connection) {
        EXPECT_EQ((*connection)["encryption"], "/noise");
        EXPECT_EQ((*connection)["multiplexer"], "/yamux/1.0.0");
        EXPECT_EQ((*connection)["earlyMuxer"], true) << "js offers inlined muxer negotiation; we must take it";
      }
      auto done = co_await js.expect("done", std::chrono::seconds(300));
      EXPECT_TRUE(done) << "js dialer did not finish";
      const int status = js.wait();
      EXPECT_EQ(status, 0);

      int pings = 0, echoes = 0;
      for (const auto& line : js.seen) {
        if (line["event"] == "ping") ++pings;
        if (line["event"] == "identify") {
          EXPECT_EQ(line["agentVersion"], our_agent);
          EXPECT_TRUE(contains(line["protocols"], "/ipfs/ping/1.0.0"));
          EXPECT_TRUE(contains(line["protocols"], "/ipfs/id/1.0.0"));
          EXPECT_TRUE(contains(line["protocols"], "/echo/1.0.0"));
          EXPECT_FALSE(line["listenAddrs"].empty());
          EXPECT_TRUE(line["observedAddr"].is_string()) << "we must report the address we observed";
        }
        if (line["event"] == "echo") {
          ++echoes;
          EXPECT_EQ(line["ok"], true) << line.dump();
        }
        if (line["event"] == "protocol")
          EXPECT_EQ(line["ok"], line["id"] == "/echo/1.0.0") << line.dump();
      }
      EXPECT_EQ(pings, 3);
      EXPECT_EQ(echoes, 2);

      // Our identify of js ran by itself when the connection came in.
      const auto peers = ours.host_.peers().peers();
      bool saw_js_agent = false;
      for (const auto& p : peers)
        if (const auto* r = ours.host_.peers().find(p); r && r->agent_version == "p2pmcp-interop-js/1.0")
          saw_js_agent = true;
      EXPECT_TRUE(saw_js_agent) << "identify of the js peer did not reach our peerstore";
      ours.host_.stop();
    };
    co_await (ours.host_.run() && body());
  });
}

TEST(js_interop, we_dial_js_ping_identify_echo) {
  testing::run([](asio::any_io_executor ex) -> task<void> {
    our_node ours(ex);
    auto body = [&]() -> task<void> {
      js_peer js(ex, {"listen", "--no-conn-monitor"});
      auto listening = co_await js.expect("listening", std::chrono::seconds(60));
      EXPECT_TRUE(listening);
      if (!listening) co_return ours.host_.stop();
      const auto js_address = multiaddr::parse((*listening)["addrs"][0].get<std::string>());
      EXPECT_TRUE(js_address);

      auto conn = co_await ours.host_.connect(*js_address);
      EXPECT_TRUE(conn) << (conn ? "" : conn.error().message());
      if (!conn) co_return ours.host_.stop();
      EXPECT_TRUE((*conn)->info().early_muxer) << "js offers inlined muxer negotiation";
      EXPECT_EQ((*conn)->info().muxer, "/yamux/1.0.0");

      // identify: js's agent, protocols, and the address js sees us at.
      auto info = co_await ours.identify_.wait_identified(*conn);
      EXPECT_TRUE(info);
      if (info) {
        EXPECT_EQ(info->agent_version, "p2pmcp-interop-js/1.0");
        EXPECT_TRUE(std::count(info->protocols.begin(), info->protocols.end(), "/echo/1.0.0"));
        EXPECT_TRUE(info->observed_addr.has_value());
        if (info->observed_addr)
          EXPECT_EQ(info->observed_addr->without_peer().to_string(), (*conn)->info().local_address.to_string());
      }

      // ping x3 on one stream
      auto ping_stream = co_await ours.host_.new_stream((*conn)->remote_peer(), ping::protocol_id);
      EXPECT_TRUE(ping_stream);
      if (ping_stream) {
        for (int i = 0; i < 3; ++i) {
          auto rtt = co_await ping::ping_once(*ping_stream->s, ours.random_, ours.clock_);
          EXPECT_TRUE(rtt) << (rtt ? "" : rtt.error().message());
        }
        co_await ping::finish(*ping_stream->s);
      }

      // 64 MiB on one stream
      auto echo = co_await ours.host_.new_stream((*conn)->remote_peer(), testing::echo_protocol);
      EXPECT_TRUE(echo);
      if (echo) {
        auto r = co_await testing::run_echo(*echo->s, big_stream);
        EXPECT_TRUE(r) << (r ? "" : r.error().message());
      }

      // 200 concurrent streams of 256 KiB
      int ok = 0, failed = 0;
      task_group streams(ex);
      // The coroutine takes what it uses as parameters: a lambda's captures would die
      // with the temporary closure before the coroutine runs.
      auto echo_once = [](host& h, peer_id peer, int& ok, int& failed) -> task<void> {
        auto s = co_await h.new_stream(peer, testing::echo_protocol);
        auto r = s ? co_await testing::run_echo(*s->s, many_stream_bytes) : result<void>(s.error());
        ++(r ? ok : failed);
      };
      for (int i = 0; i < many_streams; ++i)
        streams.spawn(echo_once(ours.host_, (*conn)->remote_peer(), ok, failed), "echo");
      co_await streams.wait();
      EXPECT_EQ(ok, many_streams);
      EXPECT_EQ(failed, 0);

      // js identified us too.
      auto js_identify = co_await js.expect("identify", std::chrono::seconds(30));
      EXPECT_TRUE(js_identify);
      if (js_identify) {
        EXPECT_EQ((*js_identify)["agentVersion"], our_agent);
        EXPECT_TRUE(contains((*js_identify)["protocols"], "/ipfs/ping/1.0.0"));
      }
      EXPECT_EQ(js.stop(), 0);
      ours.host_.stop();
    };
    co_await (ours.host_.run() && body());
  });
}

TEST(js_interop, early_muxer_falls_back_to_multistream_when_js_does_not_offer_it) {
  testing::run([](asio::any_io_executor ex) -> task<void> {
    our_node ours(ex);
    auto body = [&]() -> task<void> {
      js_peer js(ex, {"listen", "--no-conn-monitor", "--no-early-muxer"});
      auto listening = co_await js.expect("listening", std::chrono::seconds(60));
      EXPECT_TRUE(listening);
      if (!listening) co_return ours.host_.stop();
      auto conn = co_await ours.host_.connect(multiaddr::parse((*listening)["addrs"][0].get<std::string>()).value());
      EXPECT_TRUE(conn);
      if (conn) {
        EXPECT_FALSE((*conn)->info().early_muxer);
        EXPECT_EQ((*conn)->info().muxer, "/yamux/1.0.0");
        auto echo = co_await ours.host_.new_stream((*conn)->remote_peer(), testing::echo_protocol);
        EXPECT_TRUE(echo);
        if (echo) EXPECT_TRUE(co_await testing::run_echo(*echo->s, 1 << 20));
      }
      EXPECT_EQ(js.stop(), 0);
      ours.host_.stop();
    };
    co_await (ours.host_.run() && body());
  });
}

}  // namespace
}  // namespace p2p::interop
