// The rules of MCP's Streamable HTTP transport for one incoming HTTP request, without any
// I/O (MCP specification 2025-03-26, 2025-06-18 and 2025-11-25, basic/transports
// "Streamable HTTP"): DNS-rebinding protection (Host and Origin), endpoint path, method,
// Accept / Content-Type negotiation, body size, Mcp-Session-Id presence,
// MCP-Protocol-Version, JSON-RPC body shape (batches only with 2025-03-26, initialize
// alone and without a session id). Also the small encoders the shell needs (SSE events,
// error bodies, session ids).
//
// Sans-IO: no Asio or Beast header. The shell (http_server.cpp) extracts a request_head
// from its HTTP parser, calls check_head before reading the body and check_body after;
// whatever either rejects is answered with the returned http_error. Nothing here throws
// on client input; the fuzz target fuzz/fuzz_mcp_http_request.cpp runs both on arbitrary
// bytes.
#pragma once

#include "mcp/jsonrpc/message.hpp"

#include "p2p/core/random.hpp"

#include "mcp/jsonrpc/json.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mcp::gateway {

using json = mcp::json;

// Default TCP port of the gateway's MCP endpoint, http://127.0.0.1:7469/mcp.
inline constexpr std::uint16_t default_port = 7469;
inline constexpr std::string_view default_path = "/mcp";
// Assumed when neither the MCP-Protocol-Version header nor the session says otherwise
// (basic/transports "Protocol Version Header": "the server SHOULD assume 2025-03-26").
inline constexpr std::string_view fallback_protocol_version = "2025-03-26";
// The only version whose Streamable HTTP transport allows JSON-RPC batches.
inline constexpr std::string_view batch_protocol_version = "2025-03-26";

// The protocol versions the transport accepts by default, newest first.
std::vector<std::string> default_protocol_versions();

enum class http_method { get, post, delete_, options, other };

// The parts of an HTTP request the transport looks at. Views into the shell's parser;
// valid while it is. A header that appeared more than once is reported in `repeated`.
struct request_head {
  http_method method = http_method::other;
  std::string_view method_name;  // as sent, for error messages
  std::string_view target;       // request-target, e.g. "/mcp" or "/mcp?x=1"
  unsigned version = 11;         // HTTP version: 10 or 11
  std::optional<std::string_view> host;
  std::optional<std::string_view> origin;
  std::optional<std::string_view> accept;
  std::optional<std::string_view> content_type;
  std::optional<std::string_view> session_id;        // Mcp-Session-Id
  std::optional<std::string_view> protocol_version;  // MCP-Protocol-Version
  std::optional<std::string_view> last_event_id;     // Last-Event-ID
  std::optional<std::uint64_t> content_length;
  bool chunked = false;  // Transfer-Encoding: chunked
  // Name of the first of Host, Origin, Content-Type, Mcp-Session-Id,
  // MCP-Protocol-Version that was sent more than once; empty if none.
  std::string_view repeated;
};

// A refusal: HTTP status plus the JSON-RPC error that goes in the body (the spec's "error
// response that has no id": id null unless the message it answers had a usable one).
struct http_error {
  unsigned status = 400;
  int code = jsonrpc::codes::invalid_request;
  std::string message;  // a sentence that says what was wrong and what to do
  json id;              // null, or the id of the request the error answers
  std::string allow;    // 405 only: the Allow header value
};

// {"jsonrpc":"2.0","id":<id>,"error":{"code":<code>,"message":<message>}}
json error_body(const http_error& error);

struct check_config {
  std::string path = std::string(default_path);
  // Also accept "<path>/<name>": one more path segment, percent-decoded into
  // checked_head::endpoint (a sub-endpoint; which names exist is the shell's business).
  bool sub_endpoints = false;
  std::size_t max_body_size = 4 * 1024 * 1024;
  bool enable_get_stream = true;
  // Host names accepted in Host and Origin besides localhost, 127.0.0.1 and [::1]
  // (lowercase, no port; IPv6 in brackets). Empty by default.
  std::vector<std::string> extra_allowed_hosts;
  std::vector<std::string> protocol_versions = default_protocol_versions();
  jsonrpc::parse_limits parse_limits;
};

enum class request_kind { post, get, delete_, preflight };

struct checked_head {
  request_kind kind = request_kind::post;
  // The sub-endpoint: the percent-decoded segment after "<path>/"; empty for <path> itself.
  std::string endpoint;
  std::string session_id;        // empty when the header was absent
  std::string protocol_version;  // empty when the header was absent
  bool accepts_json = true;      // Accept allows application/json
  bool accepts_sse = true;       // Accept allows text/event-stream
  // The Origin to echo in Access-Control-Allow-Origin (an allowed browser origin), or
  // empty when the request had no Origin.
  std::string cors_origin;
  bool has_last_event_id = false;
};

struct head_outcome {
  std::optional<http_error> error;  // set: answer it and do not read the body
  checked_head head;
};

// Checks everything decidable before the body is read, in this order:
//   Host missing (400) / repeated (400) / not a loopback name (403);
//   Origin repeated or not http(s)://loopback[:port] (403);
//   path (404; with sub_endpoints also <path>/<segment>: 404 for an empty segment or more
//   segments, 400 for bad percent-encoding or a decoded segment with control characters
//   or over max_endpoint_name bytes); method (405 with Allow; OPTIONS is a CORS preflight; GET 405 when the
//   standalone stream is disabled);
//   Mcp-Session-Id repeated (400); GET and DELETE: Mcp-Session-Id missing (400),
//   MCP-Protocol-Version unsupported (400), GET: Accept without text/event-stream (406);
//   POST: Content-Type not application/json (415), Accept allowing neither
//   application/json nor text/event-stream (406), Content-Length over max_body_size (413).
// Whether the session exists (404) is the shell's table's business.
head_outcome check_head(const request_head& head, const check_config& config);

// What the shell knows about the session a POST names.
struct body_context {
  bool has_session_header = false;
  // The session's negotiated protocol version, empty if unknown.
  std::string_view negotiated_version;
};

struct checked_body {
  std::vector<json> messages;  // valid JSON-RPC messages, a batch split
  bool was_batch = false;
  bool is_initialize = false;  // the single message is an initialize request
  std::size_t request_count = 0;
  // The version the request is handled as: the header, else the negotiated version,
  // else fallback_protocol_version.
  std::string protocol_version;
};

struct body_outcome {
  std::optional<http_error> error;
  checked_body body;
};

// Checks a POST body: JSON-RPC shape (400 with -32700 / -32600 and the message's id when
// known), initialize alone and without Mcp-Session-Id, Mcp-Session-Id present otherwise,
// MCP-Protocol-Version supported (not checked on initialize, whose body negotiates the
// version), batches only with version 2025-03-26.
body_outcome check_body(std::string_view body, const checked_head& head,
                        const body_context& context, const check_config& config);

// ---- pieces, exposed for tests ----

// Longest sub-endpoint name accepted (decoded).
inline constexpr std::size_t max_endpoint_name = 256;
// The path part of a request-target relative to `path`: nullopt when it is neither
// `path` nor `path` + "/" + something; else "" for `path` itself, or the rest after the
// slash, still percent-encoded ("/mcp/a%20b" -> "a%20b").
std::optional<std::string_view> sub_path_of(std::string_view target, std::string_view path);
// "%XX"-decodes `text`; nullopt when a "%" is not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view text);

// Whether an Accept header value allows `media_type` ("type/subtype"): a media range
// equal to it, "type/*" or "*/*", with q > 0. An absent header allows everything.
bool accept_allows(std::optional<std::string_view> accept, std::string_view media_type);
// "localhost", "127.0.0.1", "[::1]" (any case for localhost) or one of `extra`.
bool is_allowed_host_name(std::string_view name, const std::vector<std::string>& extra);
// The host part of a Host header value ("localhost:7469" -> "localhost",
// "[::1]:80" -> "[::1]"); nullopt when malformed.
std::optional<std::string_view> host_name_of(std::string_view host_header);
// The host of an Origin "http(s)://host[:port]"; nullopt for any other scheme, "null",
// paths, userinfo or a malformed port.
std::optional<std::string_view> origin_host(std::string_view origin);

// ---- encoders ----

// A fresh session id: 128 bits from `random`, as 32 lowercase hex digits (visible ASCII,
// as the spec requires).
std::string make_session_id(p2p::random& random);
// One SSE event carrying a JSON-RPC message:
//   "event: message\nid: <id>\ndata: <compact json>\n\n" (no id line when id is empty).
std::string encode_sse_event(std::string_view id, const json& message);
// An SSE comment line, ignored by clients; keeps proxies and idle timers from closing.
inline constexpr std::string_view sse_keepalive_comment = ": keep-alive\n\n";

}  // namespace mcp::gateway
