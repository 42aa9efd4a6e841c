#include "mcp/hub/hub_internal.hpp"

#include "mcp/hub/naming.hpp"
#include "mcp/jsonrpc/message.hpp"

#include "p2p/core/log.hpp"

#include <set>

namespace mcp::hub {

namespace asio = boost::asio;
namespace codes = jsonrpc::codes;
namespace log = p2p::log;
using namespace detail;

namespace {

// Which capability a server-to-client request needs from the client.
std::string capability_for(std::string_view method) {
  if (method == "sampling/createMessage") return "sampling";
  if (method == "elicitation/create") return "elicitation";
  if (method == "roots/list") return "roots";
  return {};
}

}  // namespace

void hub::dispatch(upstream& up, server_message message) {
  if (message.is_request()) {
    route_server_request(up, std::move(message));
    return;
  }
  const std::string method = message.method();
  const json& params = message.message.contains("params") ? message.message["params"] : json();
  if (method == "notifications/progress") {
    const json token = params.is_object() ? params.value("progressToken", json()) : json();
    if (token.is_null()) return;
    auto it = progress_.find(progress_key{&up, token.dump()});
    if (it == progress_.end()) return;  // finished already, or not ours
    it->second.owner->deliver_progress(it->second.request_key, std::move(message.message));
    return;
  }
  if (method == "notifications/cancelled") {
    const json id = params.is_object() ? params.value("requestId", json()) : json();
    const json* given = string_member(params, "reason");
    const std::string reason = given ? given->get<std::string>() : std::string();
    for (session* s : sessions_) s->deliver_cancel_of_server_request(up, id, reason);
    return;
  }
  if (method == "notifications/tools/list_changed") return;  // watch() reports cache changes
  if (const lease_record* own = lease_of(up)) {
    // A session's own upstream: what it says is for that session only.
    session* s = own->owner;
    if (!s || s->closed_) return;
    if (method == "notifications/resources/updated") {
      s->deliver_resource_updated(up, std::move(message.message));
      return;
    }
    if (method == "notifications/resources/list_changed" || method == "notifications/prompts/list_changed") {
      if (s->initialized_) s->post(std::move(message.message));
      return;
    }
  }
  if (method == "notifications/resources/updated") {
    const json* uri = string_member(params, "uri");
    if (!uri) return;
    auto it = subscribers_.find(subscription(&up, uri->get<std::string>()));
    if (it == subscribers_.end()) return;
    for (session* s : std::vector<session*>(it->second.begin(), it->second.end()))
      if (s->sees(up)) s->deliver_resource_updated(up, message.message);
    return;
  }
  if (method == "notifications/message") {
    route_log_message(up, std::move(message.message));
    return;
  }
  if (method == "notifications/resources/list_changed" || method == "notifications/prompts/list_changed") {
    // About the server, not about a client's data: everyone who sees it hears it.
    for (session* s : sessions_)
      if (s->initialized_ && !s->closed_ && s->sees(up)) s->post(message.message);
    return;
  }
  log::debug(component, "dropped {} from MCP server '{}'", method, up.name());
}

hub::recipient hub::recipient_of(const upstream& up) const {
  recipient out;
  if (const lease_record* own = lease_of(up)) {
    // A session's own upstream: its session, on the reply stream of its one request in
    // flight to it when there is exactly one.
    session* s = own->owner;
    if (!s || s->closed_) return out;
    out.owner = s;
    out.candidates = 1;
    std::size_t in_flight = 0;
    for (const auto& [key, request] : s->active_) {
      if (request->target != &up || request->finished) continue;
      out.via = request;
      ++in_flight;
    }
    if (in_flight != 1) out.via = nullptr;
    return out;
  }
  std::set<session*> owners;
  std::size_t in_flight = 0;
  for (session* s : sessions_) {
    if (s->closed_ || !s->sees(up)) continue;
    for (const auto& [key, request] : s->active_) {
      if (request->target != &up || request->finished) continue;
      owners.insert(s);
      out.via = request;
      ++in_flight;
    }
  }
  if (owners.empty()) {
    // Nothing in flight (roots/list after the roots changed, a log line of its own):
    // unambiguous only when a single client uses the server at all.
    for (session* s : sessions_) {
      if (s->closed_ || !s->initialized_ || !s->sees(up)) continue;
      out.owner = s;
      ++out.candidates;
    }
    if (out.candidates != 1) out.owner = nullptr;
    return out;
  }
  out.candidates = owners.size();
  if (owners.size() != 1) {
    out.via = nullptr;
    return out;
  }
  out.owner = *owners.begin();
  // Several requests of the one client: which of them is unknown, so its session's stream.
  if (in_flight != 1) out.via = nullptr;
  return out;
}

std::string hub::ambiguity(const upstream& up, const recipient& to, std::string_view what) const {
  return "p2pmcp cannot tell which of its " + std::to_string(to.candidates) + " clients this " +
         std::string(what) + " is for: they share one session with the MCP server '" + up.name() +
         "', whose messages do not say (try again while only one client uses that server)";
}

void hub::route_server_request(upstream& up, server_message message) {
  const std::string method = message.method();
  const recipient to = recipient_of(up);
  if (to.candidates == 0) {
    up.respond_error(message, codes::method_not_found, "no MCP client of this node is connected to answer " + method);
    return;
  }
  if (!to.owner) {
    log::debug(component, "refused {} from MCP server '{}': {} clients could be meant", method, up.name(),
               to.candidates);
    up.respond_error(message, codes::internal_error, ambiguity(up, to, method));
    return;
  }
  const std::string capability = capability_for(method);
  if (!capability.empty() && !to.owner->client_capabilities_.contains(capability)) {
    up.respond_error(message, codes::method_not_found,
                     "the MCP client (" + to.owner->label() + ") does not support " + method);
    return;
  }
  to.owner->deliver_server_request(up, std::move(message), to.via);
}

void hub::route_log_message(upstream& up, json message) {
  const recipient to = recipient_of(up);
  if (!to.owner || to.owner->closed_) {
    ++dropped_log_messages_;
    // Never broadcast (it may be about one client's data). A clock-free rate limit: the
    // 1st, 2nd, 4th, 8th ... drop is logged.
    if (to.candidates > 1 && (dropped_log_messages_ & (dropped_log_messages_ - 1)) == 0)
      log::debug(component, "dropped a notifications/message ({} so far): {}", dropped_log_messages_,
                 ambiguity(up, to, "log message"));
    return;
  }
  session& s = *to.owner;
  if (!s.options_.only && message.contains("params") && message["params"].is_object()) {
    // Which server said it: the gateway's clients see many.
    const std::string prefix = s.prefix_of(up);
    const json* logger = string_member(message["params"], "logger");
    message["params"]["logger"] = logger ? prefix + "/" + logger->get<std::string>() : prefix;
  }
  if (to.via) {
    // On the reply stream of the request it is about, before that request's result.
    to.via->related.push_back(std::move(message));
    to.via->cancel.notify();
  } else {
    s.post(std::move(message));
  }
}

void session::handle_response(const json& message) {
  const json& id = message["id"];
  if (!id.is_number_integer()) return;
  auto it = server_requests_.find(id.get<std::int64_t>());
  if (it == server_requests_.end()) return;  // late, or never ours
  server_request pending = std::move(it->second);
  server_requests_.erase(it);
  if (message.contains("result")) {
    json result = message["result"];
    // What the client answers may hold URIs it got from the gateway (sampling content).
    if (!options_.only) unwrap_uris(result, std::string(uri_scheme) + prefix_of(*pending.from) + "/");
    pending.from->respond(pending.message, std::move(result));
  } else {
    const json& error = message["error"];
    pending.from->respond_error(pending.message, error.value("code", codes::internal_error),
                                error.value("message", std::string("error")), error.value("data", json()));
  }
}

void session::deliver_progress(const std::string& request_key, json notification) {
  auto it = active_.find(request_key);
  if (it == active_.end() || closed_) return;
  active_request& request = *it->second;
  if (!request.client_token) return;  // the client asked for no progress
  notification["params"]["progressToken"] = *request.client_token;
  request.related.push_back(std::move(notification));
  request.cancel.notify();
}

void session::deliver_server_request(upstream& from, server_message message, active_request* via) {
  if (closed_) {
    from.respond_error(message, codes::connection_closed, "the MCP client (" + options_.label + ") went away");
    return;
  }
  const std::int64_t id = next_server_request_id_++;
  json request = message.message;
  request["id"] = id;
  // Resource URIs in what the server asks (sampling messages) as the client knows them.
  if (request.contains("params") && request["params"].is_object() && request["params"].contains("messages"))
    rewrite_messages(request["params"]["messages"], from);
  server_request pending;
  pending.from = &from;
  pending.message = std::move(message);
  server_requests_.emplace(id, std::move(pending));
  if (via) {
    // On the reply stream of the request that caused it (HTTP: its SSE stream).
    via->related.push_back(std::move(request));
    via->cancel.notify();
  } else {
    post(std::move(request));
  }
}

void session::deliver_cancel_of_server_request(upstream& from, const json& upstream_id, const std::string& reason) {
  for (auto it = server_requests_.begin(); it != server_requests_.end(); ++it) {
    if (it->second.from != &from || it->second.message.message.value("id", json()) != upstream_id) continue;
    json notification = jsonrpc::make_cancelled(it->first, reason);
    server_requests_.erase(it);
    post(std::move(notification));
    return;
  }
}

void session::deliver_resource_updated(upstream& from, json notification) {
  if (closed_ || !notification.contains("params") || !notification["params"].is_object()) return;
  const json* uri = string_member(notification["params"], "uri");
  if (!uri || !subscriptions_.count(std::pair<const upstream*, std::string>(&from, uri->get<std::string>()))) return;
  notification["params"]["uri"] = expose_uri(prefix_of(from), uri->get<std::string>());
  post(std::move(notification));
}

}  // namespace mcp::hub
