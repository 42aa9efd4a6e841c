// `p2pmcp stdio`: MCP's stdio transport on one side (newline-delimited JSON-RPC on standard
// input and output, MCP specification 2025-11-25 basic/transports "stdio"), the node's
// Streamable HTTP gateway on the other (http_client). This is what stdio-only MCP clients
// such as Claude Desktop launch:
//   {"mcpServers": {"network": {"command": "p2pmcp", "args": ["stdio"]}}}
//
// - Every line read is parsed (mcp::jsonrpc::parse_line) and its messages are sent to the
//   gateway in input order; lines that are not JSON-RPC are answered with the parse
//   error, as a server would.
// - Every message from the gateway (responses, progress, logging, sampling and other
//   server requests, list_changed, ...) is written to the output as one line, in arrival
//   order; lines are written whole by one writer, never interleaved.
// - End of input: responses still pending get up to drain_timeout to arrive, then the
//   session is ended (DELETE) and run() returns 0. stop() does the same without waiting.
// - The gateway gone (nothing answers, the connection refused, the session ended): every
//   request still pending is answered with a -32000 error saying so ("the p2pmcp node
//   stopped: ..."), then run() returns 1.
// - A request the client cannot send gets an error response from the bridge: -32011 over
//   the size limit, -32600 invalid (e.g. a reused id), -32000 gateway unreachable.
// Logs go to stderr only (p2p::log): the output carries nothing but MCP messages.
#pragma once

#include "mcp/gateway/client/http_client.hpp"

#include <memory>
#include <optional>
#include <string>

namespace mcp::gateway::client {

struct bridge_options {
  // The descriptors to read and write; the bridge works on duplicates (dup), so the
  // caller's stay open and are the caller's to close. Made non-blocking (which affects
  // the caller's too: they share the open file description).
  int input_fd = 0;
  int output_fd = 1;
  client_config client;  // max_message_size also limits input lines (16 MiB)
  // At end of input, how long responses still pending may take before the bridge ends.
  p2p::duration drain_timeout = std::chrono::seconds(5);
  // Messages read from the gateway but not yet written; beyond, the gateway's streams
  // wait (backpressure to the node instead of unbounded buffering).
  std::size_t max_queued_lines = 256;
  // When set, no gateway is contacted: the first request read is answered with this
  // sentence as a -32000 error and run() returns 1 (no node is running, no gateway URL).
  std::optional<std::string> unavailable;
};

class stdio_bridge {
 public:
  // `url` is not used when options.unavailable is set.
  stdio_bridge(boost::asio::any_io_executor executor, gateway_url url, bridge_options options = {});
  ~stdio_bridge();
  stdio_bridge(const stdio_bridge&) = delete;
  stdio_bridge& operator=(const stdio_bridge&) = delete;

  // Runs until the input ends, stop(), or the gateway is gone. Returns the process exit
  // status: 0 when the input ended or stop() was called (the client went away, including
  // an output that can no longer be written), 1 when the gateway was unreachable or went
  // away, or the descriptors were unusable. Call once.
  task<int> run();
  // Ends run() as an end of input would, without waiting for pending responses (e.g. on
  // SIGTERM). Safe before and during run(), and more than once.
  void stop();

 private:
  class impl;
  std::unique_ptr<impl> impl_;
};

// Convenience: a bridge on `executor`, run once.
task<int> run_stdio_bridge(boost::asio::any_io_executor executor, gateway_url url, bridge_options options = {});

}  // namespace mcp::gateway::client
