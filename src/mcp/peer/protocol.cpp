#include "mcp/peer/protocol.hpp"

#include "mcp/server/config.hpp"

namespace mcp::peer {

std::string protocol_for(std::string_view server) {
  std::string id(protocol_prefix);
  id += server;
  return id;
}

std::optional<std::string> server_from_protocol(std::string_view protocol_id) {
  if (!protocol_id.starts_with(protocol_prefix)) return std::nullopt;
  const std::string_view name = protocol_id.substr(protocol_prefix.size());
  if (!mcp::server::is_valid_server_name(name)) return std::nullopt;
  return std::string(name);
}

}  // namespace mcp::peer
