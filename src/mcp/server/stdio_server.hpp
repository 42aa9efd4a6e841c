// One hosted MCP server: a child process speaking newline-delimited JSON-RPC on its
// stdin/stdout (MCP basic/transports "stdio"), kept alive by the node.
//
// run() spawns the child (child_process.hpp), runs the MCP lifecycle as the client
// (basic/lifecycle: initialize with our clientInfo and capabilities, version
// negotiation, notifications/initialized), caches the server's tools (tools/list with
// its pagination cursors, refreshed on notifications/tools/list_changed), and restarts
// the child with exponential backoff (restart_backoff.hpp) whenever it exits, closes its
// stdout, or fails the lifecycle. stop() ends it the way the spec's shutdown section
// says: close its stdin, wait stop_grace, SIGTERM, wait stop_grace, SIGKILL.
//
// Callers (the peer hop, the gateway) use request() / notify(), read what the server
// sends on its own (notifications, server-to-client requests) from a bounded queue
// (next_message / poll_message) and answer its requests with respond(). Every failure
// is a sentence a user can act on, delivered at once, never a hang:
//   "MCP server 'files' exited with status 1; restarting in 2 s"
//   "request tools/call to MCP server 'files' timed out after 30 s without a response"
//
// Coroutines: run() owns everything it starts (a task_group awaited before each restart
// and before run() returns; nothing detached). The caller's coroutines (request,
// next_message, state_changed, tools_changed) are the caller's; they complete promptly
// when the server stops. The object must outlive run() and all of those calls.
//
// Process-wide effect: the constructor sets SIGPIPE to "ignore" if it is at its default,
// because writing to a pipe whose reader died would otherwise kill the node (children
// get SIGPIPE back at its default).
//
// Threading: everything on one io_context thread.
#pragma once

#include "mcp/server/child_process.hpp"
#include "mcp/server/config.hpp"
#include "mcp/server/restart_backoff.hpp"
#include "mcp/server/rpc_upstream.hpp"

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mcp::server {

struct stdio_server_options : rpc_upstream_options {
  // Shutdown: after closing stdin, wait this long before SIGTERM, and as long again
  // before SIGKILL.
  duration stop_grace = std::chrono::seconds(3);
  // After the child exited: how long to wait for the rest of its stdout/stderr.
  duration exit_drain = std::chrono::seconds(1);
  std::size_t max_stderr_line = 4096;  // longer stderr lines are cut
  std::size_t stderr_lines_kept = 20;  // recent_stderr()
};

// The request/queue/tools/state API is rpc_upstream's (rpc_upstream.hpp); what a
// restart means here: the child exited, closed its stdout, or failed the lifecycle.
// `ping` requests from the server are answered there and never queued.
class stdio_server final : public rpc_upstream {
 public:
  stdio_server(asio::any_io_executor executor, server_spec spec, stdio_server_options options = {});
  ~stdio_server() override;

  // run(): spawn, lifecycle, restarts, until stop(); returns once the child has exited
  // and been reaped and every coroutine run() started has ended. A disabled spec
  // returns at once in state stopped. Terminal cancellation of run() acts as stop()
  // without the grace periods (SIGKILL at once). stop(): see the header comment.

  const std::string& name() const noexcept override { return spec_.name; }
  const server_spec& spec() const noexcept { return spec_; }
  // last_error(): the most recent failure as a sentence ("MCP server 'x' exited with
  // status 1"), kept after a successful restart; empty if none yet.
  // What a request made now would fail with, or empty when ready/starting:
  // "MCP server 'x' exited with status 1; restarting in 2 s" / "MCP server 'x' is stopped".
  std::string unavailable_reason() const override;
  // session(): times the child was started.
  // The child's pid while one is running.
  std::optional<int> pid() const noexcept;

  // The last stderr lines (at most options.stderr_lines_kept); every line also goes to
  // p2p::log at info level, component "mcp/<name>".
  const std::deque<std::string>& recent_stderr() const noexcept { return stderr_lines_; }

 private:
  task<void> run_session(restart_backoff& backoff) override;
  task<bool> write_output(std::string_view data) override;
  bool is_disabled() const noexcept override { return spec_.disabled; }

  task<void> read_stdout();
  task<void> read_stderr();
  task<void> watch_exit();
  void handle_stderr_line(std::string_view line);

  server_spec spec_;
  duration stop_grace_;
  duration exit_drain_;
  std::size_t max_stderr_line_;
  std::size_t stderr_lines_kept_;

  // The current run of the child.
  std::unique_ptr<child_process> child_;
  bool stdout_eof_ = false;
  bool stderr_eof_ = false;
  bool exited_ = false;
  std::string last_stderr_line_;  // of this run, for the exit sentence

  std::deque<std::string> stderr_lines_;
};

}  // namespace mcp::server
