#include "mcp/builtin/builtin_server.hpp"

#include "run.hpp"

#include <gtest/gtest.h>

namespace mcp::builtin {
namespace {

namespace asio = boost::asio;

struct fake_view final : node_view {
  std::string peer_id() const override { return "12D3KooWself"; }
  std::string agent() const override { return "p2pmcp/0.1.0"; }
  std::vector<std::string> addresses() const override { return {"/ip4/127.0.0.1/tcp/4021/p2p/12D3KooWself"}; }
  std::string gateway_url() const override { return "http://127.0.0.1:7469/mcp"; }
  std::vector<hosted_summary> hosted() const override {
    hosted_summary shared;
    shared.name = "files";
    shared.state = "restarting";
    shared.tools = 3;
    shared.last_error = "exited with status 1";
    hosted_summary pooled;
    pooled.name = "memory";
    pooled.state = "ready";
    pooled.tools = 9;
    pooled.sessions = 2;
    return {shared, pooled};
  }
  std::vector<peer_summary> peers() const override {
    peer_summary p;
    p.peer_id = "12D3KooWpeerXYZabc";
    p.alias = "XYZabc";
    p.connected = true;
    p.servers = {"memory"};
    p.latency_ms = 1.5;
    p.trusted = true;
    peer_summary stranger;
    stranger.peer_id = "12D3KooWstranger";
    stranger.alias = "ranger";
    stranger.servers = {"read_secrets"};
    stranger.trust_command = "p2pmcp trust add 12D3KooWstranger";
    return {p, stranger};
  }
  task<rpc_result<double>> ping(std::string peer) override {
    if (peer == "XYZabc") co_return 0.75;
    co_return rpc_error(-32602, "no known peer has the alias or ID '" + peer + "'");
  }
};

json call(builtin_server& server, const char* params_text) {
  json result;
  p2p::testing::run([&](asio::any_io_executor) -> task<void> {
    json params = json::parse(params_text);
    auto r = co_await server.request("tools/call", std::move(params), std::chrono::seconds(1));
    result = r ? *r : r.error().to_json();
  });
  return result;
}

TEST(builtin_server, lists_three_tools_with_schemas) {
  asio::io_context io;
  fake_view view;
  builtin_server server(io.get_executor(), view);
  ASSERT_EQ(server.tools().size(), 3u);
  for (const auto& t : server.tools()) EXPECT_TRUE(t["inputSchema"].is_object()) << t.dump();
  EXPECT_TRUE(server.available());
  EXPECT_EQ(server.name(), "node");
}

TEST(builtin_server, info_and_peers_have_text_and_structured_content) {
  asio::io_context io;
  fake_view view;
  builtin_server server(io.get_executor(), view);
  json info = call(server, R"({"name": "info"})");
  EXPECT_EQ(info["structuredContent"]["peerId"], "12D3KooWself");
  EXPECT_EQ(info["structuredContent"]["servers"][0]["state"], "restarting");
  EXPECT_NE(info["content"][0]["text"].get<std::string>().find("exited with status 1"), std::string::npos);
  // A server whose sessions each have a process of their own says how many there are.
  EXPECT_FALSE(info["structuredContent"]["servers"][0].contains("sessions"));
  EXPECT_EQ(info["structuredContent"]["servers"][1]["sessions"], 2);
  EXPECT_NE(info["content"][0]["text"].get<std::string>().find("server memory: ready, 9 tools, 2 sessions\n"),
            std::string::npos);
  json peers = call(server, R"({"name": "peers"})");
  EXPECT_EQ(peers["structuredContent"]["peers"][0]["alias"], "XYZabc");
  EXPECT_EQ(peers["structuredContent"]["peers"][0]["latencyMs"], 1.5);
  EXPECT_EQ(peers["structuredContent"]["peers"][0]["trusted"], true);
  EXPECT_FALSE(peers["structuredContent"]["peers"][0].contains("trustCommand"));
  EXPECT_EQ(peers["structuredContent"]["peers"][1]["trusted"], false);
  EXPECT_EQ(peers["structuredContent"]["peers"][1]["trustCommand"], "p2pmcp trust add 12D3KooWstranger");
  const std::string text = peers["content"][0]["text"].get<std::string>();
  EXPECT_NE(text.find("not trusted  offers: read_secrets  (to use its servers and let it use ours: p2pmcp trust add "
                      "12D3KooWstranger)"),
            std::string::npos)
      << text;
  // The line that pairs another node with this one.
  EXPECT_EQ(info["structuredContent"]["pairCommand"], "p2pmcp pair /ip4/127.0.0.1/tcp/4021/p2p/12D3KooWself");
}

TEST(builtin_server, ping_reports_rtt_or_a_tool_error) {
  asio::io_context io;
  fake_view view;
  builtin_server server(io.get_executor(), view);
  json ok = call(server, R"({"name": "ping", "arguments": {"peer": "XYZabc"}})");
  EXPECT_EQ(ok["structuredContent"]["rttMs"], 0.75);
  json unknown = call(server, R"({"name": "ping", "arguments": {"peer": "nobody"}})");
  EXPECT_TRUE(unknown["isError"].get<bool>());
  EXPECT_NE(unknown["content"][0]["text"].get<std::string>().find("nobody"), std::string::npos);
  json missing = call(server, R"({"name": "ping", "arguments": {}})");
  EXPECT_TRUE(missing["isError"].get<bool>());
  json bad_tool = call(server, R"({"name": "nope"})");
  EXPECT_EQ(bad_tool["code"], -32602);
}

}  // namespace
}  // namespace mcp::builtin
