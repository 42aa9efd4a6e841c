// Multihash (multiformats/multihash): <varint code><varint digest length><digest>.
// Peer IDs use identity (0x00) and sha2-256 (0x12); /certhash carries any multihash.
#pragma once

#include "p2p/core/bytes.hpp"
#include "p2p/core/error.hpp"

#include <array>
#include <cstdint>

namespace p2p::multihash {

inline constexpr std::uint64_t identity = 0x00;
inline constexpr std::uint64_t sha2_256 = 0x12;
inline constexpr std::size_t sha2_256_length = 32;

struct view {
  std::uint64_t code = 0;
  bytes_view digest;       // points into the decoded input
  std::size_t length = 0;  // bytes of input the multihash occupies
};

// Decodes one multihash at the start of `input`; trailing bytes are left alone.
// Only the structure is checked (any code is accepted), except that a sha2-256
// digest must be 32 bytes.
// Errors: truncated, varint_overflow, varint_not_minimal, malformed.
result<view> decode_prefix(bytes_view input) noexcept;
// As decode_prefix(), and the multihash must span all of `input` (else malformed).
result<view> decode(bytes_view input) noexcept;

bytes encode(std::uint64_t code, bytes_view digest);

// SHA-256 via OpenSSL.
std::array<std::uint8_t, 32> sha256(bytes_view data) noexcept;
// The sha2-256 multihash of `data`.
bytes sha2_256_of(bytes_view data);

}  // namespace p2p::multihash
