// Noise_*_25519_*_SHA256 building blocks (Noise Protocol Framework rev 34, sections 4
// and 12): SHA-256, HMAC-SHA256, HKDF and X25519, all from OpenSSL 3 (EVP).
// Sans-IO; no Asio. Functions never throw except std::bad_alloc.
#pragma once

#include "p2p/core/bytes.hpp"
#include "p2p/core/error.hpp"

#include <array>
#include <cstdint>
#include <memory>

namespace p2p::noise {

inline constexpr std::size_t hash_length = 32;  // HASHLEN for SHA-256
inline constexpr std::size_t dh_length = 32;    // DHLEN for Curve25519

using digest = std::array<std::uint8_t, hash_length>;
using dh_public_key = std::array<std::uint8_t, dh_length>;
using dh_output = std::array<std::uint8_t, dh_length>;

digest sha256(bytes_view data) noexcept;
// SHA-256 of first || second, without building the concatenation.
digest sha256(bytes_view first, bytes_view second) noexcept;
digest hmac_sha256(bytes_view key, bytes_view data) noexcept;

// Noise HKDF(chaining_key, input_key_material, 2): RFC 5869 with the chaining key as
// salt and empty info. Returns the first two outputs.
std::pair<digest, digest> hkdf2(const digest& chaining_key, bytes_view input_key_material) noexcept;

// An X25519 key pair built from 32 secret bytes (clamped by X25519 itself, RFC 7748).
class x25519_key_pair {
 public:
  // Errors: invalid_key when `secret` is not 32 bytes or OpenSSL rejects it.
  static result<x25519_key_pair> from_secret(bytes_view secret);

  const dh_public_key& public_key() const noexcept { return public_; }
  // DH(key_pair, public_key). Errors: handshake_failed for a public key whose result
  // is all zeros (low-order points; OpenSSL refuses them) or any OpenSSL failure.
  result<dh_output> dh(bytes_view remote_public) const noexcept;

 private:
  struct handle;
  std::shared_ptr<handle> key_;
  dh_public_key public_{};
};

}  // namespace p2p::noise
