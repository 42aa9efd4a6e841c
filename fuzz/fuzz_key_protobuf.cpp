// PublicKey / PrivateKey protobuf decoding and signature verification.
// Invariants: an accepted key re-encodes to a message that decodes to the same key;
// an accepted private key signs, and its public key verifies that signature.
// The input is also offered as a signature to fixed keys of every type.
#include "p2p/core/keys.hpp"

#include <cstdlib>
#include <vector>

namespace {

std::vector<p2p::crypto::public_key> fixed_keys() {
  std::vector<p2p::crypto::public_key> keys;
  // secp256k1 generator point and the Ed25519 key of RFC 8032 test 2.
  p2p::bytes secp, ed;
  p2p::from_hex("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798", secp);
  p2p::from_hex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", ed);
  keys.push_back(p2p::crypto::public_key::from_raw(p2p::crypto::key_type::secp256k1, secp).value());
  keys.push_back(p2p::crypto::public_key::from_raw(p2p::crypto::key_type::ed25519, ed).value());
  return keys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto keys = fixed_keys();
  const p2p::bytes_view input(data, size);
  static const p2p::bytes message = p2p::to_bytes("fuzz");

  if (auto key = p2p::crypto::public_key::from_protobuf(input)) {
    auto again = p2p::crypto::public_key::from_protobuf(key->to_protobuf());
    if (!again || *again != *key) std::abort();
    (void)key->verify(message, input);
  }

  if (auto key = p2p::crypto::private_key::from_protobuf(input)) {
    auto again = p2p::crypto::private_key::from_protobuf(key->to_protobuf());
    if (!again || again->public_key() != key->public_key() || again->to_protobuf() != key->to_protobuf())
      std::abort();
    auto signature = key->sign(message);
    if (!signature || !key->public_key().verify(message, *signature)) std::abort();
  }

  for (const auto& key : keys)
    if (key.verify(message, input)) std::abort();  // forging a signature would be news
  return 0;
}
