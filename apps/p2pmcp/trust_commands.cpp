#include "trust_commands.hpp"

#include "mcp/peer/trust_store.hpp"
#include "mcp/server/node_settings.hpp"

#include <fmt/format.h>
#include "mcp/jsonrpc/json.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace p2pmcp {
namespace {

namespace fs = std::filesystem;
using json = mcp::json;
using mcp::peer::trust_entry;
using mcp::peer::trust_list;

int fail(const std::string& sentence, int status = 1) {
  std::fprintf(stderr, "p2pmcp: %s\n", sentence.c_str());
  return status;
}

fs::path trust_path(const trust_options& o) { return o.client.home / "trust.json"; }

// <home>/node.json of a node that is still running, else null.
json running_node(const fs::path& home) {
  std::ifstream file(home / "node.json");
  if (!file) return nullptr;
  std::stringstream text;
  text << file.rdbuf();
  json info = json::parse(text.str(), nullptr, false);
  if (!info.is_object()) return nullptr;
  const auto pid = info.find("pid");
  if (pid == info.end() || !pid->is_number_integer() || pid->get<long long>() <= 1 || pid->get<long long>() > 0x7fffffff)
    return nullptr;
  if (::kill(static_cast<pid_t>(pid->get<long long>()), 0) != 0 && errno == ESRCH) return nullptr;
  return info;
}

// Tells the running node to reload the trust file; the sentence says what happened.
std::string tell_node(const fs::path& home) {
  const json info = running_node(home);
  if (info.is_null()) return fmt::format("no node is running with home {}; it applies when one starts", home.string());
  const auto pid = static_cast<pid_t>(info["pid"].get<long long>());
  if (::kill(pid, SIGHUP) != 0)
    return fmt::format("could not tell the running node (pid {}) to reload it: {}; restart the node to apply it", pid,
                       std::strerror(errno));
  return fmt::format("told the running node (pid {}) to reload it", pid);
}

std::optional<trust_list> load(const trust_options& o, std::string& problem) {
  auto loaded = mcp::peer::load_trust_file(trust_path(o));
  if (auto* error = std::get_if<std::string>(&loaded)) {
    problem = *error;
    return std::nullopt;
  }
  return std::get<trust_list>(std::move(loaded));
}

// A peer named by its ID, by a name in the trust file, or by an alias the running node
// shows in `p2pmcp peers`.
std::optional<p2p::peer_id> resolve(const trust_options& o, const trust_list& list, const std::string& name,
                                    std::string& problem) {
  if (auto id = p2p::peer_id::parse(name)) return *id;
  if (const auto* entry = list.find_name(name)) return entry->peer;
  std::string why;
  auto peers = fetch_peers(o.client, why);
  if (!peers) {
    problem = fmt::format("'{}' is not a peer ID, and no running node could tell which peer has that alias ({}); "
                          "give the full peer ID (12D3KooW...)",
                          name, why);
    return std::nullopt;
  }
  if (peers->contains("peers") && (*peers)["peers"].is_array()) {
    for (const auto& p : (*peers)["peers"]) {
      if (!p.is_object() || p.value("alias", "") != name) continue;
      if (auto id = p2p::peer_id::parse(p.value("peerId", ""))) return *id;
    }
  }
  problem = fmt::format("no peer has the alias '{}' (see `p2pmcp peers`); give the full peer ID (12D3KooW...)", name);
  return std::nullopt;
}

std::optional<std::string> check_name(const trust_options& o, const trust_list& list, const p2p::peer_id& peer) {
  if (!o.name) return std::nullopt;
  if (!mcp::server::is_valid_peer_name(*o.name))
    return fmt::format("--name '{}': a name is 1-32 letters, digits, '_' or '-' (and not \"local\")", *o.name);
  if (const auto* other = list.find_name(*o.name); other && other->peer != peer)
    return fmt::format("--name '{}' is already the name of peer {}", *o.name, other->peer.to_string());
  return std::nullopt;
}

std::string describe(const trust_entry& e) {
  std::string out = e.peer.to_string();
  if (!e.name.empty()) out += " (" + e.name + ")";
  return out;
}

int add(const trust_options& o, trust_entry entry, const char* verb) {
  std::string problem;
  auto list = load(o, problem);
  if (!list) return fail(problem);
  if (auto error = check_name(o, *list, entry.peer)) return fail(*error, 2);
  if (o.name) entry.name = *o.name;
  const bool changed = list->add(entry);
  const trust_entry& stored = *list->find(entry.peer);
  if (!changed) {
    std::printf("peer %s was already trusted (%s); nothing changed\n", describe(stored).c_str(),
                trust_path(o).c_str());
    return 0;
  }
  if (auto error = mcp::peer::save_trust_file(trust_path(o), *list)) return fail(*error);
  std::printf("%s peer %s in %s%s; %s\n", verb, describe(stored).c_str(), trust_path(o).c_str(),
              stored.address ? (", kept connected at " + stored.address->to_string()).c_str() : "",
              tell_node(o.client.home).c_str());
  return 0;
}

}  // namespace

int run_trust(const trust_options& o, const std::vector<std::string>& arguments) {
  const std::string usage = "use: p2pmcp trust add <peer-id|alias> [--name <alias>], p2pmcp trust remove "
                            "<peer-id|alias>, or p2pmcp trust list [--json]";
  if (arguments.empty()) return fail("trust needs a subcommand; " + usage, 2);
  const std::string& sub = arguments[0];
  if (sub == "list") {
    if (arguments.size() != 1) return fail("trust list takes no arguments", 2);
    std::string problem;
    auto list = load(o, problem);
    if (!list) return fail(problem);
    if (o.client.json) {
      const json parsed = json::parse(mcp::peer::serialize_trust_list(*list));
      std::printf("%s\n", parsed["peers"].dump().c_str());
      return 0;
    }
    if (list->peers.empty()) std::printf("no peers trusted in %s\n", trust_path(o).c_str());
    for (const auto& e : list->peers)
      std::printf("%s  %s%s\n", e.peer.to_string().c_str(), e.name.empty() ? "-" : e.name.c_str(),
                  e.address ? ("  " + e.address->to_string()).c_str() : "");
    std::printf("(peers named in the config's \"peers\" and \"trust\" are trusted too)\n");
    return 0;
  }
  if (sub != "add" && sub != "remove") return fail("unknown trust subcommand '" + sub + "'; " + usage, 2);
  if (arguments.size() != 2) return fail("trust " + sub + " needs one peer ID or alias; " + usage, 2);
  std::string problem;
  auto list = load(o, problem);
  if (!list) return fail(problem);
  auto peer = resolve(o, *list, arguments[1], problem);
  if (!peer) return fail(problem);
  if (sub == "add") {
    return add(o, trust_entry{*peer, {}, std::nullopt}, "trusted");
  }
  if (o.name) return fail("--name is for trust add and pair", 2);
  const trust_entry* existing = list->find(*peer);
  if (!existing) {
    std::printf("peer %s is not in %s; nothing changed (peers named in the config's \"peers\" or \"trust\" are "
                "removed there)\n",
                peer->to_string().c_str(), trust_path(o).c_str());
    return 0;
  }
  const std::string described = describe(*existing);
  list->remove(*peer);
  if (auto error = mcp::peer::save_trust_file(trust_path(o), *list)) return fail(*error);
  std::printf("no longer trusting peer %s (%s); %s\n", described.c_str(), trust_path(o).c_str(),
              tell_node(o.client.home).c_str());
  return 0;
}

int run_pair(const trust_options& o, const std::string& text) {
  auto parsed = mcp::server::parse_bootstrap(text);
  if (auto* error = std::get_if<std::string>(&parsed)) return fail("pair: " + *error, 2);
  auto& b = std::get<mcp::server::bootstrap_peer>(parsed);
  const int status = add(o, trust_entry{b.peer, {}, b.address}, "paired with");
  if (status != 0) return status;
  const json info = running_node(o.client.home);
  if (info.is_object() && info.contains("addresses") && info["addresses"].is_array() && !info["addresses"].empty() &&
      info.contains("peerId") && info["peerId"].is_string()) {
    std::string address = info["addresses"][0].is_string() ? info["addresses"][0].get<std::string>() : "";
    for (const auto& a : info["addresses"])
      if (a.is_string() && a.get<std::string>().rfind("/ip4/127.", 0) != 0) {
        address = a.get<std::string>();
        break;
      }
    std::printf("to complete the pairing, run on the other node: p2pmcp pair %s/p2p/%s\n", address.c_str(),
                info["peerId"].get<std::string>().c_str());
  } else {
    std::printf("to complete the pairing, run `p2pmcp pair <this node's address>/p2p/<its peer ID>` on the other node "
                "(`p2pmcp status` prints the line)\n");
  }
  return 0;
}

}  // namespace p2pmcp
