// The trust file parser (<home>/trust.json) on arbitrary bytes: it must never crash or
// throw, give either a list or one sentence naming the file, and what it accepts must
// obey what the node relies on (one entry per peer, unique names, an address that names
// its peer) and survive a round trip through serialize_trust_list.
// It also runs the catalogue caps over whatever JSON array the input holds.
#include "fuzz_support.hpp"
#include "mcp/peer/trust_store.hpp"
#include "mcp/server/catalogue_limits.hpp"

#include <set>
#include <string_view>

using fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = mcp::peer::parse_trust_list(text, "trust.json");
  if (auto* error = std::get_if<std::string>(&parsed)) {
    check(error->rfind("trust.json", 0) == 0);
  } else {
    const auto& list = std::get<mcp::peer::trust_list>(parsed);
    std::set<std::string> ids, names;
    for (const auto& e : list.peers) {
      check(ids.insert(e.peer.to_string()).second);
      if (!e.name.empty()) check(names.insert(e.name).second);
      if (e.address) check(e.address->peer() == e.peer);
    }
    auto again = mcp::peer::parse_trust_list(mcp::peer::serialize_trust_list(list), "trust.json");
    check(std::holds_alternative<mcp::peer::trust_list>(again));
    check(std::get<mcp::peer::trust_list>(again).peers.size() == list.peers.size());
  }
  const auto items = mcp::server::json::parse(text, nullptr, false);
  if (items.is_array()) {
    std::vector<mcp::server::json> list(items.begin(), items.end());
    mcp::server::catalogue_limits limits;
    limits.items_per_list = 4;
    limits.name_bytes = 16;
    limits.list_bytes = 1024;
    auto report = mcp::server::filter_catalogue(list, mcp::server::catalogue_kind::tools, limits);
    check(list.size() == report.kept && report.kept <= 4 && report.kept + report.dropped() == items.size());
  }
  return 0;
}
