// Serves one MCP session over a byte stream carrying newline-delimited JSON-RPC (MCP's
// stdio framing): the serving side of the peer hop, where the stream is a libp2p stream
// a peer opened for /p2pmcp/mcp/1.0.0/<server> (docs/protocol.md).
//
// The peer is the MCP client. Requests run concurrently (each answered when its
// upstream answers); notifications and responses are handled in arrival order. Lines
// over max_line get -32011 for their request (when the id can be recovered) and are
// dropped; text that is not JSON-RPC gets the JSON-RPC error the spec asks for. The
// session ends when the peer closes its side or resets the stream, or on stop: then
// requests still running are cancelled upstream, and what was already answered is
// written out before our side closes.
#pragma once

#include "mcp/hub/hub.hpp"

#include "p2p/core/stream.hpp"

#include <cstddef>

namespace mcp::hub {

struct stream_session_options {
  std::size_t max_line = 4 * 1024 * 1024;          // per incoming message
  std::size_t max_output = 16 * 1024 * 1024;       // queued for a peer that does not read: reset beyond
  std::size_t max_concurrent_requests = 64;        // beyond: -32010 at once
};

// Runs until the session ends. `s` and `h` outlive the call.
task<void> serve_stream(hub& h, p2p::stream& s, session_options options, stream_session_options limits = {});

}  // namespace mcp::hub
