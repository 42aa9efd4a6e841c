// Internal: the bridge from Beast's HTTP parser to the sans-IO request_head. Included by
// the server shell (server_state.hpp) and the fuzz target only (it pulls in Beast); not part
// of the API.
#pragma once

#include "mcp/gateway/http/request_check.hpp"

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <array>
#include <string_view>

namespace mcp::gateway::detail {

using request_parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

inline std::string_view to_std(boost::beast::string_view text) noexcept {
  return {text.data(), text.size()};
}

// The header of a request whose header `parser` completed (is_header_done()). Views into
// the parser's fields.
inline request_head head_of(const request_parser& parser) {
  namespace http = boost::beast::http;
  const auto& message = parser.get();
  const auto& fields = message.base();
  request_head head;
  switch (message.method()) {
    case http::verb::get: head.method = http_method::get; break;
    case http::verb::post: head.method = http_method::post; break;
    case http::verb::delete_: head.method = http_method::delete_; break;
    case http::verb::options: head.method = http_method::options; break;
    default: head.method = http_method::other; break;
  }
  head.method_name = to_std(message.method_string());
  head.target = to_std(message.target());
  head.version = message.version();

  // Header names are case-insensitive; Beast's find/count compare them that way.
  constexpr std::array<std::string_view, 5> single_valued = {
      "Host", "Origin", "Content-Type", "Mcp-Session-Id", "MCP-Protocol-Version"};
  for (const std::string_view name : single_valued) {
    if (fields.count(boost::beast::string_view(name.data(), name.size())) > 1) {
      head.repeated = name;
      break;
    }
  }
  auto find = [&](std::string_view name) -> std::optional<std::string_view> {
    const auto it = fields.find(boost::beast::string_view(name.data(), name.size()));
    if (it == fields.end()) return std::nullopt;
    return to_std(it->value());
  };
  head.host = find("Host");
  head.origin = find("Origin");
  head.accept = find("Accept");
  head.content_type = find("Content-Type");
  head.session_id = find("Mcp-Session-Id");
  head.protocol_version = find("MCP-Protocol-Version");
  head.last_event_id = find("Last-Event-ID");
  if (const auto length = parser.content_length()) head.content_length = *length;
  head.chunked = parser.chunked();
  return head;
}

}  // namespace mcp::gateway::detail
