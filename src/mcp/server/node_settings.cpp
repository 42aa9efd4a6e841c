#include "mcp/server/node_settings.hpp"

#include "mcp/server/config.hpp"

namespace mcp::server {

using json = mcp::json;

const access_rule& node_settings::rule_for(const std::string& server) const {
  static const access_rule trusted_only;
  if (auto it = allow.find(server); it != allow.end()) return it->second;
  if (auto it = allow.find("*"); it != allow.end()) return it->second;
  return trusted_only;
}

bool node_settings::trusts(const p2p::peer_id& peer) const {
  for (const auto& b : bootstrap)
    if (!b.alias.empty() && b.peer == peer) return true;
  for (const auto& t : trust)
    if (t.peer == peer) return true;
  return false;
}

bool is_valid_peer_name(const std::string& name) { return is_valid_server_name(name) && name != "local"; }

std::variant<bootstrap_peer, std::string> parse_bootstrap(const std::string& text) {
  auto address = p2p::multiaddr::parse(text);
  if (!address) return "'" + text + "' is not a valid multiaddr (" + address.error().message() + ")";
  auto peer = address->peer();
  if (!peer)
    return "'" + text + "' does not name its peer: a bootstrap address ends in /p2p/<peer-id> (see `p2pmcp up` on that node)";
  return bootstrap_peer{*address, *peer, std::string()};
}

std::variant<node_settings, std::string> parse_node_settings(const json& settings, const std::string& file) {
  node_settings out;
  if (settings.is_null()) return out;
  const std::string where = file + ": p2pmcp";
  if (!settings.is_object()) return where + " must be an object";

  for (const auto& [key, value] : settings.items()) {
    const std::string at = where + "." + key;
    if (key == "listen") {
      if (!value.is_array()) return at + " must be an array of multiaddrs";
      for (const auto& item : value) {
        if (!item.is_string()) return at + " must contain strings";
        auto address = p2p::multiaddr::parse(item.get<std::string>());
        if (!address) return at + ": '" + item.get<std::string>() + "' is not a valid multiaddr";
        out.listen.push_back(*address);
      }
    } else if (key == "bootstrap") {
      if (!value.is_array()) return at + " must be an array of multiaddrs";
      for (const auto& item : value) {
        if (!item.is_string()) return at + " must contain strings";
        auto parsed = parse_bootstrap(item.get<std::string>());
        if (auto* error = std::get_if<std::string>(&parsed)) return at + ": " + *error;
        out.bootstrap.push_back(std::get<bootstrap_peer>(std::move(parsed)));
      }
    } else if (key == "peers") {
      if (!value.is_object()) return at + " must map names to multiaddrs";
      for (const auto& [name, address] : value.items()) {
        if (!is_valid_peer_name(name))
          return at + "." + name + ": a peer name is 1-32 letters, digits, '_' or '-' (and not \"local\")";
        if (!address.is_string()) return at + "." + name + " must be a multiaddr string";
        auto parsed = parse_bootstrap(address.get<std::string>());
        if (auto* error = std::get_if<std::string>(&parsed)) return at + "." + name + ": " + *error;
        auto peer = std::get<bootstrap_peer>(std::move(parsed));
        peer.alias = name;
        out.bootstrap.push_back(std::move(peer));
      }
    } else if (key == "trust") {
      if (!value.is_array()) return at + " must be an array of peer IDs or {\"id\": ..., \"name\": ...} objects";
      for (const auto& item : value) {
        std::string id, name;
        if (item.is_string()) {
          id = item.get<std::string>();
        } else if (item.is_object()) {
          for (const auto& [tkey, tvalue] : item.items()) {
            if (tkey == "id" && tvalue.is_string()) {
              id = tvalue.get<std::string>();
            } else if (tkey == "name" && tvalue.is_string() && is_valid_peer_name(tvalue.get<std::string>())) {
              name = tvalue.get<std::string>();
            } else if (tkey == "name") {
              return at + ": a name is 1-32 letters, digits, '_' or '-' (and not \"local\")";
            } else if (tkey == "id") {
              return at + ": \"id\" must be a peer ID string";
            } else {
              return at + ": '" + tkey + "' is not a trust entry field (id, name)";
            }
          }
          if (id.empty()) return at + ": an entry {\"id\": ..., \"name\": ...} needs its \"id\"";
        } else {
          return at + " must contain peer ID strings or {\"id\": ..., \"name\": ...} objects";
        }
        auto peer = p2p::peer_id::parse(id);
        if (!peer) return at + ": '" + id.substr(0, 100) + "' is not a peer ID (see `p2pmcp id` on that node)";
        out.trust.push_back(trusted_peer{*peer, std::move(name)});
      }
    } else if (key == "gateway") {
      if (value.is_boolean()) {
        out.gateway_enabled = value.get<bool>();
        continue;
      }
      if (!value.is_object()) return at + " must be an object {\"host\": ..., \"port\": ...} or false";
      for (const auto& [gkey, gvalue] : value.items()) {
        if (gkey == "host") {
          if (!gvalue.is_string() || gvalue.get<std::string>().empty()) return at + ".host must be an IP address string";
          out.gateway_host = gvalue.get<std::string>();
        } else if (gkey == "port") {
          if (!gvalue.is_number_integer() || gvalue.get<std::int64_t>() < 0 || gvalue.get<std::int64_t>() > 65535)
            return at + ".port must be a port number (0 picks a free one)";
          out.gateway_port = static_cast<std::uint16_t>(gvalue.get<std::int64_t>());
        } else if (gkey == "maxSessions") {
          if (!gvalue.is_number_integer() || gvalue.get<std::int64_t>() < 1 || gvalue.get<std::int64_t>() > 100000)
            return at + ".maxSessions must be a number of sessions from 1 to 100000";
          out.gateway_max_sessions = static_cast<std::size_t>(gvalue.get<std::int64_t>());
        } else if (gkey == "sessionIdleSeconds") {
          if (!gvalue.is_number_integer() || gvalue.get<std::int64_t>() < 1 || gvalue.get<std::int64_t>() > 604800)
            return at + ".sessionIdleSeconds must be a number of seconds from 1 to 604800 (a week)";
          out.gateway_session_idle_seconds = static_cast<std::uint32_t>(gvalue.get<std::int64_t>());
        } else {
          return at + "." + gkey + " is not a gateway setting (host, port, maxSessions, sessionIdleSeconds)";
        }
      }
    } else if (key == "allow") {
      if (!value.is_object())
        return at + " must map server names (or \"*\") to \"trusted\", \"all\" or a list of peer IDs";
      for (const auto& [server, rule_value] : value.items()) {
        const std::string rat = at + "." + server;
        access_rule rule;
        if (rule_value.is_string() && rule_value.get<std::string>() == "all") {
          rule.who = access_rule::kind::all;
        } else if (rule_value.is_string() && rule_value.get<std::string>() == "trusted") {
          rule.who = access_rule::kind::trusted;
        } else if (rule_value.is_array()) {
          rule.who = access_rule::kind::listed;
          for (const auto& id : rule_value) {
            if (!id.is_string()) return rat + " must contain peer ID strings";
            auto peer = p2p::peer_id::parse(id.get<std::string>());
            if (!peer) return rat + ": '" + id.get<std::string>() + "' is not a peer ID";
            rule.peers.insert(peer->to_string());
          }
        } else {
          return rat + " must be \"trusted\" (the default), \"all\" (anyone: an open node) or a list of peer IDs "
                       "([] serves nobody)";
        }
        out.allow[server] = std::move(rule);
      }
    } else if (key == "maxMessageBytes") {
      if (!value.is_number_integer() || value.get<std::int64_t>() < 1024 || value.get<std::int64_t>() > (64ll << 20))
        return at + " must be a byte count from 1024 to 67108864";
      out.max_message_bytes = static_cast<std::size_t>(value.get<std::int64_t>());
    } else if (key == "forgetPeersAfter") {
      if (!value.is_number_integer() || value.get<std::int64_t>() < 0 || value.get<std::int64_t>() > 604800)
        return at + " must be a number of seconds from 0 to 604800 (a week)";
      out.forget_peers_after_seconds = static_cast<std::uint32_t>(value.get<std::int64_t>());
    } else if (key == "limits") {
      if (!value.is_object()) return at + " must be an object of caps such as {\"serversPerPeer\": 32}";
      struct cap {
        const char* name;
        std::size_t* target;
        std::int64_t min, max;
      };
      auto& l = out.limits;
      const cap caps[] = {{"serversPerPeer", &l.servers_per_peer, 0, 4096},
                          {"itemsPerList", &l.items_per_list, 0, 1 << 20},
                          {"nameBytes", &l.name_bytes, 16, 4096},
                          {"descriptionBytes", &l.description_bytes, 0, 1 << 20},
                          {"schemaBytes", &l.schema_bytes, 64, 16 << 20},
                          {"listBytes", &l.list_bytes, 1024, 256 << 20},
                          {"connections", &out.connections.connections, 1, 1 << 20},
                          {"connectionsPerPeer", &out.connections.connections_per_peer, 1, 1024},
                          {"connectionsPerAddress", &out.connections.connections_per_address, 1, 1 << 20},
                          {"handshakes", &out.connections.handshakes, 1, 1 << 16},
                          {"handshakesPerAddress", &out.connections.handshakes_per_address, 1, 1 << 16},
                          {"streamsPerPeer", &out.connections.streams_per_peer, 1, 1 << 20},
                          {"memoryBytes", &out.connections.memory_bytes, 16 << 20, std::int64_t{1} << 40}};
      for (const auto& [lkey, lvalue] : value.items()) {
        const cap* found = nullptr;
        for (const auto& c : caps)
          if (lkey == c.name) found = &c;
        if (!found)
          return at + "." + lkey +
                 " is not a limit (serversPerPeer, itemsPerList, nameBytes, descriptionBytes, schemaBytes, listBytes, "
                 "connections, connectionsPerPeer, connectionsPerAddress, handshakes, handshakesPerAddress, "
                 "streamsPerPeer, memoryBytes)";
        if (!lvalue.is_number_integer() || lvalue.get<std::int64_t>() < found->min ||
            lvalue.get<std::int64_t>() > found->max)
          return at + "." + lkey + " must be a whole number from " + std::to_string(found->min) + " to " +
                 std::to_string(found->max);
        *found->target = static_cast<std::size_t>(lvalue.get<std::int64_t>());
      }
    } else {
      return at + " is not a setting (listen, bootstrap, peers, trust, gateway, allow, maxMessageBytes, forgetPeersAfter, limits)";
    }
  }
  return out;
}

}  // namespace mcp::server
