// The commands that talk to a running node through its MCP gateway (issue-3 design):
// `p2pmcp stdio`, `tools`, `call`, `peers`, `status`. They find the gateway's URL in
// <home>/node.json ("gateway"), unless --gateway-url gives one.
//
// Each returns the process exit status and prints its own errors, one sentence on stderr
// prefixed "p2pmcp: ": 0 success, 1 the operation failed (no node running, the node
// refused, the tool reported an error), 2 the command line is wrong (bad --gateway-url,
// tool arguments that are not a JSON object).
#pragma once

#include "mcp/jsonrpc/json.hpp"

#include <filesystem>
#include <optional>
#include <string>

namespace p2pmcp {

struct client_options {
  std::filesystem::path home;              // the node's directory (holds node.json)
  std::optional<std::string> gateway_url;  // --gateway-url: overrides node.json
  std::optional<std::string> server;       // stdio --server: one server's endpoint
  bool json = false;                       // --json
};

// Bridges standard input/output (MCP stdio transport) to the node's gateway until input
// ends (0) or the node goes away (1). SIGINT/SIGTERM end it like end of input. With no
// node to talk to, it answers the client's first request with the reason and exits 1.
// With `server`, to that server's single-server endpoint (<gateway>/<server>).
int run_stdio(const client_options& options);

// Prints the node's tools: a table of name and the first line of the description, or
// with --json the tools array (all pages).
int run_tools(const client_options& options);

// Calls `tool` with `args_json` (a JSON object; empty means {}). Prints the result's text
// contents (structuredContent as JSON when there is no text), or with --json the whole
// result. A result with isError goes to stderr and exits 1.
int run_call(const client_options& options, const std::string& tool, const std::string& args_json);

// Calls local_node_peers and prints a table (alias, peer ID, connected, trusted, latency,
// servers) and, for each untrusted peer, the command that trusts it; or with --json its
// structuredContent.
int run_peers(const client_options& options);

// Calls local_node_info and prints what the node is: peer ID, agent, listen addresses,
// gateway, and each hosted server's state and tool count (with its last error), or with
// --json its structuredContent.
int run_status(const client_options& options);

// The structuredContent of the running node's local_node_peers ({"peers": [...]}), or
// nullopt with `problem` set to a sentence (no node running, the call failed).
std::optional<mcp::json> fetch_peers(const client_options& options, std::string& problem);

}  // namespace p2pmcp
