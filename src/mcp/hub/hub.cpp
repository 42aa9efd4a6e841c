#include "mcp/hub/hub.hpp"

#include "mcp/hub/naming.hpp"
#include "mcp/jsonrpc/message.hpp"

#include "p2p/core/log.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <deque>

namespace mcp::hub {

namespace asio = boost::asio;
namespace codes = jsonrpc::codes;
namespace log = p2p::log;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr std::string_view component = "mcp/hub";

std::string id_key(const json& id) { return id.dump(); }

// Built outside coroutines: g++ 12 miscompiles braced json initializers in coroutine
// statements that also co_await.
json gateway_capabilities() {
  return {{"tools", {{"listChanged", true}}},
          {"resources", {{"subscribe", true}, {"listChanged", true}}},
          {"prompts", {{"listChanged", true}}},
          {"completions", json::object()},
          {"logging", json::object()}};
}

json error_response(const json& id, const rpc_error& error) {
  return jsonrpc::make_error_response(id, error.code, error.message, error.data);
}

json cursor_params(const json& cursor) {
  json params = json::object();
  if (!cursor.is_null()) params["cursor"] = cursor;
  return params;
}

const json* string_member(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return nullptr;
  return &*it;
}

// Which capability a server-to-client request needs from the client.
std::string capability_for(std::string_view method) {
  if (method == "sampling/createMessage") return "sampling";
  if (method == "elicitation/create") return "elicitation";
  if (method == "roots/list") return "roots";
  return {};
}

}  // namespace

// ---- session state ----

struct session::active_request {
  explicit active_request(asio::any_io_executor executor) : cancel(std::move(executor)) {}
  json id;
  std::string key;
  reply_sink* reply = nullptr;
  upstream* target = nullptr;
  std::optional<json> client_token;
  std::int64_t hub_token = 0;
  std::uint64_t serial = 0;  // order of forwarding, hub-wide
  bool cancelled = false;
  bool finished = false;     // the upstream answered (or the request was cancelled)
  std::deque<json> related;  // progress and server requests for the reply stream
  p2p::signal cancel;        // wakes relay(): a related message, or cancellation
};

// ---- hub ----

hub::hub(asio::any_io_executor executor, hub_options options)
    : executor_(executor), options_(std::move(options)), stop_signal_(executor) {}

hub::~hub() = default;

void hub::add_upstream(upstream& up, std::string prefix, bool hide_when_unavailable) {
  entry e;
  e.up = &up;
  e.prefix = std::move(prefix);
  e.hide_when_unavailable = hide_when_unavailable;
  entries_.push_back(std::move(e));
  index_dirty_ = true;
  auto group = std::make_unique<p2p::task_group>(executor_);
  group->spawn(pump(&up), "mcp reader " + entries_.back().prefix);
  group->spawn(watch(&up, true), "mcp tools " + entries_.back().prefix);
  group->spawn(watch(&up, false), "mcp state " + entries_.back().prefix);
  readers_[&up] = std::move(group);
  catalogue_changed(&up);
}

void hub::limit_lists(const upstream& up, server::catalogue_limits limits) {
  for (auto& e : entries_)
    if (e.up == &up) e.limits = limits;
}

task<void> hub::remove_upstream(upstream& up) {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const entry& e) { return e.up == &up; });
  if (it == entries_.end()) co_return;
  entries_.erase(it);
  index_dirty_ = true;
  catalogue_changed(&up);
  auto reader = readers_.find(&up);
  if (reader == readers_.end()) co_return;
  auto group = std::move(reader->second);
  readers_.erase(reader);
  group->cancel_all();
  co_await group->wait();
}

const hub::entry* hub::find_prefix(std::string_view prefix) const {
  for (const auto& e : entries_)
    if (e.prefix == prefix) return &e;
  return nullptr;
}

const hub::entry* hub::find(const upstream& up) const {
  for (const auto& e : entries_)
    if (e.up == &up) return &e;
  return nullptr;
}

bool hub::visible(const entry& e) const { return e.up->available() || !e.hide_when_unavailable; }

task<void> hub::run() {
  while (!stopping_) co_await stop_signal_.wait();
  for (auto& [up, group] : readers_) group->cancel_all();
  for (auto& [up, group] : readers_) co_await group->wait();
}

void hub::stop() {
  stopping_ = true;
  stop_signal_.notify();
}

std::unique_ptr<session> hub::open_session(client_link& link, session_options options) {
  std::unique_ptr<session> s(new session(*this, link, std::move(options)));
  sessions_.insert(s.get());
  return s;
}

// The single reader of an upstream's messages. Ends when the upstream stops for good,
// or by cancellation (removal, hub stop).
task<void> hub::pump(upstream* up) {
  for (;;) {
    auto message = co_await up->next_message();
    const asio::cancellation_state cancellation = co_await asio::this_coro::cancellation_state;
    if (!message || cancellation.cancelled() != asio::cancellation_type::none) co_return;
    try {
      dispatch(*up, std::move(*message));
    } catch (const std::exception& e) {
      // A bug in routing must not stop this upstream's messages for everyone.
      log::error(component, "a message from MCP server '{}' could not be routed: {}", up->name(), e.what());
    }
  }
}

// Sends tools/list_changed whenever what a session lists for `up` changes: its cached
// tools (tools == true) or its availability.
task<void> hub::watch(upstream* up, bool tools) {
  for (;;) {
    const auto seen = tools ? up->tools_version() : up->state_version();
    if (tools) {
      co_await up->tools_changed(seen);
    } else {
      co_await up->state_changed(seen);
    }
    const asio::cancellation_state cancellation = co_await asio::this_coro::cancellation_state;
    if (cancellation.cancelled() != asio::cancellation_type::none) co_return;
    // Nothing changed: the upstream stopped for good (its waits complete at once now).
    if ((tools ? up->tools_version() : up->state_version()) == seen) co_return;
    index_dirty_ = true;
    catalogue_changed(up);
  }
}

void hub::catalogue_changed(const upstream* up) {
  for (session* s : sessions_) {
    if (!s->initialized_ || s->closed_) continue;
    if (s->options_.only && s->options_.only != up) continue;
    s->post(jsonrpc::make_notification("notifications/tools/list_changed"));
  }
}

void hub::rebuild_index() {
  tool_index_.clear();
  for (const auto& e : entries_) {
    for (const auto& tool : e.up->tools()) {
      const json* name = string_member(tool, "name");
      if (!name) continue;
      tool_route route;
      route.up = e.up;
      route.name = name->get<std::string>();
      tool_index_.emplace(expose_name(e.prefix, route.name), std::move(route));
    }
  }
  index_dirty_ = false;
}

std::optional<hub::tool_route> hub::route_tool(std::string_view exposed) {
  if (index_dirty_) rebuild_index();
  auto it = tool_index_.find(std::string(exposed));
  if (it == tool_index_.end()) return std::nullopt;
  return it->second;
}

json hub::list_tools() {
  json tools = json::array();
  for (const auto& e : entries_) {
    if (!visible(e)) continue;
    for (const auto& tool : e.up->tools()) {
      const json* name = string_member(tool, "name");
      if (!name) continue;
      json copy = tool;
      copy["name"] = expose_name(e.prefix, name->get<std::string>());
      tools.push_back(std::move(copy));
    }
  }
  return tools;
}

void hub::dispatch(upstream& up, server_message message) {
  if (message.is_request()) {
    route_server_request(up, std::move(message));
    return;
  }
  const std::string method = message.method();
  const json& params = message.message.contains("params") ? message.message["params"] : json();
  if (method == "notifications/progress") {
    const json token = params.is_object() ? params.value("progressToken", json()) : json();
    if (!token.is_number_integer()) return;
    auto it = progress_.find(token.get<std::int64_t>());
    if (it == progress_.end()) return;  // finished already, or not ours
    it->second.owner->deliver_progress(it->second.request_key, std::move(message.message));
    return;
  }
  if (method == "notifications/cancelled") {
    const json id = params.is_object() ? params.value("requestId", json()) : json();
    for (session* s : sessions_) s->deliver_cancel_of_server_request(up, id);
    return;
  }
  if (method == "notifications/tools/list_changed") return;  // watch() reports cache changes
  if (method == "notifications/resources/updated") {
    for (session* s : sessions_)
      if (s->sees(up)) s->deliver_resource_updated(up, message.message);
    return;
  }
  if (method == "notifications/resources/list_changed" || method == "notifications/prompts/list_changed" ||
      method == "notifications/message") {
    json notification = std::move(message.message);
    for (session* s : sessions_) {
      if (!s->initialized_ || s->closed_ || !s->sees(up)) continue;
      json copy = notification;
      if (method == "notifications/message" && !s->options_.only && copy["params"].is_object()) {
        // Which server said it: the gateway's clients see many.
        const std::string prefix = s->prefix_of(up);
        const json* logger = string_member(copy["params"], "logger");
        copy["params"]["logger"] = logger ? prefix + "/" + logger->get<std::string>() : prefix;
      }
      s->post(std::move(copy));
    }
    return;
  }
  log::debug(component, "dropped {} from MCP server '{}'", method, up.name());
}

void hub::route_server_request(upstream& up, server_message message) {
  const std::string method = message.method();
  // The session whose request to `up` started last: the one the server most likely asks.
  session* chosen = nullptr;
  session::active_request* via = nullptr;
  std::uint64_t best = 0;
  for (session* s : sessions_) {
    if (s->closed_ || !s->sees(up)) continue;
    for (const auto& [key, request] : s->active_) {
      if (request->target == &up && request->serial >= best) {
        best = request->serial;
        chosen = s;
        via = request;
      }
    }
  }
  const std::string capability = capability_for(method);
  if (!chosen && !capability.empty()) {
    // No request in flight (roots/list after roots changed, say): a client that can answer.
    for (session* s : sessions_)
      if (!s->closed_ && s->initialized_ && s->sees(up) && s->client_capabilities_.contains(capability))
        chosen = s;
  }
  if (!chosen) {
    up.respond_error(message, codes::method_not_found,
                     "no MCP client of this node is connected to answer " + method);
    return;
  }
  if (!capability.empty() && !chosen->client_capabilities_.contains(capability)) {
    up.respond_error(message, codes::method_not_found,
                     "the MCP client (" + chosen->label() + ") does not support " + method);
    return;
  }
  chosen->deliver_server_request(up, std::move(message), via);
}

// ---- session ----

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
    request->cancel.notify();
  }
  for (auto& [id, pending] : server_requests_)
    pending.from->respond_error(pending.message, codes::connection_closed,
                                "the MCP client (" + options_.label + ") went away");
  server_requests_.clear();
  subscriptions_.clear();
}

bool session::sees(const upstream& up) const noexcept {
  if (options_.only) return options_.only == &up;
  return hub_.find(up) != nullptr;
}

std::string session::prefix_of(const upstream& up) const {
  if (options_.only) return {};
  const auto* e = hub_.find(up);
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

json session::initialize_result(const json& params) {
  const auto& versions = hub_.options_.protocol_versions;
  std::string version = versions.front();
  if (const json* asked = string_member(params, "protocolVersion")) {
    if (std::find(versions.begin(), versions.end(), asked->get<std::string>()) != versions.end())
      version = asked->get<std::string>();
  }
  if (params.is_object() && params.contains("capabilities") && params["capabilities"].is_object())
    client_capabilities_ = params["capabilities"];
  json result = json::object();
  result["protocolVersion"] = version;
  if (options_.only) {
    json capabilities = options_.only->server_capabilities();
    if (!capabilities.is_object()) capabilities = json::object();
    // We send tools/list_changed ourselves whenever the cached list changes.
    capabilities["tools"]["listChanged"] = true;
    result["capabilities"] = std::move(capabilities);
    result["serverInfo"] = options_.only->server_info();
    if (!options_.only->instructions().empty()) result["instructions"] = options_.only->instructions();
  } else {
    result["capabilities"] = gateway_capabilities();
    result["serverInfo"] = hub_.options_.server_info;
    if (!hub_.options_.instructions.empty()) result["instructions"] = hub_.options_.instructions;
  }
  initialized_ = true;
  return result;
}

task<json> session::answer(const json& request, active_request& state) {
  const std::string method = request["method"].get<std::string>();
  json params = request.contains("params") ? request["params"] : json::object();
  if (options_.refuse) co_return error_response(state.id, *options_.refuse);

  if (method == "initialize") {
    // A peer that connects while the hosted server is still starting must get its real
    // capabilities (resources, prompts ...), not the empty ones of a server not yet up.
    if (options_.only) co_await wait_until_started(*options_.only);
    co_return jsonrpc::make_result_response(state.id, initialize_result(params));
  }
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
      if (!route)
        co_return jsonrpc::make_error_response(state.id, codes::invalid_params,
                                               "unknown tool '" + name->get<std::string>() +
                                                   "' (its peer may have left; list the tools again)");
      target = route->up;
      params["name"] = route->name;
    }
    json response = co_await forward(*target, method, std::move(params), state);
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
  if (method == "logging/setLevel") {
    if (options_.only) co_return co_await forward(*options_.only, method, std::move(params), state);
    co_return co_await set_log_level(request);
  }
  // The peer hop is transparent: methods we do not know still reach the server.
  if (options_.only) co_return co_await forward(*options_.only, method, std::move(params), state);
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

task<json> session::forward(upstream& up, std::string method, json params, active_request& state) {
  if (!params.is_object()) params = json::object();
  json& meta = params["_meta"];
  if (!meta.is_object()) meta = json::object();
  if (meta.contains("progressToken")) state.client_token = meta["progressToken"];
  state.hub_token = hub_.next_token_++;
  meta["progressToken"] = state.hub_token;
  hub_.progress_[state.hub_token] = hub::progress_route{this, state.key};
  state.target = &up;
  state.serial = ++hub_.next_serial_;
  used_.insert(&up);

  // The request and the relay of its related messages run side by side; the relay
  // ends once the request has and everything queued for the client went out.
  auto result = co_await (request_upstream(up, std::move(method), std::move(params), state) && relay(state));
  hub_.progress_.erase(state.hub_token);
  state.target = nullptr;
  if (!result) co_return error_response(state.id, result.error());
  co_return jsonrpc::make_result_response(state.id, std::move(*result));
}

task<rpc_result<json>> session::request_upstream(upstream& up, std::string method, json params, active_request& state) {
  const duration timeout = hub_.options_.request_timeout;
  auto outcome = co_await (up.request(std::move(method), std::move(params), timeout) || wait_cancelled(state));
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

task<json> session::aggregate_list(std::string method, std::string member, const json& request) {
  const json id = request["id"];
  json params = request.contains("params") ? request["params"] : json::object();
  if (options_.only) {
    active_request& state = *active_[id_key(id)];
    co_return co_await forward(*options_.only, method, std::move(params), state);
  }
  // Every upstream is asked at once (a slow peer costs its own time, not the sum); the
  // answers are put together in the hub's order. handle() does not throw on
  // cancellation, so this waits for every part (each bounded by the list timeout).
  const std::string capability = method.substr(0, method.find('/'));  // "resources" / "prompts"
  const auto entries = hub_.entries_;  // the list may change while we wait
  std::vector<list_part> parts(entries.size());
  p2p::task_group askers(hub_.executor_);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const hub::entry& e = entries[i];
    if (!hub_.find(*e.up) || !e.up->available()) continue;
    if (!e.up->server_capabilities().contains(capability)) continue;
    askers.spawn(list_from(e, method, member, parts[i]), "mcp list " + e.prefix);
  }
  co_await askers.wait();
  json items = json::array();
  std::map<std::string, std::pair<const upstream*, std::string>, std::less<>> prompts;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    auto& part = parts[i];
    if (part.capped.dropped() > 0)
      log::warn(component, "{}", part.capped.sentence(server::catalogue_kind_of(member), "'" + entries[i].prefix + "'"));
    for (auto& item : part.items) items.push_back(std::move(item));
    for (auto& [exposed, route] : part.prompts) prompts.insert_or_assign(exposed, std::move(route));
  }
  if (member == "prompts") listed_prompts_ = std::move(prompts);
  json result = json::object();
  result[member] = std::move(items);
  co_return jsonrpc::make_result_response(id, std::move(result));
}

task<void> session::list_from(hub::entry e, std::string method, std::string member, list_part& into) {
  json cursor;
  for (std::size_t page = 0; page < hub_.options_.max_list_pages; ++page) {
    json page_params = cursor_params(cursor);
    auto result = co_await e.up->request(method, std::move(page_params), hub_.options_.list_timeout);
    if (!hub_.find(*e.up)) co_return;  // removed meanwhile: `e.up` may be gone
    if (!result) {
      log::info(component, "{}: {} from '{}' failed: {}", options_.label, method, e.prefix, result.error().message);
      co_return;
    }
    if (result->contains(member) && (*result)[member].is_array()) {
      if (e.limits) server::filter_catalogue_page((*result)[member], member, *e.limits, into.capped);
      for (auto& item : (*result)[member]) {
        if (!item.is_object()) continue;
        if (member == "resources") {
          if (const json* uri = string_member(item, "uri")) item["uri"] = expose_uri(e.prefix, uri->get<std::string>());
        } else if (member == "resourceTemplates") {
          if (const json* uri = string_member(item, "uriTemplate"))
            item["uriTemplate"] = expose_uri(e.prefix, uri->get<std::string>());
        } else if (const json* name = string_member(item, "name")) {
          std::string original = name->get<std::string>();
          std::string exposed = expose_name(e.prefix, original);
          if (member == "prompts") into.prompts.insert_or_assign(exposed, std::pair(e.up, std::move(original)));
          item["name"] = std::move(exposed);
        }
        into.items.push_back(std::move(item));
      }
    }
    const json* next = string_member(*result, "nextCursor");
    if (!next) co_return;
    cursor = *next;
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
  const hub::entry* best = nullptr;
  for (const auto& e : hub_.entries_) {
    if (name.size() > e.prefix.size() + 1 && name.substr(0, e.prefix.size()) == e.prefix &&
        name[e.prefix.size()] == '_' && (!best || e.prefix.size() > best->prefix.size()))
      best = &e;
  }
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
  params["uri"] = original;
  json response = co_await forward(*target, method, std::move(params), state);
  if (response.contains("result") && !closed_) {
    if (method == "resources/subscribe") subscriptions_.emplace(target, original);
    if (method == "resources/unsubscribe") subscriptions_.erase(std::pair<const upstream*, std::string>(target, original));
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
  json response = co_await forward(*target, "prompts/get", std::move(params), state);
  if (response.contains("result") && response["result"].is_object() && response["result"].contains("messages")) {
    for (auto& m : response["result"]["messages"]) {
      if (!m.is_object() || !m.contains("content")) continue;
      json wrapped = json::array();
      wrapped.push_back(std::move(m["content"]));
      rewrite_content(wrapped, *target);
      m["content"] = std::move(wrapped[0]);
    }
  }
  co_return response;
}

task<json> session::complete(const json& request, active_request& state) {
  json params = request.contains("params") ? request["params"] : json::object();
  if (options_.only) co_return co_await forward(*options_.only, "completion/complete", std::move(params), state);
  const json ref = params.is_object() ? params.value("ref", json()) : json();
  std::optional<std::pair<upstream*, std::string>> route;
  if (const json* name = string_member(ref, "name")) {
    route = route_prompt(name->get<std::string>());
    if (route) params["ref"]["name"] = route->second;
  } else if (const json* uri = string_member(ref, "uri")) {
    route = route_uri(uri->get<std::string>());
    if (route) params["ref"]["uri"] = route->second;
  }
  if (!route) co_return jsonrpc::make_error_response(state.id, codes::invalid_params, "completion/complete: unknown prompt or resource in \"ref\"");
  upstream* target = route->first;
  co_return co_await forward(*target, "completion/complete", std::move(params), state);
}

task<json> session::set_log_level(const json& request) {
  const json id = request["id"];
  const json params = request.contains("params") ? request["params"] : json::object();
  const auto entries = hub_.entries_;
  for (const auto& e : entries) {
    if (!hub_.find(*e.up) || !e.up->available() || !e.up->server_capabilities().contains("logging")) continue;
    json copy = params;
    auto result = co_await e.up->request("logging/setLevel", std::move(copy), hub_.options_.list_timeout);
    if (!result) log::info(component, "logging/setLevel on '{}' failed: {}", e.prefix, result.error().message);
  }
  co_return jsonrpc::make_result_response(id, json::object());
}

void session::handle_cancelled(const json& message) {
  const json& params = message.contains("params") ? message["params"] : json();
  if (!params.is_object() || !params.contains("requestId")) return;
  auto it = active_.find(id_key(params["requestId"]));
  if (it == active_.end()) return;  // finished already: the spec says ignore
  it->second->cancelled = true;
  it->second->cancel.notify();
}

void session::handle_response(const json& message) {
  const json& id = message["id"];
  if (!id.is_number_integer()) return;
  auto it = server_requests_.find(id.get<std::int64_t>());
  if (it == server_requests_.end()) return;  // late, or never ours
  server_request pending = std::move(it->second);
  server_requests_.erase(it);
  if (message.contains("result")) {
    pending.from->respond(pending.message, message["result"]);
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

void session::deliver_cancel_of_server_request(upstream& from, const json& upstream_id) {
  for (auto it = server_requests_.begin(); it != server_requests_.end(); ++it) {
    if (it->second.from != &from || it->second.message.message.value("id", json()) != upstream_id) continue;
    json notification = jsonrpc::make_cancelled(it->first, "cancelled by the MCP server");
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
