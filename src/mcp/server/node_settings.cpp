#include "mcp/server/node_settings.hpp"

#include "mcp/server/config.hpp"

namespace mcp::server {

using json = mcp::json;

const access_rule& node_settings::rule_for(const std::string& server) const {
  static const access_rule everyone;
  if (auto it = allow.find(server); it != allow.end()) return it->second;
  if (auto it = allow.find("*"); it != allow.end()) return it->second;
  return everyone;
}

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
        if (!mcp::server::is_valid_server_name(name) || name == "local")
          return at + "." + name + ": a peer name is 1-32 letters, digits, '_' or '-' (and not \"local\")";
        if (!address.is_string()) return at + "." + name + " must be a multiaddr string";
        auto parsed = parse_bootstrap(address.get<std::string>());
        if (auto* error = std::get_if<std::string>(&parsed)) return at + "." + name + ": " + *error;
        auto peer = std::get<bootstrap_peer>(std::move(parsed));
        peer.alias = name;
        out.bootstrap.push_back(std::move(peer));
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
      if (!value.is_object()) return at + " must map server names (or \"*\") to \"all\" or a list of peer IDs";
      for (const auto& [server, rule_value] : value.items()) {
        const std::string rat = at + "." + server;
        access_rule rule;
        if (rule_value.is_string() && rule_value.get<std::string>() == "all") {
          rule.everyone = true;
        } else if (rule_value.is_array()) {
          rule.everyone = false;
          for (const auto& id : rule_value) {
            if (!id.is_string()) return rat + " must contain peer ID strings";
            auto peer = p2p::peer_id::parse(id.get<std::string>());
            if (!peer) return rat + ": '" + id.get<std::string>() + "' is not a peer ID";
            rule.peers.insert(peer->to_string());
          }
        } else {
          return rat + " must be \"all\" or a list of peer IDs ([] serves nobody)";
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
    } else {
      return at + " is not a setting (listen, bootstrap, peers, gateway, allow, maxMessageBytes, forgetPeersAfter)";
    }
  }
  return out;
}

}  // namespace mcp::server
