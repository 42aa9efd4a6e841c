#include "p2p/security/noise/transport.hpp"

#include <algorithm>
#include <cstring>

namespace p2p::noise {

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

frame_decoder::frame_decoder(cipher_state cipher, std::size_t buffer_size)
    : cipher_(std::move(cipher)), buffer_size_(std::max(buffer_size, length_prefix_size + 65535)) {}

mutable_bytes_view frame_decoder::prepare() {
  if (buffer_.empty()) buffer_.resize(buffer_size_);
  if (plain_begin_ == plain_end_) {
    if (parse_ == end_) {
      plain_begin_ = plain_end_ = parse_ = end_ = 0;
    } else if (parse_ > 0 && buffer_.size() - end_ < length_prefix_size + 65535) {
      // Move the partial frame to the front so a maximal frame always fits. The partial
      // frame is under 65537 bytes, so this copies at most one frame per buffer fill.
      std::memmove(buffer_.data(), buffer_.data() + parse_, end_ - parse_);
      end_ -= parse_;
      plain_begin_ = plain_end_ = parse_ = 0;
    }
  }
  return mutable_bytes_view(buffer_).subspan(end_);
}

void frame_decoder::commit(std::size_t received) noexcept {
  end_ = std::min(end_ + received, buffer_.size());
}

result<std::size_t> frame_decoder::read(mutable_bytes_view out) noexcept {
  if (error_) return error_;
  for (;;) {
    if (plain_begin_ < plain_end_) {
      const std::size_t n = std::min(out.size(), plain_end_ - plain_begin_);
      if (n > 0) std::memcpy(out.data(), buffer_.data() + plain_begin_, n);
      plain_begin_ += n;
      return n;
    }
    const std::size_t available = end_ - parse_;
    if (available < length_prefix_size) return std::size_t{0};
    const std::size_t frame = std::size_t{buffer_[parse_]} << 8 | buffer_[parse_ + 1];
    if (available < length_prefix_size + frame) return std::size_t{0};
    const std::size_t body = parse_ + length_prefix_size;
    auto plain = cipher_.decrypt({}, bytes_view(buffer_).subspan(body, frame),
                                 mutable_bytes_view(buffer_).subspan(body, frame));
    if (!plain) {
      error_ = plain.error();
      return error_;
    }
    plain_begin_ = body;
    plain_end_ = body + *plain;
    parse_ = body + frame;
    // An empty frame (a bare tag) is legal and simply yields nothing; loop on.
  }
}

}  // namespace p2p::noise
