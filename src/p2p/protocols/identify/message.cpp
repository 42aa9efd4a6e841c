#include "p2p/protocols/identify/message.hpp"

#include "p2p/core/protobuf.hpp"

namespace p2p::identify {

bytes encode(const message& m) {
  protobuf::writer out;
  if (!m.public_key.empty()) out.add_bytes(field::public_key, m.public_key);
  for (const auto& address : m.listen_addrs) out.add_bytes(field::listen_addrs, address.to_bytes());
  for (const auto& protocol : m.protocols) out.add_string(field::protocols, protocol);
  if (m.observed_addr) out.add_bytes(field::observed_addr, m.observed_addr->to_bytes());
  if (m.protocol_version) out.add_string(field::protocol_version, *m.protocol_version);
  if (m.agent_version) out.add_string(field::agent_version, *m.agent_version);
  if (!m.signed_peer_record.empty()) out.add_bytes(field::signed_peer_record, m.signed_peer_record);
  return std::move(out).take();
}

namespace {

// An empty value is not a multiaddr; treat it like any other invalid one.
std::optional<multiaddr> parse_address(bytes_view data) noexcept {
  if (data.empty()) return std::nullopt;
  auto parsed = multiaddr::from_bytes(data);
  if (!parsed) return std::nullopt;
  return std::move(*parsed);
}

}  // namespace

result<message> decode(bytes_view encoded) noexcept {
  try {
    message m;
    protobuf::reader reader(encoded);
    while (!reader.at_end()) {
      auto f = reader.next();
      if (!f) return f.error();
      // Every Identify field is length-delimited; anything else under a known number
      // is treated like an unknown field, as protobuf implementations do.
      if (f->type != protobuf::wire_type::length_delimited) continue;
      switch (f->number) {
        case field::public_key:
          m.public_key.assign(f->data.begin(), f->data.end());
          break;
        case field::listen_addrs:
          if (auto address = parse_address(f->data)) m.listen_addrs.push_back(std::move(*address));
          break;
        case field::protocols:
          m.protocols.emplace_back(f->text());
          break;
        case field::observed_addr:
          // Last one wins, as for any optional field; an invalid one reads as absent.
          m.observed_addr = parse_address(f->data);
          break;
        case field::protocol_version:
          m.protocol_version.emplace(f->text());
          break;
        case field::agent_version:
          m.agent_version.emplace(f->text());
          break;
        case field::signed_peer_record:
          m.signed_peer_record.assign(f->data.begin(), f->data.end());
          break;
        default:
          break;
      }
    }
    return m;
  } catch (const std::bad_alloc&) {
    // Sizes are bounded by the input, so this means the process is out of memory;
    // report it instead of throwing through a noexcept decoder.
    return errc::resource_limit;
  }
}

void merge_push(message& known, const message& update) {
  if (update.protocol_version) known.protocol_version = update.protocol_version;
  if (update.agent_version) known.agent_version = update.agent_version;
  if (!update.public_key.empty()) known.public_key = update.public_key;
  if (!update.listen_addrs.empty()) known.listen_addrs = update.listen_addrs;
  if (update.observed_addr) known.observed_addr = update.observed_addr;
  if (!update.protocols.empty()) known.protocols = update.protocols;
  if (!update.signed_peer_record.empty()) known.signed_peer_record = update.signed_peer_record;
}

result<crypto::public_key> verify_public_key(const message& m, const peer_id& remote) {
  if (m.public_key.empty()) return errc::invalid_key;
  auto key = crypto::public_key::from_protobuf(m.public_key);
  if (!key) return key.error();
  if (!remote.matches(*key)) return errc::peer_id_mismatch;
  return std::move(*key);
}

}  // namespace p2p::identify
