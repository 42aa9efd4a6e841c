#include "p2p/resource/limits.hpp"

#include <algorithm>

namespace p2p::resource {

std::string_view describe(resource_kind kind) noexcept {
  switch (kind) {
    case resource_kind::connections_inbound: return "inbound connections";
    case resource_kind::connections_outbound: return "outbound connections";
    case resource_kind::connections: return "connections";
    case resource_kind::streams_inbound: return "inbound streams";
    case resource_kind::streams_outbound: return "outbound streams";
    case resource_kind::streams: return "streams";
    case resource_kind::pending: return "connections in their handshake";
    case resource_kind::memory: return "bytes of memory";
  }
  return "resources";
}

std::uint64_t& at(amounts& a, resource_kind kind) noexcept {
  switch (kind) {
    case resource_kind::connections_inbound: return a.connections_inbound;
    case resource_kind::connections_outbound: return a.connections_outbound;
    case resource_kind::connections: return a.connections;
    case resource_kind::streams_inbound: return a.streams_inbound;
    case resource_kind::streams_outbound: return a.streams_outbound;
    case resource_kind::streams: return a.streams;
    case resource_kind::pending: return a.pending;
    case resource_kind::memory: break;
  }
  return a.memory;
}

std::uint64_t at(const amounts& a, resource_kind kind) noexcept { return at(const_cast<amounts&>(a), kind); }

namespace {

constexpr std::uint64_t mib = 1024 * 1024;

amounts all_unlimited() {
  return {unlimited, unlimited, unlimited, unlimited, unlimited, unlimited, unlimited, unlimited};
}

}  // namespace

limits_config default_limits(std::uint64_t memory, std::uint64_t descriptors) {
  if (memory == 0) memory = 1024 * mib;  // unknown: assume a small machine
  const std::uint64_t system_memory = std::clamp<std::uint64_t>(memory / 8, 128 * mib, 8192 * mib);
  // An idle connection costs about 420 KB today (issue 9); leave room for buffers.
  const std::uint64_t by_memory = system_memory / (512 * 1024);
  const std::uint64_t by_descriptors = descriptors == 0 ? 512 : descriptors / 2;
  const std::uint64_t connections = std::max<std::uint64_t>(64, std::min(by_memory, by_descriptors));

  limits_config c;
  c.system = all_unlimited();
  c.system.connections = connections;
  c.system.connections_inbound = connections;
  c.system.connections_outbound = connections;
  c.system.streams = connections * 16;
  c.system.streams_inbound = connections * 16;
  c.system.streams_outbound = connections * 16;
  c.system.memory = system_memory;

  c.transient = all_unlimited();
  c.transient.pending = 64;
  // Room beyond the pending slots: for outbound dials, and for dropped handshakes
  // still closing (a full transient scope would refuse instead of dropping the oldest).
  c.transient.connections = std::max<std::uint64_t>(2 * c.transient.pending, connections / 4);
  c.transient.memory = std::max<std::uint64_t>(16 * mib, system_memory / 16);

  c.address = all_unlimited();
  c.address.connections = 64;
  c.address.pending = 16;

  c.peer = all_unlimited();
  c.peer.connections = 8;
  c.peer.connections_inbound = 8;
  c.peer.connections_outbound = 8;
  c.peer.streams = 2048;
  c.peer.streams_inbound = 1024;
  c.peer.streams_outbound = 1024;
  c.peer.memory = std::max<std::uint64_t>(64 * mib, system_memory / 8);

  c.protected_peer = c.peer;
  c.protected_peer.connections = c.protected_peer.connections_inbound = c.protected_peer.connections_outbound = 16;
  c.protected_peer.streams = 4096;
  c.protected_peer.streams_inbound = c.protected_peer.streams_outbound = 2048;
  c.protected_peer.memory = std::max<std::uint64_t>(128 * mib, system_memory / 4);

  c.protocol = all_unlimited();

  c.connection = all_unlimited();
  c.connection.streams = 1024;  // yamux's own cap (1000) is the tighter one
  c.connection.memory = std::max<std::uint64_t>(32 * mib, system_memory / 16);

  c.stream = all_unlimited();
  c.stream.memory = 32 * mib;  // a yamux window (16 MiB) and a message (4 MiB) with room

  c.protected_room = {};
  c.protected_room.connections = c.protected_room.connections_inbound = c.protected_room.connections_outbound =
      std::max<std::uint64_t>(16, connections / 16);
  c.protected_room.streams = c.protected_room.streams_inbound = c.protected_room.streams_outbound =
      c.protected_room.connections * 16;
  c.protected_room.memory = system_memory / 8;
  return c;
}

}  // namespace p2p::resource
