// One MCP session per client session, end to end (docs/protocol.md: a stream is one MCP
// session). A hosted stdio server and a peer's server are each registered with the hub
// as one shared upstream (upstream.hpp), which the hub uses for what is about the server
// itself: its tool list and capabilities. A client session that sends the server a
// request gets its own upstream from the server's upstream_source instead:
//   - a hosted stdio server: its own child process (stdio_pool.hpp), from a small warm
//     pool, up to a per-server cap; a server declared `"shared": true` has no source and
//     every session uses the shared upstream (hub.hpp says how its messages are routed);
//   - a peer's server: its own libp2p stream (mcp/peer/remote_source.hpp), which the peer
//     serves with a session (and child) of its own.
// Everything such an upstream sends on its own (sampling, elicitation, log messages,
// progress, resource updates) is then for that one client session: nothing is guessed.
//
// Threading: one io_context thread. The source outlives every lease it gave out.
#pragma once

#include "mcp/server/upstream.hpp"

#include <memory>
#include <string>

namespace mcp::server {

// A client session's own upstream. Destroying the lease ends it (the child is stopped,
// the stream closed) in the background; the source keeps the object alive until its own
// tasks are done with it. The holder must not destroy the lease while a call into the
// upstream is still running (the hub waits for its requests and its reader first).
class upstream_lease {
 public:
  virtual ~upstream_lease() = default;
  virtual upstream& get() noexcept = 0;
};

class upstream_source {
 public:
  virtual ~upstream_source() = default;
  // A fresh upstream for one client session, already starting (a request made while it
  // starts waits, per upstream.hpp). `who` names the session for logs ("gateway session
  // 3f2a9c", "peer k3Xq9a"); `hello` is what its client said in initialize, which the
  // upstream's own initialize passes on (the version it asks for, the capabilities it
  // declares), so the server negotiates with the client, not with p2pmcp. Fails at once with an rpc_error whose message is a sentence
  // a user can act on: the per-server cap (codes::too_many_requests, naming the setting
  // to raise), or the server cannot be started.
  virtual rpc_result<std::unique_ptr<upstream_lease>> acquire(const std::string& who, const client_hello& hello) = 0;
  // Client sessions holding a lease now.
  virtual std::size_t leased() const noexcept = 0;
};

}  // namespace mcp::server
