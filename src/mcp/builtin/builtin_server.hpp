// The node's own MCP server, "node": tools that need no configuration, so a fresh node
// already serves something useful, and that the CLI's `p2pmcp peers` uses.
//   info   this node: peer ID, agent, addresses, gateway URL, hosted servers
//   peers  the peers this node knows: alias, peer ID, addresses, connected, trusted, their
//          MCP servers (an untrusted peer's are only offered: run `p2pmcp trust add`),
//          last measured round-trip time
//   ping   {"peer": "<alias or peer ID>"}: libp2p ping round-trip time
// Results carry structuredContent (with an outputSchema) and a text rendering.
//
// The node supplies what the tools report through node_view; nothing here knows the
// host. In process: no child, no stream; requests complete at once (ping: when the
// ping does).
#pragma once

#include "mcp/server/upstream.hpp"

#include "p2p/core/signal.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <optional>
#include <string>
#include <vector>

namespace mcp::builtin {

using json = mcp::json;
using server::rpc_error;
using server::rpc_result;
using server::server_message;
using p2p::duration;
using p2p::task;

inline constexpr std::string_view server_name = "node";

struct peer_summary {
  std::string peer_id;
  std::string alias;
  std::vector<std::string> addresses;
  bool connected = false;
  std::vector<std::string> servers;  // MCP servers it announces (from identify, capped)
  bool trusted = false;              // its servers are used here, it may use ours
  std::string trust_command;         // for an untrusted peer: how to trust it
  std::optional<double> latency_ms;  // last ping, if any
  std::string agent;
};

struct hosted_summary {
  std::string name;
  std::string state;  // "ready", "starting", "restarting", "stopped"
  std::size_t tools = 0;
  std::string last_error;
  // Client sessions with a process of their own now; nullopt for a server declared
  // "shared" (one process serves every session).
  std::optional<std::size_t> sessions;
};

// One scope of the host's resource manager: what it uses next to its limits (a limit
// of UINT64_MAX is none).
struct resource_summary {
  std::string scope;  // "system", "transient", "address 10.0.0.1", "peer 12D3...", "protocol /x"
  std::uint64_t connections = 0, connections_limit = 0;
  std::uint64_t pending = 0, pending_limit = 0;  // inbound handshakes
  std::uint64_t streams = 0, streams_limit = 0;
  std::uint64_t memory = 0, memory_limit = 0;
};

// What the tools report, provided by the node.
class node_view {
 public:
  virtual ~node_view() = default;
  virtual std::string peer_id() const = 0;
  virtual std::string agent() const = 0;
  virtual std::vector<std::string> addresses() const = 0;
  virtual std::string gateway_url() const = 0;  // empty when the gateway is off
  virtual std::vector<hosted_summary> hosted() const = 0;
  virtual std::vector<peer_summary> peers() const = 0;
  // The resource manager's busiest scopes (system and transient first); none by default.
  virtual std::vector<resource_summary> resources() const { return {}; }
  // Round-trip time in milliseconds, or a sentence ("no peer matches 'x'").
  virtual task<rpc_result<double>> ping(std::string peer) = 0;
};

class builtin_server final : public server::upstream {
 public:
  builtin_server(boost::asio::any_io_executor executor, node_view& view);

  const std::string& name() const noexcept override { return name_; }
  bool available() const noexcept override { return !stopped_; }
  std::string unavailable_reason() const override;
  std::uint64_t state_version() const noexcept override { return state_version_; }
  task<void> state_changed(std::uint64_t seen) override;
  const std::string& protocol_version() const noexcept override { return protocol_version_; }
  const json& server_info() const noexcept override { return server_info_; }
  const json& server_capabilities() const noexcept override { return capabilities_; }
  const std::string& instructions() const noexcept override { return instructions_; }

  task<rpc_result<json>> request(std::string method, json params, duration timeout,
                                 const std::string* cancel_reason = nullptr) override;
  bool notify(std::string, json) override { return !stopped_; }
  // Never has messages of its own; nullopt once stopped or cancelled.
  task<std::optional<server_message>> next_message() override;
  bool respond(const server_message&, json) override { return false; }
  bool respond_error(const server_message&, int, std::string, json) override { return false; }

  const std::vector<json>& tools() const noexcept override { return tools_; }
  std::uint64_t tools_version() const noexcept override { return 1; }
  task<void> tools_changed(std::uint64_t seen) override;

  // Ends next_message / state_changed / tools_changed waits.
  void stop();

 private:
  json call_info() const;
  // The line the other node runs to pair with this one: "p2pmcp pair <address>".
  std::string pair_command() const;
  json call_peers() const;

  node_view& view_;
  std::string name_{server_name};
  std::string protocol_version_ = "2025-11-25";
  json server_info_;
  json capabilities_;
  std::string instructions_;
  std::vector<json> tools_;
  bool stopped_ = false;
  std::uint64_t state_version_ = 0;
  p2p::signal stop_signal_;
};

}  // namespace mcp::builtin
