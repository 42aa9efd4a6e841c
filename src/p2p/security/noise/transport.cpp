#include "p2p/security/noise/transport.hpp"

#include <algorithm>
#include <cstring>

namespace p2p::noise {

namespace {
constexpr std::size_t max_wire_frame = length_prefix_size + 65535;
// Fresh space below which prepare() stops receiving at the frame boundary.
constexpr std::size_t min_receive = 16 * 1024;
}  // namespace

result<std::size_t> frame_encoder::seal(bytes_view plaintext, mutable_bytes_view out) noexcept {
  if (out.size() < sealed_size(plaintext.size())) return errc::invalid_argument;
  std::size_t written = 0;
  while (!plaintext.empty()) {
    const std::size_t chunk = std::min(plaintext.size(), max_frame_plaintext);
    const std::size_t frame = chunk + tag_length;
    out[written] = static_cast<std::uint8_t>(frame >> 8);
    out[written + 1] = static_cast<std::uint8_t>(frame);
    auto sealed = cipher_.encrypt({}, plaintext.first(chunk), out.subspan(written + length_prefix_size, frame));
    if (!sealed) return sealed.error();
    written += length_prefix_size + frame;
    plaintext = plaintext.subspan(chunk);
  }
  return written;
}

result<std::size_t> frame_encoder::seal(std::span<const bytes_view> parts, mutable_bytes_view out) {
  std::size_t total = 0;
  for (const bytes_view part : parts) total += part.size();
  if (out.size() < sealed_size(total)) return errc::invalid_argument;
  std::size_t written = 0;
  std::size_t index = 0;   // current part
  std::size_t offset = 0;  // bytes of it already sealed
  while (total > 0) {
    const std::size_t chunk = std::min(total, max_frame_plaintext);
    frame_parts_.clear();
    for (std::size_t need = chunk; need > 0;) {
      const bytes_view part = parts[index].subspan(offset);
      const std::size_t take = std::min(need, part.size());
      if (take > 0) frame_parts_.push_back(part.first(take));
      need -= take;
      offset += take;
      if (offset == parts[index].size()) {
        ++index;
        offset = 0;
      }
    }
    const std::size_t frame = chunk + tag_length;
    out[written] = static_cast<std::uint8_t>(frame >> 8);
    out[written + 1] = static_cast<std::uint8_t>(frame);
    auto sealed = cipher_.encrypt_parts({}, frame_parts_, out.subspan(written + length_prefix_size, frame));
    if (!sealed) return sealed.error();
    written += length_prefix_size + frame;
    total -= chunk;
  }
  return written;
}

frame_decoder::frame_decoder(cipher_state cipher, std::size_t buffer_size)
    : cipher_(std::move(cipher)), buffer_size_(std::max(buffer_size, max_wire_frame)) {}

mutable_bytes_view frame_decoder::prepare() {
  if (buffer_.empty()) buffer_.resize(buffer_size_);
  const mutable_bytes_view all(buffer_);
  if (plain_begin_ < plain_end_) return all.subspan(end_);
  if (parse_ == end_) plain_begin_ = plain_end_ = parse_ = end_ = 0;
  // Receives stop one maximal frame before the end of the buffer, so the frame that
  // straddles that mark always fits. Near the mark only the rest of that frame is
  // received: the buffer then drains completely and starts over at the front, and a
  // partial frame is never moved (which cost up to a frame's copy per buffer fill).
  const std::size_t size = buffer_.size();
  const std::size_t reserve = size >= 2 * max_wire_frame ? max_wire_frame : 0;
  const std::size_t fresh_end = size - reserve;
  if (end_ + min_receive > fresh_end) {
    const std::size_t partial = end_ - parse_;
    if (partial >= length_prefix_size) {
      const std::size_t frame = std::size_t{buffer_[parse_]} << 8 | buffer_[parse_ + 1];
      const std::size_t wanted = length_prefix_size + frame;
      if (wanted > partial && end_ + (wanted - partial) <= size) return all.subspan(end_, wanted - partial);
    }
    if (parse_ > 0) {
      // Only a frame that started too close to the end (small buffers) or a 1-byte
      // length prefix gets here: move it to the front so a maximal frame fits.
      std::memmove(buffer_.data(), buffer_.data() + parse_, partial);
      end_ = partial;
      plain_begin_ = plain_end_ = parse_ = 0;
    }
  }
  return end_ < fresh_end ? all.subspan(end_, fresh_end - end_) : all.subspan(end_);
}

void frame_decoder::commit(std::size_t received) noexcept {
  end_ = std::min(end_ + received, buffer_.size());
}

result<std::size_t> frame_decoder::read(mutable_bytes_view out) noexcept {
  if (error_) return error_;
  std::size_t written = 0;
  if (plain_begin_ < plain_end_) {
    written = std::min(out.size(), plain_end_ - plain_begin_);
    if (written > 0) std::memcpy(out.data(), buffer_.data() + plain_begin_, written);
    plain_begin_ += written;
    if (plain_begin_ < plain_end_) return written;
  }
  for (;;) {
    const std::size_t available = end_ - parse_;
    if (available < length_prefix_size) return written;
    const std::size_t frame = std::size_t{buffer_[parse_]} << 8 | buffer_[parse_ + 1];
    if (available < length_prefix_size + frame) return written;
    const std::size_t body = parse_ + length_prefix_size;
    const bytes_view sealed = bytes_view(buffer_).subspan(body, frame);
    const std::size_t room = out.size() - written;
    if (frame >= tag_length && frame - tag_length <= room) {
      // The whole plaintext fits: decrypt straight into the caller's buffer, which
      // costs the same as decrypting in place and saves copying it out afterwards.
      auto plain = cipher_.decrypt({}, sealed, out.subspan(written, frame - tag_length));
      if (!plain) {
        // Authentic frames before this one are still handed out; the error is sticky
        // and comes with the next call.
        error_ = plain.error();
        return written > 0 ? result<std::size_t>(written) : result<std::size_t>(error_);
      }
      written += *plain;
      parse_ = body + frame;
      continue;
    }
    // Hand out whole frames only once something was written; the rest waits in the
    // buffer for the next call.
    if (written > 0) return written;
    auto plain = cipher_.decrypt({}, sealed, mutable_bytes_view(buffer_).subspan(body, frame));
    if (!plain) {
      error_ = plain.error();
      return error_;
    }
    plain_begin_ = body;
    plain_end_ = body + *plain;
    parse_ = body + frame;
    const std::size_t n = std::min(room, *plain);
    if (n > 0) std::memcpy(out.data(), buffer_.data() + plain_begin_, n);
    plain_begin_ += n;
    return n;
  }
}

}  // namespace p2p::noise
