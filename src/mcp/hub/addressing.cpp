#include "mcp/hub/hub_internal.hpp"

#include "mcp/hub/naming.hpp"
#include "mcp/jsonrpc/message.hpp"

#include "p2p/core/log.hpp"

namespace mcp::hub {

namespace asio = boost::asio;
namespace codes = jsonrpc::codes;
namespace log = p2p::log;
using namespace detail;

void detail::unwrap_uris(json& value, std::string_view wrapped) {
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    if (text.size() > wrapped.size() && text.compare(0, wrapped.size(), wrapped) == 0) value = text.substr(wrapped.size());
  } else if (value.is_object() || value.is_array()) {
    for (auto& item : value) unwrap_uris(item, wrapped);
  }
}

std::optional<std::pair<upstream*, std::string>> session::route_uri(std::string_view uri) const {
  if (options_.only) return std::pair<upstream*, std::string>(options_.only, std::string(uri));
  auto parsed = parse_exposed_uri(uri);
  if (!parsed) return std::nullopt;
  const auto* e = hub_.find_prefix(parsed->first);
  if (!e) return std::nullopt;
  return std::pair<upstream*, std::string>(e->up, std::move(parsed->second));
}

std::optional<std::pair<upstream*, std::string>> session::route_prompt(std::string_view name) const {
  if (options_.only) return std::pair<upstream*, std::string>(options_.only, std::string(name));
  // A name from the last prompts/list: exact, also for shortened and hashed names.
  if (auto listed = listed_prompts_.find(name); listed != listed_prompts_.end()) {
    if (const hub::entry* e = hub_.find(*listed->second.first))
      return std::pair<upstream*, std::string>(e->up, listed->second.second);
  }
  // Otherwise by prefix: "<alias>_<server>_<name>" (the longest prefix that matches).
  const hub::entry* best = hub_.owner_of_name(name);
  if (!best) return std::nullopt;
  return std::pair<upstream*, std::string>(best->up, std::string(name.substr(best->prefix.size() + 1)));
}

void session::rewrite_content(json& content, const upstream& up) const {
  if (options_.only || !content.is_array()) return;
  const std::string prefix = prefix_of(up);
  for (auto& item : content) {
    if (!item.is_object()) continue;
    if (const json* uri = string_member(item, "uri")) item["uri"] = expose_uri(prefix, uri->get<std::string>());
    if (item.contains("resource") && item["resource"].is_object())
      if (const json* uri = string_member(item["resource"], "uri"))
        item["resource"]["uri"] = expose_uri(prefix, uri->get<std::string>());
  }
}

void session::rewrite_messages(json& messages, const upstream& up) const {
  if (options_.only || !messages.is_array()) return;
  for (auto& m : messages) {
    if (!m.is_object() || !m.contains("content")) continue;
    json& content = m["content"];
    if (content.is_array()) {  // sampling messages may hold several blocks
      rewrite_content(content, up);
      continue;
    }
    json wrapped = json::array();
    wrapped.push_back(std::move(content));
    rewrite_content(wrapped, up);
    content = std::move(wrapped[0]);
  }
}

task<json> session::read_resource(std::string method, const json& request, active_request& state) {
  json params = request.contains("params") ? request["params"] : json::object();
  const json* uri = string_member(params, "uri");
  if (!uri) co_return jsonrpc::make_error_response(state.id, codes::invalid_params, method + " needs a string \"uri\"");
  const std::string exposed = uri->get<std::string>();
  auto route = route_uri(exposed);
  if (!route)
    co_return jsonrpc::make_error_response(state.id, -32002,
                                           "unknown resource '" + exposed +
                                               "': resources of the p2pmcp gateway look like p2pmcp://<alias>_<server>/<uri>");
  upstream* target = route->first;
  const std::string original = route->second;
  auto to = co_await pick(*target, false);
  if (!to) co_return error_response(state.id, to.error());
  hub::lease_record* own = to->use.get();
  // On the session's own upstream a subscription is the session's alone; on a shared
  // one it is counted across sessions.
  const hub::subscription key(to->up, original);
  if (!own && method == "resources/unsubscribe" && hub_.has_other_subscribers(key, *this)) {
    // Other sessions still want its updates: only this one stops getting them.
    if (subscriptions_.erase(key)) hub_.leave_subscription(key, *this);
    co_return jsonrpc::make_result_response(state.id, json::object());
  }
  json response = co_await forward(std::move(*to), method, std::move(params), state);
  // A lease retired meanwhile (its server removed) keeps no subscription.
  const bool still_own = !own || (leases_.count(target) && leases_[target] == own);
  if (response.contains("result") && !closed_ && still_own) {
    if (method == "resources/subscribe" && subscriptions_.insert(key).second && !own) hub_.subscribers_[key].insert(this);
    if (method == "resources/unsubscribe" && subscriptions_.erase(key) && !own) hub_.leave_subscription(key, *this, true);
    if (method == "resources/read" && response["result"].is_object())
      rewrite_content(response["result"]["contents"], *target);
  }
  co_return response;
}

task<json> session::get_prompt(const json& request, active_request& state) {
  json params = request.contains("params") ? request["params"] : json::object();
  const json* name = string_member(params, "name");
  if (!name) co_return jsonrpc::make_error_response(state.id, codes::invalid_params, "prompts/get needs a string \"name\"");
  auto route = route_prompt(name->get<std::string>());
  if (!route)
    co_return jsonrpc::make_error_response(state.id, codes::invalid_params, "unknown prompt '" + name->get<std::string>() + "'");
  upstream* target = route->first;
  params["name"] = route->second;
  auto to = co_await pick(*target, false);
  if (!to) co_return error_response(state.id, to.error());
  json response = co_await forward(std::move(*to), "prompts/get", std::move(params), state);
  if (response.contains("result") && response["result"].is_object() && response["result"].contains("messages"))
    rewrite_messages(response["result"]["messages"], *target);
  co_return response;
}

task<json> session::complete(const json& request, active_request& state) {
  json params = request.contains("params") ? request["params"] : json::object();
  if (options_.only) {
    auto to = co_await pick(*options_.only, false);
    if (!to) co_return error_response(state.id, to.error());
    co_return co_await forward(std::move(*to), "completion/complete", std::move(params), state);
  }
  const json ref = params.is_object() ? params.value("ref", json()) : json();
  std::optional<std::pair<upstream*, std::string>> route;
  if (const json* name = string_member(ref, "name")) {
    route = route_prompt(name->get<std::string>());
    if (route) params["ref"]["name"] = route->second;
  } else if (const json* uri = string_member(ref, "uri")) {
    route = route_uri(uri->get<std::string>());
    // forward() unwraps the uri, as every other one in params.
  }
  if (!route) co_return jsonrpc::make_error_response(state.id, codes::invalid_params, "completion/complete: unknown prompt or resource in \"ref\"");
  auto to = co_await pick(*route->first, false);
  if (!to) co_return error_response(state.id, to.error());
  co_return co_await forward(std::move(*to), "completion/complete", std::move(params), state);
}

}  // namespace mcp::hub
