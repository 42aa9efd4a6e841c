// The gateway's door for local MCP clients: each Streamable HTTP session
// (mcp/gateway/http) becomes a hub session. A request's progress and server-to-client
// requests go on its SSE reply when the client accepts one, else on the session's
// standalone GET stream.
//
// Endpoints (docs/protocol.md "Names at the gateway"):
//   <path>           every upstream at once, names prefixed "<alias>_<server>_" (aggregated);
//   <path>/<prefix>  one upstream, the one added to the hub under <prefix> ("local_files",
//                    "k3Xq9a_everything"), shown as that server itself: its own names,
//                    URIs, serverInfo, instructions and capabilities (a hub session with
//                    session_options::only, as the peer hop uses). Another name: 404.
#pragma once

#include "mcp/gateway/http/http_server.hpp"
#include "mcp/hub/hub.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace mcp::hub {

// The factory to pass to gateway::http_server::open. `h` outlives the server.
gateway::handler_factory make_http_front(hub& h);

// For http_server_config::endpoint_check: nullopt when `h` has an upstream with prefix
// `name`, else a sentence for the 404 that names the endpoints there are. `h` outlives
// the server.
std::optional<std::string> check_endpoint(const hub& h, std::string_view name, std::string_view base_path);

// Sets config.endpoint_check so that <path>/<prefix> serves one upstream of `h`.
void route_endpoints(gateway::http_server_config& config, const hub& h);

}  // namespace mcp::hub
