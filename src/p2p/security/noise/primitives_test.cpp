#include "p2p/security/noise/cipher_state.hpp"
#include "p2p/security/noise/primitives.hpp"

#include "hex.hpp"

#include <gtest/gtest.h>

#include <vector>

#include <limits>

namespace p2p::noise {
namespace {

using p2p::testing::hex;

template <std::size_t N>
std::string hex(const std::array<std::uint8_t, N>& data) {
  return to_hex(bytes_view(data));
}

TEST(noise_primitives, sha256_of_abc) {
  // FIPS 180-2 example.
  EXPECT_EQ(hex(sha256(as_bytes("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex(sha256(as_bytes("a"), as_bytes("bc"))), hex(sha256(as_bytes("abc"))));
}

TEST(noise_primitives, hkdf_matches_rfc5869_test_case_3) {
  // RFC 5869 A.3: empty salt (== HashLen zero bytes, our zero chaining key), empty info.
  const digest zero_salt{};
  const bytes ikm(22, 0x0b);
  auto [first, second] = hkdf2(zero_salt, ikm);
  EXPECT_EQ(hex(first), "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d");
  EXPECT_EQ(hex(second).substr(0, 20), "9d201395faa4b61a96c8");
}

TEST(noise_primitives, x25519_matches_rfc7748_section_6_1) {
  auto alice = x25519_key_pair::from_secret(hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  auto bob = x25519_key_pair::from_secret(hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
  ASSERT_TRUE(alice);
  ASSERT_TRUE(bob);
  EXPECT_EQ(hex(alice->public_key()), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(hex(bob->public_key()), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  auto shared1 = alice->dh(bob->public_key());
  auto shared2 = bob->dh(alice->public_key());
  ASSERT_TRUE(shared1);
  ASSERT_TRUE(shared2);
  EXPECT_EQ(hex(*shared1), "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  EXPECT_EQ(*shared1, *shared2);
}

TEST(noise_primitives, x25519_rejects_low_order_points_and_bad_sizes) {
  auto key = x25519_key_pair::from_secret(bytes(32, 7));
  ASSERT_TRUE(key);
  EXPECT_EQ(key->dh(bytes(32, 0)).error(), errc::handshake_failed);  // the identity point
  bytes one(32, 0);
  one[0] = 1;
  EXPECT_EQ(key->dh(one).error(), errc::handshake_failed);
  EXPECT_EQ(key->dh(bytes(31, 9)).error(), errc::handshake_failed);
  EXPECT_EQ(x25519_key_pair::from_secret(bytes(31, 1)).error(), errc::invalid_key);
}

TEST(noise_cipher_state, round_trip_in_place_and_tamper) {
  cipher_key key{};
  key[0] = 42;
  cipher_state sender(key), receiver(key);
  for (int i = 0; i < 3; ++i) {
    bytes message = to_bytes("hello noise");
    const bytes original = message;
    message.resize(message.size() + tag_length);
    auto sealed = sender.encrypt(as_bytes("ad"), bytes_view(message).first(original.size()), message);
    ASSERT_TRUE(sealed);
    EXPECT_EQ(*sealed, original.size() + tag_length);
    EXPECT_NE(bytes(message.begin(), message.begin() + 11), original);
    auto opened = receiver.decrypt(as_bytes("ad"), message, message);
    ASSERT_TRUE(opened);
    EXPECT_EQ(bytes(message.begin(), message.begin() + static_cast<std::ptrdiff_t>(*opened)), original);
  }
  EXPECT_EQ(sender.nonce(), 3u);
  EXPECT_EQ(receiver.nonce(), 3u);

  bytes sealed(5 + tag_length);
  ASSERT_TRUE(sender.encrypt({}, as_bytes("abcde"), sealed));
  bytes tampered = sealed;
  tampered[2] ^= 1;
  bytes out(sealed.size());
  EXPECT_EQ(receiver.decrypt({}, tampered, out).error(), errc::decrypt_failed);
  EXPECT_EQ(receiver.nonce(), 3u);  // unchanged after a failure
  EXPECT_EQ(receiver.decrypt(as_bytes("x"), sealed, out).error(), errc::decrypt_failed);  // wrong ad
  EXPECT_EQ(receiver.decrypt({}, bytes_view(sealed).first(15), out).error(), errc::decrypt_failed);
  EXPECT_TRUE(receiver.decrypt({}, sealed, out));
}

TEST(noise_cipher_state, wrong_nonce_fails) {
  cipher_key key{};
  cipher_state sender(key), receiver(key);
  bytes sealed(tag_length);
  ASSERT_TRUE(sender.encrypt({}, {}, sealed));
  receiver.set_nonce(1);
  bytes out(tag_length);
  EXPECT_EQ(receiver.decrypt({}, sealed, out).error(), errc::decrypt_failed);
}

TEST(noise_cipher_state, nonce_exhaustion_is_an_error) {
  cipher_key key{};
  cipher_state sender(key), receiver(key);
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  sender.set_nonce(max - 1);
  receiver.set_nonce(max - 1);
  bytes sealed(tag_length + 1);
  ASSERT_TRUE(sender.encrypt({}, as_bytes("z"), sealed));  // n = 2^64-2 is the last usable
  bytes out(1);
  ASSERT_TRUE(receiver.decrypt({}, sealed, out));
  EXPECT_EQ(sender.encrypt({}, as_bytes("z"), sealed).error(), errc::resource_limit);
  EXPECT_EQ(receiver.decrypt({}, sealed, out).error(), errc::resource_limit);
}

TEST(noise_cipher_state, encrypting_parts_equals_encrypting_their_concatenation) {
  cipher_key key{};
  key[5] = 7;
  bytes joined(1000);
  for (std::size_t i = 0; i < joined.size(); ++i) joined[i] = static_cast<std::uint8_t>(i * 13 + 1);
  cipher_state whole(key);
  bytes expected(joined.size() + tag_length);
  ASSERT_TRUE(whole.encrypt(as_bytes("ad"), joined, expected));
  // Odd part sizes (not multiples of the 64-byte ChaCha block or 16-byte Poly1305
  // block) and empty parts.
  const bytes_view all(joined);
  const std::vector<bytes_view> parts{all.first(1),          all.subspan(1, 0),   all.subspan(1, 63),
                                      all.subspan(64, 12),   all.subspan(76, 500), all.subspan(576, 0),
                                      all.subspan(576, 424)};
  cipher_state gathered(key);
  bytes out(joined.size() + tag_length);
  auto n = gathered.encrypt_parts(as_bytes("ad"), parts, out);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, out.size());
  EXPECT_EQ(out, expected);
  EXPECT_EQ(gathered.nonce(), 1u);
  bytes small(joined.size());
  EXPECT_EQ(gathered.encrypt_parts({}, parts, small).error(), errc::invalid_argument);
}

TEST(noise_cipher_state, without_key_passes_through) {
  cipher_state none;
  EXPECT_FALSE(none.has_key());
  bytes out(3);
  auto n = none.encrypt(as_bytes("ad"), as_bytes("abc"), out);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 3u);
  EXPECT_EQ(out, to_bytes("abc"));
}

}  // namespace
}  // namespace p2p::noise
