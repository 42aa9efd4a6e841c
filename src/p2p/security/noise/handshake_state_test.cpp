// Noise_XX_25519_ChaChaPoly_SHA256 against the cacophony test vectors
// (haskell-cryptography/cacophony vectors/cacophony.txt), with fixed keys and the
// vector's prologue: both sides must produce the vector's bytes exactly.
#include "p2p/security/noise/handshake_state.hpp"

#include "hex.hpp"

#include <gtest/gtest.h>

namespace p2p::noise {
namespace {

using p2p::testing::hex;

x25519_key_pair key(std::string_view secret_hex) {
  auto k = x25519_key_pair::from_secret(hex(secret_hex));
  EXPECT_TRUE(k);
  return *k;
}

struct vector_message {
  std::string_view payload;
  std::string_view ciphertext;
};

// The Noise_XX_25519_ChaChaPoly_SHA256 entry of cacophony.txt.
constexpr std::string_view prologue = "4a6f686e2047616c74";
constexpr std::string_view init_static = "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1";
constexpr std::string_view init_ephemeral = "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a";
constexpr std::string_view resp_static = "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893";
constexpr std::string_view resp_ephemeral = "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b";
constexpr std::string_view handshake_hash = "c8e5f64e846193be2a834104c2a009868d6c9f3bd3c186299888b488b2f1f58e";
constexpr vector_message messages[] = {
    {"4c756477696720766f6e204d69736573",
     "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c79444c756477696720766f6e204d69736573"},
    {"4d757272617920526f746862617264",
     "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f14480884381cbad1f276e038c48378ffce2b65285e08d6b68aaa3"
     "629a5a8639392490e5b9bd5269c2f1e4f488ed8831161f19b7815528f8982ffe09be9b5c412f8a0db50f8814c7194e83f23dbd8d162c9"
     "326ad"},
    {"462e20412e20486179656b",
     "c7195ffacac1307ff99046f219750fc47693e23c3cb08b89c2af808b444850a80ae475b9df0f169ae80a89be0865b57f58c9fea0d4ec82a"
     "286427402f113e4b6ae769a1d95941d49b25030"},
    {"4361726c204d656e676572", "96763ed773f8e47bb3712f0e29b3060ffc956ffc146cee53d5e1df"},
    {"4a65616e2d426170746973746520536179", "3e40f15f6f3a46ae446b253bf8b1d9ffb6ed9b174d272328ff91a7e2e5c79c07f5"},
    {"457567656e2042f6686d20766f6e2042617765726b",
     "eb3f3515110702e047a6c9da4478b6ead94873c11c0f2d710ddb3f09fce024b3a58502ae3f"},
};

TEST(noise_handshake_state, cacophony_xx_vector) {
  xx_handshake_state initiator(role::initiator, hex(prologue), key(init_static), key(init_ephemeral));
  xx_handshake_state responder(role::responder, hex(prologue), key(resp_static), key(resp_ephemeral));

  for (int i = 0; i < 3; ++i) {
    auto& writer = i % 2 == 0 ? initiator : responder;
    auto& reader = i % 2 == 0 ? responder : initiator;
    ASSERT_TRUE(writer.is_my_turn());
    ASSERT_FALSE(reader.is_my_turn());
    bytes message;
    ASSERT_TRUE(writer.write_message(hex(messages[i].payload), message));
    EXPECT_EQ(to_hex(message), messages[i].ciphertext) << "message " << i;
    auto payload = reader.read_message(message);
    ASSERT_TRUE(payload) << payload.error().message();
    EXPECT_EQ(to_hex(*payload), messages[i].payload);
  }
  ASSERT_TRUE(initiator.is_complete());
  ASSERT_TRUE(responder.is_complete());
  EXPECT_EQ(to_hex(initiator.handshake_hash()), handshake_hash);
  EXPECT_EQ(to_hex(responder.handshake_hash()), handshake_hash);
  ASSERT_TRUE(initiator.remote_static());
  EXPECT_EQ(*initiator.remote_static(), responder.local_static_public());
  EXPECT_EQ(*responder.remote_static(), initiator.local_static_public());

  // Transport messages keep alternating: the responder sends first, with c2.
  auto [i_send, i_receive] = initiator.split();
  auto [r_receive, r_send] = responder.split();
  for (int i = 3; i < 6; ++i) {
    const bool from_responder = i % 2 == 1;
    auto& encrypt = from_responder ? r_send : i_send;
    auto& decrypt = from_responder ? i_receive : r_receive;
    const bytes payload = hex(messages[i].payload);
    bytes sealed(payload.size() + tag_length);
    ASSERT_TRUE(encrypt.encrypt({}, payload, sealed));
    EXPECT_EQ(to_hex(sealed), messages[i].ciphertext) << "message " << i;
    bytes opened(payload.size());
    ASSERT_TRUE(decrypt.decrypt({}, sealed, opened));
    EXPECT_EQ(opened, payload);
  }
}

class noise_handshake_state_errors : public ::testing::Test {
 protected:
  xx_handshake_state initiator{role::initiator, {}, key(init_static), key(init_ephemeral)};
  xx_handshake_state responder{role::responder, {}, key(resp_static), key(resp_ephemeral)};
};

TEST_F(noise_handshake_state_errors, out_of_turn_calls_are_protocol_violations) {
  bytes out;
  EXPECT_EQ(responder.write_message({}, out).error(), errc::protocol_violation);
  EXPECT_EQ(initiator.read_message(bytes(32)).error(), errc::protocol_violation);
  EXPECT_FALSE(initiator.has_failed());  // misuse does not poison the state
  ASSERT_TRUE(initiator.write_message({}, out));
  EXPECT_EQ(initiator.write_message({}, out).error(), errc::protocol_violation);
}

TEST_F(noise_handshake_state_errors, short_first_message_fails) {
  EXPECT_EQ(responder.read_message(bytes(31, 1)).error(), errc::handshake_failed);
  EXPECT_TRUE(responder.has_failed());
  EXPECT_EQ(responder.read_message(bytes(32, 1)).error(), errc::protocol_violation);
}

TEST_F(noise_handshake_state_errors, oversized_messages_are_rejected) {
  EXPECT_EQ(responder.read_message(bytes(65536, 1)).error(), errc::message_too_large);
  bytes out;
  EXPECT_EQ(initiator.write_message(bytes(65535 - 31), out).error(), errc::message_too_large);
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(initiator.write_message(bytes(65535 - 32), out));
  EXPECT_EQ(out.size(), 65535u);
}

TEST_F(noise_handshake_state_errors, every_tampered_byte_of_message_two_is_detected) {
  bytes first;
  ASSERT_TRUE(initiator.write_message({}, first));
  ASSERT_TRUE(responder.read_message(first));
  bytes second;
  ASSERT_TRUE(responder.write_message(as_bytes("payload"), second));
  for (std::size_t i = 0; i < second.size(); ++i) {
    xx_handshake_state copy{role::initiator, {}, key(init_static), key(init_ephemeral)};
    bytes again;
    ASSERT_TRUE(copy.write_message({}, again));
    bytes tampered = second;
    tampered[i] ^= 0x01;
    auto r = copy.read_message(tampered);
    EXPECT_FALSE(r) << "byte " << i;
    EXPECT_TRUE(copy.has_failed());
  }
  ASSERT_TRUE(initiator.read_message(second));
  // Truncated message 2 (the payload tag missing).
  xx_handshake_state copy{role::initiator, {}, key(init_static), key(init_ephemeral)};
  bytes again;
  ASSERT_TRUE(copy.write_message({}, again));
  EXPECT_EQ(copy.read_message(bytes_view(second).first(32 + 48 + 15)).error(), errc::handshake_failed);
}

TEST_F(noise_handshake_state_errors, low_order_ephemeral_is_rejected) {
  bytes first;
  ASSERT_TRUE(initiator.write_message({}, first));
  ASSERT_TRUE(responder.read_message(bytes(32, 0)));  // accepted: DH happens on write
  bytes second;
  EXPECT_EQ(responder.write_message({}, second).error(), errc::handshake_failed);
  EXPECT_TRUE(responder.has_failed());
}

}  // namespace
}  // namespace p2p::noise
