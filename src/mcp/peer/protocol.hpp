// Protocol ids of MCP over libp2p: one libp2p protocol per hosted MCP server,
//   /p2pmcp/mcp/1.0.0/<server>
// so identify's protocol list says which servers a node hosts, and multistream-select
// picks the server when a stream opens. A stream is one MCP session with that server
// (newline-delimited JSON-RPC, the dialer is the MCP client); see docs/protocol.md.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mcp::peer {

inline constexpr std::string_view protocol_prefix = "/p2pmcp/mcp/1.0.0/";

// The protocol id for a hosted server. `server` should be a valid server name
// (mcp::server::is_valid_server_name); it is not checked here.
std::string protocol_for(std::string_view server);

// The server a protocol id names: the rest after protocol_prefix when it is a valid
// server name (^[a-zA-Z0-9_-]{1,32}$); nullopt for any other id.
std::optional<std::string> server_from_protocol(std::string_view protocol_id);

}  // namespace mcp::peer
