// The seam between the node's MCP front ends (the gateway's client sessions, the
// sessions peers open over libp2p) and the MCP servers they reach. An upstream is one
// MCP session in which this node is the client and which many front-end sessions share:
//   - stdio_server: a hosted child process (stdio_server.hpp);
//   - remote_server: a server hosted by a peer, reached over a libp2p stream
//     (mcp/peer/remote_server.hpp);
//   - builtin_server: the node's own tools, in process (mcp/builtin/).
//
// Contract shared by every implementation (the hub relies on exactly this):
// - The upstream owns its MCP lifecycle (initialize / initialized, version negotiation);
//   callers never send `initialize`. What it negotiated is readable below.
// - request() sends one request with a fresh id and completes with the result or an
//   rpc_error: the server's own error (from_server), or one made by the upstream with a
//   sentence a user can act on and a code from mcp::jsonrpc::codes (-32000 unavailable /
//   connection closed, -32001 timeout, -32010 too many requests, -32011 too large).
//   Never a hang: `timeout` bounds the wait, restarted by each notifications/progress
//   carrying the request's params._meta.progressToken (chosen by the caller and unique
//   among its requests), up to the upstream's maximum request duration. Cancelling the
//   calling coroutine sends notifications/cancelled to the server, whose `reason` is
//   *cancel_reason when given (the requester's own; an empty one sends none), else a
//   sentence of the upstream's. `cancel_reason` must outlive the call.
// - Everything the server sends on its own (notifications, including the progress
//   notifications of requests; server-to-client requests such as sampling/createMessage,
//   elicitation/create, roots/list) is queued in arrival order for ONE reader
//   (next_message). A request taken from the queue is answered with respond() /
//   respond_error(). Server `ping` requests are answered by the upstream itself.
// - tools() is the server's current tool list (kept while the server is unavailable);
//   tools_version() counts changes and tools_changed() wakes on one.
//
// Threading: one io_context thread. The object outlives every call into it.
#pragma once

#include "p2p/core/clock.hpp"
#include "p2p/core/stream.hpp"

#include "mcp/jsonrpc/json.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mcp::server {

using json = mcp::json;
using p2p::duration;
using p2p::task;

// A failed request: the server's own JSON-RPC error (from_server), or one made here with
// the codes of mcp::jsonrpc::codes and a sentence.
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

// What one client said about itself in its `initialize` (basic/lifecycle): passed to the
// upstream that serves that client alone (upstream_source.hpp), which asks the server for
// the client's protocol version (when we speak it, else our newest) and declares the
// client's capabilities as its own, so that both are negotiated end to end.
struct client_hello {
  std::string protocol_version;          // as the client asked; empty: ours
  json capabilities = json::object();    // the client's, passed through unchanged
};

// A message the server sent on its own: a notification (progress, list_changed, logging,
// cancelled, resources/updated, ...) or a server-to-client request (sampling,
// elicitation, roots/list).
struct server_message {
  json message;
  std::uint64_t session = 0;  // which session of the upstream sent it (respond() checks it)
  bool is_request() const noexcept;
  std::string method() const;
};

class upstream {
 public:
  virtual ~upstream() = default;

  // A short name: the hosted server's name ("files"), or the remote one's.
  virtual const std::string& name() const noexcept = 0;
  // Ready for requests now (a request made while starting waits; otherwise it fails at
  // once with unavailable_reason()).
  virtual bool available() const noexcept = 0;
  // Why a request made now would fail at once, as a sentence; empty when available or
  // starting.
  virtual std::string unavailable_reason() const = 0;
  // Counts changes of availability (and of anything negotiated); state_changed()
  // completes when it differs from `seen`, or the upstream stopped for good.
  virtual std::uint64_t state_version() const noexcept = 0;
  virtual task<void> state_changed(std::uint64_t seen) = 0;

  // Negotiated in the current (or last) session; server_info/capabilities are objects.
  virtual const std::string& protocol_version() const noexcept = 0;
  virtual const json& server_info() const noexcept = 0;
  virtual const json& server_capabilities() const noexcept = 0;
  virtual const std::string& instructions() const noexcept = 0;

  virtual task<rpc_result<json>> request(std::string method, json params, duration timeout,
                                         const std::string* cancel_reason = nullptr) = 0;
  // Sends a notification when the session is up; false otherwise.
  virtual bool notify(std::string method, json params = json()) = 0;

  // The single reader's queue; nullopt once the upstream stopped for good (or the
  // calling coroutine was cancelled).
  virtual task<std::optional<server_message>> next_message() = 0;
  virtual bool respond(const server_message& request, json result) = 0;
  virtual bool respond_error(const server_message& request, int code, std::string message,
                             json data = json()) = 0;

  virtual const std::vector<json>& tools() const noexcept = 0;
  virtual std::uint64_t tools_version() const noexcept = 0;
  virtual task<void> tools_changed(std::uint64_t seen) = 0;
};

}  // namespace mcp::server
