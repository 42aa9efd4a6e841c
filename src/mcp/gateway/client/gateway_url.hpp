// The address of a node's MCP endpoint, "http://127.0.0.1:7469/mcp" (issue-3 design: the
// gateway serves MCP Streamable HTTP on loopback; clients find the URL in
// <home>/node.json or get it from --gateway-url).
//
// Sans-IO: no Asio. Only what the gateway serves is accepted: plain http (no TLS), an IP
// address literal or "localhost" (no name resolution), an optional port (default 80) and
// a path with an optional query (default "/"); no user info.
#pragma once

#include "p2p/core/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace mcp::gateway::client {

struct gateway_url {
  std::string text;         // as given (for messages), without a fragment
  std::string address;      // IP literal to connect to ("127.0.0.1", "::1"); localhost -> 127.0.0.1
  std::uint16_t port = 80;
  std::string host_header;  // "127.0.0.1:7469", "[::1]:7469", "localhost:7469"
  std::string target;       // request-target: "/mcp", "/mcp?x=1"
};

// Parses `text`. Errors: errc::invalid_argument, with a sentence saying what is wrong
// and what a valid URL looks like in `*why` when given.
p2p::result<gateway_url> parse_url(std::string_view text, std::string* why = nullptr);

// The URL of one server's endpoint under the gateway URL `base`: "/<name>" appended to
// its path (before any query), `name` percent-encoded (everything but A-Z a-z 0-9 - . _ ~):
// http://127.0.0.1:7469/mcp + "k3Xq9a_files" -> http://127.0.0.1:7469/mcp/k3Xq9a_files.
gateway_url server_endpoint(const gateway_url& base, std::string_view name);

}  // namespace mcp::gateway::client
