// MCP Streamable HTTP client (MCP specification 2025-11-25, basic/transports "Streamable
// HTTP"; also talks to 2025-06-18 and 2025-03-26 servers): how the command-line tools
// (`p2pmcp stdio`, `tools`, `call`, `peers`) reach a running node's gateway at
// http://127.0.0.1:7469/mcp.
//
// - Every JSON-RPC message goes as its own POST with "Accept: application/json,
//   text/event-stream". A request's reply is read in the background: one JSON body, or
//   an SSE stream carrying related messages (progress, logging, server-to-client requests
//   such as sampling) and then the response. Notifications and responses expect 202.
// - The Mcp-Session-Id from the initialize reply goes on every later request, and the
//   negotiated MCP-Protocol-Version once initialize was answered.
// - After initialize (config.listen) a GET stream receives server-initiated requests and
//   notifications (list_changed, ...); 405 means the server offers none.
// - close() ends the session with DELETE.
// Everything received, from replies and from the GET stream, lands in one queue, in
// arrival order: next_message().
//
// Errors are sentences (last_error()) behind a p2p::errc; the ones that end the client
// (has_failed()): nothing answers at the URL ("no p2pmcp node answers at
// http://127.0.0.1:7469/mcp"), the node went away, or it ended the session (HTTP 404).
// Limits: 16 MiB per message in both directions (config.max_message_size).
//
// Threading: one io_context thread; all calls from coroutines on it. Beast stays in
// http_client.cpp.
#pragma once

#include "mcp/gateway/client/gateway_url.hpp"
#include "mcp/gateway/client/sse_parser.hpp"

#include "p2p/core/clock.hpp"
#include "p2p/core/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "mcp/jsonrpc/json.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mcp::gateway::client {

template <class T>
using task = boost::asio::awaitable<T>;
using json = mcp::json;

namespace detail {
class client_state;  // http_client.cpp
}

struct client_config {
  std::size_t max_message_size = default_max_message_size;  // per message, sent or received
  std::size_t max_header_size = 64 * 1024;                  // of an HTTP response
  // Received messages not yet taken by next_message(); readers wait beyond (backpressure
  // on the node's SSE streams). Errors the client makes up itself never wait.
  std::size_t max_queued_messages = 1024;
  std::size_t max_idle_connections = 4;  // kept open for the next POST
  bool listen = true;                    // open the GET stream once initialized
  p2p::duration connect_timeout = std::chrono::seconds(10);
  p2p::duration delete_timeout = std::chrono::seconds(2);  // close(): DELETE
  // Before reopening a GET stream that ended again without delivering anything (an SSE
  // "retry" field from the node overrides it). The first reopen is immediate.
  p2p::duration reconnect_delay = std::chrono::seconds(1);
  std::string user_agent = "p2pmcp";

  // For initialize() / call() only (the stdio bridge passes its client's initialize on).
  std::string protocol_version = "2025-11-25";  // asked for
  std::vector<std::string> protocol_versions = {"2025-11-25", "2025-06-18", "2025-03-26"};  // accepted
  std::string client_name = "p2pmcp";
  std::string client_version = "0.1.0";
};

// A JSON-RPC error object.
struct rpc_error {
  int code = 0;
  std::string message;
  json data;  // null when absent
};

// What a request came back with: its result, or the error.
struct rpc_reply {
  json result;  // the "result" member (when no error)
  std::optional<rpc_error> error;
  bool ok() const noexcept { return !error; }
};

class http_client {
 public:
  // Does not connect yet; the first send() does.
  http_client(boost::asio::any_io_executor executor, gateway_url url, client_config config = {});
  // Await close() first once anything was sent: background readers refer to the client.
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  // ---- messages (what the stdio bridge uses) ----

  // Sends one JSON-RPC message (a request, notification or response; no batches).
  // - A request returns once it is written; its reply is read in the background and
  //   from then on exactly one response with its id comes out of next_message(): the
  //   node's, or one the client makes up (-32000 when the node or the reply went away,
  //   -32011 for a response over the limit, the node's error for an HTTP refusal).
  // - A notification or response returns when the node accepted it (202).
  // - An initialize request is sent without session; anything else waits until an
  //   initialize in flight has been answered, then carries the session.
  // Errors (nothing was delivered and, for a request, no response will come):
  // errc::invalid_argument (not a JSON-RPC message, a request id still pending, a second
  // initialize), errc::message_too_large, errc::unreachable (nothing answers at the URL:
  // fatal), errc::connection_closed (the node went away: fatal; or the connection broke),
  // errc::closed (the client is closed, or the node ended the session: fatal),
  // errc::protocol_violation (the node refused the notification/response: its reason).
  // last_error() says which in a sentence.
  task<p2p::result<void>> send(json message);

  // The next message from the node: responses to our requests (each exactly once, in
  // arrival order) and the node's own requests and notifications. nullopt once the
  // client is closed or has failed and everything received was taken; after a failure
  // the made-up errors for the pending requests come before the end.
  task<std::optional<json>> next_message();

  // ---- one-shot use (the tools / call / peers commands) ----

  // Starts the session: initialize (config.protocol_version, clientInfo from the config,
  // no capabilities), checks the version the node chose, sends notifications/initialized.
  // Returns the InitializeResult. Errors as send(), and errc::protocol_violation when
  // the node refused to initialize, errc::protocol_not_supported for a version we do not
  // speak. Consumes next_message() while it waits (see call()).
  task<p2p::result<json>> initialize();

  // Sends a request (initializing first if needed) and waits for its reply. While
  // waiting it takes every message from next_message(): the node's pings are answered,
  // other requests (sampling, elicitation, roots) get -32601, notifications are dropped;
  // so do not use next_message() at the same time. The reply may be an error the client
  // made up (see send()). Errors: transport failures as send().
  task<p2p::result<rpc_reply>> call(std::string method, json params = json::object());

  // ---- end ----

  // Ends the session: stops the GET stream and replies still being read, sends DELETE
  // (bounded by delete_timeout; failures are only logged), waits for every background
  // task. next_message() then returns what was already queued, then nullopt. Idempotent.
  task<void> close();

  const gateway_url& url() const noexcept;
  bool is_initialized() const noexcept;  // an initialize succeeded and the session is up
  const std::string& session_id() const noexcept;        // empty before initialize
  const std::string& protocol_version() const noexcept;  // negotiated; empty before
  std::size_t pending_requests() const noexcept;         // sent, response not yet queued
  bool is_listening() const noexcept;                    // the GET stream is open
  bool has_failed() const noexcept;
  // The sentence for the last error returned, or the failure that ended the client.
  const std::string& last_error() const noexcept;

 private:
  std::unique_ptr<detail::client_state> impl_;
};

}  // namespace mcp::gateway::client
