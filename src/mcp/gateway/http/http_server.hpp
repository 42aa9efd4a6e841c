// MCP Streamable HTTP server (MCP specification 2025-03-26, 2025-06-18, 2025-11-25,
// basic/transports "Streamable HTTP"): the gateway's door for ordinary MCP clients (MCP
// Inspector, the SDKs) on http://127.0.0.1:<port>/mcp. Only the transport lives here:
// what a message means is the business of a session_handler the server creates for each
// MCP session.
//
// Threading: everything runs on the executor passed to open(), one thread. Handlers are
// called on it and may call the client_session / response_channel methods from any
// coroutine on that thread, never from another thread.
//
// Beast stays in the .cpp files and the internal server_state.hpp; this header pulls in
// no Beast and only boost/asio/awaitable.hpp + any_io_executor.hpp from Asio.
#pragma once

#include "mcp/gateway/http/request_check.hpp"

#include "p2p/core/clock.hpp"
#include "p2p/core/error.hpp"
#include "p2p/core/random.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "mcp/jsonrpc/json.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mcp::gateway {

namespace detail {
struct server_state;  // server_state.hpp (internal)
}

template <class T>
using task = boost::asio::awaitable<T>;
using p2p::duration;

// Where the answer to one client request goes. The transport decides the HTTP shape:
// - respond() before any send(): one application/json response (the common case);
// - send() first: the reply becomes an SSE stream (text/event-stream) carrying the
//   intermediate messages and then the response, if the client's Accept allows
//   text/event-stream and an SSE stream slot is free;
// - a client that does not accept application/json gets an SSE stream in any case.
// Valid only while the on_message call it was passed to runs: respond before returning
// (the transport answers -32603 for a request whose handler returned without a
// response). Messages go out in the order they were given.
class response_channel {
 public:
  virtual ~response_channel() = default;

  // Whether intermediate messages can reach the client (it accepts SSE, a stream slot
  // is free or already taken, the connection and session are up, not yet answered).
  virtual bool can_stream() const noexcept = 0;

  // An intermediate message related to the request: notifications/progress, a log
  // message, a server-to-client request (sampling, elicitation, roots). Waits while the
  // stream's queue is full (backpressure). errc::closed when it cannot be delivered:
  // not a request, client does not stream, connection broken, session closed, or
  // already answered. A failure does not cancel the request (the spec: disconnection
  // is not cancellation); the handler decides.
  virtual task<p2p::result<void>> send(json message) = 0;

  // The final JSON-RPC response (result or error) for the request. Its "id" must be the
  // request's (errc::invalid_argument otherwise, nothing sent). errc::closed when the
  // reply can no longer be delivered or was already given.
  virtual task<p2p::result<void>> respond(json response) = 0;
};

enum class close_reason {
  deleted,            // the client sent HTTP DELETE
  expired,            // idle for session_idle_timeout
  evicted,            // least recently used and idle, closed to admit a new session
  closed_by_server,   // client_session::close()
  initialize_failed,  // the initialize request was answered with an error
  shutdown,           // the server is stopping
};
std::string_view to_string(close_reason reason) noexcept;

// The transport's side of one MCP session, given to the handler factory.
class client_session {
 public:
  virtual ~client_session() = default;

  // The Mcp-Session-Id (32 hex digits).
  virtual const std::string& id() const noexcept = 0;
  // The protocol version: initialize's result protocolVersion once answered, before that
  // the version the client asked for (fallback "2025-03-26").
  virtual const std::string& protocol_version() const noexcept = 0;
  // The sub-endpoint the session was started on (http_server_config::endpoint_check):
  // "files" for <path>/files, empty for <path>. Requests of the session must use it.
  virtual const std::string& endpoint() const noexcept = 0;

  // Queues a server-initiated request or notification for the client's standalone SSE
  // stream (HTTP GET). Messages are delivered in order on the open stream, or on the
  // next one the client opens; at most max_queued_messages wait. Returns false (message
  // dropped) when the queue is full, the session is closed, the GET stream is disabled,
  // or `message` is not a valid request or notification (responses may go on a GET
  // stream only when resuming, which this transport does not do).
  virtual bool post_to_client(json message) = 0;
  // Whether a standalone SSE stream is open now.
  virtual bool has_standalone_stream() const noexcept = 0;

  // Ends the session from the server side: the handler's on_close(closed_by_server)
  // runs, open streams end, later requests with this id get 404.
  virtual void close() = 0;
};

// Created per session on initialize; destroyed after the session closed and every call
// into it returned.
class session_handler {
 public:
  virtual ~session_handler() = default;

  // One JSON-RPC message from the client (a batch arrives split, in order). For a
  // request, answer through `channel`; for a notification or a response (to a
  // server-to-client request) `channel` refuses everything and the client gets 202 when
  // this returns, so return promptly. Several calls may be in progress at once (one per
  // HTTP request in flight). Exceptions are logged and answered with -32603.
  virtual task<void> on_message(json message, response_channel& channel) = 0;

  // The session ended. Called once, synchronously; calls still in progress should finish
  // soon (their channels now refuse everything). Must not throw.
  virtual void on_close(close_reason reason) noexcept {}
};

// Makes the handler for a new session. `session` outlives the handler.
using handler_factory = std::function<std::unique_ptr<session_handler>(client_session& session)>;

struct http_server_config {
  std::string address = "127.0.0.1";  // bind address; keep it loopback (spec: SHOULD)
  std::uint16_t port = default_port;  // 0: any free port (see http_server::port())
  std::string path = std::string(default_path);

  std::size_t max_body_size = 4 * 1024 * 1024;  // 413 above
  std::size_t max_header_size = 16 * 1024;      // 431 above
  std::size_t max_connections = 256;            // more are answered 503 and closed
  // At the limit, initialize closes the least recently used session with no request in
  // flight and no open stream (its client gets 404, as for an expired session); 503 only
  // when every session is busy.
  std::size_t max_sessions = 64;
  std::size_t max_sse_streams = 128;            // open SSE replies + GET streams, all sessions
  std::size_t max_sse_streams_per_session = 16;
  std::size_t max_queued_messages = 256;        // per SSE reply and per standalone queue
  bool enable_get_stream = true;                // false: GET answers 405

  duration sse_keepalive_interval = std::chrono::seconds(15);  // comment on idle SSE streams; 0: none
  duration session_idle_timeout = std::chrono::minutes(30);    // no request, no open stream
  duration expiry_check_interval = std::chrono::seconds(60);
  duration read_timeout = std::chrono::seconds(60);   // a request must arrive completely
  duration write_timeout = std::chrono::seconds(30);  // a client that stops reading is cut
  duration shutdown_grace = std::chrono::seconds(2);  // then in-flight work is cancelled

  std::vector<std::string> extra_allowed_hosts;  // Host/Origin names besides loopback

  // Sub-endpoints: when set, <path>/<name> (one percent-encoded path segment) is an MCP
  // endpoint too, and sessions remember theirs (client_session::endpoint(); the handler
  // factory decides what the session shows). Called before every request to <path>/<name>
  // with the decoded name: nullopt when the endpoint exists, else the sentence of the 404
  // answer (what is there instead; a session of that endpoint named by the request is
  // closed, closed_by_server). Unset: only <path>.
  std::function<std::optional<std::string>(std::string_view name)> endpoint_check;
  std::vector<std::string> protocol_versions = default_protocol_versions();
};

class http_server {
 public:
  // Binds and listens on config.address:config.port. Errors: the system's (address in
  // use, ...) or errc::invalid_argument for an address that is not an IP literal.
  // `clock` (idle expiry) and `random` (session ids; use p2p::system_random) must outlive
  // the server.
  static p2p::result<std::unique_ptr<http_server>> open(boost::asio::any_io_executor executor,
                                                        http_server_config config,
                                                        handler_factory factory,
                                                        p2p::clock& clock, p2p::random& random);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  // The bound port (the real one when config.port was 0).
  std::uint16_t port() const noexcept;

  // Serves until stop(): accepts connections, runs them and the idle-session sweeper.
  // On stop it closes every session (on_close(shutdown)), lets in-flight work finish for
  // shutdown_grace, then cancels it, and returns when every task it started has ended.
  // Call once.
  task<void> run();
  // Asks run() to finish. Safe to call more than once, and before run().
  void stop();

  // Closes sessions idle (no request in flight, no open stream) for at least
  // session_idle_timeout according to the clock; returns how many. The sweeper calls it
  // every expiry_check_interval; tests call it after advancing a manual clock.
  std::size_t expire_idle_sessions();

  std::size_t session_count() const noexcept;
  std::size_t open_sse_streams() const noexcept;
  std::size_t connection_count() const noexcept;

 private:
  explicit http_server(std::unique_ptr<detail::server_state> state);
  std::unique_ptr<detail::server_state> impl_;
};

}  // namespace mcp::gateway
