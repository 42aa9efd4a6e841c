// The Noise transport framing (frame_encoder / frame_decoder) driven by an op-coded
// script, as a differential test: whatever the message sizes, the gather-list splits,
// the receive chunking, the read sizes and the decoder's buffer size, the plaintext
// that comes out must be exactly the plaintext that went in. A script may also flip a
// bit of wire bytes not yet received; from then on the output must stay a prefix of
// the input, and the decoder may only fail with an error.
//
// Input: byte 0 picks the decoder's buffer size (one maximal frame + n KiB). Then
// ops, op byte % 4:
//   0  seal: u16 length, part count byte; each part's length comes from a byte
//   1  receive: u16 count of wire bytes (bounded by prepare())
//   2  read: u16 size of the reader's buffer (+1)
//   3  corrupt: u16 offset into the wire not yet received, byte = bit to flip
// At the end everything left is received and read.
#include "p2p/security/noise/transport.hpp"
#include "fuzz_support.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

using namespace p2p;
using namespace p2p::noise;

using fuzz::check;
using fuzz::script;

// The plaintext stream is a fixed function of its position, so output can be checked
// without keeping a copy of the input.
std::uint8_t plain_at(std::size_t i) { return static_cast<std::uint8_t>(i * 131 + (i >> 9)); }

cipher_key key() {
  cipher_key k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(0x40 + i);
  return k;
}

constexpr std::size_t max_plaintext = 1024 * 1024;

struct harness {
  frame_encoder encoder{cipher_state(key())};
  frame_decoder decoder;
  bytes wire;               // everything sealed so far
  std::size_t fed = 0;      // wire bytes handed to the decoder
  std::size_t sealed = 0;   // plaintext bytes sealed
  std::size_t decoded = 0;  // plaintext bytes read back
  bool corrupted = false;
  bool failed = false;

  explicit harness(std::size_t buffer_size) : decoder(cipher_state(key()), buffer_size) {}

  void seal(script& in) {
    const std::size_t length = std::min<std::size_t>(in.u16() * 4u, max_plaintext - sealed);
    const std::size_t count = in.byte() % 4 + 1;
    bytes plain(length);
    for (std::size_t i = 0; i < length; ++i) plain[i] = plain_at(sealed + i);
    std::vector<bytes_view> parts;
    std::size_t at = 0;
    for (std::size_t i = 0; i + 1 < count && at < length; ++i) {
      const std::size_t take = std::min<std::size_t>(length - at, std::size_t{in.byte()} * 512);
      parts.push_back(bytes_view(plain).subspan(at, take));
      at += take;
    }
    parts.push_back(bytes_view(plain).subspan(at));
    const std::size_t old = wire.size();
    wire.resize(old + sealed_size(length));
    auto n = encoder.seal(parts, mutable_bytes_view(wire).subspan(old));
    check(n && *n == sealed_size(length));
    sealed += length;
  }

  // Receives up to `count` wire bytes; false when nothing is left to receive. The
  // buffer may be full of frames not yet read, unless read() just returned 0.
  bool receive(std::size_t count, bool after_empty_read) {
    if (fed == wire.size()) return false;
    auto space = decoder.prepare();
    if (after_empty_read) check(!space.empty());
    const std::size_t take = std::min({count, space.size(), wire.size() - fed});
    std::memcpy(space.data(), wire.data() + fed, take);
    decoder.commit(take);
    fed += take;
    return true;
  }

  // Reads once; returns the byte count (0 when the decoder needs more wire bytes).
  std::size_t read(std::size_t size) {
    if (failed) return 0;
    bytes out(size);
    auto n = decoder.read(out);
    if (!n) {
      check(corrupted);  // authentic frames never fail
      failed = true;
      return 0;
    }
    check(*n <= size);
    for (std::size_t i = 0; i < *n; ++i) check(out[i] == plain_at(decoded + i));
    decoded += *n;
    check(decoded <= sealed);
    return *n;
  }

  void corrupt(std::size_t offset, std::uint8_t bit) {
    if (fed == wire.size()) return;
    wire[fed + offset % (wire.size() - fed)] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    corrupted = true;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  script in(data, size);
  harness h(length_prefix_size + 65535 + std::size_t{in.byte()} * 1024);

  while (!in.empty()) {
    switch (in.byte() % 4) {
      case 0:
        h.seal(in);
        break;
      case 1:
        h.receive(in.u16(), false);
        break;
      case 2:
        h.read(std::size_t{in.u16()} + 1);
        break;
      case 3: {
        const std::size_t offset = in.u16();
        h.corrupt(offset, in.byte());
        break;
      }
    }
  }
  // Drain: receive everything, reading whenever the decoder is ready.
  for (;;) {
    if (h.read(70000) > 0) continue;
    if (h.failed || !h.receive(SIZE_MAX, true)) break;
  }
  if (!h.corrupted) check(h.decoded == h.sealed && !h.decoder.has_partial_frame());
  return 0;
}
