// Identify message codec (sans-IO): the protobuf message of libp2p identify
// (specs identify/README.md, v1.0.0 r1 2021-08-09), its encoding, decoding and the
// identify/push merge rule. No Asio here; the stream shells live in identify.hpp.
#pragma once

#include "p2p/core/bytes.hpp"
#include "p2p/core/error.hpp"
#include "p2p/core/keys.hpp"
#include "p2p/core/multiaddr.hpp"
#include "p2p/core/peer_id.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace p2p::identify {

// Receive limit for one Identify, all parts together. go-libp2p accepts up to 10 parts
// of 8 KiB each, js-libp2p one part of 8 KiB; 64 KiB leaves room for both.
inline constexpr std::size_t default_max_size = 64 * 1024;
// Most framed parts accepted for one Identify (go-libp2p's limit).
inline constexpr std::size_t max_parts = 10;
// What our own messages should stay under: rust-libp2p rejects Identify messages over
// 4 KiB, and go-libp2p trims its own to that size. write_message does not enforce it.
inline constexpr std::size_t recommended_max_own_size = 4 * 1024;

// Field numbers of the Identify protobuf message (proto2).
namespace field {
inline constexpr std::uint32_t public_key = 1;
inline constexpr std::uint32_t listen_addrs = 2;
inline constexpr std::uint32_t protocols = 3;
inline constexpr std::uint32_t observed_addr = 4;
inline constexpr std::uint32_t protocol_version = 5;
inline constexpr std::uint32_t agent_version = 6;
inline constexpr std::uint32_t signed_peer_record = 8;
}  // namespace field

struct message {
  std::optional<std::string> protocol_version;  // e.g. "ipfs/0.1.0"; informational only
  std::optional<std::string> agent_version;     // e.g. "p2pmcp/0.1.0"
  bytes public_key;                             // PublicKey protobuf (peer-ids spec); empty = absent
  std::vector<multiaddr> listen_addrs;
  std::optional<multiaddr> observed_addr;       // how the sender sees the receiver
  std::vector<std::string> protocols;
  bytes signed_peer_record;                     // SignedEnvelope, kept opaque; empty = absent

  friend bool operator==(const message&, const message&) = default;
};

// Deterministic encoding, fields in field-number order; absent fields are left out.
bytes encode(const message& m);

// Decodes one Identify protobuf message (or the concatenation of several parts).
// Unknown fields and known fields with an unexpected wire type are skipped, as
// protobuf parsers do. Listen addresses that are not valid multiaddrs (or that use
// protocols we do not know) are dropped one by one, and an invalid observed address
// reads as absent, so one odd address never costs the whole message. Strings are
// taken as bytes (proto2 does not require UTF-8 validation).
// Errors: truncated, malformed (broken protobuf framing).
result<message> decode(bytes_view encoded) noexcept;

// Applies an identify/push update to what we know of a peer. The spec says missing
// fields are to be ignored, so only what `update` carries replaces `known`: set
// optionals, non-empty byte fields and non-empty lists (a list replaces the old one
// whole; proto2 cannot tell "empty list" from "not sent").
void merge_push(message& known, const message& update);

// Parses the message's public key and checks that it is `remote`'s key.
// Errors: invalid_key (no key in the message), the key parser's errors (malformed,
// truncated, unsupported_key_type, invalid_key), peer_id_mismatch.
result<crypto::public_key> verify_public_key(const message& m, const peer_id& remote);

}  // namespace p2p::identify
