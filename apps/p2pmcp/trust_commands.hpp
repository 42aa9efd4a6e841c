// `p2pmcp trust add|remove|list` and `p2pmcp pair`: the user's way to say which peers
// are trusted (docs/protocol.md "Access control"). They edit <home>/trust.json and tell
// the running node (pid in <home>/node.json) to reload it with SIGHUP. There is no MCP
// tool for this on purpose: a prompt-injected AI must never be able to trust an attacker.
//
// Exit status as the other commands: 0 done, 1 failed (sentence on stderr), 2 bad usage.
#pragma once

#include "client_commands.hpp"

#include <optional>
#include <string>
#include <vector>

namespace p2pmcp {

struct trust_options {
  client_options client;           // home, --gateway-url, --json
  std::optional<std::string> name;  // --name
};

// `arguments`: "add <peer-id|alias>", "remove <peer-id|alias>" or "list".
int run_trust(const trust_options& options, const std::vector<std::string>& arguments);

// `p2pmcp pair <multiaddr ending in /p2p/<id>>`: trust that peer and keep it connected.
int run_pair(const trust_options& options, const std::string& address);

}  // namespace p2pmcp
