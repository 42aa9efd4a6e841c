#include "mcp/jsonrpc/id_router.hpp"

#include <algorithm>
#include <limits>

namespace mcp::jsonrpc {
namespace {

constexpr side other(side s) noexcept { return s == side::client ? side::upstream : side::client; }

// Ids as map keys: the compact JSON text. Integers print the same whether nlohmann stored
// them signed or unsigned (json's own operator< is not a strict weak order across the
// two), and strings print quoted, so 1 and "1" stay distinct.
std::string canonical_id(const json& id) {
  return id.dump(-1, ' ', false, json::error_handler_t::replace);
}

// now + d without overflowing: duration::max() means "never".
time_point add_saturating(time_point t, duration d) noexcept {
  if (d <= duration::zero()) return t;
  if (d >= time_point::max() - t) return time_point::max();
  return t + d;
}

std::string describe(duration d) {
  return describe_duration_ms(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

std::string describe_size(std::size_t bytes) {
  constexpr std::size_t mib = 1024 * 1024;
  constexpr std::size_t kib = 1024;
  if (bytes >= mib && bytes % mib == 0) return std::to_string(bytes / mib) + " MiB";
  if (bytes >= kib && bytes % kib == 0) return std::to_string(bytes / kib) + " KiB";
  return std::to_string(bytes) + " bytes";
}

// The id we issued, when `id` can be one (a positive integer).
std::optional<std::uint64_t> as_serial(const json& id) noexcept {
  if (id.is_number_unsigned()) return id.get<std::uint64_t>();
  if (id.is_number_integer()) {
    const auto value = id.get<std::int64_t>();
    if (value > 0) return static_cast<std::uint64_t>(value);
  }
  return std::nullopt;
}

// params.<member> of a message, or nullptr.
json* param(json& message, std::string_view member) {
  const auto params = message.find("params");
  if (params == message.end() || !params->is_object()) return nullptr;
  const auto found = params->find(member);
  return found == params->end() ? nullptr : &*found;
}

const char* side_name(side s) noexcept { return s == side::client ? "client" : "upstream"; }

}  // namespace

id_router::id_router(const router_config& config) : config_(config) {}

// ---- routing requests ----

void id_router::route_request(channel_id client, json request, channel_id upstream,
                              time_point now, const request_options& options) {
  route(side::client, client, std::move(request), upstream, now,
        options.timeout.value_or(config_.request_timeout),
        options.max_duration.value_or(config_.max_request_duration),
        options.reset_timeout_on_progress.value_or(config_.reset_timeout_on_progress),
        config_.max_pending_per_client);
}

void id_router::route_server_request(channel_id upstream, json request, channel_id client,
                                     time_point now) {
  route(side::upstream, upstream, std::move(request), client, now, config_.server_request_timeout,
        config_.server_request_timeout, false, config_.max_pending_per_upstream);
}

void id_router::route(side origin, channel_id requester, json request, channel_id target,
                      time_point now, duration timeout, duration max_duration,
                      bool reset_on_progress, std::size_t max_pending) {
  if (classify(request) != message_kind::request) {
    push_event(event_type::invalid_message, origin, requester, nullptr,
               "dropped a message passed for routing that is not a valid request");
    return;
  }
  json& id = request["id"];
  std::string key = canonical_id(id);
  if (by_origin_.contains({origin, requester, key})) {
    push_event(event_type::rejected_request, origin, requester, id,
               "rejected a request reusing the id of a pending request");
    send(origin, requester,
         make_error_response(id, codes::invalid_request,
                             "Invalid Request: id " + key +
                                 " is already used by a request still in progress"));
    return;
  }
  std::size_t& count = pending_counts_[{origin, requester}];
  if (count >= max_pending) {
    if (count == 0) pending_counts_.erase({origin, requester});
    push_event(event_type::rejected_request, origin, requester, id,
               "rejected a request over the pending-request limit");
    send(origin, requester,
         make_error_response(id, codes::too_many_requests,
                             "too many requests in progress: the limit is " +
                                 std::to_string(max_pending) +
                                 "; wait for a response before sending more"));
    return;
  }

  const serial fresh = next_serial_++;
  pending entry;
  entry.origin = origin;
  entry.requester = requester;
  entry.target = target;
  entry.original_id = std::move(id);
  entry.id_key = std::move(key);
  entry.method = request["method"].get<std::string>();
  entry.timeout = timeout;
  entry.max_duration = max_duration;
  entry.reset_on_progress = reset_on_progress;
  entry.idle_deadline = add_saturating(now, timeout);
  entry.hard_deadline = add_saturating(now, max_duration);
  id = fresh;
  if (json* meta = param(request, "_meta"); meta && meta->is_object()) {
    const auto token = meta->find("progressToken");
    if (token != meta->end() && is_valid_id(*token)) {
      // Tokens only need to be unique among active requests: the fresh id is.
      entry.original_token = std::move(*token);
      *token = fresh;
    }
  }

  ++count;
  by_origin_.emplace(origin_key{origin, requester, entry.id_key}, fresh);
  deadlines_.emplace(entry.expiry(), fresh);
  pending_.emplace(fresh, std::move(entry));
  send(other(origin), target, std::move(request));
}

// ---- other messages ----

std::optional<json> id_router::handle_client_message(channel_id client, json message,
                                                     time_point now) {
  return handle_message(side::client, client, std::move(message), now);
}

std::optional<json> id_router::handle_upstream_message(channel_id upstream, json message,
                                                       time_point now) {
  return handle_message(side::upstream, upstream, std::move(message), now);
}

std::optional<json> id_router::handle_message(side from, channel_id channel, json message,
                                              time_point now) {
  switch (classify(message)) {
    case message_kind::invalid:
      push_event(event_type::invalid_message, from, channel, nullptr,
                 "dropped a message that is not valid JSON-RPC 2.0");
      return std::nullopt;
    case message_kind::request:
      return message;
    case message_kind::response:
      handle_response(from, channel, std::move(message));
      return std::nullopt;
    case message_kind::notification:
      break;
  }
  const auto& method = message["method"].get_ref<const std::string&>();
  if (method == "notifications/progress") {
    handle_progress(from, channel, std::move(message), now);
    return std::nullopt;
  }
  if (method == "notifications/cancelled") {
    handle_cancelled(from, channel, std::move(message));
    return std::nullopt;
  }
  return message;
}

std::map<id_router::serial, id_router::pending>::iterator id_router::find_by_target(
    side from, channel_id channel, const json& id) {
  const auto fresh = as_serial(id);
  if (!fresh) return pending_.end();
  const auto it = pending_.find(*fresh);
  // Only the channel the request went to may answer it.
  if (it == pending_.end() || it->second.origin != other(from) || it->second.target != channel) {
    return pending_.end();
  }
  return it;
}

void id_router::handle_response(side from, channel_id channel, json response) {
  json& id = response["id"];
  const auto it = find_by_target(from, channel, id);
  if (it == pending_.end()) {
    const auto fresh = as_serial(id);
    const bool issued = fresh && *fresh < next_serial_ && !pending_.contains(*fresh);
    push_event(issued ? event_type::late_response : event_type::unknown_response, from, channel,
               id,
               issued ? "dropped a response to a request that is no longer pending"
                      : "dropped a response whose id matches no request sent on this channel");
    return;
  }
  id = it->second.original_id;
  const side to = it->second.origin;
  const channel_id requester = it->second.requester;
  erase(it);
  send(to, requester, std::move(response));
}

void id_router::handle_progress(side from, channel_id channel, json notification, time_point now) {
  json* token = param(notification, "progressToken");
  if (!token) {
    push_event(event_type::invalid_message, from, channel, nullptr,
               "dropped a progress notification without a progressToken");
    return;
  }
  const auto it = find_by_target(from, channel, *token);
  if (it == pending_.end() || !it->second.original_token) {
    push_event(event_type::unknown_progress, from, channel, *token,
               "dropped a progress notification for no pending request");
    return;
  }
  pending& entry = it->second;
  *token = *entry.original_token;
  if (entry.reset_on_progress) {
    deadlines_.erase({entry.expiry(), it->first});
    entry.idle_deadline = add_saturating(now, entry.timeout);
    deadlines_.emplace(entry.expiry(), it->first);
  }
  entry.progressed = true;
  send(entry.origin, entry.requester, std::move(notification));
}

void id_router::handle_cancelled(side from, channel_id channel, json notification) {
  json* request_id = param(notification, "requestId");
  if (!request_id || !is_valid_id(*request_id)) {
    push_event(event_type::invalid_message, from, channel, nullptr,
               "dropped a cancellation without a valid requestId");
    return;
  }
  const auto route = by_origin_.find({from, channel, canonical_id(*request_id)});
  if (route == by_origin_.end()) {
    push_event(event_type::unknown_cancel, from, channel, *request_id,
               "dropped a cancellation of a request that is not pending");
    return;
  }
  const auto it = pending_.find(route->second);
  *request_id = it->first;
  const channel_id target = it->second.target;
  erase(it);
  send(other(from), target, std::move(notification));
}

// ---- oversized messages ----

void id_router::handle_oversized(side from, channel_id channel, const frame& oversized,
                                 std::size_t limit) {
  const message_hint hint = sniff_message(oversized.head, oversized.tail);
  const std::string sizes =
      std::to_string(oversized.size) + " bytes, over the message size limit of " + describe_size(limit);
  if (!hint.id) {
    push_event(event_type::oversized_message, from, channel, nullptr,
               "dropped a message of " + sizes + " whose id could not be recovered");
    return;
  }
  if (hint.has_method) {
    // A request too large to forward: its sender gets the error.
    push_event(event_type::oversized_message, from, channel, *hint.id,
               "answered a request of " + sizes + " with an error");
    send(from, channel,
         make_error_response(*hint.id, codes::message_too_large,
                             "the request is " + sizes + "; send less data"));
    return;
  }
  const auto it = find_by_target(from, channel, *hint.id);
  if (it == pending_.end()) {
    push_event(event_type::oversized_message, from, channel, *hint.id,
               "dropped a response of " + sizes + " that matches no pending request");
    return;
  }
  push_event(event_type::oversized_message, from, channel, *hint.id,
             "failed the request answered by a response of " + sizes);
  const side to = it->second.origin;
  const channel_id requester = it->second.requester;
  json error = make_error_response(
      it->second.original_id, codes::message_too_large,
      "the response to " + it->second.method + " was dropped: it is " + sizes);
  erase(it);
  send(to, requester, std::move(error));
}

// ---- time ----

std::optional<time_point> id_router::poll_timeout() const {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

void id_router::handle_timeout(time_point now) {
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    expire(pending_.find(deadlines_.begin()->second), now);
  }
}

void id_router::expire(std::map<serial, pending>::iterator it, time_point now) {
  const pending& entry = it->second;
  std::string message;
  if (entry.hard_deadline <= now && entry.hard_deadline <= entry.idle_deadline) {
    message = "request " + entry.method + " did not complete within the maximum of " +
              describe(entry.max_duration);
  } else if (entry.progressed && entry.reset_on_progress) {
    message = "request " + entry.method + " timed out: no response or progress for " +
              describe(entry.timeout);
  } else {
    message = "request " + entry.method + " timed out after " + describe(entry.timeout) +
              " without a response";
  }
  push_event(event_type::timed_out, entry.origin, entry.requester, entry.original_id, message);
  send(entry.origin, entry.requester,
       make_error_response(entry.original_id, codes::request_timeout, message));
  // Lifecycle "Timeouts": the sender SHOULD issue a cancellation; initialize MUST NOT be.
  if (entry.method != "initialize") {
    send(other(entry.origin), entry.target, make_cancelled(it->first, message));
  }
  erase(it);
}

// ---- channel failures ----

void id_router::fail_upstream(channel_id upstream, std::string_view reason, int code) {
  fail_channel(side::upstream, upstream, reason, code);
}

void id_router::fail_client(channel_id client, std::string_view reason, int code) {
  fail_channel(side::client, client, reason, code);
}

void id_router::fail_channel(side failed, channel_id channel, std::string_view reason, int code) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    const auto current = it++;
    const pending& entry = current->second;
    if (entry.origin == failed && entry.requester == channel) {
      // The failed channel asked: the target need not work on it any more.
      if (entry.method != "initialize") {
        send(other(failed), entry.target, make_cancelled(current->first, std::string(reason)));
      }
      erase(current);
    } else if (entry.origin != failed && entry.target == channel) {
      // The failed channel owed the answer: the requester gets an error.
      send(entry.origin, entry.requester,
           make_error_response(entry.original_id, code, std::string(reason)));
      erase(current);
    }
  }
}

// ---- bookkeeping ----

void id_router::erase(std::map<serial, pending>::iterator it) {
  const pending& entry = it->second;
  deadlines_.erase({entry.expiry(), it->first});
  by_origin_.erase({entry.origin, entry.requester, entry.id_key});
  const auto count = pending_counts_.find({entry.origin, entry.requester});
  if (count != pending_counts_.end() && --count->second == 0) pending_counts_.erase(count);
  pending_.erase(it);
}

void id_router::send(side to, channel_id channel, json message) {
  outputs_.push_back(outgoing{to, channel, std::move(message)});
}

void id_router::push_event(event_type type, side from, channel_id channel, json id,
                           std::string detail) {
  if (config_.max_events == 0) return;
  if (events_.size() >= config_.max_events) events_.pop_front();
  events_.push_back(event{type, from, channel, std::move(id),
                          std::string(side_name(from)) + " " + std::to_string(channel) + ": " +
                              std::move(detail)});
}

std::optional<outgoing> id_router::poll_output() {
  if (outputs_.empty()) return std::nullopt;
  outgoing next = std::move(outputs_.front());
  outputs_.pop_front();
  return next;
}

std::optional<event> id_router::poll_event() {
  if (events_.empty()) return std::nullopt;
  event next = std::move(events_.front());
  events_.pop_front();
  return next;
}

std::size_t id_router::pending_from(side s, channel_id channel) const {
  const auto found = pending_counts_.find({s, channel});
  return found == pending_counts_.end() ? 0 : found->second;
}

std::vector<channel_id> id_router::clients_waiting_on(channel_id upstream) const {
  std::vector<channel_id> clients;
  for (const auto& [fresh, entry] : pending_) {
    if (entry.origin == side::client && entry.target == upstream) clients.push_back(entry.requester);
  }
  std::sort(clients.begin(), clients.end());
  clients.erase(std::unique(clients.begin(), clients.end()), clients.end());
  return clients;
}

}  // namespace mcp::jsonrpc
