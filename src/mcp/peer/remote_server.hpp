// An MCP server hosted by a peer, reached over libp2p: the client side of "MCP over
// libp2p" (docs/protocol.md). One remote_server is one upstream (mcp/server/upstream.hpp)
// for one server on one peer; the node's front ends share it.
//
// run() asks the caller's opener for a libp2p stream (the caller's host dials the peer
// and negotiates protocol_for(name), protocol.hpp), runs the MCP lifecycle on it as the
// client, lists the server's tools and keeps them fresh; everything JSON-RPC is
// mcp::server::rpc_upstream's (rpc_upstream.hpp), exactly as for a hosted stdio server.
// When the stream ends (the peer closed or reset it, the connection broke, a write
// failed) every pending request fails at once with -32000 and a sentence:
//   "peer k3Xq9a disconnected during tools/call to server 'everything'"
// the state goes to restarting (here: waiting to reconnect) with unavailable_reason()
//   "peer k3Xq9a disconnected from server 'everything' (stream reset); reconnecting in 2 s"
// and run() opens a new stream after the backoff delay (or at once on retry_now(), which
// the node calls when the peer connects again), until stop(). A peer that
// answers initialize with an error (e.g. -32012, not allowed) is retried too, but not
// before options.refused_retry:
//   "server 'files' on peer k3Xq9a refused initialize: peer 12D3... is not allowed to use
//    server 'files' (code -32012); reconnecting in 5 min"
//
// Messages: at most options.max_line_length (4 MiB) per line from the peer (a longer
// response fails its request with -32011, the stream stays up), at most
// options.max_outgoing_line (4 MiB) per line to it (a longer request fails with -32011
// without being sent).
//
// stop(): pending requests fail at once ("server 'x' on peer k3Xq9a was stopped"); an
// open stream is closed for writing after what is queued, the peer gets
// options.close_grace to close its side, then the stream is reset; an opener still
// running is cancelled. Terminal cancellation of run() does the same without the grace.
//
// Coroutines: run() owns everything it starts, including the opener's coroutine
// (awaited before each reconnect and before run() returns; nothing detached). The
// opener must complete promptly when its coroutine is cancelled (Asio cancellation).
// The object must outlive run() and every call into it. Threading: one io_context thread.
#pragma once

#include "mcp/server/rpc_upstream.hpp"

#include "p2p/core/error.hpp"
#include "p2p/core/stream.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mcp::peer {

namespace asio = boost::asio;
using mcp::server::duration;
using mcp::server::json;
using p2p::task;

// Opens a new libp2p stream to the peer for the server's protocol (protocol_for(name)),
// already negotiated; an error when the peer cannot be reached or does not host it.
using stream_opener = std::function<task<p2p::result<std::unique_ptr<p2p::stream>>>()>;

struct remote_server_options : mcp::server::rpc_upstream_options {
  // Declares sampling {}, elicitation {} and roots {listChanged: true}: the node forwards
  // those server-to-client requests to its own clients.
  remote_server_options();

  // How long the opener may take (dial and negotiation included).
  duration connect_timeout = std::chrono::seconds(30);
  // On stop (or a failed lifecycle): after closing our write side, how long the peer
  // has to close its own before the stream is reset.
  duration close_grace = std::chrono::seconds(1);
  // After the peer answered initialize with an error (refused): wait at least this long
  // before trying again (the backoff's delay when that is longer).
  duration refused_retry = std::chrono::minutes(5);
};

// The request / server-message / tools / state API is rpc_upstream's (see
// rpc_upstream.hpp); state restarting means "waiting to reconnect", session() counts
// connection attempts.
class remote_server final : public mcp::server::rpc_upstream {
 public:
  // `name`: the server's name on the peer (a valid server name); `label`: how sentences
  // name the peer ("peer k3Xq9a", the caller's choice); `open`: see stream_opener.
  remote_server(asio::any_io_executor executor, std::string name, std::string label, stream_opener open,
                remote_server_options options = {});
  ~remote_server() override;

  const std::string& name() const noexcept override { return name_; }
  const std::string& label() const noexcept { return label_; }
  // Empty when ready or connecting; else a sentence: the last failure and when the next
  // attempt is ("...; reconnecting in 2 s"), or "server 'x' on peer k3Xq9a is stopped".
  std::string unavailable_reason() const override;
  // A stream is open (the lifecycle may still be running).
  bool is_connected() const noexcept { return stream_ != nullptr && !session_over_; }

 private:
  task<void> run_session(mcp::server::restart_backoff& backoff) override;
  task<bool> write_output(std::string_view data) override;
  task<void> close_output() override;
  mcp::server::rpc_error session_lost_error(std::string_view method) const override;

  task<void> open_stream();
  task<void> read_stream();

  std::string name_;
  std::string label_;
  stream_opener open_;
  duration connect_timeout_;
  duration close_grace_;
  duration refused_retry_;

  // The current session.
  std::unique_ptr<p2p::stream> stream_;
  bool open_done_ = false;
  std::string open_error_;
  bool input_ended_ = false;
  p2p::error_code input_error_;
  bool disconnected_ = false;  // the session ended because the stream did
};

}  // namespace mcp::peer
