#include "mcp/server/catalogue_limits.hpp"

#include <fmt/format.h>

namespace mcp::server {

std::string_view to_string(catalogue_kind kind) {
  switch (kind) {
    case catalogue_kind::tools: return "tools";
    case catalogue_kind::prompts: return "prompts";
    case catalogue_kind::resources: return "resources";
    case catalogue_kind::resource_templates: return "resource templates";
  }
  return "items";
}

std::string catalogue_report::sentence(catalogue_kind kind, std::string_view subject) const {
  std::string why;
  auto add = [&](std::size_t count, std::string_view what) {
    if (count == 0) return;
    why += fmt::format("{}{} {}", why.empty() ? "" : ", ", count, what);
  };
  add(not_an_item, "malformed or without a valid name");
  add(too_large, "with a name, description or schema over its size cap");
  add(over_count, "beyond the cap of items per list");
  add(over_bytes, "beyond the cap of bytes per list");
  return fmt::format("dropped {} of {} {} from {} ({}); see \"limits\" in docs/protocol.md", dropped(),
                     dropped() + kept, to_string(kind), subject, why);
}

void catalogue_report::add(const catalogue_report& page) {
  kept += page.kept;
  not_an_item += page.not_an_item;
  too_large += page.too_large;
  over_count += page.over_count;
  over_bytes += page.over_bytes;
  kept_bytes += page.kept_bytes;
}

catalogue_limits remaining(const catalogue_limits& limits, const catalogue_report& so_far) {
  catalogue_limits left = limits;
  left.items_per_list -= std::min(so_far.kept, limits.items_per_list);
  left.list_bytes -= std::min(so_far.kept_bytes, limits.list_bytes);
  return left;
}

namespace {

// The size of a value as JSON text, without building the text for strings.
std::size_t serialized_size(const json& value) {
  if (value.is_string()) return value.get_ref<const std::string&>().size() + 2;
  return value.dump(-1, ' ', false, json::error_handler_t::replace).size();
}

bool string_within(const json& item, const char* key, std::size_t limit, bool required) {
  const auto it = item.find(key);
  if (it == item.end()) return !required;
  if (!it->is_string()) return false;
  const auto& text = it->get_ref<const std::string&>();
  return (!required || !text.empty()) && text.size() <= limit;
}

}  // namespace

catalogue_report filter_catalogue(std::vector<json>& items, catalogue_kind kind, const catalogue_limits& limits) {
  catalogue_report report;
  std::size_t total = 0;
  std::vector<json> kept;
  kept.reserve(std::min(items.size(), limits.items_per_list));
  const std::size_t uri_bytes = limits.name_bytes * 8;
  for (auto& item : items) {
    if (!item.is_object()) {
      ++report.not_an_item;
      continue;
    }
    bool named = true;
    switch (kind) {
      case catalogue_kind::tools:
      case catalogue_kind::prompts:
        named = item.contains("name") && item["name"].is_string() && !item["name"].get_ref<const std::string&>().empty();
        break;
      case catalogue_kind::resources:
        named = item.contains("uri") && item["uri"].is_string() && !item["uri"].get_ref<const std::string&>().empty();
        break;
      case catalogue_kind::resource_templates:
        named = item.contains("uriTemplate") && item["uriTemplate"].is_string() &&
                !item["uriTemplate"].get_ref<const std::string&>().empty();
        break;
    }
    if (!named) {
      ++report.not_an_item;
      continue;
    }
    const bool within =
        string_within(item, "name", limits.name_bytes, false) && string_within(item, "title", limits.name_bytes, false) &&
        string_within(item, "uri", uri_bytes, false) && string_within(item, "uriTemplate", uri_bytes, false) &&
        string_within(item, "description", limits.description_bytes, false);
    if (!within) {
      ++report.too_large;
      continue;
    }
    bool schemas_fit = true;
    for (const char* key : {"inputSchema", "outputSchema", "arguments"}) {
      if (auto it = item.find(key); it != item.end() && serialized_size(*it) > limits.schema_bytes) schemas_fit = false;
    }
    if (!schemas_fit) {
      ++report.too_large;
      continue;
    }
    if (kept.size() >= limits.items_per_list) {
      ++report.over_count;
      continue;
    }
    const std::size_t size = serialized_size(item);
    if (total + size > limits.list_bytes) {
      ++report.over_bytes;
      continue;
    }
    total += size;
    kept.push_back(std::move(item));
  }
  report.kept = kept.size();
  report.kept_bytes = total;
  items = std::move(kept);
  return report;
}

catalogue_kind catalogue_kind_of(std::string_view member) {
  if (member == "prompts") return catalogue_kind::prompts;
  if (member == "resources") return catalogue_kind::resources;
  if (member == "resourceTemplates") return catalogue_kind::resource_templates;
  return catalogue_kind::tools;
}

void filter_catalogue_page(json& list, std::string_view member, const catalogue_limits& limits,
                           catalogue_report& so_far) {
  if (!list.is_array()) return;
  if (member != "tools" && member != "prompts" && member != "resources" && member != "resourceTemplates") return;
  std::vector<json> items;
  items.reserve(list.size());
  for (auto& item : list) items.push_back(std::move(item));
  so_far.add(filter_catalogue(items, catalogue_kind_of(member), remaining(limits, so_far)));
  list = json::array();
  for (auto& item : items) list.push_back(std::move(item));
}

}  // namespace mcp::server
