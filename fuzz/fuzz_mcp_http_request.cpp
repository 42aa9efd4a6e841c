// Arbitrary bytes as one HTTP request to the MCP Streamable HTTP endpoint, through the same
// path the server takes (sans-IO, no socket): Beast's request_parser fed in pieces, the
// request_head bridge (beast_request.hpp), check_head, then check_body with and without a
// session. Checks that refusals are well-formed (4xx/5xx, a sentence, a JSON-RPC error body
// that parses back), that accepted bodies hold only valid JSON-RPC messages obeying the
// transport's rules, and that every accepted message encodes to one SSE event that parses
// back to the same message.
//
// Input: byte 0 picks the feed size and the session context; the rest is the request.
#include "mcp/gateway/http/beast_request.hpp"
#include "fuzz_support.hpp"
#include "mcp/gateway/http/request_check.hpp"

#include <boost/asio/buffer.hpp>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using namespace mcp::gateway;
namespace http = boost::beast::http;

using fuzz::check;

const check_config& config() {
  static const check_config c = [] {
    check_config out;
    out.max_body_size = 1 << 16;
    out.extra_allowed_hosts = {"mybox.lan"};
    out.sub_endpoints = true;  // /mcp/<name>: percent-decoding runs on fuzzed targets
    return out;
  }();
  return c;
}

void check_error(const http_error& error) {
  check(error.status >= 400 && error.status < 600);
  check(!error.message.empty());
  check(error.status != 405 || !error.allow.empty());
  const json body = error_body(error);
  check(mcp::jsonrpc::classify(body) == mcp::jsonrpc::message_kind::response);
  const std::string text = mcp::jsonrpc::encode_line(body);
  auto parsed = mcp::jsonrpc::parse_line(std::string_view(text).substr(0, text.size() - 1));
  check(parsed.errors.empty() && parsed.messages.size() == 1);
}

void check_event(const json& message) {
  const std::string event = encode_sse_event("7-1", message);
  // One event: the blank line that ends it is its only one, and exactly one data line.
  check(event.size() >= 2 && event.find("\n\n") == event.size() - 2);
  const auto data = event.find("\ndata: ");
  check(data != std::string::npos && event.find("\ndata: ", data + 1) == std::string::npos);
  const std::string_view payload =
      std::string_view(event).substr(data + 7, event.size() - 2 - (data + 7));
  const json back = json::parse(payload.begin(), payload.end(), nullptr, false);
  check(!back.is_discarded() && back == message);
}

void check_body_rules(const checked_head& head, std::string_view body, bool has_session) {
  body_context context;
  context.has_session_header = has_session;
  context.negotiated_version = has_session ? "2025-03-26" : "";
  const body_outcome outcome = check_body(body, head, context, config());
  if (outcome.error) {
    check_error(*outcome.error);
    check(outcome.error->id.is_null() || mcp::jsonrpc::is_valid_id(outcome.error->id));
    return;
  }
  const checked_body& checked = outcome.body;
  check(!checked.messages.empty());
  check(!checked.protocol_version.empty());
  if (checked.was_batch) check(checked.protocol_version == batch_protocol_version);
  if (checked.is_initialize) check(!has_session && !checked.was_batch && checked.messages.size() == 1);
  if (!checked.is_initialize) check(has_session);
  std::size_t requests = 0;
  for (const json& message : checked.messages) {
    const auto kind = mcp::jsonrpc::classify(message);
    check(kind != mcp::jsonrpc::message_kind::invalid);
    if (kind == mcp::jsonrpc::message_kind::request) ++requests;
    check_event(message);
  }
  check(requests == checked.request_count);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = 1 + (data[0] % 64);
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  detail::request_parser parser;
  parser.header_limit(8 * 1024);
  parser.body_limit(config().max_body_size);
  parser.eager(true);
  boost::beast::error_code ec;
  std::string pending;  // bytes given to the parser but not consumed yet
  for (std::size_t offset = 0; offset < input.size() && !ec && !parser.is_done();) {
    const std::size_t take = std::min(chunk, input.size() - offset);
    pending.append(input.substr(offset, take));
    offset += take;
    for (;;) {
      const std::size_t used = parser.put(boost::asio::buffer(pending), ec);
      pending.erase(0, used);
      if (ec == http::error::need_more) {
        ec = {};
        break;
      }
      if (ec || parser.is_done() || used == 0) break;
    }
  }
  if (!ec && !parser.is_done() && parser.got_some()) parser.put_eof(ec);
  if (!parser.is_header_done()) return 0;

  const request_head head = detail::head_of(parser);
  const head_outcome outcome = check_head(head, config());
  if (outcome.error) {
    check_error(*outcome.error);
    return 0;
  }
  const checked_head& checked = outcome.head;
  check(checked.endpoint.size() <= max_endpoint_name);
  for (const char c : checked.endpoint) check(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
  if (checked.kind == request_kind::get || checked.kind == request_kind::delete_) {
    check(!checked.session_id.empty());
  }
  if (!checked.cors_origin.empty()) check(head.origin.has_value());
  if (checked.kind != request_kind::post) return 0;
  check(!head.content_length || *head.content_length <= config().max_body_size);
  if (ec || !parser.is_done()) return 0;  // the server answers 400/413 and closes

  const std::string& body = parser.get().body();
  check(body.size() <= config().max_body_size);
  check_body_rules(checked, body, false);
  check_body_rules(checked, body, true);
  return 0;
}
