// Small helpers for tests of MCP upstreams (stdio_server, remote_server): a tools/call,
// the text of its first content item, the cached tool names, waiting for a tool count.
#pragma once

#include "mcp/server/rpc_upstream.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace mcp::testing {

using mcp::server::json;
using mcp::server::rpc_result;

inline p2p::task<rpc_result<json>> call_tool(mcp::server::rpc_upstream& server, std::string name,
                                             json arguments = json::object(),
                                             p2p::duration timeout = std::chrono::seconds(10)) {
  // Built before the co_await: g++ 12 miscompiles braced json lists inside it.
  json params = json::object();
  params["name"] = std::move(name);
  params["arguments"] = std::move(arguments);
  co_return co_await server.request("tools/call", std::move(params), timeout);
}

inline std::string text_of(const rpc_result<json>& result) {
  if (!result) return "error: " + result.error().message;
  return (*result)["content"][0]["text"].get<std::string>();
}

inline std::vector<std::string> tool_names(const mcp::server::rpc_upstream& server) {
  std::vector<std::string> names;
  for (auto& tool : server.tools()) names.push_back(tool["name"]);
  return names;
}

inline p2p::task<void> wait_for_tools(mcp::server::rpc_upstream& server, std::size_t count) {
  while (server.tools().size() != count && server.state() != mcp::server::server_state::stopped)
    co_await server.tools_changed(server.tools_version());
}

}  // namespace mcp::testing
