#include "p2p/core/multihash.hpp"

#include "p2p/core/varint.hpp"

#include <openssl/sha.h>

namespace p2p::multihash {

result<view> decode_prefix(bytes_view input) noexcept {
  auto code = varint::decode(input);
  if (!code) return code.error();
  auto length = varint::decode(input.subspan(code->length));
  if (!length) return length.error();
  const std::size_t header = code->length + length->length;
  if (length->value > input.size() - header) return errc::truncated;
  const auto digest_length = static_cast<std::size_t>(length->value);
  // Truncated sha2-256 digests exist in the multihash spec, but nothing in libp2p
  // uses them and accepting them would let two lengths name the same key.
  if (code->value == sha2_256 && digest_length != sha2_256_length) return errc::malformed;
  return view{code->value, input.subspan(header, digest_length), header + digest_length};
}

result<view> decode(bytes_view input) noexcept {
  auto decoded = decode_prefix(input);
  if (!decoded) return decoded.error();
  if (decoded->length != input.size()) return errc::malformed;
  return decoded;
}

bytes encode(std::uint64_t code, bytes_view digest) {
  bytes out;
  out.reserve(varint::encoded_length(code) + varint::encoded_length(digest.size()) + digest.size());
  varint::encode(code, out);
  varint::encode(digest.size(), out);
  append(out, digest);
  return out;
}

std::array<std::uint8_t, 32> sha256(bytes_view data) noexcept {
  std::array<std::uint8_t, 32> digest{};
  SHA256(data.data(), data.size(), digest.data());
  return digest;
}

bytes sha2_256_of(bytes_view data) {
  const auto digest = sha256(data);
  return encode(sha2_256, digest);
}

}  // namespace p2p::multihash
