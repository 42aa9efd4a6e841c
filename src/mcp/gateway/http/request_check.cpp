#include "mcp/gateway/http/request_check.hpp"

#include "mcp/jsonrpc/line_framer.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

namespace mcp::gateway {
namespace {

constexpr std::string_view optional_whitespace = " \t";

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(optional_whitespace);
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(optional_whitespace);
  return text.substr(first, last - first + 1);
}

char lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool istarts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

// Header values go into error messages: keep them short and printable.
std::string shown(std::string_view value) {
  constexpr std::size_t max_shown = 100;
  std::string out = "'";
  for (std::size_t i = 0; i < value.size() && i < max_shown; ++i) {
    const char c = value[i];
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (value.size() > max_shown) out += "...";
  out += "'";
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

http_error make_error(unsigned status, std::string message,
                      int code = jsonrpc::codes::invalid_request) {
  http_error error;
  error.status = status;
  error.code = code;
  error.message = std::move(message);
  return error;
}

bool is_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A port after ':' in Host or Origin: 1-5 digits (value not checked: any port is fine,
// the name is what DNS rebinding changes).
bool is_port(std::string_view text) { return is_digits(text) && text.size() <= 5; }

// Splits "name[:port]" / "[v6][:port]" into the name; nullopt when malformed.
std::optional<std::string_view> split_authority(std::string_view authority) {
  if (authority.empty()) return std::nullopt;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !is_port(rest.substr(1)))) return std::nullopt;
    return authority.substr(0, close + 1);
  }
  const auto colon = authority.find(':');
  if (colon == std::string_view::npos) return authority;
  if (!is_port(authority.substr(colon + 1))) return std::nullopt;
  const std::string_view name = authority.substr(0, colon);
  if (name.empty()) return std::nullopt;
  return name;
}

bool is_supported_version(std::string_view version, const check_config& config) {
  return std::find(config.protocol_versions.begin(), config.protocol_versions.end(), version) !=
         config.protocol_versions.end();
}

std::optional<http_error> check_protocol_version(const checked_head& head,
                                                 const check_config& config) {
  if (head.protocol_version.empty() || is_supported_version(head.protocol_version, config)) {
    return std::nullopt;
  }
  return make_error(400, "Bad Request: unsupported MCP-Protocol-Version " +
                             shown(head.protocol_version) + "; this gateway supports " +
                             join(config.protocol_versions));
}

std::string allowed_methods(const check_config& config) {
  return config.enable_get_stream ? "GET, POST, DELETE, OPTIONS" : "POST, DELETE, OPTIONS";
}

constexpr std::string_view allowed_hosts_sentence =
    "the MCP gateway only answers requests addressed to localhost, 127.0.0.1 or [::1] "
    "(DNS rebinding protection)";

}  // namespace

std::vector<std::string> default_protocol_versions() {
  return {"2025-11-25", "2025-06-18", "2025-03-26"};
}

json error_body(const http_error& error) {
  return jsonrpc::make_error_response(error.id, error.code, error.message);
}

bool accept_allows(std::optional<std::string_view> accept, std::string_view media_type) {
  if (!accept) return true;  // RFC 9110 12.5.1: no Accept means any media type
  const auto slash = media_type.find('/');
  const std::string_view type = media_type.substr(0, slash);
  std::string_view rest = *accept;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view element = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    // media-range *( OWS ";" OWS parameter ); only q matters here.
    const auto semicolon = element.find(';');
    const std::string_view range = trim(element.substr(0, semicolon));
    bool zero_quality = false;
    std::string_view parameters =
        semicolon == std::string_view::npos ? std::string_view{} : element.substr(semicolon + 1);
    while (!parameters.empty()) {
      const auto next = parameters.find(';');
      const std::string_view parameter = trim(parameters.substr(0, next));
      parameters = next == std::string_view::npos ? std::string_view{} : parameters.substr(next + 1);
      if (parameter.size() >= 2 && lower(parameter[0]) == 'q' && parameter[1] == '=') {
        const std::string_view value = trim(parameter.substr(2));
        // q=0, q=0.0, q=0.000: not acceptable. Anything else (including junk) counts as > 0.
        zero_quality = !value.empty() && value[0] == '0' &&
                       value.find_first_not_of("0.", 1) == std::string_view::npos;
      }
    }
    if (zero_quality || range.empty()) continue;
    if (range == "*/*" || iequals(range, media_type)) return true;
    if (range.size() == type.size() + 2 && iequals(range.substr(0, type.size()), type) &&
        range.substr(type.size()) == "/*") {
      return true;
    }
  }
  return false;
}

bool is_allowed_host_name(std::string_view name, const std::vector<std::string>& extra) {
  if (iequals(name, "localhost") || name == "127.0.0.1" || name == "[::1]") return true;
  return std::any_of(extra.begin(), extra.end(),
                     [&](const std::string& allowed) { return iequals(name, allowed); });
}

std::optional<std::string_view> host_name_of(std::string_view host_header) {
  return split_authority(trim(host_header));
}

std::optional<std::string_view> origin_host(std::string_view origin) {
  origin = trim(origin);
  std::string_view rest;
  if (istarts_with(origin, "http://")) {
    rest = origin.substr(7);
  } else if (istarts_with(origin, "https://")) {
    rest = origin.substr(8);
  } else {
    return std::nullopt;  // "null", file://, chrome-extension://, ...
  }
  // An origin is scheme://host[:port] only: no path, query, fragment or userinfo.
  if (rest.find_first_of("/?#@") != std::string_view::npos) return std::nullopt;
  return split_authority(rest);
}

head_outcome check_head(const request_head& head, const check_config& config) {
  head_outcome out;
  checked_head& checked = out.head;
  auto reject = [&](http_error error) {
    out.error = std::move(error);
    return out;
  };

  // DNS rebinding first: nothing else about a request from a foreign name matters.
  if (head.repeated == "Host") return reject(make_error(400, "Bad Request: more than one Host header"));
  if (!head.host) {
    return reject(make_error(400, "Bad Request: the Host header is missing; " +
                                      std::string(allowed_hosts_sentence)));
  }
  const auto host_name = host_name_of(*head.host);
  if (!host_name || !is_allowed_host_name(*host_name, config.extra_allowed_hosts)) {
    return reject(make_error(403, "Forbidden: Host " + shown(*head.host) + " is not allowed; " +
                                      std::string(allowed_hosts_sentence)));
  }
  if (head.repeated == "Origin") return reject(make_error(403, "Forbidden: more than one Origin header"));
  if (head.origin) {
    const auto name = origin_host(*head.origin);
    if (!name || !is_allowed_host_name(*name, config.extra_allowed_hosts)) {
      return reject(make_error(
          403, "Forbidden: Origin " + shown(*head.origin) +
                   " is not allowed; the MCP gateway only accepts browser requests from pages on "
                   "http(s)://localhost, 127.0.0.1 or [::1] (DNS rebinding protection)"));
    }
    checked.cors_origin = std::string(trim(*head.origin));
  }

  const std::string_view path = head.target.substr(0, head.target.find('?'));
  const auto sub_path = sub_path_of(path, config.path);
  if (!sub_path || (!sub_path->empty() && (!config.sub_endpoints || sub_path->find('/') != std::string_view::npos))) {
    return reject(make_error(404, "Not Found: there is no MCP endpoint at " + shown(path) +
                                      "; the MCP endpoint is " + config.path +
                                      (config.sub_endpoints ? ", and " + config.path + "/<name> for one server"
                                                            : std::string())));
  }
  if (!sub_path->empty()) {
    auto name = percent_decode(*sub_path);
    const bool printable = name && std::all_of(name->begin(), name->end(), [](char c) {
      return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
    });
    if (!printable || name->size() > max_endpoint_name) {
      return reject(make_error(400, "Bad Request: the endpoint name in " + shown(path) +
                                        " is not valid (bad %-encoding, control characters, or over " +
                                        std::to_string(max_endpoint_name) + " bytes)"));
    }
    checked.endpoint = std::move(*name);
  }

  switch (head.method) {
    case http_method::options:
      checked.kind = request_kind::preflight;
      return out;
    case http_method::post:
      checked.kind = request_kind::post;
      break;
    case http_method::get:
      if (!config.enable_get_stream) {
        http_error error = make_error(
            405, "Method Not Allowed: this gateway offers no standalone SSE stream (GET); "
                 "use POST");
        error.allow = allowed_methods(config);
        return reject(std::move(error));
      }
      checked.kind = request_kind::get;
      break;
    case http_method::delete_:
      checked.kind = request_kind::delete_;
      break;
    case http_method::other: {
      http_error error = make_error(405, "Method Not Allowed: " + shown(head.method_name) +
                                             " is not supported at the MCP endpoint; use " +
                                             allowed_methods(config));
      error.allow = allowed_methods(config);
      return reject(std::move(error));
    }
  }

  if (head.repeated == "Mcp-Session-Id") {
    return reject(make_error(400, "Bad Request: more than one Mcp-Session-Id header"));
  }
  if (head.repeated == "MCP-Protocol-Version") {
    return reject(make_error(400, "Bad Request: more than one MCP-Protocol-Version header"));
  }
  if (head.session_id) checked.session_id = std::string(trim(*head.session_id));
  if (head.protocol_version) checked.protocol_version = std::string(trim(*head.protocol_version));
  checked.accepts_json = accept_allows(head.accept, "application/json");
  checked.accepts_sse = accept_allows(head.accept, "text/event-stream");
  checked.has_last_event_id = head.last_event_id.has_value();

  if (checked.kind == request_kind::get || checked.kind == request_kind::delete_) {
    if (checked.session_id.empty()) {
      return reject(make_error(400, "Bad Request: the Mcp-Session-Id header is required; send "
                                    "initialize (POST) first to start a session"));
    }
    if (auto error = check_protocol_version(checked, config)) return reject(std::move(*error));
    if (checked.kind == request_kind::get && !checked.accepts_sse) {
      return reject(make_error(406, "Not Acceptable: GET opens an SSE stream; the Accept header "
                                    "must allow text/event-stream"));
    }
    return out;
  }

  // POST
  if (head.repeated == "Content-Type") {
    return reject(make_error(415, "Unsupported Media Type: more than one Content-Type header"));
  }
  const std::string_view media_type =
      head.content_type ? trim(head.content_type->substr(0, head.content_type->find(';')))
                        : std::string_view{};
  if (!iequals(media_type, "application/json")) {
    return reject(make_error(415, "Unsupported Media Type: the body must be one JSON-RPC message "
                                  "with Content-Type: application/json" +
                                      std::string(head.content_type
                                                      ? ", not " + shown(*head.content_type)
                                                      : " (the header is missing)")));
  }
  if (!checked.accepts_json && !checked.accepts_sse) {
    return reject(make_error(406, "Not Acceptable: the Accept header must allow application/json "
                                  "and text/event-stream"));
  }
  if (head.content_length && *head.content_length > config.max_body_size) {
    return reject(make_error(413,
                             "Payload Too Large: the body is " + std::to_string(*head.content_length) +
                                 " bytes, over the limit of " +
                                 std::to_string(config.max_body_size) + " bytes for one message",
                             jsonrpc::codes::message_too_large));
  }
  return out;
}

body_outcome check_body(std::string_view body, const checked_head& head,
                        const body_context& context, const check_config& config) {
  body_outcome out;
  auto reject = [&](http_error error) {
    out.error = std::move(error);
    return out;
  };

  jsonrpc::parsed_line parsed = jsonrpc::parse_line(body, config.parse_limits);
  if (!parsed.errors.empty()) {
    // One refusal for the whole POST: the spec's 400 for input the server cannot accept.
    const json& first = parsed.errors.front();
    http_error error;
    error.status = 400;
    error.code = first["error"]["code"].get<int>();
    error.message = first["error"]["message"].get<std::string>();
    if (parsed.errors.size() > 1) {
      error.message += " (and " + std::to_string(parsed.errors.size() - 1) +
                       " more invalid messages in the batch)";
    }
    error.id = first["id"];
    return reject(std::move(error));
  }
  checked_body& checked = out.body;
  checked.was_batch = parsed.was_batch;
  checked.messages = std::move(parsed.messages);

  for (const json& message : checked.messages) {
    if (jsonrpc::classify(message) != jsonrpc::message_kind::request) continue;
    ++checked.request_count;
    if (message["method"] == "initialize") checked.is_initialize = true;
  }

  if (checked.is_initialize) {
    if (checked.was_batch) {
      return reject(make_error(400, "Invalid Request: initialize must be sent alone, not in a "
                                    "batch"));
    }
    if (context.has_session_header) {
      return reject(make_error(400, "Invalid Request: initialize starts a new session and must "
                                    "be sent without an Mcp-Session-Id header"));
    }
    checked.protocol_version = head.protocol_version.empty()
                                   ? std::string(fallback_protocol_version)
                                   : head.protocol_version;
    return out;
  }

  if (!context.has_session_header) {
    return reject(make_error(400, "Bad Request: the Mcp-Session-Id header is required; send "
                                  "initialize first to start a session, then send the "
                                  "Mcp-Session-Id it returns on every request"));
  }
  if (auto error = check_protocol_version(head, config)) return reject(std::move(*error));
  checked.protocol_version = !head.protocol_version.empty()       ? head.protocol_version
                             : !context.negotiated_version.empty() ? std::string(context.negotiated_version)
                                                                   : std::string(fallback_protocol_version);
  if (checked.was_batch && checked.protocol_version != batch_protocol_version) {
    return reject(make_error(400, "Invalid Request: JSON-RPC batches are only allowed with MCP "
                                  "protocol version 2025-03-26, this session uses " +
                                      checked.protocol_version +
                                      "; send one message per POST"));
  }
  return out;
}

std::optional<std::string_view> sub_path_of(std::string_view target, std::string_view path) {
  if (!target.starts_with(path)) return std::nullopt;
  const std::string_view rest = target.substr(path.size());
  if (rest.empty()) return rest;
  if (rest.front() != '/' || rest.size() == 1) return std::nullopt;
  return rest.substr(1);
}

std::optional<std::string> percent_decode(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int high = hex(text[i + 1]);
    const int low = hex(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

std::string make_session_id(p2p::random& random) {
  std::array<std::uint8_t, 16> bytes{};
  random.fill(bytes);
  constexpr char digits[] = "0123456789abcdef";
  std::string id;
  id.reserve(bytes.size() * 2);
  for (const std::uint8_t b : bytes) {
    id += digits[b >> 4];
    id += digits[b & 0xf];
  }
  return id;
}

std::string encode_sse_event(std::string_view id, const json& message) {
  std::string event = "event: message\n";
  if (!id.empty()) {
    event += "id: ";
    event += id;
    event += '\n';
  }
  event += "data: ";
  // encode_line: compact JSON without raw newlines, ending in "\n" (ends the data line).
  jsonrpc::append_line(event, message);
  event += '\n';
  return event;
}

}  // namespace mcp::gateway
