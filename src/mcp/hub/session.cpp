#include "mcp/hub/hub_internal.hpp"

#include "mcp/hub/naming.hpp"
#include "mcp/jsonrpc/message.hpp"

#include "p2p/core/log.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace mcp::hub {

namespace asio = boost::asio;
namespace codes = jsonrpc::codes;
namespace log = p2p::log;
using namespace detail;
using namespace asio::experimental::awaitable_operators;

namespace {

// Built outside coroutines: g++ 12 miscompiles braced json initializers in coroutine
// statements that also co_await.
json gateway_capabilities() {
  return {{"tools", {{"listChanged", true}}},
          {"resources", {{"subscribe", true}, {"listChanged", true}}},
          {"prompts", {{"listChanged", true}}},
          {"completions", json::object()},
          {"logging", json::object()}};
}
}  // namespace

session::session(hub& owner, client_link& link, session_options options)
    : hub_(owner), link_(link), options_(std::move(options)) {}

session::~session() {
  close();
  hub_.sessions_.erase(this);
}

void session::close() {
  if (closed_) return;
  closed_ = true;
  for (auto& [key, request] : active_) {
    request->cancelled = true;
    request->cancel_reason = "the MCP client went away";
    request->cancel.notify();
  }
  for (auto& [id, pending] : server_requests_)
    pending.from->respond_error(pending.message, codes::connection_closed,
                                "the MCP client (" + options_.label + ") went away");
  server_requests_.clear();
  for (const auto& key : subscriptions_) hub_.leave_subscription(key, *this);
  subscriptions_.clear();
  // Its own upstreams end once its requests to them (cancelled above) have.
  std::vector<hub::lease_record*> own;
  for (auto& [shared, record] : leases_) own.push_back(record);
  for (hub::lease_record* record : own) hub_.retire(*record, "the MCP client went away");
}

bool session::sees(const upstream& up) const noexcept {
  if (const hub::lease_record* r = hub_.lease_of(up)) return r->owner == this;
  if (options_.only) return options_.only == &up;
  return hub_.find(up) != nullptr;
}

std::string session::prefix_of(const upstream& up) const {
  if (options_.only) return {};
  const auto* e = hub_.entry_of(up);
  return e ? e->prefix : std::string();
}

void session::post(json message) {
  if (closed_) return;
  if (!link_.post(std::move(message)))
    log::debug(component, "{}: a message to the client was dropped", options_.label);
}

task<void> session::handle(json message, reply_sink* reply) {
  co_await asio::this_coro::throw_if_cancelled(false);  // always answer, even when cancelled
  const auto kind = jsonrpc::classify(message);
  if (kind == jsonrpc::message_kind::response || kind == jsonrpc::message_kind::notification) {
    try {
      handle_other(message, kind);
    } catch (const std::exception& e) {
      log::error(component, "{}: a message could not be handled: {}", options_.label, e.what());
    }
    co_return;
  }
  if (kind != jsonrpc::message_kind::request || !reply) {
    if (reply && message.is_object() && message.contains("id") && jsonrpc::is_valid_id(message["id"])) {
      json answer = jsonrpc::make_error_response(message["id"], codes::invalid_request, "invalid JSON-RPC request");
      co_await reply->respond(std::move(answer));
    }
    co_return;
  }

  active_request state(co_await asio::this_coro::executor);
  state.id = message["id"];
  state.key = id_key(state.id);
  state.reply = reply;
  if (closed_) {
    json answer = jsonrpc::make_error_response(state.id, codes::connection_closed, "the session is closed");
    co_await reply->respond(std::move(answer));
    co_return;
  }
  if (active_.count(state.key)) {
    json answer = jsonrpc::make_error_response(state.id, codes::invalid_request,
                                               "request id " + state.key + " is already in use in this session");
    co_await reply->respond(std::move(answer));
    co_return;
  }
  active_[state.key] = &state;
  json response;
  try {
    response = co_await answer(message, state);
  } catch (const std::exception& e) {
    // A bug, not the client's fault: answer rather than leave the client waiting.
    log::error(component, "{}: {} failed: {}", options_.label, message.value("method", ""), e.what());
    response = jsonrpc::make_error_response(state.id, codes::internal_error, "internal error");
  }
  active_.erase(state.key);
  co_await reply->respond(std::move(response));
}

void session::handle_other(const json& message, jsonrpc::message_kind kind) {
  if (kind == jsonrpc::message_kind::response) {
    handle_response(message);
    return;
  }
  const std::string method = message["method"].get<std::string>();
  if (method == "notifications/cancelled") {
    handle_cancelled(message);
  } else if (method == "notifications/roots/list_changed") {
    for (upstream* up : used_)
      if (sees(*up)) up->notify("notifications/roots/list_changed");
  }
  // initialized, progress of our requests (none), others: nothing to do
}

void session::record_hello(const json& params) {
  if (const json* asked = string_member(params, "protocolVersion")) hello_.protocol_version = asked->get<std::string>();
  if (params.is_object() && params.contains("capabilities") && params["capabilities"].is_object())
    client_capabilities_ = params["capabilities"];
  hello_.capabilities = client_capabilities_;
}

json session::initialize_result(const upstream* own) {
  json result = json::object();
  if (own) {
    // The session's own upstream negotiated with the client's hello: the server's answer.
    result["protocolVersion"] = own->protocol_version();
  } else {
    const auto& versions = hub_.options_.protocol_versions;
    const bool known = std::find(versions.begin(), versions.end(), hello_.protocol_version) != versions.end();
    result["protocolVersion"] = known ? hello_.protocol_version : versions.front();
  }
  if (const upstream* server = own ? own : options_.only) {
    json capabilities = server->server_capabilities();
    if (!capabilities.is_object()) capabilities = json::object();
    // We send tools/list_changed ourselves whenever the cached list changes.
    capabilities["tools"]["listChanged"] = true;
    result["capabilities"] = std::move(capabilities);
    result["serverInfo"] = server->server_info();
    if (!server->instructions().empty()) result["instructions"] = server->instructions();
  } else {
    result["capabilities"] = gateway_capabilities();
    result["serverInfo"] = hub_.options_.server_info;
    if (!hub_.options_.instructions.empty()) result["instructions"] = hub_.options_.instructions;
  }
  initialized_ = true;
  return result;
}

task<json> session::initialize(const json& request, active_request& state) {
  json params = request.contains("params") ? request["params"] : json::object();
  record_hello(params);
  if (!options_.only) co_return jsonrpc::make_result_response(state.id, initialize_result(nullptr));
  const hub::entry* e = hub_.find(*options_.only);
  if (!e || !e->source) {
    // A shared server (or a built-in) negotiated once with p2pmcp's own hello. A peer
    // that connects while the hosted server is still starting must get its real
    // capabilities (resources, prompts ...), not the empty ones of a server not yet up.
    co_await wait_until_started(*options_.only);
    co_return jsonrpc::make_result_response(state.id, initialize_result(nullptr));
  }
  // A single-server endpoint whose server gives each session its own upstream: acquired
  // now with the client's hello, so that the client gets the server's own answer (its
  // protocol version for this client, capabilities, serverInfo, instructions).
  auto to = co_await pick(*options_.only, false);
  if (!to) co_return error_response(state.id, to.error());
  upstream& own = *to->up;
  co_await wait_until_started(own);
  if (!own.available()) {
    std::string reason = own.unavailable_reason();
    const bool still_starting = reason.empty();
    if (still_starting)
      reason = "MCP server '" + own.name() + "' did not start within " +
               std::to_string(std::chrono::duration_cast<std::chrono::seconds>(hub_.options_.initialize_wait).count()) +
               " s";
    // Its process or stream is given up: the client's next initialize starts afresh.
    if (auto it = leases_.find(options_.only); it != leases_.end()) hub_.retire(*it->second, reason);
    co_return jsonrpc::make_error_response(state.id, still_starting ? codes::request_timeout : codes::connection_closed,
                                           reason);
  }
  co_return jsonrpc::make_result_response(state.id, initialize_result(&own));
}

std::string session::unknown_tool(const std::string& exposed) const {
  // The name goes back in a JSON string: only its length needs a bound.
  auto cut = [](std::string_view text) { return std::string(text.substr(0, 128)) + (text.size() > 128 ? "..." : ""); };
  const std::string shown = "'" + cut(exposed) + "'";
  if (const hub::entry* e = hub_.owner_of_name(exposed); e && sees(*e->up))
    return "unknown tool " + shown + ": MCP server '" + e->prefix + "' offers no tool '" +
           cut(std::string_view(exposed).substr(e->prefix.size() + 1)) + "' (list the tools again)";
  return "unknown tool " + shown +
         ": no MCP server of this node or of a connected, trusted peer is called like its prefix "
         "(<alias>_<server>_<tool>; the peer may have left; list the tools again)";
}

task<json> session::answer(const json& request, active_request& state) {
  const std::string method = request["method"].get<std::string>();
  json params = request.contains("params") ? request["params"] : json::object();
  if (options_.refuse) co_return error_response(state.id, *options_.refuse);

  if (method == "initialize") co_return co_await initialize(request, state);
  if (method == "ping") co_return jsonrpc::make_result_response(state.id, json::object());

  if (method == "tools/list") {
    json result = json::object();
    if (options_.only) {
      result["tools"] = options_.only->tools();
    } else {
      result["tools"] = hub_.list_tools();
    }
    co_return jsonrpc::make_result_response(state.id, std::move(result));
  }
  if (method == "tools/call") {
    const json* name = string_member(params, "name");
    if (!name) co_return jsonrpc::make_error_response(state.id, codes::invalid_params, "tools/call needs a string \"name\"");
    upstream* target = options_.only;
    if (!target) {
      auto route = hub_.route_tool(name->get<std::string>());
      if (!route) co_return jsonrpc::make_error_response(state.id, codes::invalid_params, unknown_tool(name->get<std::string>()));
      target = route->up;
      params["name"] = route->name;
    }
    auto to = co_await pick(*target, false);
    if (!to) co_return error_response(state.id, to.error());
    json response = co_await forward(std::move(*to), method, std::move(params), state);
    if (response.contains("result") && response["result"].is_object() && response["result"].contains("content"))
      rewrite_content(response["result"]["content"], *target);
    co_return response;
  }
  if (method == "resources/list") co_return co_await aggregate_list(method, "resources", request);
  if (method == "resources/templates/list") co_return co_await aggregate_list(method, "resourceTemplates", request);
  if (method == "prompts/list") co_return co_await aggregate_list(method, "prompts", request);
  if (method == "resources/read" || method == "resources/subscribe" || method == "resources/unsubscribe")
    co_return co_await read_resource(method, request, state);
  if (method == "prompts/get") co_return co_await get_prompt(request, state);
  if (method == "completion/complete") co_return co_await complete(request, state);
  if (method == "logging/setLevel" && !options_.only) co_return co_await set_log_level(request);
  // The peer hop is transparent: methods we do not know still reach the server.
  if (options_.only) {
    auto to = co_await pick(*options_.only, false);
    if (!to) co_return error_response(state.id, to.error());
    co_return co_await forward(std::move(*to), method, std::move(params), state);
  }
  co_return jsonrpc::make_error_response(state.id, codes::method_not_found, "method '" + method + "' is not supported by the p2pmcp gateway");
}

task<void> session::wait_until_started(upstream& up) {
  asio::steady_timer timer(co_await asio::this_coro::executor, hub_.options_.initialize_wait);
  // Starting = not available and no reason to fail at once.
  while (!up.available() && up.unavailable_reason().empty()) {
    const auto seen = up.state_version();
    auto outcome = co_await (up.state_changed(seen) || timer.async_wait(asio::use_awaitable));
    if (outcome.index() == 1 || up.state_version() == seen) co_return;  // time is up, or it stopped
  }
}

task<json> session::forward(target to, std::string method, json params, active_request& state) {
  upstream& up = *to.up;
  if (!params.is_object()) params = json::object();
  if (hub::lease_record* own = to.use.get();
      own && !own->log_level_sent && log_level_ && !options_.only && own->shared->server_capabilities().contains("logging")) {
    // The gateway client's logging/setLevel came before this upstream existed.
    own->log_level_sent = true;
    json level = *log_level_;
    auto set = co_await up.request("logging/setLevel", std::move(level), hub_.options_.list_timeout);
    if (!set) log::info(component, "{}: logging/setLevel on '{}' failed: {}", options_.label, own->name, set.error().message);
  }
  // Names and URIs round-trip: a URI the gateway handed out for this upstream reaches it
  // as the original, wherever the client puts it (arguments at any depth, refs, uris).
  if (!options_.only) unwrap_uris(params, std::string(uri_scheme) + prefix_of(up) + "/");
  // A progress token only when the client sent one. The server sees the client's own
  // token unless another request to `up` (another session's) already uses that value; then
  // the hub's own, unused one. Progress goes back with the client's value either way.
  // Without one the server sees the request as the client sent it (no `_meta` added).
  if (auto meta = params.find("_meta"); meta != params.end() && meta->is_object()) {
    if (auto token = meta->find("progressToken"); token != meta->end()) {
      state.client_token = *token;
      hub::progress_key key{&up, token->dump()};
      while (hub_.progress_.count(key)) {
        *token = hub_.next_token_++;
        key.token = token->dump();
      }
      state.progress_key = key;
      hub_.progress_[std::move(key)] = hub::progress_route{this, state.key};
    }
  }
  state.target = &up;
  used_.insert(&up);

  // The request and the relay of its related messages run side by side; the relay
  // ends once the request has and everything queued for the client went out.
  auto result = co_await (request_upstream(up, std::move(method), std::move(params), state) && relay(state));
  if (state.client_token) hub_.progress_.erase(state.progress_key);
  state.target = nullptr;
  if (!result) co_return error_response(state.id, result.error());
  co_return jsonrpc::make_result_response(state.id, std::move(*result));
}

task<rpc_result<json>> session::request_upstream(upstream& up, std::string method, json params, active_request& state) {
  const duration timeout = hub_.options_.request_timeout;
  auto outcome =
      co_await (up.request(std::move(method), std::move(params), timeout, &state.cancel_reason) || wait_cancelled(state));
  state.finished = true;
  state.cancel.notify();
  if (outcome.index() == 1) co_return rpc_error(codes::connection_closed, "the request was cancelled");
  co_return std::get<0>(std::move(outcome));
}

// Completes when the client cancels. When the upstream answers first, the `||` cancels
// this wait: return quietly instead of throwing operation_aborted (an exception per
// forwarded request cost a fifth of the node's instructions per call).
task<void> session::wait_cancelled(active_request& state) {
  co_await asio::this_coro::throw_if_cancelled(false);
  for (;;) {
    if (state.cancelled) co_return;
    const asio::cancellation_state cancellation = co_await asio::this_coro::cancellation_state;
    if (cancellation.cancelled() != asio::cancellation_type::none) co_return;
    co_await state.cancel.wait();
  }
}

void session::handle_cancelled(const json& message) {
  const json& params = message.contains("params") ? message["params"] : json();
  if (!params.is_object() || !params.contains("requestId")) return;
  auto it = active_.find(id_key(params["requestId"]));
  if (it == active_.end()) return;  // finished already: the spec says ignore
  // The client's reason goes on to the server as it was given (none: none).
  if (const json* reason = string_member(params, "reason")) it->second->cancel_reason = reason->get<std::string>();
  it->second->cancelled = true;
  it->second->cancel.notify();
}

task<void> session::relay(active_request& state) {
  for (;;) {
    while (state.related.empty() && !state.finished) co_await state.cancel.wait();
    if (state.related.empty() || closed_) co_return;
    // Taken off the queue only once sent: nothing is lost to a cancelled send.
    json copy = state.related.front();
    const bool sent = co_await state.reply->send_related(std::move(copy));
    json message = std::move(state.related.front());
    state.related.pop_front();
    if (!sent) post(std::move(message));
  }
}

}  // namespace mcp::hub
