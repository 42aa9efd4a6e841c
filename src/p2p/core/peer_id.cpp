#include "p2p/core/peer_id.hpp"

#include "p2p/core/multibase.hpp"
#include "p2p/core/multihash.hpp"
#include "p2p/core/varint.hpp"

#include <algorithm>

namespace p2p {
namespace {

// Keys whose protobuf encoding fits are inlined (identity multihash), per the spec.
constexpr std::size_t max_inline_key_length = 42;
constexpr std::uint64_t cid_version_1 = 0x01;
constexpr std::uint64_t libp2p_key_codec = 0x72;
// The longest valid text form is a base16 CID of an inlined key (< 100 characters);
// anything longer is refused before the quadratic base58/base36 decoders see it.
constexpr std::size_t max_text_length = 128;

}  // namespace

peer_id peer_id::from_public_key(const crypto::public_key& key) {
  const bytes encoded = key.to_protobuf();
  if (encoded.size() <= max_inline_key_length) return peer_id(multihash::encode(multihash::identity, encoded));
  return peer_id(multihash::sha2_256_of(encoded));
}

result<peer_id> peer_id::from_bytes(bytes_view multihash) {
  auto decoded = multihash::decode(multihash);
  if (!decoded) return decoded.error() == errc::truncated ? errc::truncated : errc::invalid_peer_id;
  switch (decoded->code) {
    case multihash::sha2_256:
      break;  // decode() already checked the 32-byte digest
    case multihash::identity: {
      // Only what from_public_key() would produce: a key's canonical encoding that
      // is short enough to inline. Anything else would be an ID no key matches.
      if (decoded->digest.size() > max_inline_key_length) return errc::invalid_peer_id;
      auto key = crypto::public_key::from_protobuf(decoded->digest);
      if (!key) return errc::invalid_peer_id;
      const bytes canonical = key->to_protobuf();
      if (!std::equal(canonical.begin(), canonical.end(), decoded->digest.begin(), decoded->digest.end()))
        return errc::invalid_peer_id;
      break;
    }
    default:
      return errc::invalid_peer_id;
  }
  return peer_id(bytes(multihash.begin(), multihash.end()));
}

result<peer_id> peer_id::parse(std::string_view text) {
  if (text.empty() || text.size() > max_text_length) return errc::invalid_peer_id;
  // The spec's rule: "1..." and "Qm..." are bare base58btc multihashes, anything
  // else must be a multibase CIDv1.
  if (text.front() == '1' || text.starts_with("Qm")) {
    auto binary = multibase::decode_base58btc(text);
    if (!binary) return errc::invalid_peer_id;
    auto id = from_bytes(*binary);
    if (!id) return errc::invalid_peer_id;
    return id;
  }
  auto cid = multibase::decode(text);
  if (!cid) return errc::invalid_peer_id;
  bytes_view rest = *cid;
  auto version = varint::decode(rest);
  if (!version || version->value != cid_version_1) return errc::invalid_peer_id;
  rest = rest.subspan(version->length);
  auto codec = varint::decode(rest);
  if (!codec || codec->value != libp2p_key_codec) return errc::invalid_peer_id;
  auto id = from_bytes(rest.subspan(codec->length));
  if (!id) return errc::invalid_peer_id;
  return id;
}

std::string peer_id::to_base58() const { return multibase::encode_base58btc(multihash_); }

std::string peer_id::to_cid_string() const {
  bytes cid;
  cid.reserve(2 + multihash_.size());
  varint::encode(cid_version_1, cid);
  varint::encode(libp2p_key_codec, cid);
  append(cid, multihash_);
  return multibase::encode(multibase::base::base32, cid);
}

std::optional<crypto::public_key> peer_id::extract_public_key() const {
  auto decoded = multihash::decode(multihash_);
  if (!decoded || decoded->code != multihash::identity) return std::nullopt;
  auto key = crypto::public_key::from_protobuf(decoded->digest);
  if (!key) return std::nullopt;
  return std::move(*key);
}

bool peer_id::matches(const crypto::public_key& key) const { return from_public_key(key) == *this; }

}  // namespace p2p
