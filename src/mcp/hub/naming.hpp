// The names the gateway shows for things of many servers on many nodes
// (docs/protocol.md "Names"):
//   tools and prompts  <alias>_<server>_<name>          e.g. k3Xq9a_everything_echo
//   resources          p2pmcp://<alias>_<server>/<uri>  e.g. p2pmcp://local_files/file:///a
// where <alias>_<server> is the upstream's prefix. Tool names must match
// ^[a-zA-Z0-9_-]{1,64}$ (what Claude, OpenAI and the MCP SDKs accept), so a name that
// is too long or has other characters is shortened and made valid, and gets a suffix of
// 8 hex digits hashed from the prefix and the original name: stable across restarts and
// independent of which other tools exist, so no two distinct originals share a name.
//
// Sans-IO, pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace mcp::hub {

inline constexpr std::size_t max_exposed_name = 64;
// The node's own servers appear under this alias.
inline constexpr std::string_view local_alias = "local";
inline constexpr std::string_view uri_scheme = "p2pmcp://";

// ^[a-zA-Z0-9_-]{1,64}$
bool is_valid_exposed_name(std::string_view name) noexcept;

// "<prefix>_<name>" when that is valid; otherwise the valid, shortened form with the
// hash suffix. An empty prefix exposes the name unchanged (the peer hop shows a
// server's own names).
std::string expose_name(std::string_view prefix, std::string_view name);

// A peer's default alias: the last 6 characters of its base58 peer ID.
std::string default_alias(std::string_view peer_id_text);

// "p2pmcp://<prefix>/<uri>"; an empty prefix leaves the uri unchanged.
std::string expose_uri(std::string_view prefix, std::string_view uri);
// The prefix and the original uri of an exposed uri; nullopt when it is not one.
std::optional<std::pair<std::string, std::string>> parse_exposed_uri(std::string_view uri);

}  // namespace mcp::hub
