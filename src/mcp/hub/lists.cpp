#include "mcp/hub/hub_internal.hpp"

#include "mcp/hub/naming.hpp"
#include "mcp/jsonrpc/message.hpp"

#include "p2p/core/log.hpp"

#include "p2p/core/task_group.hpp"

namespace mcp::hub {

namespace asio = boost::asio;
namespace codes = jsonrpc::codes;
namespace log = p2p::log;
using namespace detail;

namespace {

json cursor_params(const json& cursor) {
  json params = json::object();
  if (!cursor.is_null()) params["cursor"] = cursor;
  return params;
}
}  // namespace

task<json> session::aggregate_list(std::string method, std::string member, const json& request) {
  const json id = request["id"];
  json params = request.contains("params") ? request["params"] : json::object();
  if (options_.only) {
    active_request& state = *active_[id_key(id)];
    auto to = co_await pick(*options_.only, true);
    if (!to) co_return error_response(id, to.error());
    co_return co_await forward(std::move(*to), method, std::move(params), state);
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
    // The session's own upstream when it has one (its server's state may be its own),
    // else the shared one: listing never costs an upstream of its own.
    auto from = co_await pick(*e.up, true);
    if (!from) continue;
    askers.spawn(list_from(e, std::move(*from), method, member, parts[i]), "mcp list " + e.prefix);
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

task<void> session::list_from(hub::entry e, target from, std::string method, std::string member, list_part& into) {
  json cursor;
  for (std::size_t page = 0; page < hub_.options_.max_list_pages; ++page) {
    json page_params = cursor_params(cursor);
    auto result = co_await from.up->request(method, std::move(page_params), hub_.options_.list_timeout);
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

task<json> session::set_log_level(const json& request) {
  const json id = request["id"];
  const json params = request.contains("params") ? request["params"] : json::object();
  // Servers this session gets its own upstream of hear it when that upstream starts
  // (forward()), so that setting a level costs no upstream of its own.
  log_level_ = params;
  const auto entries = hub_.entries_;
  for (const auto& e : entries) {
    if (!hub_.find(*e.up) || !e.up->available() || !e.up->server_capabilities().contains("logging")) continue;
    auto to = co_await pick(*e.up, true);
    if (!to) continue;
    if (hub::lease_record* own = to->use.get()) {
      own->log_level_sent = true;
    } else if (e.source) {
      continue;  // the shared upstream's log messages are not this session's
    }
    json copy = params;
    auto result = co_await to->up->request("logging/setLevel", std::move(copy), hub_.options_.list_timeout);
    if (!result) log::info(component, "logging/setLevel on '{}' failed: {}", e.prefix, result.error().message);
  }
  co_return jsonrpc::make_result_response(id, json::object());
}

}  // namespace mcp::hub
