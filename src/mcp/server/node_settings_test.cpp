#include "mcp/server/node_settings.hpp"

#include <gtest/gtest.h>

namespace mcp::server {
namespace {

using json = mcp::json;

constexpr const char* peer_a = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";
constexpr const char* peer_b = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";

std::string error_of(const char* text) {
  auto parsed = parse_node_settings(json::parse(text), "c.json");
  auto* error = std::get_if<std::string>(&parsed);
  return error ? *error : std::string();
}

TEST(node_settings, absent_means_defaults) {
  auto parsed = parse_node_settings(json(), "c.json");
  ASSERT_TRUE(std::holds_alternative<node_settings>(parsed));
  const auto& s = std::get<node_settings>(parsed);
  EXPECT_TRUE(s.gateway_enabled);
  EXPECT_EQ(s.gateway_host, "127.0.0.1");
  EXPECT_EQ(s.gateway_port, default_gateway_port);
  // Documented default: trusted peers only, and nobody is trusted.
  EXPECT_TRUE(s.rule_for("anything").allows(peer_a, true));
  EXPECT_FALSE(s.rule_for("anything").allows(peer_a, false));
  EXPECT_TRUE(s.trust.empty());
  EXPECT_EQ(s.limits.servers_per_peer, 32u);
  EXPECT_EQ(s.forget_peers_after_seconds, 600u);
  EXPECT_EQ(s.gateway_max_sessions, 64u);
  EXPECT_EQ(s.gateway_session_idle_seconds, 1800u);
}

TEST(node_settings, gateway_session_settings_are_checked) {
  auto parsed = parse_node_settings(json::parse(R"({"gateway": {"maxSessions": 0}})"), "c.json");
  ASSERT_TRUE(std::holds_alternative<std::string>(parsed));
  EXPECT_EQ(std::get<std::string>(parsed), "c.json: p2pmcp.gateway.maxSessions must be a number of sessions from 1 to 100000");
  parsed = parse_node_settings(json::parse(R"({"gateway": {"sessionIdleSeconds": "1h"}})"), "c.json");
  ASSERT_TRUE(std::holds_alternative<std::string>(parsed));
  EXPECT_EQ(std::get<std::string>(parsed),
            "c.json: p2pmcp.gateway.sessionIdleSeconds must be a number of seconds from 1 to 604800 (a week)");
}

TEST(node_settings, reads_every_setting) {
  const std::string text = std::string(R"({
    "listen": ["/ip4/0.0.0.0/tcp/4021"],
    "bootstrap": ["/ip4/192.0.2.10/tcp/4021/p2p/)") + peer_a + R"("],
    "peers": {"laptop": "/ip4/192.0.2.11/tcp/4021/p2p/)" + peer_a + R"("},
    "gateway": {"host": "::1", "port": 0, "maxSessions": 8, "sessionIdleSeconds": 60},
    "allow": {"files": [")" + peer_a + R"("], "*": []},
    "maxMessageBytes": 65536,
    "forgetPeersAfter": 30})";
  auto parsed = parse_node_settings(json::parse(text), "c.json");
  ASSERT_TRUE(std::holds_alternative<node_settings>(parsed)) << std::get<std::string>(parsed);
  const auto& s = std::get<node_settings>(parsed);
  ASSERT_EQ(s.listen.size(), 1u);
  ASSERT_EQ(s.bootstrap.size(), 2u);
  EXPECT_EQ(s.bootstrap[0].peer.to_string(), peer_a);
  EXPECT_EQ(s.bootstrap[1].alias, "laptop");
  EXPECT_EQ(s.gateway_host, "::1");
  EXPECT_EQ(s.gateway_port, 0);
  EXPECT_EQ(s.gateway_max_sessions, 8u);
  EXPECT_EQ(s.gateway_session_idle_seconds, 60u);
  EXPECT_EQ(s.max_message_bytes, 65536u);
  EXPECT_EQ(s.forget_peers_after_seconds, 30u);
  EXPECT_TRUE(s.rule_for("files").allows(peer_a, false));
  EXPECT_FALSE(s.rule_for("files").allows("12D3KooWsomeoneelse", true));  // a list is exactly those peers
  EXPECT_FALSE(s.rule_for("memory").allows(peer_a, true));  // "*": [] serves nobody
  EXPECT_TRUE(s.trusts(*p2p::peer_id::parse(peer_a)));      // named in "peers"
}

TEST(node_settings, trust_list_and_open_rules) {
  const std::string text = std::string(R"({
    "trust": [")") + peer_a + R"(", {"id": ")" + peer_b + R"(", "name": "desk"}],
    "allow": {"open": "all", "*": "trusted"},
    "limits": {"serversPerPeer": 4, "itemsPerList": 10, "listBytes": 2048,
               "connections": 100, "handshakesPerAddress": 4, "memoryBytes": 33554432}})";
  auto parsed = parse_node_settings(json::parse(text), "c.json");
  ASSERT_TRUE(std::holds_alternative<node_settings>(parsed)) << std::get<std::string>(parsed);
  const auto& s = std::get<node_settings>(parsed);
  ASSERT_EQ(s.trust.size(), 2u);
  EXPECT_EQ(s.trust[0].peer.to_string(), peer_a);
  EXPECT_EQ(s.trust[0].name, "");
  EXPECT_EQ(s.trust[1].name, "desk");
  EXPECT_TRUE(s.trusts(*p2p::peer_id::parse(peer_b)));
  EXPECT_TRUE(s.bootstrap.empty());  // trusting is not connecting
  EXPECT_TRUE(s.rule_for("open").allows("anyone", false));
  EXPECT_FALSE(s.rule_for("other").allows(peer_a, false));
  EXPECT_EQ(s.limits.servers_per_peer, 4u);
  EXPECT_EQ(s.limits.items_per_list, 10u);
  EXPECT_EQ(s.limits.list_bytes, 2048u);
  EXPECT_EQ(s.connections.connections, 100u);
  EXPECT_EQ(s.connections.handshakes_per_address, 4u);
  EXPECT_EQ(s.connections.memory_bytes, 33554432u);
  EXPECT_EQ(s.connections.connections_per_peer, 0u);  // the machine's default
  EXPECT_EQ(s.limits.name_bytes, 128u);  // untouched caps keep their defaults
}

TEST(node_settings, bootstrap_alone_does_not_trust) {
  const std::string text = std::string(R"({"bootstrap": ["/ip4/192.0.2.10/tcp/4021/p2p/)") + peer_a + R"("]})";
  auto parsed = parse_node_settings(json::parse(text), "c.json");
  ASSERT_TRUE(std::holds_alternative<node_settings>(parsed));
  EXPECT_FALSE(std::get<node_settings>(parsed).trusts(*p2p::peer_id::parse(peer_a)));
}

TEST(node_settings, gateway_can_be_turned_off) {
  auto parsed = parse_node_settings(json::parse(R"({"gateway": false})"), "c.json");
  ASSERT_TRUE(std::holds_alternative<node_settings>(parsed));
  EXPECT_FALSE(std::get<node_settings>(parsed).gateway_enabled);
}

TEST(node_settings, every_problem_is_a_sentence_naming_the_key) {
  EXPECT_EQ(error_of("[]"), "c.json: p2pmcp must be an object");
  EXPECT_EQ(error_of(R"({"listen": "x"})"), "c.json: p2pmcp.listen must be an array of multiaddrs");
  EXPECT_NE(error_of(R"({"bootstrap": ["/ip4/1.2.3.4/tcp/1"]})").find("does not name its peer"), std::string::npos);
  EXPECT_NE(error_of(R"({"peers": {"local": "/ip4/1.2.3.4/tcp/1"}})").find("p2pmcp.peers.local"), std::string::npos);
  EXPECT_EQ(error_of(R"({"gateway": {"port": 70000}})"), "c.json: p2pmcp.gateway.port must be a port number (0 picks a free one)");
  EXPECT_NE(error_of(R"({"allow": {"files": ["nope"]}})").find("'nope' is not a peer ID"), std::string::npos);
  EXPECT_NE(error_of(R"({"allow": {"files": "some"}})").find("p2pmcp.allow.files"), std::string::npos);
  EXPECT_NE(error_of(R"({"maxMessageBytes": 1})").find("maxMessageBytes"), std::string::npos);
  EXPECT_EQ(error_of(R"({"forgetPeersAfter": -1})"),
            "c.json: p2pmcp.forgetPeersAfter must be a number of seconds from 0 to 604800 (a week)");
  EXPECT_NE(error_of(R"({"forgetPeersAfter": "1h"})").find("forgetPeersAfter"), std::string::npos);
  EXPECT_NE(error_of(R"({"trust": "x"})").find("p2pmcp.trust must be an array"), std::string::npos);
  EXPECT_NE(error_of(R"({"trust": ["nope"]})").find("'nope' is not a peer ID"), std::string::npos);
  EXPECT_NE(error_of(R"({"trust": [{"name": "x"}]})").find("needs its \"id\""), std::string::npos);
  EXPECT_NE(error_of(R"({"trust": [{"id": 1}]})").find("p2pmcp.trust"), std::string::npos);
  EXPECT_NE(error_of(R"({"trust": [{"id": "x", "name": "local"}]})").find("a name is"), std::string::npos);
  EXPECT_NE(error_of(R"({"trust": [{"id": "x", "nick": "a"}]})").find("'nick' is not a trust entry field"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"allow": {"*": "friends"}})").find("\"trusted\" (the default)"), std::string::npos);
  EXPECT_EQ(error_of(R"({"limits": {"serversPerPeer": -1}})"),
            "c.json: p2pmcp.limits.serversPerPeer must be a whole number from 0 to 4096");
  EXPECT_NE(error_of(R"({"limits": {"tools": 1}})").find("p2pmcp.limits.tools is not a limit"), std::string::npos);
  EXPECT_NE(error_of(R"({"limits": 3})").find("p2pmcp.limits must be an object"), std::string::npos);
  EXPECT_NE(error_of(R"({"lisen": []})").find("p2pmcp.lisen is not a setting"), std::string::npos);
}

}  // namespace
}  // namespace mcp::server
