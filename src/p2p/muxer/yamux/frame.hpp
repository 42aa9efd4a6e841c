// yamux frame header (libp2p/specs yamux/README.md, "Framing"): 12 bytes, big endian:
//   version (8) | type (8) | flags (16) | stream ID (32) | length (32)
// Sans-IO: no Asio, no allocation beyond the caller's buffer.
#pragma once

#include "p2p/core/bytes.hpp"
#include "p2p/core/error.hpp"

#include <cstddef>
#include <cstdint>

namespace p2p::yamux {

using stream_id = std::uint32_t;

inline constexpr std::uint8_t protocol_version = 0;
inline constexpr std::size_t header_size = 12;
// Every stream starts with this receive window on both sides (spec: "256KB").
inline constexpr std::uint32_t default_window = 256 * 1024;

enum class frame_type : std::uint8_t {
  data = 0,           // length = payload bytes that follow
  window_update = 1,  // length = window delta
  ping = 2,           // length = opaque value echoed back
  go_away = 3,        // length = go_away_code
};

namespace flag {
inline constexpr std::uint16_t syn = 0x1;  // opens a stream; on ping: request
inline constexpr std::uint16_t ack = 0x2;  // accepts a stream; on ping: response
inline constexpr std::uint16_t fin = 0x4;  // half-close
inline constexpr std::uint16_t rst = 0x8;  // reset
}  // namespace flag

enum class go_away_code : std::uint32_t {
  normal = 0,
  protocol_error = 1,
  internal_error = 2,
};

struct frame_header {
  std::uint8_t version = protocol_version;
  frame_type type = frame_type::data;
  std::uint16_t flags = 0;
  stream_id id = 0;
  std::uint32_t length = 0;

  bool has(std::uint16_t f) const noexcept { return (flags & f) == f; }
  friend bool operator==(const frame_header&, const frame_header&) = default;
};

// Writes exactly header_size bytes to `out`.
void encode_header(const frame_header& header, std::uint8_t* out) noexcept;
// Appends the 12 header bytes to `out`.
void append_header(bytes& out, const frame_header& header);

// Decodes the first header_size bytes of `input`. Errors: truncated (fewer than 12
// bytes), malformed (version is not 0 or the type is unknown). Flags bits outside
// SYN/ACK/FIN/RST are kept as received; the session ignores them.
result<frame_header> decode_header(bytes_view input) noexcept;

}  // namespace p2p::yamux
