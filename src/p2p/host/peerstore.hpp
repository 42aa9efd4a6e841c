// What the node knows about other peers: addresses (each with an expiry), public
// keys, supported protocols and agent versions. Sans-IO: callers pass `now`.
// Bounded: at most `max_peers` peers and `max_addresses` addresses per peer; the
// oldest entries give way.
#pragma once

#include "p2p/core/clock.hpp"
#include "p2p/core/keys.hpp"
#include "p2p/core/multiaddr.hpp"
#include "p2p/core/peer_id.hpp"

#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace p2p {

struct peer_record {
  std::map<multiaddr, time_point> addresses;  // address -> expiry
  std::optional<crypto::public_key> public_key;
  std::vector<std::string> protocols;
  std::string agent_version;
  std::string protocol_version;
  time_point last_seen{};
};

class peerstore {
 public:
  struct limits {
    std::size_t max_peers = 10000;
    std::size_t max_addresses = 32;
  };

  // Common address lifetimes, as in go-libp2p's peerstore.
  static constexpr duration temporary_ttl = std::chrono::minutes(2);
  static constexpr duration recently_connected_ttl = std::chrono::minutes(30);
  static constexpr duration permanent_ttl = std::chrono::hours(24 * 365 * 10);

  peerstore() = default;
  explicit peerstore(limits l) : limits_(l) {}

  // Adds or extends addresses (a stored /p2p suffix is stripped). Longer expiry wins.
  void add_addresses(const peer_id& peer, const std::vector<multiaddr>& addresses, duration ttl, time_point now);
  // Unexpired addresses, most recently extended first.
  std::vector<multiaddr> addresses(const peer_id& peer, time_point now) const;

  void set_public_key(const peer_id& peer, const crypto::public_key& key);
  void set_protocols(const peer_id& peer, std::vector<std::string> protocols);
  void set_agent(const peer_id& peer, std::string agent_version, std::string protocol_version);
  void touch(const peer_id& peer, time_point now);

  const peer_record* find(const peer_id& peer) const;
  bool supports(const peer_id& peer, std::string_view protocol) const;
  std::vector<peer_id> peers() const;
  void remove_expired(time_point now);

 private:
  peer_record& record(const peer_id& peer);
  limits limits_;
  std::unordered_map<peer_id, peer_record> peers_;
};

}  // namespace p2p
