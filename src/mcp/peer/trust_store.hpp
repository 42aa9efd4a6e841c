// The trust file, <home>/trust.json: the peers the user trusted with `p2pmcp trust add`
// or `p2pmcp pair` (the config's "peers" and "trust" are the other sources; see
// docs/protocol.md "Access control").
//
//   {"peers": [{"id": "12D3KooW...", "name": "laptop",
//               "address": "/ip4/192.0.2.11/tcp/4021/p2p/12D3KooW..."}]}
//
// "name" (an alias) and "address" (where to keep the peer connected; it ends in the
// peer's /p2p/<id>) are optional. Only the CLI writes this file; the running node reads
// it at start and on SIGHUP. Trust is never changed through MCP: a prompt-injected AI
// must not be able to trust an attacker.
//
// Parsing never throws on any input (fuzzed: fuzz_trust_file); each problem is one
// sentence naming the file and the entry.
#pragma once

#include "p2p/core/multiaddr.hpp"
#include "p2p/core/peer_id.hpp"

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mcp::peer {

struct trust_entry {
  p2p::peer_id peer;
  std::string name;                       // alias, or empty
  std::optional<p2p::multiaddr> address;  // ends in /p2p/<peer>
};

struct trust_list {
  std::vector<trust_entry> peers;  // at most one entry per peer, in the order added

  const trust_entry* find(const p2p::peer_id& peer) const;
  const trust_entry* find_name(std::string_view name) const;
  // Adds `entry`, or updates the entry of the same peer (a new name or address replaces
  // the old one; an empty one keeps it). Returns false when nothing changed.
  bool add(trust_entry entry);
  // Returns false when `peer` was not in the list.
  bool remove(const p2p::peer_id& peer);
};

inline constexpr std::size_t max_trust_file_bytes = 1 << 20;
inline constexpr std::size_t max_trusted_peers = 4096;

// `text` is the file's content; `file` labels messages.
std::variant<trust_list, std::string> parse_trust_list(std::string_view text, const std::string& file);
std::string serialize_trust_list(const trust_list& list);

// A missing file is an empty list; anything else that fails is a sentence.
std::variant<trust_list, std::string> load_trust_file(const std::filesystem::path& path);
// Writes atomically (a temporary file in the same directory, then rename), mode 0600,
// creating the directory if needed. Returns a sentence on failure.
std::optional<std::string> save_trust_file(const std::filesystem::path& path, const trust_list& list);

}  // namespace mcp::peer
