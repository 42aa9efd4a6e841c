// What the resource manager counts and how much of it each scope may use.
// (go-libp2p p2p/host/resource-manager: limit.go, limit_defaults.go)
#pragma once

#include <cstdint>
#include <limits>
#include <string_view>

namespace p2p::resource {

inline constexpr std::uint64_t unlimited = std::numeric_limits<std::uint64_t>::max();

// Every kind of resource a scope counts. Used both for what a scope uses and for
// its limits (`unlimited` for no limit).
struct amounts {
  std::uint64_t connections_inbound = 0;
  std::uint64_t connections_outbound = 0;
  std::uint64_t connections = 0;  // inbound + outbound
  std::uint64_t streams_inbound = 0;
  std::uint64_t streams_outbound = 0;
  std::uint64_t streams = 0;      // inbound + outbound
  std::uint64_t pending = 0;      // inbound connections still in their handshake
  std::uint64_t memory = 0;       // bytes

  friend bool operator==(const amounts&, const amounts&) = default;
  bool is_zero() const noexcept { return *this == amounts{}; }
};

enum class resource_kind {
  connections_inbound,
  connections_outbound,
  connections,
  streams_inbound,
  streams_outbound,
  streams,
  pending,
  memory
};
inline constexpr int resource_kind_count = 8;

// "inbound connections", "memory (bytes)", ...
std::string_view describe(resource_kind kind) noexcept;
// The field of `a` for `kind`.
std::uint64_t& at(amounts& a, resource_kind kind) noexcept;
std::uint64_t at(const amounts& a, resource_kind kind) noexcept;

// The limits of every scope. A scope of a kind that exists many times (address,
// peer, protocol, connection, stream) gets its kind's limits each.
struct limits_config {
  amounts system;          // everything authenticated peers hold
  amounts transient;       // connections still in their handshake (not yet a peer)
  amounts address;         // per source IP address (IPv6: per /64)
  amounts peer;            // per peer
  amounts protected_peer;  // per peer, for protected peers (trusted, bootstrap)
  amounts protocol;        // per protocol, all peers together
  amounts connection;      // per connection
  amounts stream;          // per stream
  // The part of the system scope's limits that only protected peers may use: a
  // flood of strangers stops at `system - protected_room`.
  amounts protected_room;
};

// Defaults from the machine: `memory` is its physical memory in bytes, `descriptors`
// the soft RLIMIT_NOFILE in force. The system scope gets an eighth of the memory
// (at least 128 MiB, at most 8 GiB) and half the descriptors as connections (at
// least 64, and no more than the memory allows at 512 KiB per connection); the
// README's "Limits" table lists every value.
limits_config default_limits(std::uint64_t memory, std::uint64_t descriptors);

}  // namespace p2p::resource
