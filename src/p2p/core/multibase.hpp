// Multibase (multiformats/multibase): self-describing text encodings of bytes, the
// first character naming the base. Used by CID peer IDs ("bafz...", "k51...") and by
// the /certhash multiaddr component ("uEi...").
//
// Supported bases (prefix): base16 lower 'f' / upper 'F', base32 lower 'b' / upper
// 'B' (RFC 4648, no padding), base36 lower 'k' / upper 'K', base58btc 'z', base64
// 'm' and base64url 'u' (RFC 4648, no padding).
//
// Decoding follows the multibase test suite: base16, base32 and base36 digits are
// accepted in either case (the prefix character only picks the case used when
// encoding). Otherwise it is strict: padding, non-zero trailing bits and impossible
// lengths are rejected, so decoding and re-encoding gives back the input up to the
// case of those digits.
// base36 and base58 conversions are quadratic in the input length; callers that
// accept untrusted text should bound its length first.
#pragma once

#include "p2p/core/bytes.hpp"
#include "p2p/core/error.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace p2p::multibase {

// Each value is the base's prefix character.
enum class base : char {
  base16 = 'f',
  base16_upper = 'F',
  base32 = 'b',
  base32_upper = 'B',
  base36 = 'k',
  base36_upper = 'K',
  base58btc = 'z',
  base64 = 'm',
  base64url = 'u',
};

// The base whose prefix is `prefix`, if supported.
std::optional<base> from_prefix(char prefix) noexcept;

// Prefix + encoding of `data`.
std::string encode(base b, bytes_view data);
// Dispatches on the first character.
// Errors: malformed (empty text, bad digit, non-canonical form), unknown_multicodec
// (unsupported prefix).
result<bytes> decode(std::string_view text);

// The encodings without the prefix character.
std::string encode_raw(base b, bytes_view data);
// Errors: malformed.
result<bytes> decode_raw(base b, std::string_view text);

// Raw base58btc (Bitcoin alphabet, no prefix): the legacy peer ID text form.
std::string encode_base58btc(bytes_view data);
// Errors: malformed (a character outside the alphabet).
result<bytes> decode_base58btc(std::string_view text);

}  // namespace p2p::multibase
