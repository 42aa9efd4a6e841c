// JSON-RPC correlation between many MCP clients and many upstream channels (MCP servers
// reached over libp2p streams or stdio). Used by the gateway (local clients -> peers) and
// by the peer hop (remote peers -> hosted servers).
//
// Sans-IO: no Asio, no clock. The shell passes messages it parsed (message.hpp) and the
// current time in, and takes messages to send (poll_output), log events (poll_event) and
// its next deadline (poll_timeout) out. Nothing calls back, so nothing re-enters.
//
// Vocabulary: a "client" channel sends requests and receives their responses; an
// "upstream" channel is where the shell forwards them. Channel ids are the shell's own
// numbers, one space per side. MCP servers also send requests to clients (sampling,
// elicitation, roots): those travel the other way, and everything below applies to them
// with the sides swapped ("requester" = the side that sent a request, "target" = where it
// went).
//
// What the router does (MCP specification 2025-11-25, basic/index, basic/lifecycle
// "Timeouts", basic/utilities/cancellation and progress):
// - Ids: every forwarded request gets a fresh integer id, unique across the router, so
//   clients that use the same ids concurrently never see each other's responses. The
//   response gets the original id (string or integer, exactly as sent) back and goes to
//   the requester only. Responses with an id that is not pending on that channel are
//   dropped with an event (unknown_response, or late_response for a request that was
//   already answered, cancelled, timed out or failed: duplicates end up here).
// - Progress: a request's params._meta.progressToken (string or integer) is replaced by
//   the request's fresh id; notifications/progress from the target carrying it get the
//   original token back and go to the requester.
// - Cancellation: notifications/cancelled from the requester names its own id; it is
//   forwarded with the fresh id and the route is forgotten (the spec lets the canceller
//   ignore any later response, so a response that still comes is dropped as late).
//   Cancellations of unknown requests are dropped with an event, as the spec asks.
// - Timeouts: each request has an idle timeout (default 60 s, as the MCP SDKs use) and a
//   maximum duration (default 10 min). A progress notification restarts the idle timeout
//   (the spec's "MAY reset the timeout clock when receiving a progress notification";
//   the TypeScript SDK calls it resetTimeoutOnProgress) but never the maximum ("SHOULD
//   always enforce a maximum timeout"). On expiry the requester gets an error response
//   (codes::request_timeout, -32001: "request tools/call timed out after 60 s without a
//   response") and the target a notifications/cancelled, as the lifecycle section asks
//   (never for initialize, which MUST NOT be cancelled).
// - Channel failures: fail_upstream / fail_client answer every request the failed
//   channel owed with an error (codes::connection_closed, -32000, with the shell's
//   sentence) and cancel at the other side every request the failed channel had asked.
// - Limits: at most max_pending_per_client requests pending per client and
//   max_pending_per_upstream server-to-client requests per upstream; beyond, the request
//   is answered at once with codes::too_many_requests (-32010). A request reusing an id
//   still pending from the same channel is answered with -32600 (MCP: ids MUST NOT be
//   reused within a session).
//
// Not the router's business, returned to the shell unchanged: requests (the shell picks
// the target and calls route_request / route_server_request) and notifications other
// than progress and cancelled (initialized, list_changed, logging, ...).
#pragma once

#include "mcp/jsonrpc/line_framer.hpp"
#include "mcp/jsonrpc/message.hpp"

#include "p2p/core/clock.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace mcp::jsonrpc {

using p2p::duration;
using p2p::time_point;

// The shell's number for a channel (a client session, a libp2p stream, a child process).
using channel_id = std::uint64_t;

enum class side { client, upstream };

struct router_config {
  // No response (and, with reset_timeout_on_progress, no progress) for this long: the
  // request fails. duration::max() disables it.
  duration request_timeout = std::chrono::seconds(60);
  // Hard limit from the request's start, whatever progress arrives.
  duration max_request_duration = std::chrono::minutes(10);
  bool reset_timeout_on_progress = true;
  // Server-to-client requests (sampling, elicitation may wait for a human): one limit.
  duration server_request_timeout = std::chrono::minutes(10);
  // Requests a client may have pending; beyond, codes::too_many_requests.
  std::size_t max_pending_per_client = 256;
  // Server-to-client requests an upstream may have pending.
  std::size_t max_pending_per_upstream = 64;
  // Events kept until polled; the oldest are dropped beyond this.
  std::size_t max_events = 1024;
};

// Per-request overrides of router_config (the spec: timeouts SHOULD be configurable per
// request).
struct request_options {
  std::optional<duration> timeout;
  std::optional<duration> max_duration;
  std::optional<bool> reset_timeout_on_progress;
};

// A message to send: to the client or upstream `channel`.
struct outgoing {
  side to = side::client;
  channel_id channel = 0;
  json message;
};

enum class event_type {
  unknown_response,   // a response whose id was never issued to that channel
  late_response,      // a response for a request no longer pending (answered, cancelled,
                      // timed out, failed): late or duplicate
  unknown_progress,   // progress with a token of no pending request of that channel
  unknown_cancel,     // cancellation of a request that is not pending
  invalid_message,    // not valid JSON-RPC, or not routable (cancel without requestId ...)
  rejected_request,   // answered at once: pending limit or reused id
  timed_out,          // answered with a timeout error (and cancelled at the target)
  oversized_message,  // a message over the size limit; detail says what was answered
};

struct event {
  event_type type = event_type::invalid_message;
  side from = side::client;  // the side of the channel below
  channel_id channel = 0;
  json id;                   // the id or token involved as that channel knows it, or null
  std::string detail;        // a sentence for the log
};

class id_router {
 public:
  explicit id_router(const router_config& config = {});

  // ---- from clients ----
  // Forwards a request from `client` to `upstream` with a fresh id (and progress token).
  // Instead answers the client at once with an error when it has max_pending_per_client
  // requests pending or the id is pending already (rejected_request event). Anything
  // other than a valid request is dropped with an invalid_message event.
  void route_request(channel_id client, json request, channel_id upstream, time_point now,
                     const request_options& options = {});
  // Any message from `client`: responses to server-to-client requests, cancellations
  // and progress are routed (see above). Returns the message unchanged when it is a
  // request (call route_request) or another notification; nullopt when handled.
  std::optional<json> handle_client_message(channel_id client, json message, time_point now);

  // ---- from upstreams ----
  // The same, for messages from `upstream`: responses, progress, cancellation of its own
  // server-to-client requests. Returns requests (call route_server_request) and other
  // notifications unchanged.
  std::optional<json> handle_upstream_message(channel_id upstream, json message, time_point now);
  // Forwards a server-to-client request from `upstream` to `client` with a fresh id.
  // The shell picks the client (clients_waiting_on helps). Limits and answers as for
  // route_request, with max_pending_per_upstream and server_request_timeout.
  void route_server_request(channel_id upstream, json request, channel_id client, time_point now);

  // A line from `channel` was over `limit` bytes and dropped (line_framer frame with
  // errc::message_too_large). Uses sniff_message to answer whoever waits for it with
  // codes::message_too_large: a response too large fails the request it answers (the
  // requester gets the error); a request too large is answered to its sender. Without a
  // recoverable id only an oversized_message event is queued.
  void handle_oversized(side from, channel_id channel, const frame& oversized, std::size_t limit);

  // ---- time ----
  // Earliest deadline of a pending request; nullopt when none is pending.
  std::optional<time_point> poll_timeout() const;
  // Fails every request whose deadline is at or before `now` (see above).
  void handle_timeout(time_point now);

  // ---- channel failures ----
  // `upstream` went away (peer disconnected, stream reset, process exited, dial failed):
  // each client waiting on it gets an error response with `code` and `reason` (a sentence
  // such as "peer 12D3KooW... disconnected"); its server-to-client requests are cancelled
  // at their clients. The channel id may be used again afterwards.
  void fail_upstream(channel_id upstream, std::string_view reason,
                     int code = codes::connection_closed);
  // `client` went away: its requests are cancelled at their upstreams; server-to-client
  // requests sent to it are answered to their upstreams with an error.
  void fail_client(channel_id client, std::string_view reason,
                   int code = codes::connection_closed);

  // ---- output ----
  // Messages to send, in the order they were produced.
  std::optional<outgoing> poll_output();
  bool has_output() const noexcept { return !outputs_.empty(); }
  std::optional<event> poll_event();

  // ---- state ----
  std::size_t pending_count() const noexcept { return pending_.size(); }
  // Requests pending that `channel` on side `s` sent.
  std::size_t pending_from(side s, channel_id channel) const;
  // Clients with requests pending on `upstream`, ascending; for choosing where a
  // server-to-client request goes when the upstream serves several clients.
  std::vector<channel_id> clients_waiting_on(channel_id upstream) const;
  const router_config& config() const noexcept { return config_; }

 private:
  using serial = std::uint64_t;  // the fresh id (and progress token) of a routed request
  using origin_key = std::tuple<side, channel_id, std::string>;

  struct pending {
    side origin = side::client;  // side of the requester; the target is on the other
    channel_id requester = 0;
    channel_id target = 0;
    json original_id;
    std::string id_key;  // canonical text of original_id, for by_origin_
    std::string method;
    std::optional<json> original_token;
    duration timeout{};
    duration max_duration{};
    bool reset_on_progress = false;
    bool progressed = false;
    time_point idle_deadline;
    time_point hard_deadline;

    time_point expiry() const noexcept { return std::min(idle_deadline, hard_deadline); }
  };

  void route(side origin, channel_id requester, json request, channel_id target, time_point now,
             duration timeout, duration max_duration, bool reset_on_progress,
             std::size_t max_pending);
  std::optional<json> handle_message(side from, channel_id channel, json message, time_point now);
  void handle_response(side from, channel_id channel, json response);
  void handle_progress(side from, channel_id channel, json notification, time_point now);
  void handle_cancelled(side from, channel_id channel, json notification);

  // The pending request `id` names when it came from the target side `from`/`channel`.
  std::map<serial, pending>::iterator find_by_target(side from, channel_id channel, const json& id);
  void erase(std::map<serial, pending>::iterator it);
  void expire(std::map<serial, pending>::iterator it, time_point now);
  void fail_channel(side failed, channel_id channel, std::string_view reason, int code);

  void send(side to, channel_id channel, json message);
  void push_event(event_type type, side from, channel_id channel, json id, std::string detail);

  router_config config_;
  serial next_serial_ = 1;
  std::map<serial, pending> pending_;
  std::map<origin_key, serial> by_origin_;
  std::set<std::pair<time_point, serial>> deadlines_;
  std::map<std::pair<side, channel_id>, std::size_t> pending_counts_;
  std::deque<outgoing> outputs_;
  std::deque<event> events_;
};

}  // namespace mcp::jsonrpc
