// The gateway's door for local MCP clients: each Streamable HTTP session
// (mcp/gateway/http) becomes a hub session that sees every upstream. A request's
// progress and server-to-client requests go on its SSE reply when the client accepts
// one, else on the session's standalone GET stream.
#pragma once

#include "mcp/gateway/http/http_server.hpp"
#include "mcp/hub/hub.hpp"

namespace mcp::hub {

// The factory to pass to gateway::http_server::open. `h` outlives the server.
gateway::handler_factory make_http_front(hub& h);

}  // namespace mcp::hub
