// Caps on what a peer's MCP servers may put into this node: how many servers per peer,
// how many tools/prompts/resources/templates per server, and the size of each item's
// name, description and schemas. They apply to every peer, trusted or not: trust says
// whose tools the user wants, not that their lists are small.
//
// filter_catalogue is pure: it drops (never truncates) the items over a cap and reports
// what it dropped, so the caller logs ONE line per list.
#pragma once

#include "mcp/server/upstream.hpp"  // mcp::server::json

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mcp::server {

struct catalogue_limits {
  std::size_t servers_per_peer = 32;          // "serversPerPeer": further announced servers are ignored
  std::size_t items_per_list = 512;           // "itemsPerList": tools, prompts, resources, templates per server
  std::size_t name_bytes = 128;               // "nameBytes": name, title (URIs: 8 x this)
  std::size_t description_bytes = 8 * 1024;   // "descriptionBytes"
  std::size_t schema_bytes = 64 * 1024;       // "schemaBytes": inputSchema, outputSchema, arguments (serialized)
  std::size_t list_bytes = 4 * 1024 * 1024;   // "listBytes": one server's whole list (serialized)
};

enum class catalogue_kind { tools, prompts, resources, resource_templates };
std::string_view to_string(catalogue_kind kind);

struct catalogue_report {
  std::size_t kept = 0;
  std::size_t not_an_item = 0;  // not an object, or no valid name / uri
  std::size_t too_large = 0;    // a name, description or schema over its cap
  std::size_t over_count = 0;   // beyond items_per_list
  std::size_t over_bytes = 0;   // beyond list_bytes
  std::size_t kept_bytes = 0;   // serialized size of what was kept
  std::size_t dropped() const { return not_an_item + too_large + over_count + over_bytes; }
  // Adds another page's report to this one.
  void add(const catalogue_report& page);
  // "dropped 1488 of 2000 tools from peer k3Xq9a's server 'x' (1488 beyond 512 per list)"
  std::string sentence(catalogue_kind kind, std::string_view subject) const;
};

// Removes from `items` every item over a cap, keeping the order of the rest.
// Never throws on any JSON.
catalogue_report filter_catalogue(std::vector<json>& items, catalogue_kind kind,
                                  const catalogue_limits& limits);

// The same on one page of a list result's array member (`list` must be an array), with
// the caps reduced by what earlier pages kept; adds this page's counts to `so_far`.
// `member` is the result's key: "tools", "prompts", "resources" or "resourceTemplates"
// (any other key filters nothing).
void filter_catalogue_page(json& list, std::string_view member, const catalogue_limits& limits,
                           catalogue_report& so_far);
// The kind of a list result's member, as above; tools for an unknown one.
catalogue_kind catalogue_kind_of(std::string_view member);

// For lists that come in pages: `limits` with items_per_list and list_bytes reduced by
// what earlier pages kept (`so_far`), so filtering page by page caps the whole list.
catalogue_limits remaining(const catalogue_limits& limits, const catalogue_report& so_far);

}  // namespace mcp::server
