// Streams to one MCP server of a peer, one per client session (mcp/server/
// upstream_source.hpp): docs/protocol.md's "a stream is one MCP session", so that the
// peer serves each of our clients with a session (and a child process) of its own.
//
// acquire() makes a new remote_server (remote_server.hpp) with the name, label, opener
// and options of the node's shared one for that server, and runs it in the source's
// task group: its own libp2p stream, its own initialize, which carries the client's
// hello (its protocol version and capabilities; the peer passes them on to the session
// it serves the stream with, so they are negotiated end to end). A request made while it
// connects waits, as with any remote_server. Destroying the lease stops it (the stream
// is closed after what is queued, then reset after close_grace); the source destroys it
// once its run() returned. If its stream breaks, that remote_server reconnects on its
// own as always (the peer then starts a fresh session: the client's state there is lost).
// Past options.max_sessions streams leased at once, acquire() fails at once with -32010
// (too_many_requests):
//   "server 'files' on peer k3Xq9a already has 64 sessions of this node's clients, each
//    on a stream of its own, which is the cap per server of a peer: close a session and
//    try again"
//
// Lifetimes: run() once, until stop(); it returns once every remote_server's run()
// returned. Leases must be destroyed before the source (the hub destroys them first); a
// lease still held when run() returns keeps its stopped remote_server until it is
// destroyed. The source must outlive run(). Threading: one io_context thread.
#pragma once

#include "mcp/peer/remote_server.hpp"
#include "mcp/server/upstream_source.hpp"

#include "p2p/core/supervisor_wait.hpp"
#include "p2p/core/task_group.hpp"


#include <cstddef>
#include <list>
#include <memory>
#include <string>

namespace mcp::peer {

struct remote_source_options {
  std::size_t max_sessions = 64;  // streams leased at once
};

class remote_source final : public mcp::server::upstream_source {
 public:
  // The arguments of the shared remote_server (quiet_lifecycle is set for the leased ones).
  remote_source(asio::any_io_executor executor, std::string name, std::string label, stream_opener open,
                remote_server_options server_options = {}, remote_source_options options = {});
  ~remote_source() override;
  remote_source(const remote_source&) = delete;
  remote_source& operator=(const remote_source&) = delete;

  // Until stop(); then stops every stream and returns once all of them ended. Terminal
  // cancellation acts as stop() without the grace period.
  task<void> run();
  // From now on acquire() fails ("server 'x' on peer k3Xq9a is stopped").
  void stop() noexcept;

  // remote_server::retry_now() for every stream waiting to reconnect (the peer is back).
  void retry_now() noexcept;

  // Errors: -32010 at the cap, -32000 when stopped.
  mcp::server::rpc_result<std::unique_ptr<mcp::server::upstream_lease>> acquire(
      const std::string& who, const mcp::server::client_hello& hello) override;
  std::size_t leased() const noexcept override { return leased_; }
  // remote_servers whose run() has not returned (leased and stopping).
  std::size_t running() const noexcept { return running_; }

  const std::string& name() const noexcept { return name_; }
  const std::string& label() const noexcept { return label_; }

 private:
  struct entry;
  class lease;

  void release(entry& e);
  task<void> run_entry(entry* e);
  std::string subject() const { return "server '" + name_ + "' on " + label_; }

  asio::any_io_executor executor_;
  std::string name_;
  std::string label_;
  stream_opener open_;
  remote_server_options server_options_;
  remote_source_options options_;
  std::list<std::unique_ptr<entry>> entries_;
  std::size_t leased_ = 0;
  std::size_t running_ = 0;
  bool stopping_ = false;
  p2p::task_group tasks_;  // each remote_server's run()
  p2p::supervisor_wait wakeup_;  // run() sleeps here until a stream ends or stop()
};

}  // namespace mcp::peer
