#include "p2p/host/peerstore.hpp"

#include <algorithm>

namespace p2p {

peer_record& peerstore::record(const peer_id& peer) {
  auto it = peers_.find(peer);
  if (it != peers_.end()) return it->second;
  if (peers_.size() >= limits_.max_peers) {
    // Evict the peer seen longest ago to stay bounded.
    auto oldest = std::min_element(peers_.begin(), peers_.end(), [](const auto& a, const auto& b) {
      return a.second.last_seen < b.second.last_seen;
    });
    peers_.erase(oldest);
  }
  return peers_[peer];
}

void peerstore::add_addresses(const peer_id& peer, const std::vector<multiaddr>& addresses, duration ttl,
                              time_point now) {
  auto& r = record(peer);
  const time_point expiry = ttl >= permanent_ttl ? time_point::max() : now + ttl;
  for (const auto& address : addresses) {
    auto plain = address.without_peer();
    if (plain.empty()) continue;
    auto [it, inserted] = r.addresses.emplace(plain, expiry);
    if (!inserted) it->second = std::max(it->second, expiry);
  }
  while (r.addresses.size() > limits_.max_addresses) {
    auto soonest = std::min_element(r.addresses.begin(), r.addresses.end(),
                                    [](const auto& a, const auto& b) { return a.second < b.second; });
    r.addresses.erase(soonest);
  }
}

std::vector<multiaddr> peerstore::addresses(const peer_id& peer, time_point now) const {
  std::vector<std::pair<time_point, multiaddr>> live;
  if (auto it = peers_.find(peer); it != peers_.end())
    for (const auto& [address, expiry] : it->second.addresses)
      if (expiry > now) live.emplace_back(expiry, address);
  std::stable_sort(live.begin(), live.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<multiaddr> out;
  for (auto& [expiry, address] : live) out.push_back(std::move(address));
  return out;
}

void peerstore::set_public_key(const peer_id& peer, const crypto::public_key& key) {
  if (peer.matches(key)) record(peer).public_key = key;
}

void peerstore::set_protocols(const peer_id& peer, std::vector<std::string> protocols) {
  record(peer).protocols = std::move(protocols);
}

void peerstore::set_agent(const peer_id& peer, std::string agent_version, std::string protocol_version) {
  auto& r = record(peer);
  r.agent_version = std::move(agent_version);
  r.protocol_version = std::move(protocol_version);
}

void peerstore::touch(const peer_id& peer, time_point now) { record(peer).last_seen = now; }

const peer_record* peerstore::find(const peer_id& peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? nullptr : &it->second;
}

bool peerstore::supports(const peer_id& peer, std::string_view protocol) const {
  const auto* r = find(peer);
  return r && std::find(r->protocols.begin(), r->protocols.end(), protocol) != r->protocols.end();
}

std::vector<peer_id> peerstore::peers() const {
  std::vector<peer_id> out;
  out.reserve(peers_.size());
  for (const auto& [id, r] : peers_) out.push_back(id);
  std::sort(out.begin(), out.end());
  return out;
}

void peerstore::remove_expired(time_point now) {
  for (auto& [id, r] : peers_)
    std::erase_if(r.addresses, [now](const auto& entry) { return entry.second <= now; });
}

}  // namespace p2p
