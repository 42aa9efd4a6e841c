// Peer IDs (peer-ids spec): the multihash of a protobuf-encoded public key — identity
// multihash when that encoding is at most 42 bytes (Ed25519, secp256k1), sha2-256
// otherwise. Text forms: legacy base58btc ("12D3KooW...", "Qm...") and CIDv1 with the
// libp2p-key multicodec (0x72) in any multibase ("bafz...", "k51...").
#pragma once

#include "p2p/core/bytes.hpp"
#include "p2p/core/error.hpp"
#include "p2p/core/keys.hpp"

#include <compare>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace p2p {

class peer_id {
 public:
  static peer_id from_public_key(const crypto::public_key& key);
  // Validates a binary multihash: sha2-256 with a 32-byte digest, or identity
  // holding the canonical protobuf encoding of a valid key of at most 42 bytes
  // (exactly what from_public_key() produces). Errors: invalid_peer_id, truncated.
  static result<peer_id> from_bytes(bytes_view multihash);
  // Accepts base58btc multihash text ("1..." / "Qm...") or a CIDv1 string (codec
  // libp2p-key) in base16/32/36/58btc/64(url) multibase; at most 128 characters.
  // Errors: invalid_peer_id.
  static result<peer_id> parse(std::string_view text);

  const bytes& to_bytes() const noexcept { return multihash_; }
  std::string to_base58() const;       // the canonical text form
  std::string to_cid_string() const;   // CIDv1, base32 ("bafz...")
  std::string to_string() const { return to_base58(); }

  // The public key when it is inlined (identity multihash), otherwise nullopt.
  std::optional<crypto::public_key> extract_public_key() const;
  // True when `key` hashes to this ID.
  bool matches(const crypto::public_key& key) const;

  friend bool operator==(const peer_id&, const peer_id&) = default;
  friend auto operator<=>(const peer_id& a, const peer_id& b) { return a.multihash_ <=> b.multihash_; }

 private:
  explicit peer_id(bytes multihash) : multihash_(std::move(multihash)) {}
  bytes multihash_;
};

}  // namespace p2p

template <>
struct std::hash<p2p::peer_id> {
  std::size_t operator()(const p2p::peer_id& id) const noexcept {
    return std::hash<std::string_view>{}(p2p::as_string(id.to_bytes()));
  }
};
