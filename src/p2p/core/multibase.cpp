#include "p2p/core/multibase.hpp"

#include <algorithm>
#include <array>

namespace p2p::multibase {
namespace {

constexpr std::string_view base16_lower_digits = "0123456789abcdef";
constexpr std::string_view base16_upper_digits = "0123456789ABCDEF";
constexpr std::string_view base32_lower_digits = "abcdefghijklmnopqrstuvwxyz234567";
constexpr std::string_view base32_upper_digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::string_view base36_lower_digits = "0123456789abcdefghijklmnopqrstuvwxyz";
constexpr std::string_view base36_upper_digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
constexpr std::string_view base58_digits = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr std::string_view base64_digits =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view base64url_digits =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Reverse lookup table: 0xff marks a character outside the alphabet. The multibase
// spec makes base16, base32 and base36 case-insensitive when decoding (its
// case_insensitivity.csv vectors), so those tables map both cases.
struct digit_table {
  std::array<std::uint8_t, 256> value{};
  digit_table(std::string_view digits, bool ignore_case) {
    value.fill(0xff);
    for (std::size_t i = 0; i < digits.size(); ++i) {
      const char c = digits[i];
      value[static_cast<unsigned char>(c)] = static_cast<std::uint8_t>(i);
      if (!ignore_case) continue;
      if (c >= 'a' && c <= 'z') value[static_cast<unsigned char>(c - 'a' + 'A')] = static_cast<std::uint8_t>(i);
      if (c >= 'A' && c <= 'Z') value[static_cast<unsigned char>(c - 'A' + 'a')] = static_cast<std::uint8_t>(i);
    }
  }
  std::uint8_t operator[](char c) const noexcept { return value[static_cast<unsigned char>(c)]; }
};

const digit_table& table_for(std::string_view digits) {
  // One table per alphabet, built on first use.
  static const digit_table t16l(base16_lower_digits, true), t16u(base16_upper_digits, true),
      t32l(base32_lower_digits, true), t32u(base32_upper_digits, true), t36l(base36_lower_digits, true),
      t36u(base36_upper_digits, true), t58(base58_digits, false), t64(base64_digits, false),
      t64u(base64url_digits, false);
  if (digits == base16_lower_digits) return t16l;
  if (digits == base16_upper_digits) return t16u;
  if (digits == base32_lower_digits) return t32l;
  if (digits == base32_upper_digits) return t32u;
  if (digits == base36_lower_digits) return t36l;
  if (digits == base36_upper_digits) return t36u;
  if (digits == base58_digits) return t58;
  if (digits == base64_digits) return t64;
  return t64u;
}

// RFC 4648 style bit packing, `bits` per character (4, 5 or 6), no padding.
std::string encode_bits(bytes_view data, std::string_view digits, int bits) {
  std::string out;
  out.reserve((data.size() * 8 + bits - 1) / bits);
  std::uint32_t buffer = 0;
  int filled = 0;
  const std::uint32_t mask = (1u << bits) - 1;
  for (auto byte : data) {
    buffer = (buffer << 8) | byte;
    filled += 8;
    while (filled >= bits) {
      filled -= bits;
      out.push_back(digits[(buffer >> filled) & mask]);
    }
  }
  if (filled > 0) out.push_back(digits[(buffer << (bits - filled)) & mask]);
  return out;
}

result<bytes> decode_bits(std::string_view text, std::string_view digits, int bits) {
  // The characters left over after the last full byte must carry fewer than 8 bits
  // and all of them must be zero; otherwise the text is not what encode_bits() makes.
  const std::size_t total_bits = text.size() * static_cast<std::size_t>(bits);
  if (total_bits % 8 >= static_cast<std::size_t>(bits)) return errc::malformed;
  const auto& table = table_for(digits);
  bytes out;
  out.reserve(total_bits / 8);
  std::uint32_t buffer = 0;
  int filled = 0;
  for (char c : text) {
    const std::uint8_t value = table[c];
    if (value == 0xff) return errc::malformed;
    buffer = (buffer << bits) | value;
    filled += bits;
    if (filled >= 8) {
      filled -= 8;
      out.push_back(static_cast<std::uint8_t>(buffer >> filled));
    }
    buffer &= (1u << filled) - 1;
  }
  if (buffer != 0) return errc::malformed;
  return out;
}

// Big-number conversion (base36, base58): leading zero bytes map one-to-one onto
// leading zero digits, which makes the encoding a bijection.
std::string encode_radix(bytes_view data, std::string_view digits) {
  const std::uint32_t radix = static_cast<std::uint32_t>(digits.size());
  std::size_t zeros = 0;
  while (zeros < data.size() && data[zeros] == 0) ++zeros;
  std::vector<std::uint8_t> number;  // little-endian digits in `radix`
  number.reserve((data.size() - zeros) * 2);
  for (std::size_t i = zeros; i < data.size(); ++i) {
    std::uint32_t carry = data[i];
    for (auto& digit : number) {
      carry += static_cast<std::uint32_t>(digit) << 8;
      digit = static_cast<std::uint8_t>(carry % radix);
      carry /= radix;
    }
    while (carry > 0) {
      number.push_back(static_cast<std::uint8_t>(carry % radix));
      carry /= radix;
    }
  }
  std::string out(zeros, digits[0]);
  for (auto it = number.rbegin(); it != number.rend(); ++it) out.push_back(digits[*it]);
  return out;
}

result<bytes> decode_radix(std::string_view text, std::string_view digits) {
  const std::uint32_t radix = static_cast<std::uint32_t>(digits.size());
  const auto& table = table_for(digits);
  std::size_t zeros = 0;
  while (zeros < text.size() && table[text[zeros]] == 0) ++zeros;
  bytes number;  // little-endian base-256
  number.reserve(text.size());
  for (std::size_t i = zeros; i < text.size(); ++i) {
    const std::uint8_t value = table[text[i]];
    if (value == 0xff) return errc::malformed;
    std::uint32_t carry = value;
    for (auto& byte : number) {
      carry += static_cast<std::uint32_t>(byte) * radix;
      byte = static_cast<std::uint8_t>(carry & 0xff);
      carry >>= 8;
    }
    while (carry > 0) {
      number.push_back(static_cast<std::uint8_t>(carry & 0xff));
      carry >>= 8;
    }
  }
  bytes out(zeros, 0);
  out.insert(out.end(), number.rbegin(), number.rend());
  return out;
}

}  // namespace

std::optional<base> from_prefix(char prefix) noexcept {
  switch (prefix) {
    case 'f': return base::base16;
    case 'F': return base::base16_upper;
    case 'b': return base::base32;
    case 'B': return base::base32_upper;
    case 'k': return base::base36;
    case 'K': return base::base36_upper;
    case 'z': return base::base58btc;
    case 'm': return base::base64;
    case 'u': return base::base64url;
    default: return std::nullopt;
  }
}

std::string encode_raw(base b, bytes_view data) {
  switch (b) {
    case base::base16: return encode_bits(data, base16_lower_digits, 4);
    case base::base16_upper: return encode_bits(data, base16_upper_digits, 4);
    case base::base32: return encode_bits(data, base32_lower_digits, 5);
    case base::base32_upper: return encode_bits(data, base32_upper_digits, 5);
    case base::base36: return encode_radix(data, base36_lower_digits);
    case base::base36_upper: return encode_radix(data, base36_upper_digits);
    case base::base58btc: return encode_radix(data, base58_digits);
    case base::base64: return encode_bits(data, base64_digits, 6);
    case base::base64url: return encode_bits(data, base64url_digits, 6);
  }
  return {};
}

result<bytes> decode_raw(base b, std::string_view text) {
  switch (b) {
    case base::base16: return decode_bits(text, base16_lower_digits, 4);
    case base::base16_upper: return decode_bits(text, base16_upper_digits, 4);
    case base::base32: return decode_bits(text, base32_lower_digits, 5);
    case base::base32_upper: return decode_bits(text, base32_upper_digits, 5);
    case base::base36: return decode_radix(text, base36_lower_digits);
    case base::base36_upper: return decode_radix(text, base36_upper_digits);
    case base::base58btc: return decode_radix(text, base58_digits);
    case base::base64: return decode_bits(text, base64_digits, 6);
    case base::base64url: return decode_bits(text, base64url_digits, 6);
  }
  return errc::unknown_multicodec;
}

std::string encode(base b, bytes_view data) {
  std::string out(1, static_cast<char>(b));
  out += encode_raw(b, data);
  return out;
}

result<bytes> decode(std::string_view text) {
  if (text.empty()) return errc::malformed;
  const auto b = from_prefix(text.front());
  if (!b) return errc::unknown_multicodec;
  return decode_raw(*b, text.substr(1));
}

std::string encode_base58btc(bytes_view data) { return encode_radix(data, base58_digits); }

result<bytes> decode_base58btc(std::string_view text) { return decode_radix(text, base58_digits); }

}  // namespace p2p::multibase
