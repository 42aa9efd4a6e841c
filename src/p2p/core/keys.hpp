// libp2p identity keys (peer-ids spec): protobuf encoding, signing, verification.
//
// Ed25519 is the default identity and the only type we generate. RSA, secp256k1 and
// ECDSA (P-256) public keys are parsed and verified so peers holding such keys are
// accepted; their private keys can be loaded and used to sign as well.
// Crypto comes from OpenSSL 3 (EVP). Objects are cheap to copy (shared EVP_PKEY).
//
// Accepted Data encodings (anything else is invalid_key):
//   Ed25519    public: 32 raw bytes. private: seed || public (64), or the seed alone
//              (32), or seed || public || public (96, old go-libp2p); written as 64.
//   secp256k1  public: 33-byte compressed point, canonical. private: 32-byte scalar
//              in [1, n-1]. Signatures are DER and low-S (BIP 62) when we sign.
//   ECDSA      public: DER SubjectPublicKeyInfo on P-256, P-384 or P-521, exactly as
//              OpenSSL/Go re-encode it (uncompressed point, named curve).
//              private: DER SEC1 ECPrivateKey (what go-libp2p writes); written back
//              with parameters and public key included.
//   RSA        public: DER SubjectPublicKeyInfo, 2048..8192 bits (go-libp2p's limits).
//              private: DER PKCS#1 RSAPrivateKey.
// Private keys must sign a probe that their public half verifies. The PublicKey /
// PrivateKey messages need both fields once each (order free, unknown fields skipped).
#pragma once

#include "p2p/core/bytes.hpp"
#include "p2p/core/error.hpp"

#include <memory>

namespace p2p {
class random;
}

namespace p2p::crypto {

// Values of the KeyType protobuf enum.
enum class key_type : std::uint8_t { rsa = 0, ed25519 = 1, secp256k1 = 2, ecdsa = 3 };

const char* to_string(key_type type) noexcept;

class public_key {
 public:
  // Parses a PublicKey protobuf message: { required KeyType Type = 1; required bytes Data = 2; }.
  // Errors: malformed/truncated, unsupported_key_type, invalid_key.
  static result<public_key> from_protobuf(bytes_view encoded);
  // Builds from the type and the Data field's bytes (e.g. 32 raw bytes for Ed25519,
  // 33-byte compressed point for secp256k1, DER SubjectPublicKeyInfo for ECDSA and RSA).
  static result<public_key> from_raw(key_type type, bytes_view data);

  // Deterministic PublicKey protobuf encoding (fields in order 1, 2), as the spec demands.
  bytes to_protobuf() const;
  key_type type() const noexcept { return type_; }
  const bytes& raw() const noexcept { return data_; }

  // True only for a valid signature of `message` by this key. ECDSA/secp256k1 sign the
  // SHA-256 of the message (DER signatures); RSA uses PKCS#1 v1.5 with SHA-256.
  bool verify(bytes_view message, bytes_view signature) const noexcept;

  friend bool operator==(const public_key& a, const public_key& b) noexcept {
    return a.type_ == b.type_ && a.data_ == b.data_;
  }

 private:
  struct handle;
  key_type type_ = key_type::ed25519;
  bytes data_;
  std::shared_ptr<handle> key_;
};

class private_key {
 public:
  // A fresh key from OpenSSL's CSPRNG; throws std::runtime_error only if OpenSSL fails.
  static private_key generate_ed25519();
  // A key from 32 bytes of `source` (a seeded_random gives repeatable test keys).
  static private_key generate_ed25519(random& source);
  // Deterministic key from a 32-byte Ed25519 seed (tests and key files).
  static result<private_key> ed25519_from_seed(bytes_view seed32);
  // Parses a PrivateKey protobuf message. For Ed25519 the Data field holds 64 bytes
  // (seed || public key); a 32-byte seed alone is accepted too.
  static result<private_key> from_protobuf(bytes_view encoded);

  bytes to_protobuf() const;
  key_type type() const noexcept { return public_key_.type(); }
  const crypto::public_key& public_key() const noexcept { return public_key_; }

  // Signs `message` (see public_key::verify for the algorithms). Errors only on
  // OpenSSL failure.
  result<bytes> sign(bytes_view message) const;

 private:
  struct handle;
  bytes data_;  // the protobuf Data field
  crypto::public_key public_key_;
  std::shared_ptr<handle> key_;
};

}  // namespace p2p::crypto
