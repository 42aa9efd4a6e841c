#include "node.hpp"

#include <algorithm>

#include "p2p/core/system_limits.hpp"
#include "p2p/protocols/perf/perf.hpp"
#include "p2p/protocols/ping/ping.hpp"
#include "p2p/transport/tcp/tcp_transport.hpp"

namespace p2pmcp {

p2p::host_config make_host_config(node_options options) {
  p2p::host_config config;
  config.identity = std::move(options.identity);
  config.listen_addresses = std::move(options.listen);
  config.agent_version = std::string("p2pmcp/") + version;
  config.limits = std::move(options.limits);
  return config;
}

p2p::resource::limits_config resource_limits(const mcp::server::connection_limits& o) {
  auto l = p2p::resource::default_limits(p2p::physical_memory(), p2p::file_descriptor_limit().soft);
  auto all_directions = [](std::uint64_t& total, std::uint64_t& in, std::uint64_t& out, std::size_t value) {
    if (value != 0) total = in = out = value;
  };
  all_directions(l.system.connections, l.system.connections_inbound, l.system.connections_outbound, o.connections);
  all_directions(l.peer.connections, l.peer.connections_inbound, l.peer.connections_outbound,
                 o.connections_per_peer);
  if (o.connections_per_address != 0) l.address.connections = o.connections_per_address;
  if (o.handshakes != 0) {
    l.transient.pending = o.handshakes;
    l.transient.connections = std::max(l.transient.connections, 2 * l.transient.pending);
  }
  if (o.handshakes_per_address != 0) l.address.pending = o.handshakes_per_address;
  if (o.streams_per_peer != 0) {
    l.peer.streams = o.streams_per_peer;
    l.peer.streams_inbound = l.peer.streams_outbound = std::max<std::size_t>(1, o.streams_per_peer / 2);
  }
  if (o.memory_bytes != 0) l.system.memory = o.memory_bytes;
  // Protected peers keep at least the strangers' limits, and their room stays inside the system's.
  l.protected_peer.connections = std::max(l.protected_peer.connections, l.peer.connections);
  l.protected_peer.connections_inbound = std::max(l.protected_peer.connections_inbound, l.peer.connections_inbound);
  l.protected_peer.connections_outbound =
      std::max(l.protected_peer.connections_outbound, l.peer.connections_outbound);
  l.protected_peer.streams = std::max(l.protected_peer.streams, l.peer.streams);
  l.protected_room.connections = std::min(l.protected_room.connections, l.system.connections / 2);
  l.protected_room.connections_inbound = l.protected_room.connections_outbound = l.protected_room.connections;
  l.protected_room.memory = std::min(l.protected_room.memory, l.system.memory / 2);
  return l;
}

node::node(boost::asio::any_io_executor executor, node_options options)
    : host_(executor, make_host_config(std::move(options)), clock_, random_), identify_(host_) {
  host_.set_handler(std::string(p2p::ping::protocol_id),
                    [](std::unique_ptr<p2p::stream> s, p2p::stream_info) -> p2p::task<void> {
                      co_await p2p::ping::serve(*s);
                    });
  host_.set_handler(std::string(p2p::perf::protocol_id),
                    [](std::unique_ptr<p2p::stream> s, p2p::stream_info) -> p2p::task<void> {
                      co_await p2p::perf::serve(*s);
                    });
}

std::vector<p2p::multiaddr> node::dialable_addresses() const {
  std::vector<p2p::multiaddr> out;
  for (const auto& bound : host_.listen_addresses())
    for (auto& address : p2p::tcp::expand_wildcard(bound)) out.push_back(address.with_peer(host_.id()));
  return out;
}

p2p::task<void> node::run() {
  identify_.start();
  co_await host_.run();
}

}  // namespace p2pmcp
