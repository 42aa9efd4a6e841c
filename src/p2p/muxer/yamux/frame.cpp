#include "p2p/muxer/yamux/frame.hpp"

namespace p2p::yamux {

namespace {
void put_u16(std::uint8_t* out, std::uint16_t v) noexcept {
  out[0] = static_cast<std::uint8_t>(v >> 8);
  out[1] = static_cast<std::uint8_t>(v);
}
void put_u32(std::uint8_t* out, std::uint32_t v) noexcept {
  out[0] = static_cast<std::uint8_t>(v >> 24);
  out[1] = static_cast<std::uint8_t>(v >> 16);
  out[2] = static_cast<std::uint8_t>(v >> 8);
  out[3] = static_cast<std::uint8_t>(v);
}
std::uint16_t get_u16(const std::uint8_t* in) noexcept {
  return static_cast<std::uint16_t>(in[0] << 8 | in[1]);
}
std::uint32_t get_u32(const std::uint8_t* in) noexcept {
  return std::uint32_t{in[0]} << 24 | std::uint32_t{in[1]} << 16 | std::uint32_t{in[2]} << 8 | in[3];
}
}  // namespace

void encode_header(const frame_header& header, std::uint8_t* out) noexcept {
  out[0] = header.version;
  out[1] = static_cast<std::uint8_t>(header.type);
  put_u16(out + 2, header.flags);
  put_u32(out + 4, header.id);
  put_u32(out + 8, header.length);
}

void append_header(bytes& out, const frame_header& header) {
  const std::size_t at = out.size();
  out.resize(at + header_size);
  encode_header(header, out.data() + at);
}

result<frame_header> decode_header(bytes_view input) noexcept {
  if (input.size() < header_size) return errc::truncated;
  const std::uint8_t* in = input.data();
  if (in[0] != protocol_version) return errc::malformed;
  if (in[1] > static_cast<std::uint8_t>(frame_type::go_away)) return errc::malformed;
  frame_header header;
  header.version = in[0];
  header.type = static_cast<frame_type>(in[1]);
  header.flags = get_u16(in + 2);
  header.id = get_u32(in + 4);
  header.length = get_u32(in + 8);
  return header;
}

}  // namespace p2p::yamux
