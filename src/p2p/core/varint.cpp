#include "p2p/core/varint.hpp"

namespace p2p::varint {

result<decoded> decode(bytes_view input) noexcept {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < input.size(); ++i) {
    if (i >= max_length) return errc::varint_overflow;
    const std::uint8_t byte = input[i];
    value |= static_cast<std::uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      // A final zero group after the first byte means a shorter encoding existed.
      if (byte == 0 && i > 0) return errc::varint_not_minimal;
      return decoded{value, i + 1};
    }
  }
  if (input.size() >= max_length) return errc::varint_overflow;
  return errc::truncated;
}

void encode(std::uint64_t value, bytes& out) {
  while (value >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(value));
}

bytes encode(std::uint64_t value) {
  bytes out;
  encode(value, out);
  return out;
}

std::size_t encoded_length(std::uint64_t value) noexcept {
  std::size_t length = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++length;
  }
  return length;
}

}  // namespace p2p::varint
