// Unsigned varint (multiformats/unsigned-varint): little-endian base-128, at most
// 9 bytes (63 bits), minimal encoding required. Pure functions, no allocation on decode.
#pragma once

#include "p2p/core/bytes.hpp"
#include "p2p/core/error.hpp"

#include <cstdint>

namespace p2p::varint {

inline constexpr std::size_t max_length = 9;

struct decoded {
  std::uint64_t value;
  std::size_t length;  // bytes consumed
};

// Decodes one varint at the start of `input`.
// Errors: truncated (input ends inside the varint), varint_overflow, varint_not_minimal.
result<decoded> decode(bytes_view input) noexcept;

// Appends the encoding of `value` (which must be < 2^63) to `out`.
void encode(std::uint64_t value, bytes& out);
bytes encode(std::uint64_t value);
std::size_t encoded_length(std::uint64_t value) noexcept;

}  // namespace p2p::varint
