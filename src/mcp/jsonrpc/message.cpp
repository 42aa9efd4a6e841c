#include "mcp/jsonrpc/message.hpp"

#include <utility>

namespace mcp::jsonrpc {
namespace {

constexpr std::string_view whitespace = " \t\r\n";

bool is_string_equal(const json& value, std::string_view text) noexcept {
  return value.is_string() && value.get_ref<const json::string_t&>() == text;
}

// Why `value` is not a valid JSON-RPC message, or nullptr when it is one.
const char* invalid_reason(const json& value, message_kind& kind) noexcept {
  kind = message_kind::invalid;
  if (!value.is_object()) return "a message must be a JSON object";
  const auto version = value.find("jsonrpc");
  if (version == value.end() || !is_string_equal(*version, jsonrpc_version)) {
    return "\"jsonrpc\" must be \"2.0\"";
  }
  const auto id = value.find("id");
  const auto method = value.find("method");
  const bool has_result = value.contains("result");
  const auto error = value.find("error");
  const bool has_error = error != value.end();
  if (method != value.end()) {
    if (!method->is_string()) return "\"method\" must be a string";
    if (has_result || has_error) return "a message cannot have both \"method\" and a result or error";
    const auto params = value.find("params");
    if (params != value.end() && !params->is_object() && !params->is_array()) {
      return "\"params\" must be an object or an array";
    }
    if (id == value.end()) {
      kind = message_kind::notification;
      return nullptr;
    }
    if (!is_valid_id(*id)) return "\"id\" must be a string or an integer";
    kind = message_kind::request;
    return nullptr;
  }
  if (id == value.end()) return "a message needs \"method\" or \"id\"";
  if (has_result == has_error) return "a response needs exactly one of \"result\" and \"error\"";
  if (has_error) {
    if (!error->is_object()) return "\"error\" must be an object";
    const auto code = error->find("code");
    if (code == error->end() || !code->is_number_integer()) return "\"error.code\" must be an integer";
    const auto text = error->find("message");
    if (text == error->end() || !text->is_string()) return "\"error.message\" must be a string";
    if (!id->is_null() && !is_valid_id(*id)) return "\"id\" must be a string, an integer or null";
  } else if (!is_valid_id(*id)) {
    return "\"id\" must be a string or an integer";
  }
  kind = message_kind::response;
  return nullptr;
}

// Deepest nesting in `text`, stopping early once over `limit`. Strings are skipped so
// brackets inside them do not count. Runs before parsing, on any bytes.
std::size_t nesting_depth(std::string_view text, std::size_t limit) noexcept {
  std::size_t depth = 0;
  std::size_t deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

// The id to put into the error for an invalid value: the value's own id when it looks
// like a request (so the sender can match the error), else null. A broken response gets
// null: echoing its id would read as an answer to one of the sender's own requests.
json error_id_for(const json& value) {
  if (!value.is_object() || !value.contains("method")) return nullptr;
  const auto id = value.find("id");
  if (id != value.end() && is_valid_id(*id)) return *id;
  return nullptr;
}

void add_element(parsed_line& out, json&& value) {
  message_kind kind;
  if (const char* reason = invalid_reason(value, kind)) {
    out.errors.push_back(make_error_response(error_id_for(value), codes::invalid_request,
                                             std::string("Invalid Request: ") + reason));
    return;
  }
  out.messages.push_back(std::move(value));
}

// ---- sniffing ----

std::size_t skip_space(std::string_view text, std::size_t i) noexcept {
  while (i < text.size() && whitespace.find(text[i]) != std::string_view::npos) ++i;
  return i;
}

// Index just past the string starting at text[i] == '"', or npos when it is cut off.
std::size_t skip_string(std::string_view text, std::size_t i) noexcept {
  for (++i; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;
    } else if (text[i] == '"') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

// Index just past the JSON value starting at text[i], or npos when it is cut off (a
// scalar touching the end counts as cut off: more digits may follow).
std::size_t skip_value(std::string_view text, std::size_t i) noexcept {
  if (i >= text.size()) return std::string_view::npos;
  if (text[i] == '"') return skip_string(text, i);
  if (text[i] == '{' || text[i] == '[') {
    std::size_t depth = 0;
    while (i < text.size()) {
      const char c = text[i];
      if (c == '"') {
        i = skip_string(text, i);
        if (i == std::string_view::npos) return i;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return std::string_view::npos;
  }
  while (i < text.size() && std::string_view(",}] \t\r\n").find(text[i]) == std::string_view::npos) ++i;
  return i < text.size() ? i : std::string_view::npos;
}

std::optional<json> parse_id(std::string_view token) {
  json id = json::parse(token.begin(), token.end(), nullptr, false);
  if (id.is_discarded() || !is_valid_id(id)) return std::nullopt;
  return id;
}

void sniff_head(std::string_view head, message_hint& hint) {
  std::size_t i = skip_space(head, 0);
  if (i >= head.size() || head[i] != '{') return;
  ++i;
  for (;;) {
    i = skip_space(head, i);
    if (i >= head.size() || head[i] != '"') return;
    const std::size_t key_end = skip_string(head, i);
    if (key_end == std::string_view::npos) return;
    const std::string_view key = head.substr(i + 1, key_end - i - 2);
    i = skip_space(head, key_end);
    if (i >= head.size() || head[i] != ':') return;
    i = skip_space(head, i + 1);
    if (key == "method") hint.has_method = true;
    if (key == "result" || key == "error") hint.has_outcome = true;
    const std::size_t value_end = skip_value(head, i);
    if (value_end == std::string_view::npos) return;
    if (key == "id" && !hint.id) hint.id = parse_id(head.substr(i, value_end - i));
    i = skip_space(head, value_end);
    if (i >= head.size() || head[i] != ',') return;
    ++i;
  }
}

bool is_escaped(std::string_view text, std::size_t quote) noexcept {
  std::size_t backslashes = 0;
  while (quote > backslashes && text[quote - backslashes - 1] == '\\') ++backslashes;
  return backslashes % 2 == 1;
}

std::size_t trim_space_back(std::string_view text, std::size_t end) noexcept {
  while (end > 0 && whitespace.find(text[end - 1]) != std::string_view::npos) --end;
  return end;
}

// `... , "id" : <value> }` at the very end: the final brace closes the top-level object,
// so the member just before it is a top-level member.
std::optional<json> sniff_tail(std::string_view tail) {
  std::size_t end = trim_space_back(tail, tail.size());
  if (end == 0 || tail[end - 1] != '}') return std::nullopt;
  end = trim_space_back(tail, end - 1);
  if (end == 0) return std::nullopt;
  std::size_t start = end;
  if (tail[end - 1] >= '0' && tail[end - 1] <= '9') {
    while (start > 0 && tail[start - 1] >= '0' && tail[start - 1] <= '9') --start;
    if (start > 0 && tail[start - 1] == '-') --start;
  } else if (tail[end - 1] == '"' && !is_escaped(tail, end - 1)) {
    start = end - 1;
    do {
      if (start == 0) return std::nullopt;
      --start;
    } while (tail[start] != '"' || is_escaped(tail, start));
  } else {
    return std::nullopt;
  }
  std::size_t before = trim_space_back(tail, start);
  if (before == 0 || tail[before - 1] != ':') return std::nullopt;
  before = trim_space_back(tail, before - 1);
  constexpr std::string_view key = "\"id\"";
  if (before < key.size() || tail.substr(before - key.size(), key.size()) != key) return std::nullopt;
  before -= key.size();
  if (is_escaped(tail, before)) return std::nullopt;
  before = trim_space_back(tail, before);
  if (before == 0 || (tail[before - 1] != ',' && tail[before - 1] != '{')) return std::nullopt;
  return parse_id(tail.substr(start, end - start));
}

}  // namespace

bool is_valid_id(const json& id) noexcept { return id.is_string() || id.is_number_integer(); }

message_kind classify(const json& value) noexcept {
  message_kind kind;
  invalid_reason(value, kind);
  return kind;
}

parsed_line parse_line(std::string_view line, const parse_limits& limits) {
  parsed_line out;
  if (nesting_depth(line, limits.max_depth) > limits.max_depth) {
    const std::string_view head = line.substr(0, oversized_head_length);
    const std::string_view tail = line.substr(line.size() - std::min(line.size(), oversized_tail_length));
    message_hint hint = sniff_message(head, tail);
    json id = hint.id && hint.has_method ? std::move(*hint.id) : json();
    out.errors.push_back(make_error_response(
        std::move(id), codes::invalid_request,
        "Invalid Request: the message nests deeper than " + std::to_string(limits.max_depth) +
            " levels"));
    return out;
  }
  json value = json::parse(line.begin(), line.end(), nullptr, false);
  if (value.is_discarded()) {
    out.errors.push_back(make_error_response(nullptr, codes::parse_error,
                                             "Parse error: the message is not valid JSON"));
    return out;
  }
  if (!value.is_array()) {
    add_element(out, std::move(value));
    return out;
  }
  out.was_batch = true;
  if (value.empty()) {
    out.errors.push_back(make_error_response(nullptr, codes::invalid_request,
                                             "Invalid Request: empty batch"));
    return out;
  }
  if (value.size() > limits.max_batch) {
    out.errors.push_back(make_error_response(
        nullptr, codes::invalid_request,
        "Invalid Request: a batch of " + std::to_string(value.size()) +
            " messages is over the limit of " + std::to_string(limits.max_batch)));
    return out;
  }
  out.messages.reserve(value.size());
  for (json& element : value.get_ref<json::array_t&>()) add_element(out, std::move(element));
  return out;
}

json make_error_response(json id, int code, std::string message, json data) {
  json error = {{"code", code}, {"message", std::move(message)}};
  if (!data.is_null()) error["data"] = std::move(data);
  return {{"jsonrpc", jsonrpc_version}, {"id", std::move(id)}, {"error", std::move(error)}};
}

json make_result_response(json id, json result) {
  return {{"jsonrpc", jsonrpc_version}, {"id", std::move(id)}, {"result", std::move(result)}};
}

json make_request(json id, std::string method, json params) {
  json request = {{"jsonrpc", jsonrpc_version}, {"id", std::move(id)}, {"method", std::move(method)}};
  if (!params.is_null()) request["params"] = std::move(params);
  return request;
}

json make_notification(std::string method, json params) {
  json notification = {{"jsonrpc", jsonrpc_version}, {"method", std::move(method)}};
  if (!params.is_null()) notification["params"] = std::move(params);
  return notification;
}

json make_cancelled(json request_id, std::string reason) {
  json params = {{"requestId", std::move(request_id)}};
  if (!reason.empty()) params["reason"] = std::move(reason);
  return make_notification("notifications/cancelled", std::move(params));
}

std::string describe_duration_ms(long long milliseconds) {
  if (milliseconds < 0) milliseconds = 0;
  if (milliseconds < 1000) return std::to_string(milliseconds) + " ms";
  if (milliseconds > 60000 && milliseconds % 60000 == 0) {
    return std::to_string(milliseconds / 60000) + " min";
  }
  std::string text = std::to_string(milliseconds / 1000);
  if (milliseconds % 1000 != 0) {
    std::string fraction = std::to_string(1000 + milliseconds % 1000).substr(1);  // "250"
    while (fraction.back() == '0') fraction.pop_back();
    text += "." + fraction;
  }
  return text + " s";
}

message_hint sniff_message(std::string_view head, std::string_view tail) {
  message_hint hint;
  sniff_head(head, hint);
  if (!hint.id) hint.id = sniff_tail(tail);
  return hint;
}

}  // namespace mcp::jsonrpc
