// JSON-RPC 2.0 messages as MCP uses them (jsonrpc.org/specification; MCP specification
// 2025-11-25 basic/index "Messages"): classification, parsing of one framed line into
// messages (batches split), ready-made error responses, and best-effort id recovery from
// the kept head and tail of an oversized line.
//
// MCP narrows JSON-RPC: ids are strings or integers, never null in requests; params and
// results are objects. Batches existed in MCP 2025-03-26 only; we accept and split them
// on input and never produce them (an error for each bad element goes back on its own).
//
// Sans-IO, never throws on peer input (nlohmann is used with exceptions disabled on
// parsing and with the replacing error handler on output).
#pragma once

#include "mcp/jsonrpc/line_framer.hpp"

#include "mcp/jsonrpc/json.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mcp::jsonrpc {

// Error codes we put into error responses.
namespace codes {
// JSON-RPC 2.0.
inline constexpr int parse_error = -32700;
inline constexpr int invalid_request = -32600;
inline constexpr int method_not_found = -32601;
inline constexpr int invalid_params = -32602;
inline constexpr int internal_error = -32603;
// Implementation-defined server errors (-32000..-32099). The first two are the values of
// the official MCP SDKs (TypeScript ErrorCode.ConnectionClosed / RequestTimeout), so MCP
// clients already recognise them. The last two are p2pmcp's own, chosen clear of the
// codes the MCP specification assigns (-32002 resource not found, -32042 URL elicitation).
inline constexpr int connection_closed = -32000;   // the peer / server / client went away
inline constexpr int request_timeout = -32001;     // no response in time
inline constexpr int too_many_requests = -32010;   // pending-request limit reached
inline constexpr int message_too_large = -32011;   // a message over the size limit
inline constexpr int access_denied = -32012;       // the peer may not use this server
}  // namespace codes

inline constexpr std::string_view jsonrpc_version = "2.0";

enum class message_kind {
  request,       // "method" and an id
  notification,  // "method", no "id"
  response,      // an id (null only for errors) and exactly one of "result" / "error"
  invalid,       // anything else
};

// Classifies one JSON value (not a batch). Checks "jsonrpc": "2.0", the id type (string
// or integer; null only in error responses), a string method, params that are an object
// or array when present, and an error object with an integer code and a string message.
message_kind classify(const json& value) noexcept;

// True for a string or an integer (signed or unsigned): the ids MCP allows.
bool is_valid_id(const json& id) noexcept;

struct parse_limits {
  // Deepest nesting of arrays/objects accepted. Deeper input is refused before it is
  // parsed, because copying, comparing and serializing a json value recurse.
  std::size_t max_depth = 128;
  // Most elements in one batch.
  std::size_t max_batch = 1024;
};

struct parsed_line {
  // The valid messages, in order (a batch's elements split out).
  std::vector<json> messages;
  // Error responses to send back to whoever sent the line, one per problem: -32700 for
  // text that is not JSON, -32600 for values that are not valid JSON-RPC (with the id
  // when one could be read, else null). Never a batch.
  std::vector<json> errors;
  bool was_batch = false;
};

// Parses one line as framed by line_framer.
parsed_line parse_line(std::string_view line, const parse_limits& limits = {});

// {"jsonrpc":"2.0","id":id,"error":{"code":code,"message":message[,"data":data]}}
json make_error_response(json id, int code, std::string message, json data = json());
json make_result_response(json id, json result);
json make_request(json id, std::string method, json params = json());
json make_notification(std::string method, json params = json());
// notifications/cancelled for `request_id`, with a reason when not empty.
json make_cancelled(json request_id, std::string reason);

// "250 ms", "1.5 s", "60 s", "10 min": durations as they appear in error messages.
std::string describe_duration_ms(long long milliseconds);

// What sniff_message could tell about an oversized message from its head and tail.
struct message_hint {
  std::optional<json> id;    // a top-level string/integer "id"
  bool has_method = false;   // a top-level "method" key was seen in the head
  bool has_outcome = false;  // a top-level "result" or "error" key was seen in the head
};

// Best effort, for answering a message we refused to parse: scans the head (from the
// start, tracking nesting and strings, up to where the head ends) for top-level "id",
// "method", "result", "error"; if the head gave no id, checks whether the tail ends with
// `"id": <string or integer> }`, which can only be a top-level member.
message_hint sniff_message(std::string_view head, std::string_view tail);

}  // namespace mcp::jsonrpc
