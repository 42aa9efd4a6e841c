// Child processes of one hosted stdio MCP server, one per client session
// (upstream_source.hpp): what makes "a stream is one MCP session" true for a server
// that keeps state per client (sampling, elicitation, logging, subscriptions all belong
// to the one client whose child it is). A server declared `"shared": true` has no pool.
//
// acquire() hands out a child of its own to each client session:
//   - a warm one when there is one (its process started and waiting for the client's
//     hello: initialize carries the client's protocol version and capabilities, so a
//     warm child saves the process start, not the round trip of initialize), else one
//     started now (a request made while it starts waits, as stdio_server's do);
//   - then the pool starts another in the background, so that spec.warm_sessions
//     (default 1) are kept ready for the next session;
//   - past spec.max_sessions (default 16) children leased at once, it fails at once with
//     -32010 (too_many_requests) and a sentence naming the server, the cap and the
//     setting to raise:
//       "MCP server 'files' already serves 16 client sessions, each with a process of
//        its own, which is its cap: close a session, or raise "maxSessions" in its
//        mcpServers entry (at most 1024), or set "shared": true if the server keeps no
//        state per client"
// Destroying a lease stops that child (stdio_server::stop: stdin closed, SIGTERM, then
// SIGKILL after the grace periods); the pool owns its run() task and destroys the
// child once it returned. A child that crashes while leased is restarted by its
// stdio_server with backoff as always (the client's session state is lost with it).
// Warm children not taken within options.idle (default 5 min) are stopped; the pool
// fills up again on the next acquire. run() fills the pool once at start.
//
// Logs: the session getting and ending its child at debug level (the children's own
// lifecycle lines too, see rpc_upstream_options::quiet_lifecycle), a refusal at the
// cap at info level.
//
// Lifetimes: run() once, until stop(); it returns once every child's run() returned.
// Leases must be destroyed before the pool (the hub destroys them first); a lease still
// held when run() returns keeps its stopped child until it is destroyed. The pool must
// outlive run(). Threading: one io_context thread.
#pragma once

#include "mcp/server/config.hpp"
#include "mcp/server/stdio_server.hpp"
#include "mcp/server/upstream_source.hpp"

#include "p2p/core/supervisor_wait.hpp"
#include "p2p/core/task_group.hpp"


#include <chrono>
#include <cstddef>
#include <list>
#include <memory>
#include <string>

namespace mcp::server {

// Whether a hosted server gets a pool: not when it is declared `"shared": true` (every
// session uses the node's one child) or is disabled.
inline bool uses_pool(const server_spec& spec) noexcept { return !spec.shared && !spec.disabled; }

struct stdio_pool_options {
  // For every child (quiet_lifecycle is set by the pool).
  stdio_server_options server;
  // A warm child not taken for this long is stopped.
  duration idle = std::chrono::minutes(5);
};

class stdio_pool final : public upstream_source {
 public:
  // The cap and the number kept warm are spec.max_sessions and spec.warm_sessions.
  stdio_pool(asio::any_io_executor executor, server_spec spec, stdio_pool_options options = {});
  ~stdio_pool() override;
  stdio_pool(const stdio_pool&) = delete;
  stdio_pool& operator=(const stdio_pool&) = delete;

  // Fills the pool, stops warm children past their idle time, until stop(); then stops
  // every child and returns once all of them ended. Terminal cancellation acts as stop()
  // without the children's grace periods.
  task<void> run();
  // From now on acquire() fails ("MCP server 'x' is stopped").
  void stop() noexcept;

  // See the header comment. Errors: -32010 at the cap; -32000 when the pool is stopped
  // or the server disabled.
  rpc_result<std::unique_ptr<upstream_lease>> acquire(const std::string& who, const client_hello& hello) override;
  std::size_t leased() const noexcept override { return leased_; }
  // Children started and not leased (ready or starting), and those of them that are ready.
  std::size_t warm() const noexcept;
  std::size_t warm_ready() const noexcept;
  // Every child whose run() has not returned (leased, warm, and stopping).
  std::size_t children() const noexcept { return running_; }

  const server_spec& spec() const noexcept { return spec_; }

 private:
  struct child;
  class lease;

  child& start_child();
  bool is_warm(const child& c) const noexcept;
  void refill();
  void release(child& c);
  void erase(child& c);
  task<void> run_child(child* c);
  void wake() noexcept { wait_.wake(); }

  asio::any_io_executor executor_;
  server_spec spec_;
  stdio_pool_options options_;
  std::list<std::unique_ptr<child>> children_;
  std::size_t leased_ = 0;
  std::size_t running_ = 0;
  bool stopping_ = false;
  // Each child's run().
  p2p::task_group tasks_;
  // run() sleeps here until the next idle deadline of a warm child or a wake().
  p2p::supervisor_wait wait_;
};

}  // namespace mcp::server
