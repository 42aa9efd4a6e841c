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

#include "mcp/jsonrpc/line_framer.hpp"

#include "p2p/core/signal.hpp"
#include "p2p/core/stream.hpp"
#include "p2p/core/task_group.hpp"

#include <nlohmann/json.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace mcp::server {

using json = nlohmann::json;

// The MCP revisions we speak, newest first (the first is the one we ask for).
inline const std::vector<std::string> default_protocol_versions = {"2025-11-25", "2025-06-18", "2025-03-26"};

enum class server_state {
  starting,    // spawned (or about to be), lifecycle not complete; requests wait for ready
  ready,       // initialized; requests go through
  restarting,  // died; waiting for the backoff delay; requests fail at once
  stopped,     // stop() was called, or the spec is disabled; requests fail at once
};
std::string_view to_string(server_state state) noexcept;

// A failed request: the server's own JSON-RPC error (from_server), or one made here with
// the codes of mcp::jsonrpc::codes (-32000 server unavailable / exited, -32001 timeout,
// -32010 too many requests, -32011 message too large, -32602 bad params) and a sentence.
struct rpc_error {
  rpc_error() = default;
  // Not an aggregate on purpose: json converts to int, and a one-argument path from
  // json to rpc_error would make rpc_result<json>(value) ambiguous.
  rpc_error(int code_, std::string message_, json data_ = json(), bool from_server_ = false)
      : code(code_), message(std::move(message_)), data(std::move(data_)), from_server(from_server_) {}

  int code = 0;
  std::string message;
  json data;  // null when absent
  bool from_server = false;
  // {"code": ..., "message": ...[, "data": ...]}: the "error" member of a response.
  json to_json() const;
};
// For rpc_result<T>::value(): throws std::runtime_error(message).
[[noreturn]] void throw_exception_from_error(const rpc_error& e, const boost::source_location& loc);

template <class T>
using rpc_result = boost::system::result<T, rpc_error>;

struct stdio_server_options {
  json client_info = {{"name", "p2pmcp"}, {"version", "0.1.0"}};
  json capabilities = json::object();  // the client capabilities we declare
  // Newest first; the first is requested, any of them is accepted in the answer.
  std::vector<std::string> protocol_versions = default_protocol_versions;
  duration initialize_timeout = std::chrono::seconds(30);
  // Per tools/list page.
  duration list_timeout = std::chrono::seconds(30);
  std::size_t max_tool_pages = 64;
  std::size_t max_tools = 4096;
  // A request's timeout restarts on each progress notification for it, but it never runs
  // longer than this (basic/lifecycle "Timeouts": SHOULD enforce a maximum).
  duration max_request_duration = std::chrono::minutes(10);
  // Shutdown: after closing stdin, wait this long before SIGTERM, and as long again
  // before SIGKILL.
  duration stop_grace = std::chrono::seconds(3);
  // After the child exited: how long to wait for the rest of its stdout/stderr.
  duration exit_drain = std::chrono::seconds(1);
  backoff_policy backoff;
  std::size_t max_line_length = jsonrpc::default_max_line_length;  // per stdout message
  std::size_t max_stderr_line = 4096;       // longer stderr lines are cut
  std::size_t stderr_lines_kept = 20;       // recent_stderr()
  std::size_t max_queued_messages = 256;    // server-initiated messages not yet taken
  std::size_t max_pending_requests = 256;   // request() calls waiting for a response
  std::size_t max_output_buffer = 16 * 1024 * 1024;  // bytes queued for the child's stdin
};

// A message the server sent on its own: a notification (progress, list_changed, logging,
// cancelled, ...) or a server-to-client request (sampling, elicitation, roots/list).
// `ping` requests are answered here and never queued.
struct server_message {
  json message;
  std::uint64_t session = 0;  // which run of the child sent it (respond() checks it)
  bool is_request() const noexcept;
  std::string method() const;
};

class stdio_server {
 public:
  stdio_server(asio::any_io_executor executor, server_spec spec, stdio_server_options options = {});
  ~stdio_server();
  stdio_server(const stdio_server&) = delete;
  stdio_server& operator=(const stdio_server&) = delete;

  // Runs the server until stop(): spawn, lifecycle, restarts. Returns once the child has
  // exited and been reaped and every coroutine run() started has ended. Call once. A
  // disabled spec returns at once in state stopped. Terminal cancellation of run() acts
  // as stop() without the grace periods (SIGKILL at once).
  task<void> run();
  // Asks run() to stop (see the header comment). Requests fail at once from now on.
  void stop() noexcept;

  const std::string& name() const noexcept { return spec_.name; }
  const server_spec& spec() const noexcept { return spec_; }
  server_state state() const noexcept { return state_; }
  // The most recent failure as a sentence ("MCP server 'x' exited with status 1"), kept
  // after a successful restart; empty if none yet.
  const std::string& last_error() const noexcept { return last_error_; }
  // What a request made now would fail with, or empty when ready/starting:
  // "MCP server 'x' exited with status 1; restarting in 2 s" / "MCP server 'x' is stopped".
  std::string unavailable_reason() const;
  // Counts every state change; state_changed() completes when it differs from `seen`.
  std::uint64_t state_version() const noexcept { return state_version_; }
  task<void> state_changed(std::uint64_t seen);
  // Completes when the state is `wanted`, or it is stopped. False if it stopped instead
  // (or `wanted` was not reached before the calling coroutine was cancelled).
  task<bool> wait_for_state(server_state wanted);

  // Negotiated in the current (or last) session.
  const std::string& protocol_version() const noexcept { return protocol_version_; }
  const json& server_info() const noexcept { return server_info_; }
  const json& server_capabilities() const noexcept { return server_capabilities_; }
  const std::string& instructions() const noexcept { return instructions_; }
  // Times the child was started.
  std::uint64_t session() const noexcept { return session_; }
  // The child's pid while one is running.
  std::optional<int> pid() const noexcept;

  // Sends a request with a fresh id and waits for its response. While starting, waits
  // for ready (within `timeout`); while restarting or stopped, fails at once. `timeout`
  // restarts with each notifications/progress carrying this request's
  // params._meta.progressToken (the caller chooses the token; the notifications are
  // also queued for the caller), up to options.max_request_duration. On timeout, or
  // when the calling coroutine is cancelled, the server gets notifications/cancelled.
  // `params` must be an object or null. `initialize` is refused: the lifecycle is ours.
  task<rpc_result<json>> request(std::string method, json params, duration timeout);
  // Sends a notification when ready; false otherwise (or when the output is full).
  bool notify(std::string method, json params = json());

  // Server-initiated messages in arrival order. next_message waits; nullopt once stopped
  // and drained (or when the calling coroutine is cancelled).
  std::optional<server_message> poll_message();
  task<std::optional<server_message>> next_message();
  std::size_t queued_messages() const noexcept { return queue_.size(); }
  // Messages dropped because the queue was full (requests among them were answered
  // with -32010).
  std::uint64_t dropped_messages() const noexcept { return dropped_messages_; }
  // Answers a server-to-client request. False when that run of the child has ended
  // (the request died with it) or `request` is not a request.
  bool respond(const server_message& request, json result);
  bool respond_error(const server_message& request, int code, std::string message, json data = json());

  // The server's tools as it listed them (each an object with a string "name"); the
  // last known list is kept while restarting. tools_version() counts changes;
  // tools_changed() completes when it differs from `seen` or the server stopped.
  const std::vector<json>& tools() const noexcept { return tools_; }
  std::uint64_t tools_version() const noexcept { return tools_version_; }
  task<void> tools_changed(std::uint64_t seen);

  // The last stderr lines (at most options.stderr_lines_kept); every line also goes to
  // p2p::log at info level, component "mcp/<name>".
  const std::deque<std::string>& recent_stderr() const noexcept { return stderr_lines_; }

 private:
  struct pending_request;

  task<void> run_session(restart_backoff& backoff);
  task<void> read_stdout();
  task<void> read_stderr();
  task<void> write_stdin();
  task<void> watch_exit();
  task<void> lifecycle();
  task<void> refresh_tools();
  // Sends a request in the current session, whatever the state.
  task<rpc_result<json>> call(std::string method, json params, duration timeout);

  void handle_frame(jsonrpc::frame frame);
  void handle_message(json message);
  void handle_response(const json& message);
  void handle_progress(const json& message);
  void handle_oversized(const jsonrpc::frame& frame);
  void handle_stderr_line(std::string_view line);
  void enqueue(json message);
  bool send(const json& message);
  void fail_pending(const rpc_error& error);
  void set_state(server_state state);
  void set_tools(std::vector<json> tools);
  void fatal(std::string sentence);
  void wake_supervisor() noexcept;
  void wake_waiters() noexcept;
  // The supervisor (run / run_session) waits here until `done` or the deadline; false
  // at the deadline.
  using condition = bool (*)(const stdio_server&);
  task<bool> supervise_until(condition done, time_point deadline);
  rpc_error unavailable_error() const;
  std::string describe_request(std::string_view method) const;

  asio::any_io_executor executor_;
  server_spec spec_;
  stdio_server_options options_;
  std::string log_component_;

  server_state state_ = server_state::starting;
  std::uint64_t state_version_ = 0;
  std::string last_error_;
  time_point restart_at_{};
  bool stop_requested_ = false;
  bool hurry_ = false;  // run() was cancelled: no grace periods
  bool started_ = false;

  // The current run of the child.
  std::uint64_t session_ = 0;
  std::unique_ptr<child_process> child_;
  jsonrpc::line_framer framer_;
  std::string output_;
  bool session_over_ = true;
  bool stdin_closed_ = false;
  bool stdout_eof_ = false;
  bool stderr_eof_ = false;
  bool exited_ = false;
  std::optional<std::string> fatal_;
  std::optional<time_point> ready_since_;
  bool tools_dirty_ = false;
  std::string last_stderr_line_;    // of this run, for the exit sentence
  std::size_t noise_lines_ = 0;     // non-JSON-RPC stdout lines logged in this run

  std::string protocol_version_;
  json server_info_ = json::object();
  json server_capabilities_ = json::object();
  std::string instructions_;

  std::int64_t next_id_ = 1;
  std::map<std::int64_t, pending_request*> pending_;
  std::set<pending_request*> waiting_;  // every request() in progress, to wake on state changes

  std::deque<server_message> queue_;
  std::uint64_t dropped_messages_ = 0;
  bool dropping_ = false;

  std::vector<json> tools_;
  std::uint64_t tools_version_ = 0;

  std::deque<std::string> stderr_lines_;

  asio::steady_timer supervisor_timer_;
  p2p::signal write_wakeup_;
  p2p::signal lifecycle_wakeup_;
  p2p::signal state_signal_;
  p2p::signal queue_signal_;
  p2p::signal tools_signal_;
  p2p::task_group loops_;
};

}  // namespace mcp::server
