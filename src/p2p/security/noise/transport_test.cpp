#include "p2p/security/noise/transport.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace p2p::noise {
namespace {

cipher_key test_key() {
  cipher_key key{};
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i);
  return key;
}

bytes pattern(std::size_t size, std::uint8_t salt = 0) {
  bytes out(size);
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::uint8_t>(i * 31 + salt + (i >> 11));
  return out;
}

bytes seal(frame_encoder& encoder, bytes_view plaintext) {
  bytes out(sealed_size(plaintext.size()));
  auto n = encoder.seal(plaintext, out);
  EXPECT_TRUE(n);
  if (n) {
    EXPECT_EQ(*n, out.size());
  }
  return out;
}

// Feeds `wire` to the decoder in chunks of `chunk` bytes and reads everything with
// reads of at most `read_size` bytes.
result<bytes> decode_all(frame_decoder& decoder, bytes_view wire, std::size_t chunk, std::size_t read_size) {
  bytes out;
  bytes scratch(read_size);
  for (;;) {
    auto n = decoder.read(scratch);
    if (!n) return n.error();
    if (*n > 0) {
      out.insert(out.end(), scratch.begin(), scratch.begin() + static_cast<std::ptrdiff_t>(*n));
      continue;
    }
    if (wire.empty()) return out;
    auto space = decoder.prepare();
    EXPECT_FALSE(space.empty());
    const std::size_t take = std::min({chunk, space.size(), wire.size()});
    std::copy_n(wire.begin(), take, space.begin());
    decoder.commit(take);
    wire = wire.subspan(take);
  }
}

TEST(noise_transport, sealed_size_accounts_for_every_frame) {
  EXPECT_EQ(sealed_size(0), 0u);
  EXPECT_EQ(sealed_size(1), 19u);
  EXPECT_EQ(sealed_size(65519), 65537u);
  EXPECT_EQ(sealed_size(65520), 65537u + 19u);
}

TEST(noise_transport, frames_are_length_prefixed_and_at_most_65535_bytes) {
  frame_encoder encoder{cipher_state(test_key())};
  const bytes plain = pattern(65519 * 2 + 10);
  const bytes wire = seal(encoder, plain);
  ASSERT_EQ(wire.size(), plain.size() + 3 * frame_overhead);
  EXPECT_EQ(wire[0], 0xff);
  EXPECT_EQ(wire[1], 0xff);
  EXPECT_EQ(wire[65537], 0xff);
  EXPECT_EQ(wire[65538], 0xff);
  EXPECT_EQ(wire[2 * 65537], 0x00);
  EXPECT_EQ(wire[2 * 65537 + 1], 26);  // 10 bytes + tag
}

TEST(noise_transport, round_trip_in_many_chunkings) {
  const bytes plain = pattern(300'000, 5);
  for (auto [chunk, read_size] : {std::pair<std::size_t, std::size_t>{1, 7}, {3, 100000}, {65537, 1},
                                  {1 << 20, 1 << 20}, {70000, 4096}}) {
    frame_encoder encoder{cipher_state(test_key())};
    frame_decoder decoder{cipher_state(test_key()), 70000};  // small buffer: exercises compaction
    bytes wire;
    // Several writes of odd sizes, including an empty frame in the middle.
    for (std::size_t offset = 0; offset < plain.size();) {
      const std::size_t n = std::min<std::size_t>(plain.size() - offset, 12345 + offset % 70000);
      append(wire, seal(encoder, bytes_view(plain).subspan(offset, n)));
      offset += n;
    }
    auto decoded = decode_all(decoder, wire, chunk, read_size);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, plain) << chunk << " " << read_size;
    EXPECT_FALSE(decoder.has_partial_frame());
  }
}

TEST(noise_transport, sealing_parts_equals_sealing_their_concatenation) {
  const bytes plain = pattern(65519 * 2 + 777, 9);
  const bytes_view all(plain);
  // Parts that cross frame boundaries, tiny parts (like yamux headers) and empty ones.
  const std::vector<bytes_view> parts{all.first(12),          all.subspan(12, 65524), all.subspan(65536, 0),
                                      all.subspan(65536, 12), all.subspan(65548, 3),  all.subspan(65551)};
  frame_encoder joined{cipher_state(test_key())};
  frame_encoder gathered{cipher_state(test_key())};
  const bytes expected = seal(joined, plain);
  bytes out(sealed_size(plain.size()));
  auto n = gathered.seal(std::span<const bytes_view>(parts), out);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, out.size());
  EXPECT_EQ(out, expected);
  bytes small(out.size() - 1);
  EXPECT_EQ(gathered.seal(std::span<const bytes_view>(parts), small).error(), errc::invalid_argument);
}

TEST(noise_transport, complete_frames_are_decrypted_into_one_read) {
  frame_encoder encoder{cipher_state(test_key())};
  bytes wire;
  bytes plain;
  for (std::size_t size : {100u, 65519u, 5u}) {
    const bytes part = pattern(size, static_cast<std::uint8_t>(size));
    append(plain, part);
    append(wire, seal(encoder, part));
  }
  frame_decoder decoder{cipher_state(test_key())};
  auto space = decoder.prepare();
  ASSERT_GE(space.size(), wire.size());
  std::copy(wire.begin(), wire.end(), space.begin());
  decoder.commit(wire.size());
  bytes out(200'000);
  auto n = decoder.read(out);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, plain.size()) << "every complete frame that fits goes out in one call";
  EXPECT_TRUE(std::equal(plain.begin(), plain.end(), out.begin()));
  EXPECT_EQ(*decoder.read(out), 0u);
  // A read with less room than the next frame still makes progress, then hands out
  // the rest of that frame before later frames.
  const bytes big = pattern(1000, 1), after = pattern(10, 2);
  wire = seal(encoder, big);
  append(wire, seal(encoder, after));
  space = decoder.prepare();
  std::copy(wire.begin(), wire.end(), space.begin());
  decoder.commit(wire.size());
  bytes small(600);
  EXPECT_EQ(*decoder.read(small), 600u);
  EXPECT_TRUE(std::equal(small.begin(), small.end(), big.begin()));
  EXPECT_EQ(*decoder.read(out), 400u + 10u);
  EXPECT_TRUE(std::equal(big.begin() + 600, big.end(), out.begin()));
  EXPECT_TRUE(std::equal(after.begin(), after.end(), out.begin() + 400));
}

TEST(noise_transport, large_receives_with_the_default_buffer) {
  // Whatever prepare() offers is filled completely, as a fast socket would; frames
  // straddling the end of the buffer must still come out intact and in order.
  const bytes plain = pattern(3'000'000, 7);
  frame_encoder encoder{cipher_state(test_key())};
  bytes wire;
  for (std::size_t offset = 0; offset < plain.size();) {
    const std::size_t n = std::min<std::size_t>(plain.size() - offset, 1 + offset % 100'000);
    append(wire, seal(encoder, bytes_view(plain).subspan(offset, n)));
    offset += n;
  }
  for (std::size_t read_size : {std::size_t{1} << 20, std::size_t{65536}, std::size_t{1000}}) {
    frame_decoder decoder{cipher_state(test_key())};
    auto decoded = decode_all(decoder, wire, std::size_t{1} << 30, read_size);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, plain) << read_size;
  }
}

TEST(noise_transport, empty_frames_are_skipped) {
  cipher_state sender(test_key());
  bytes wire(2 + tag_length);
  wire[1] = tag_length;
  ASSERT_TRUE(sender.encrypt({}, {}, mutable_bytes_view(wire).subspan(2)));
  frame_encoder encoder{std::move(sender)};
  append(wire, seal(encoder, as_bytes("after")));
  frame_decoder decoder{cipher_state(test_key())};
  auto decoded = decode_all(decoder, wire, 1000, 1000);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, to_bytes("after"));
}

TEST(noise_transport, bad_tag_fails_and_stays_failed) {
  frame_encoder encoder{cipher_state(test_key())};
  bytes wire = seal(encoder, as_bytes("first"));
  bytes second = seal(encoder, as_bytes("second"));
  second[5] ^= 0x20;
  append(wire, second);
  append(wire, seal(encoder, as_bytes("third")));
  frame_decoder decoder{cipher_state(test_key())};
  auto space = decoder.prepare();
  std::copy(wire.begin(), wire.end(), space.begin());
  decoder.commit(wire.size());
  bytes out(100);
  auto first = decoder.read(out);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, 5u);
  EXPECT_EQ(decoder.read(out).error(), errc::decrypt_failed);
  EXPECT_EQ(decoder.read(out).error(), errc::decrypt_failed);
}

TEST(noise_transport, frame_shorter_than_a_tag_fails) {
  const bytes wire = {0x00, 0x03, 1, 2, 3};
  frame_decoder decoder{cipher_state(test_key())};
  auto decoded = decode_all(decoder, wire, 100, 100);
  EXPECT_EQ(decoded.error(), errc::decrypt_failed);
}

TEST(noise_transport, partial_frame_is_reported) {
  frame_encoder encoder{cipher_state(test_key())};
  const bytes wire = seal(encoder, as_bytes("hello"));
  frame_decoder decoder{cipher_state(test_key())};
  auto decoded = decode_all(decoder, bytes_view(wire).first(wire.size() - 1), 100, 100);
  ASSERT_TRUE(decoded);
  EXPECT_TRUE(decoded->empty());
  EXPECT_TRUE(decoder.has_partial_frame());
}

TEST(noise_transport, encoder_refuses_a_short_buffer) {
  frame_encoder encoder{cipher_state(test_key())};
  bytes out(10);
  EXPECT_EQ(encoder.seal(as_bytes("hello"), out).error(), errc::invalid_argument);
}

}  // namespace
}  // namespace p2p::noise
