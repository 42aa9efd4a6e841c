// The node's own settings: the "p2pmcp" object of the mcpServers config file, merged with
// the command line (the command line wins for listen/gateway; bootstrap lists add up).
//
//   "p2pmcp": {
//     "listen":    ["/ip4/0.0.0.0/tcp/4021"],
//     "bootstrap": ["/ip4/192.0.2.10/tcp/4021/p2p/12D3KooW..."],
//     "peers":     {"laptop": "/ip4/192.0.2.11/tcp/4021/p2p/12D3KooW..."},  // named, trusted bootstrap peers
//     "trust":     ["12D3KooW...", {"id": "12D3KooW...", "name": "desk"}],  // trusted peers
//     "gateway":   {"host": "127.0.0.1", "port": 7469,
//                   "maxSessions": 64,           // then the least recently used idle one is closed
//                   "sessionIdleSeconds": 1800}  // an idle session expires after this
//                  | false,
//     "allow":     {"files": ["12D3KooW..."], "*": "trusted"},   // "trusted" | "all" | [peer IDs]
//     "maxMessageBytes": 4194304,
//     "forgetPeersAfter": 600,     // seconds a peer may be gone before its servers are dropped
//     "limits": {"serversPerPeer": 32, "itemsPerList": 512, "nameBytes": 128,
//                "descriptionBytes": 8192, "schemaBytes": 65536, "listBytes": 4194304,
//                // the host's resource manager (default: from the machine, README "Limits")
//                "connections": 512, "connectionsPerPeer": 8, "connectionsPerAddress": 64,
//                "handshakes": 64, "handshakesPerAddress": 16, "streamsPerPeer": 2048,
//                "memoryBytes": 268435456}
//   }
//
// Parsing never throws on any input (fuzzed with the config, fuzz_mcp_config); each
// problem is one sentence naming the key. The app interprets the values
// (apps/p2pmcp/mcp_node.cpp).
#pragma once

#include "mcp/server/catalogue_limits.hpp"

#include "p2p/core/multiaddr.hpp"
#include "p2p/core/peer_id.hpp"

#include "mcp/jsonrpc/json.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

namespace mcp::server {

inline constexpr std::uint16_t default_gateway_port = 7469;

struct bootstrap_peer {
  p2p::multiaddr address;  // ends in /p2p/<id>
  p2p::peer_id peer;
  std::string alias;       // from "peers", else empty (the default alias is used)
};

// Who may use one hosted server over libp2p: the peers the user trusts (the default),
// everyone (an open node, on purpose), or exactly the listed peer IDs.
struct access_rule {
  enum class kind { trusted, all, listed };
  kind who = kind::trusted;
  std::set<std::string> peers;  // peer IDs (text) when who == listed
  bool allows(const std::string& peer, bool peer_is_trusted) const {
    switch (who) {
      case kind::trusted: return peer_is_trusted;
      case kind::all: return true;
      case kind::listed: return peers.count(peer) > 0;
    }
    return false;
  }
};

// A peer the config trusts by ID (the "trust" list); named peers of "peers" are trusted too.
struct trusted_peer {
  p2p::peer_id peer;
  std::string name;  // alias, or empty
};

// Overrides of the host's resource limits (src/p2p/resource); 0 keeps the machine's
// default.
struct connection_limits {
  std::size_t connections = 0;              // authenticated, all peers
  std::size_t connections_per_peer = 0;
  std::size_t connections_per_address = 0;  // strangers' authenticated connections per IP (/64)
  std::size_t handshakes = 0;               // inbound connections in their handshake
  std::size_t handshakes_per_address = 0;
  std::size_t streams_per_peer = 0;
  std::size_t memory_bytes = 0;             // the system scope's memory
};

struct node_settings {
  std::vector<p2p::multiaddr> listen;
  std::vector<bootstrap_peer> bootstrap;  // "bootstrap" (connect only) and "peers" (with alias: trusted)
  std::vector<trusted_peer> trust;        // "trust"
  bool gateway_enabled = true;
  std::string gateway_host = "127.0.0.1";
  std::uint16_t gateway_port = default_gateway_port;
  std::size_t gateway_max_sessions = 64;
  std::uint32_t gateway_session_idle_seconds = 1800;
  std::map<std::string, access_rule> allow;  // by server name; "*" is the default rule
  std::size_t max_message_bytes = 4 * 1024 * 1024;
  // How long a disconnected peer's MCP servers stay known (and keep being retried)
  // before they are dropped. Bootstrap and named peers are never dropped.
  std::uint32_t forget_peers_after_seconds = 600;
  catalogue_limits limits;  // what a peer's servers may put into this node
  connection_limits connections;  // the host's resource limits ("limits" too)

  // Whether the config itself trusts `peer` (named in "peers" or listed in "trust").
  bool trusts(const p2p::peer_id& peer) const;

  const access_rule& rule_for(const std::string& server) const;
};

// `settings` is the config's "p2pmcp" value (null when absent). `file` labels messages.
std::variant<node_settings, std::string> parse_node_settings(const mcp::json& settings, const std::string& file);

// A peer alias as "peers" and the trust file accept: 1-32 letters, digits, '_' or '-',
// and not "local".
bool is_valid_peer_name(const std::string& name);

// A multiaddr that must name its peer (/p2p/<id> at the end): for bootstrap entries.
std::variant<bootstrap_peer, std::string> parse_bootstrap(const std::string& text);

}  // namespace mcp::server
