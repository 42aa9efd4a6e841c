// The client side of MCP sessions spoken as newline-delimited JSON-RPC over a byte
// transport: the part that stdio_server (a child's pipes) and mcp::peer::remote_server
// (a libp2p stream) share. One object runs one session after another (a restart, a
// reconnect); callers see one upstream (upstream.hpp) throughout.
//
// What it does, per session (MCP specification 2025-11-25, basic/lifecycle,
// basic/utilities/progress, cancellation and ping, server/tools):
// - the lifecycle as the client: initialize with our clientInfo and capabilities asking
//   for the first of our protocol versions, accepting any of them back (anything else
//   fails the session, as "the client SHOULD disconnect"), notifications/initialized;
// - requests: fresh integer ids (one counter for the object's life), a pending map, a
//   timeout restarted by each notifications/progress for the request's progressToken up
//   to max_request_duration, notifications/cancelled to the server on timeout or when
//   the caller's coroutine is cancelled, -32010 past max_pending_requests, -32011 for a
//   request line over max_outgoing_line or a response over max_line_length;
// - server messages: notifications and server-to-client requests queued (bounded) for
//   one reader, respond()/respond_error() valid only in the session that asked, `ping`
//   answered here;
// - tools: tools/list with its pagination after ready, again on
//   notifications/tools/list_changed; the last list is kept between sessions;
// - state (starting / ready / restarting / stopped) with signals, so callers and tests
//   wait without sleeping; restarts paced by restart_backoff.
//
// What an implementation adds (see "For implementations" below): the transport. Its
// run_session() opens it, feeds what it reads to handle_input(), writes what
// write_loop() hands to write_output(), spawns lifecycle(), waits with
// supervise_until() for the session to end, then calls end_session().
//
// Coroutines: run() owns everything it starts (loops_, awaited before each restart and
// before run() returns; nothing detached). The caller's coroutines (request,
// next_message, state_changed, tools_changed, wait_for_state) are the caller's; they
// complete promptly when the upstream stops. The object must outlive run() and all of
// those calls. Threading: everything on one io_context thread.
#pragma once

#include "mcp/server/restart_backoff.hpp"
#include "mcp/server/catalogue_limits.hpp"
#include "mcp/server/upstream.hpp"

#include "mcp/jsonrpc/line_framer.hpp"

#include "p2p/core/log.hpp"
#include "p2p/core/signal.hpp"
#include "p2p/core/task_group.hpp"

#include "mcp/jsonrpc/json.hpp"

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace mcp::server {

namespace asio = boost::asio;
using json = mcp::json;
using p2p::time_point;

// The MCP revisions we speak, newest first (the first is the one we ask for).
inline const std::vector<std::string> default_protocol_versions = {"2025-11-25", "2025-06-18", "2025-03-26"};

enum class server_state {
  starting,    // starting (spawning / connecting), lifecycle not complete; requests wait for ready
  ready,       // initialized; requests go through
  restarting,  // the session ended; waiting for the backoff delay (a restart or a reconnect);
               // requests fail at once
  stopped,     // stop() was called, or the upstream is disabled; requests fail at once
};
std::string_view to_string(server_state state) noexcept;

struct rpc_upstream_options {
  json client_info = {{"name", "p2pmcp"}, {"version", "0.1.0"}};
  json capabilities = json::object();  // the client capabilities we declare
  // Newest first; the first is requested, any of them is accepted in the answer.
  std::vector<std::string> protocol_versions = default_protocol_versions;
  duration initialize_timeout = std::chrono::seconds(30);
  // Per tools/list page.
  duration list_timeout = std::chrono::seconds(30);
  std::size_t max_tool_pages = 64;
  std::size_t max_tools = 4096;
  // Total size of the kept tool list (compact JSON): tools beyond it are ignored, so a
  // hostile server cannot make the cache hold 64 pages of 4 MiB.
  std::size_t max_tools_bytes = 16 * 1024 * 1024;
  // Set (remote servers: a peer's word): the tool list also obeys these caps (sizes of
  // names, descriptions, schemas; count; bytes), with one log line for what was dropped.
  std::optional<catalogue_limits> catalogue;
  // A request's timeout restarts on each progress notification for it, but it never runs
  // longer than this (basic/lifecycle "Timeouts": SHOULD enforce a maximum).
  duration max_request_duration = std::chrono::minutes(10);
  backoff_policy backoff;
  // Per message from the server (a longer line is dropped; see handle_input).
  std::size_t max_line_length = jsonrpc::default_max_line_length;
  // Per message to the server: a request over it fails with -32011 without being sent.
  std::size_t max_outgoing_line = jsonrpc::default_max_line_length;
  std::size_t max_queued_messages = 256;   // server-initiated messages not yet taken
  std::size_t max_pending_requests = 256;  // request() calls waiting for a response
  std::size_t max_output_buffer = 16 * 1024 * 1024;  // bytes queued for the server
  // One client session's own upstream (stdio_pool, remote_source), of which there may be
  // many: the routine lifecycle lines (started, ready, tools offered, stopped) are
  // logged at debug level instead of info. Failures are logged as always.
  bool quiet_lifecycle = false;
  // One client session's own upstream, possibly started before its client is known (a
  // warm process): initialize waits for hello(), so that it carries that client's
  // protocol version and capabilities (upstream_source.hpp).
  bool await_hello = false;
  // Fetch and keep the server's tool list (tools()). Off for a client session's own
  // upstream: the node lists the tools of the server's shared upstream (its catalogue),
  // so each session's child would only cost a round trip and a copy of the list.
  bool list_tools = true;
};

// `ping` requests from the server are answered here and never queued.
class rpc_upstream : public upstream {
 public:
  rpc_upstream(const rpc_upstream&) = delete;
  rpc_upstream& operator=(const rpc_upstream&) = delete;
  ~rpc_upstream() override;

  // Runs sessions until stop(): run_session() again after each end, paced by the
  // backoff. Returns once every coroutine it started has ended. Call once (a second
  // call returns at once). A disabled upstream returns at once in state stopped.
  // Terminal cancellation of run() acts as stop() without grace periods.
  task<void> run();
  // Asks run() to stop. Requests fail at once from now on.
  void stop() noexcept;
  // While waiting out the backoff delay (state restarting), starts the next session now:
  // for a reason to believe it would work (the peer just connected again). Ignored in
  // any other state.
  void retry_now() noexcept;

  bool available() const noexcept override { return state_ == server_state::ready; }
  server_state state() const noexcept { return state_; }
  // The most recent failure as a sentence, kept after a successful restart; empty if
  // none yet.
  const std::string& last_error() const noexcept { return last_error_; }
  // Counts every state change; state_changed() completes when it differs from `seen`,
  // when the upstream is stopped, or when the calling coroutine is cancelled.
  std::uint64_t state_version() const noexcept override { return state_version_; }
  task<void> state_changed(std::uint64_t seen) override;
  // Completes when the state is `wanted`, or it is stopped. False if it stopped instead
  // (or `wanted` was not reached before the calling coroutine was cancelled).
  task<bool> wait_for_state(server_state wanted);

  // The client this upstream serves alone: its initialize asks for hello.protocol_version
  // when it is one of options.protocol_versions (else the first of them) and declares
  // hello.capabilities instead of options.capabilities. Kept for later sessions (a
  // restart). With options.await_hello, initialize waits for this call.
  void hello(client_hello hello);
  // Started and waiting for hello() (options.await_hello): a warm process.
  bool awaiting_hello() const noexcept { return awaiting_hello_; }

  // Negotiated in the current (or last) session.
  const std::string& protocol_version() const noexcept override { return protocol_version_; }
  const json& server_info() const noexcept override { return server_info_; }
  const json& server_capabilities() const noexcept override { return server_capabilities_; }
  const std::string& instructions() const noexcept override { return instructions_; }
  // Sessions begun so far (child starts, connection attempts).
  std::uint64_t session() const noexcept { return session_; }

  // Sends a request with a fresh id and waits for its response. While starting, waits
  // for ready (within `timeout`); while restarting or stopped, fails at once. `timeout`
  // restarts with each notifications/progress carrying this request's
  // params._meta.progressToken (the caller chooses the token; the notifications are
  // also queued for the caller), up to options.max_request_duration. On timeout, or
  // when the calling coroutine is cancelled, the server gets notifications/cancelled.
  // `params` must be an object or null. `initialize` is refused: the lifecycle is ours.
  task<rpc_result<json>> request(std::string method, json params, duration timeout,
                                 const std::string* cancel_reason = nullptr) override;
  // Sends a notification when ready; false otherwise (or when the output is full or the
  // line is over options.max_outgoing_line).
  bool notify(std::string method, json params = json()) override;

  // Server-initiated messages in arrival order. next_message waits; nullopt once stopped
  // and drained (or when the calling coroutine is cancelled).
  std::optional<server_message> poll_message();
  task<std::optional<server_message>> next_message() override;
  std::size_t queued_messages() const noexcept { return queue_.size(); }
  // Messages dropped because the queue was full (requests among them were answered
  // with -32010).
  std::uint64_t dropped_messages() const noexcept { return dropped_messages_; }
  // Answers a server-to-client request. False when the session that sent it has ended
  // (the request died with it), `request` is not a request, or the output is full. An
  // answer over options.max_outgoing_line is replaced by a -32011 error (and false).
  bool respond(const server_message& request, json result) override;
  bool respond_error(const server_message& request, int code, std::string message,
                     json data = json()) override;

  // The server's tools as it listed them (each an object with a string "name"); the
  // last known list is kept between sessions. tools_version() counts changes;
  // tools_changed() completes when it differs from `seen` or the upstream stopped.
  const std::vector<json>& tools() const noexcept override { return tools_; }
  std::uint64_t tools_version() const noexcept override { return tools_version_; }
  task<void> tools_changed(std::uint64_t seen) override;

 protected:
  // `subject` names the server in sentences: "MCP server 'files'", "server 'files' on
  // peer k3Xq9a". `log_component` labels log lines.
  rpc_upstream(asio::any_io_executor executor, std::string subject, std::string log_component,
               rpc_upstream_options options);

  // ---- For implementations: what they provide.

  // One session, from opening the transport to end_session() and loops_.wait().
  virtual task<void> run_session(restart_backoff& backoff) = 0;
  // Writes bytes to the server (all of them); false when the transport failed.
  virtual task<bool> write_output(std::string_view data) = 0;
  // Closes the write side; called by write_loop() once close_output_when_drained() was
  // asked for and everything queued before it was written.
  virtual task<void> close_output() { co_return; }
  // What a pending request gets when a session ends other than by stop() (default:
  // unavailable_error(), which already says why and when the next try is).
  virtual rpc_error session_lost_error(std::string_view method) const { return unavailable_error(); }
  // A disabled upstream never runs a session.
  virtual bool is_disabled() const noexcept { return false; }

  // ---- For implementations: what they call.

  // Starts a session: a fresh framer and output buffer, the session counter, flags.
  void begin_session();
  // Bytes read from the server, any split; end of its output (a last line without a
  // newline still counts).
  void handle_input(std::string_view data);
  void handle_end_of_input();
  // Writes queued output with write_output() until the session ends, the output is
  // closed, or a write fails (then output_failed_ is set and the supervisor woken).
  task<void> write_loop();
  // After what is queued, close the output (close_output()); no more sends.
  void close_output_when_drained();
  // The lifecycle and then tools/list and its refreshes, until the session ends.
  task<void> lifecycle();
  // Ends the session: marks it over, and either (stop requested) fails pending requests
  // with "<subject> was stopped", or records `cause` as last_error(), schedules the next
  // session after the backoff delay (at least `min_delay`), enters restarting and fails
  // pending requests with session_lost_error(). Wakes write_loop() and lifecycle().
  void end_session(restart_backoff& backoff, std::string cause, duration min_delay = duration::zero());
  // info, or debug with options_.quiet_lifecycle: for the routine lifecycle lines.
  p2p::log::level lifecycle_level() const noexcept;
  // Fails every pending request at once with the error `make` gives for its method.
  void fail_pending(const std::function<rpc_error(std::string_view method)>& make);
  // The supervisor (run() and run_session()) waits here until done() or the deadline;
  // false at the deadline. Terminal cancellation of run() makes the first wait call
  // stop() and sets hurry_ (skip grace periods); later waits with a deadline end at once.
  task<bool> supervise_until(std::function<bool()> done, time_point deadline);
  void wake_supervisor() noexcept;
  // The session failed in a way that must end it: the first sentence wins.
  void fatal(std::string sentence);
  // -32000 with unavailable_reason() (or "<subject> is not available").
  rpc_error unavailable_error() const;
  const std::string& subject() const noexcept { return subject_; }

  asio::any_io_executor executor_;
  rpc_upstream_options options_;
  std::string log_component_;

  bool stop_requested_ = false;
  bool retry_requested_ = false;  // retry_now() during the backoff delay
  bool hurry_ = false;  // run() was cancelled: no grace periods
  time_point restart_at_{};

  // The current session.
  bool session_over_ = true;
  bool output_closed_ = false;       // no more writes (closed or failed)
  bool output_failed_ = false;       // a write failed
  std::optional<std::string> fatal_;
  bool initialize_refused_ = false;  // the server answered initialize with an error

  // Coroutines of the current session (readers, write_loop, lifecycle, ...).
  p2p::task_group loops_;

 private:
  struct pending_request;

  task<void> refresh_tools();
  // Sends a request in the current session, whatever the state.
  task<rpc_result<json>> call(std::string method, json params, duration timeout,
                              const std::string* cancel_reason = nullptr);

  void handle_frame(jsonrpc::frame frame);
  void handle_message(json message);
  void handle_response(const json& message);
  void handle_progress(const json& message);
  void handle_oversized(const jsonrpc::frame& frame);
  void enqueue(json message);
  bool send(const json& message);
  bool send_line(std::string line);
  bool answer(const server_message& request, json response);
  void set_state(server_state state);
  void set_tools(std::vector<json> tools);
  void wake_waiters() noexcept;
  std::string describe_request(std::string_view method) const;
  std::string over_limit(std::size_t size, std::size_t limit) const;

  std::string subject_;
  bool started_ = false;

  server_state state_ = server_state::starting;
  std::uint64_t state_version_ = 0;
  std::string last_error_;

  std::uint64_t session_ = 0;
  jsonrpc::line_framer framer_;
  std::string output_;
  bool closing_output_ = false;
  std::optional<time_point> ready_since_;
  bool tools_dirty_ = false;
  std::size_t noise_lines_ = 0;  // non-JSON-RPC lines logged in this session

  std::optional<client_hello> hello_;
  bool awaiting_hello_ = false;

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

  asio::steady_timer supervisor_timer_;
  p2p::signal write_wakeup_;
  p2p::signal lifecycle_wakeup_;
  p2p::signal state_signal_;
  p2p::signal queue_signal_;
  p2p::signal tools_signal_;
};

// Helpers for the sentences of implementations.
// now + d without overflow: duration::max() means "never".
time_point deadline_after(time_point from, duration d);
// Delays in sentences: whole seconds (rounded up) from one second on ("restarting in 2 s").
std::string describe_delay(duration d);
// Text from a server for a log line or a sentence: control characters (other than tab)
// become '?', so a hostile line cannot forge log lines or move the cursor; cut at `limit`.
std::string printable(std::string_view text, std::size_t limit);

}  // namespace mcp::server
