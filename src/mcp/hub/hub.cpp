#include "mcp/hub/hub_internal.hpp"

#include "mcp/hub/naming.hpp"
#include "mcp/jsonrpc/message.hpp"

#include "p2p/core/log.hpp"

#include <boost/asio/this_coro.hpp>

#include <algorithm>

namespace mcp::hub {

namespace asio = boost::asio;
namespace log = p2p::log;
using namespace detail;

hub::hub(asio::any_io_executor executor, hub_options options)
    : executor_(executor),
      options_(std::move(options)),
      retiring_(executor),
      lease_ended_(executor),
      stop_signal_(executor) {}

hub::~hub() = default;

void hub::add_upstream(upstream& up, std::string prefix, bool hide_when_unavailable,
                       server::upstream_source* source) {
  entry e;
  e.source = source;
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
  // Sessions that show only `up` (the peer hop, single-server endpoints) have nothing left
  // to show, and must not touch it once it is gone.
  for (session* s : sessions_)
    if (s->options_.only == &up) s->close();
  // Sessions that keep going lose their own upstream of it; they would acquire a new
  // one from the source only through the entry, which is gone.
  for (lease_record* record : current_leases())
    if (record->shared == &up) retire(*record, "the MCP server '" + up.name() + "' was removed from this node");
  catalogue_changed(&up);
  if (auto reader = readers_.find(&up); reader != readers_.end()) {
    auto group = std::move(reader->second);
    readers_.erase(reader);
    group->cancel_all();
    co_await group->wait();
  }
  // The source may be destroyed once this returns: no lease of it may remain.
  while (has_leases_of(&up)) co_await lease_ended_.wait();
}

const hub::entry* hub::owner_of_name(std::string_view exposed) const {
  const entry* best = nullptr;
  for (const auto& e : entries_) {
    if (exposed.size() > e.prefix.size() + 1 && exposed.substr(0, e.prefix.size()) == e.prefix &&
        exposed[e.prefix.size()] == '_' && (!best || e.prefix.size() > best->prefix.size()))
      best = &e;
  }
  return best;
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
  for (lease_record* record : current_leases()) retire(*record, "the p2pmcp node is stopping");
  for (auto& [up, group] : readers_) co_await group->wait();
  co_await retiring_.wait();
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

bool hub::has_other_subscribers(const subscription& key, const session& s) const {
  auto it = subscribers_.find(key);
  if (it == subscribers_.end()) return false;
  for (const session* other : it->second)
    if (other != &s) return true;
  return false;
}

void hub::leave_subscription(const subscription& key, session& s, bool unsubscribed) {
  auto it = subscribers_.find(key);
  if (it == subscribers_.end()) return;
  it->second.erase(&s);
  if (!it->second.empty()) return;
  subscribers_.erase(it);
  if (unsubscribed || stopping_) return;
  const entry* e = find(*key.first);
  auto reader = readers_.find(key.first);
  if (!e || reader == readers_.end()) return;
  // Owned by the upstream's task group: ends on its removal or the hub's stop.
  reader->second->spawn(unsubscribe(e->up, key.second), "mcp unsubscribe " + e->prefix);
}

task<void> hub::unsubscribe(upstream* up, std::string uri) {
  json params = json::object();
  params["uri"] = std::move(uri);
  auto result = co_await up->request("resources/unsubscribe", std::move(params), options_.list_timeout);
  if (!result) log::debug(component, "resources/unsubscribe at MCP server '{}' failed: {}", up->name(), result.error().message);
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

}  // namespace mcp::hub
