// Byte containers used across the stack.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace p2p {

using bytes = std::vector<std::uint8_t>;
using bytes_view = std::span<const std::uint8_t>;
using mutable_bytes_view = std::span<std::uint8_t>;

inline bytes_view as_bytes(std::string_view text) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

inline bytes to_bytes(std::string_view text) {
  auto view = as_bytes(text);
  return {view.begin(), view.end()};
}

inline std::string_view as_string(bytes_view data) noexcept {
  return {reinterpret_cast<const char*>(data.data()), data.size()};
}

inline void append(bytes& out, bytes_view data) { out.insert(out.end(), data.begin(), data.end()); }

// Lower-case hexadecimal, for logs and test vectors.
std::string to_hex(bytes_view data);
// Parses even-length hexadecimal (either case); empty optional-like result on bad input.
bool from_hex(std::string_view text, bytes& out);

}  // namespace p2p
