// The transport phase of libp2p Noise (libp2p/specs noise/README.md, "Wire Format"):
// every message is a 2-byte big-endian length followed by a ChaChaPoly ciphertext of
// at most 65535 bytes (up to 65519 bytes of plaintext + a 16-byte tag), encrypted with
// an empty associated data and the CipherState's counter nonce.
//
// frame_encoder seals plaintext into consecutive frames in a caller buffer;
// frame_decoder owns a receive buffer that the shell fills from the socket, and
// decrypts whole frames into the reader's buffer (or in place when they do not fit).
// Neither allocates per frame.
// Sans-IO; no Asio. Never throws except std::bad_alloc.
#pragma once

#include "p2p/core/bytes.hpp"
#include "p2p/core/error.hpp"
#include "p2p/security/noise/cipher_state.hpp"

#include <cstddef>
#include <span>
#include <vector>

namespace p2p::noise {

inline constexpr std::size_t length_prefix_size = 2;
inline constexpr std::size_t max_frame_plaintext = 65535 - tag_length;  // 65519
inline constexpr std::size_t frame_overhead = length_prefix_size + tag_length;

// Bytes frame_encoder::seal writes for `plaintext_size` bytes.
constexpr std::size_t sealed_size(std::size_t plaintext_size) noexcept {
  const std::size_t frames = (plaintext_size + max_frame_plaintext - 1) / max_frame_plaintext;
  return plaintext_size + frames * frame_overhead;
}

class frame_encoder {
 public:
  explicit frame_encoder(cipher_state cipher) : cipher_(std::move(cipher)) {}

  // Encrypts `plaintext` into max-size frames written back to back into `out`
  // (out.size() >= sealed_size(plaintext.size())); returns the bytes written. Empty
  // plaintext writes nothing. Errors: resource_limit when the nonce is exhausted (the
  // connection must end), invalid_argument when `out` is too small.
  result<std::size_t> seal(bytes_view plaintext, mutable_bytes_view out) noexcept;
  // The same for the concatenation of `parts` (a frame may span several parts), so a
  // gather write is encrypted without joining it first. `out` must not overlap the
  // parts. May throw std::bad_alloc (a reused list of a frame's parts).
  result<std::size_t> seal(std::span<const bytes_view> parts, mutable_bytes_view out);

 private:
  cipher_state cipher_;
  std::vector<bytes_view> frame_parts_;
};

class frame_decoder {
 public:
  // `buffer_size` (at least one maximal frame, 65537 bytes) is allocated on first use.
  static constexpr std::size_t default_buffer_size = 256 * 1024 + length_prefix_size + 65535;

  explicit frame_decoder(cipher_state cipher, std::size_t buffer_size = default_buffer_size);

  // Space at the end of the buffer to receive transport bytes into; non-empty whenever
  // read() returned 0. Call commit() with the count actually received.
  mutable_bytes_view prepare();
  void commit(std::size_t received) noexcept;

  // Fills `out` with plaintext: first what is left of a partly read frame, then every
  // complete frame whose plaintext fits the remaining room, decrypted straight into
  // `out` (no copy). A frame larger than `out` is decrypted in place and handed out
  // over several calls, but only when nothing else was written in this call.
  // Returns 0 when every complete frame is consumed (receive more). Errors, sticky:
  // decrypt_failed for a frame that fails authentication or is shorter than the tag;
  // resource_limit when the nonce is exhausted.
  result<std::size_t> read(mutable_bytes_view out) noexcept;

  // True when part of a frame is buffered, so an end of stream now truncates it.
  bool has_partial_frame() const noexcept { return parse_ < end_; }
  // Decrypted bytes not yet handed out by read().
  std::size_t buffered_plaintext() const noexcept { return plain_end_ - plain_begin_; }

 private:
  cipher_state cipher_;
  bytes buffer_;
  std::size_t buffer_size_;
  std::size_t plain_begin_ = 0;  // [plain_begin_, plain_end_): decrypted, not yet read
  std::size_t plain_end_ = 0;
  std::size_t parse_ = 0;        // [parse_, end_): received, not yet decrypted
  std::size_t end_ = 0;
  error_code error_;
};

}  // namespace p2p::noise
