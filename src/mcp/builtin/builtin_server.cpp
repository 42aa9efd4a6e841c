#include "mcp/builtin/builtin_server.hpp"

#include "mcp/jsonrpc/message.hpp"

#include <boost/asio/this_coro.hpp>

#include <cstdio>
#include <limits>

namespace mcp::builtin {

namespace asio = boost::asio;
namespace codes = jsonrpc::codes;

namespace {

std::vector<json> tool_definitions() {
  return {
      json::parse(R"({
        "name": "info",
        "title": "This p2pmcp node",
        "description": "This p2pmcp node: its peer ID, listen addresses, gateway URL and the MCP servers it hosts with their state.",
        "inputSchema": {"type": "object", "properties": {}},
        "annotations": {"readOnlyHint": true, "openWorldHint": false}
      })"),
      json::parse(R"({
        "name": "peers",
        "title": "Known peers",
        "description": "The peers this node knows: alias, peer ID, addresses, whether connected now, whether trusted (only trusted peers' servers are used; trust is changed by the user with the p2pmcp CLI, never through MCP), the MCP servers each hosts, and the last measured round-trip time.",
        "inputSchema": {"type": "object", "properties": {}},
        "outputSchema": {
          "type": "object",
          "properties": {"peers": {"type": "array", "items": {"type": "object", "properties": {
            "peerId": {"type": "string"}, "alias": {"type": "string"},
            "addresses": {"type": "array", "items": {"type": "string"}},
            "connected": {"type": "boolean"}, "trusted": {"type": "boolean"},
            "servers": {"type": "array", "items": {"type": "string"}}, "trustCommand": {"type": "string"},
            "latencyMs": {"type": ["number", "null"]}, "agent": {"type": "string"}}}}},
          "required": ["peers"]
        },
        "annotations": {"readOnlyHint": true, "openWorldHint": false}
      })"),
      json::parse(R"({
        "name": "ping",
        "title": "Ping a peer",
        "description": "Measures the libp2p round-trip time to a peer, named by its alias or peer ID.",
        "inputSchema": {"type": "object", "properties": {"peer": {"type": "string", "description": "alias or peer ID"}}, "required": ["peer"]},
        "outputSchema": {"type": "object", "properties": {"peer": {"type": "string"}, "rttMs": {"type": "number"}}, "required": ["peer", "rttMs"]},
        "annotations": {"readOnlyHint": true, "openWorldHint": true}
      })"),
  };
}

json text_result(std::string text, json structured) {
  json result = json::object();
  json item = json::object();
  item["type"] = "text";
  item["text"] = std::move(text);
  result["content"] = json::array({std::move(item)});
  if (!structured.is_null()) result["structuredContent"] = std::move(structured);
  return result;
}

json tool_error(std::string sentence) {
  json result = text_result(std::move(sentence), json());
  result["isError"] = true;
  return result;
}

std::string format_ms(double ms) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f ms", ms);
  return buffer;
}

}  // namespace

builtin_server::builtin_server(asio::any_io_executor executor, node_view& view)
    : view_(view), tools_(tool_definitions()), stop_signal_(executor) {
  server_info_ = {{"name", "p2pmcp-node"}, {"version", "0.1.0"}};
  capabilities_ = {{"tools", {{"listChanged", true}}}};
  instructions_ = "Tools about this p2pmcp node and the peers it knows.";
}

std::string builtin_server::unavailable_reason() const {
  return stopped_ ? "the node's built-in server is stopped" : std::string();
}

void builtin_server::stop() {
  stopped_ = true;
  ++state_version_;
  stop_signal_.notify();
}

task<void> builtin_server::state_changed(std::uint64_t seen) {
  while (state_version_ == seen && !stopped_) {
    co_await stop_signal_.wait();
    const asio::cancellation_state cancellation = co_await asio::this_coro::cancellation_state;
    if (cancellation.cancelled() != asio::cancellation_type::none) co_return;
  }
}

task<void> builtin_server::tools_changed(std::uint64_t) {
  // The list never changes: wait for the end.
  while (!stopped_) {
    co_await stop_signal_.wait();
    const asio::cancellation_state cancellation = co_await asio::this_coro::cancellation_state;
    if (cancellation.cancelled() != asio::cancellation_type::none) co_return;
  }
}

task<std::optional<server_message>> builtin_server::next_message() {
  while (!stopped_) {
    co_await stop_signal_.wait();
    const asio::cancellation_state cancellation = co_await asio::this_coro::cancellation_state;
    if (cancellation.cancelled() != asio::cancellation_type::none) break;
  }
  co_return std::nullopt;
}

std::string builtin_server::pair_command() const {
  const auto addresses = view_.addresses();
  if (addresses.empty()) return {};
  // A loopback address only pairs nodes on the same machine: prefer any other.
  std::string chosen = addresses.front();
  for (const auto& a : addresses) {
    if (a.rfind("/ip4/127.", 0) != 0 && a.rfind("/ip6/::1/", 0) != 0) {
      chosen = a;
      break;
    }
  }
  const std::string suffix = "/p2p/" + view_.peer_id();
  if (chosen.size() < suffix.size() || chosen.compare(chosen.size() - suffix.size(), suffix.size(), suffix) != 0)
    chosen += suffix;
  return "p2pmcp pair " + chosen;
}

json builtin_server::call_info() const {
  json structured = json::object();
  structured["peerId"] = view_.peer_id();
  structured["agent"] = view_.agent();
  structured["addresses"] = view_.addresses();
  const std::string gateway = view_.gateway_url();
  structured["gateway"] = gateway.empty() ? json() : json(gateway);
  json servers = json::array();
  std::string text = "peer ID: " + view_.peer_id() + "\nagent: " + view_.agent() + "\n";
  for (const auto& a : view_.addresses()) text += "listening: " + a + "\n";
  if (!gateway.empty()) text += "gateway: " + gateway + "\n";
  for (const auto& s : view_.hosted()) {
    json entry = {{"name", s.name}, {"state", s.state}, {"tools", s.tools}};
    if (!s.last_error.empty()) entry["lastError"] = s.last_error;
    if (s.sessions) entry["sessions"] = *s.sessions;
    servers.push_back(std::move(entry));
    text += "server " + s.name + ": " + s.state + ", " + std::to_string(s.tools) + " tools";
    if (s.sessions) text += ", " + std::to_string(*s.sessions) + (*s.sessions == 1 ? " session" : " sessions");
    if (!s.last_error.empty()) text += " (last error: " + s.last_error + ")";
    text += "\n";
  }
  if (servers.empty()) text += "servers: none from the config (only the built-in 'node')\n";
  structured["servers"] = std::move(servers);
  json resources = json::array();
  auto of = [](std::uint64_t used, std::uint64_t limit) {
    return limit == std::numeric_limits<std::uint64_t>::max() ? std::to_string(used)
                                                               : std::to_string(used) + "/" + std::to_string(limit);
  };
  auto limit_json = [](std::uint64_t limit) {
    return limit == std::numeric_limits<std::uint64_t>::max() ? json() : json(limit);
  };
  for (const auto& r : view_.resources()) {
    resources.push_back({{"scope", r.scope},
                         {"connections", r.connections}, {"connectionsLimit", limit_json(r.connections_limit)},
                         {"handshakes", r.pending}, {"handshakesLimit", limit_json(r.pending_limit)},
                         {"streams", r.streams}, {"streamsLimit", limit_json(r.streams_limit)},
                         {"memoryBytes", r.memory}, {"memoryLimit", limit_json(r.memory_limit)}});
    text += "limits " + r.scope + ": connections " + of(r.connections, r.connections_limit) + ", handshakes " +
            of(r.pending, r.pending_limit) + ", streams " + of(r.streams, r.streams_limit) + ", memory " +
            of(r.memory, r.memory_limit) + " bytes\n";
  }
  if (!resources.empty()) structured["resources"] = std::move(resources);
  if (const std::string pair = pair_command(); !pair.empty()) {
    structured["pairCommand"] = pair;
    text += "to pair with this node, run on the other one: " + pair + "\n";
  }
  return text_result(std::move(text), std::move(structured));
}

json builtin_server::call_peers() const {
  json list = json::array();
  std::string text;
  for (const auto& p : view_.peers()) {
    json entry = json::object();
    entry["peerId"] = p.peer_id;
    entry["alias"] = p.alias;
    entry["addresses"] = p.addresses;
    entry["connected"] = p.connected;
    entry["trusted"] = p.trusted;
    entry["servers"] = p.servers;
    if (!p.trusted) entry["trustCommand"] = p.trust_command;
    entry["latencyMs"] = p.latency_ms ? json(*p.latency_ms) : json();
    entry["agent"] = p.agent;
    list.push_back(std::move(entry));
    text += p.alias + "  " + p.peer_id + "  " + (p.connected ? "connected" : "not connected") + "  " +
            (p.trusted ? "trusted" : "not trusted");
    if (p.latency_ms) text += "  " + format_ms(*p.latency_ms);
    if (!p.servers.empty()) {
      text += p.trusted ? "  servers:" : "  offers:";
      for (const auto& s : p.servers) text += " " + s;
    }
    if (!p.trusted) text += "  (to use its servers and let it use ours: " + p.trust_command + ")";
    text += "\n";
  }
  if (text.empty()) text = "no peers known yet\n";
  json structured = json::object();
  structured["peers"] = std::move(list);
  return text_result(std::move(text), std::move(structured));
}

task<rpc_result<json>> builtin_server::request(std::string method, json params, duration, const std::string*) {
  if (stopped_) co_return rpc_error(codes::connection_closed, unavailable_reason());
  if (method == "tools/list") {
    json result = json::object();
    result["tools"] = tools_;
    co_return result;
  }
  if (method == "ping") co_return json::object();
  if (method != "tools/call") co_return rpc_error(codes::method_not_found, "method '" + method + "' is not supported by the node's built-in server", json(), true);

  const std::string name = params.is_object() && params.contains("name") && params["name"].is_string()
                               ? params["name"].get<std::string>()
                               : std::string();
  if (name == "info") co_return call_info();
  if (name == "peers") co_return call_peers();
  if (name == "ping") {
    const json args = params.is_object() ? params.value("arguments", json::object()) : json::object();
    if (!args.is_object() || !args.contains("peer") || !args["peer"].is_string())
      co_return tool_error("ping needs {\"peer\": \"<alias or peer ID>\"}");
    const std::string peer = args["peer"].get<std::string>();
    auto rtt = co_await view_.ping(peer);
    if (!rtt) co_return tool_error(rtt.error().message);
    json structured = json::object();
    structured["peer"] = peer;
    structured["rttMs"] = *rtt;
    co_return text_result("round trip to " + peer + ": " + format_ms(*rtt), std::move(structured));
  }
  co_return rpc_error(codes::invalid_params, "unknown tool '" + name + "'", json(), true);
}

}  // namespace mcp::builtin
