#include "p2p/security/noise/handshake.hpp"

#include <gtest/gtest.h>

namespace p2p::noise {
namespace {

crypto::private_key identity(std::uint8_t seed) {
  auto key = crypto::private_key::ed25519_from_seed(bytes(32, seed));
  EXPECT_TRUE(key);
  return *key;
}

struct pair_result {
  handshake_result initiator;
  handshake_result responder;
};

// Runs both cores against each other, passing messages directly.
pair_result run_pair(handshake& initiator, handshake& responder) {
  for (int round = 0; round < 4 && !(initiator.is_complete() && responder.is_complete()); ++round) {
    if (auto m = initiator.poll_message()) {
      auto r = responder.handle_message(*m);
      EXPECT_TRUE(r) << r.error().message();
    }
    if (auto m = responder.poll_message()) {
      auto r = initiator.handle_message(*m);
      EXPECT_TRUE(r) << r.error().message();
    }
  }
  EXPECT_TRUE(initiator.is_complete());
  EXPECT_TRUE(responder.is_complete());
  return {initiator.take_result(), responder.take_result()};
}

void expect_ciphers_pair(cipher_state& sender, cipher_state& receiver) {
  bytes sealed(4 + tag_length);
  ASSERT_TRUE(sender.encrypt({}, as_bytes("ping"), sealed));
  bytes opened(4);
  ASSERT_TRUE(receiver.decrypt({}, sealed, opened));
  EXPECT_EQ(opened, to_bytes("ping"));
}

TEST(noise_select_muxer, follows_the_initiators_preference) {
  using list = std::vector<std::string>;
  // The spec's example: client prefers yamux, server prefers mplex -> yamux.
  EXPECT_EQ(select_muxer(list{"/yamux/1.0.0", "/mplex/6.7.0"}, list{"/mplex/6.7.0", "/yamux/1.0.0"}),
            "/yamux/1.0.0");
  EXPECT_EQ(select_muxer(list{"/mplex/6.7.0", "/yamux/1.0.0"}, list{"/yamux/1.0.0"}), "/yamux/1.0.0");
  EXPECT_EQ(select_muxer(list{"/a"}, list{"/b"}), std::nullopt);
  EXPECT_EQ(select_muxer(list{}, list{"/b"}), std::nullopt);
  EXPECT_EQ(select_muxer(list{"/a"}, list{}), std::nullopt);
}

TEST(noise_handshake, completes_and_exchanges_identities_and_muxers) {
  const auto alice = identity(1), bob = identity(2);
  seeded_random rng_a(1), rng_b(2);
  auto initiator = handshake::initiator(alice, peer_id::from_public_key(bob.public_key()),
                                        {"/yamux/1.0.0", "/mplex/6.7.0"}, rng_a);
  auto responder = handshake::responder(bob, {"/mplex/6.7.0", "/yamux/1.0.0"}, rng_b);
  ASSERT_TRUE(initiator) << initiator.error().message();
  ASSERT_TRUE(responder) << responder.error().message();
  EXPECT_FALSE(responder->poll_message());  // the responder speaks second
  auto done = run_pair(*initiator, *responder);

  EXPECT_EQ(done.initiator.remote_peer, peer_id::from_public_key(bob.public_key()));
  EXPECT_EQ(done.initiator.remote_public_key, bob.public_key());
  EXPECT_EQ(done.responder.remote_peer, peer_id::from_public_key(alice.public_key()));
  EXPECT_EQ(done.initiator.muxer, "/yamux/1.0.0");
  EXPECT_EQ(done.responder.muxer, "/yamux/1.0.0");
  EXPECT_EQ(done.initiator.remote_extensions.stream_muxers, (std::vector<std::string>{"/mplex/6.7.0", "/yamux/1.0.0"}));
  EXPECT_EQ(done.responder.remote_extensions.stream_muxers, (std::vector<std::string>{"/yamux/1.0.0", "/mplex/6.7.0"}));
  EXPECT_EQ(done.initiator.handshake_hash, done.responder.handshake_hash);
  expect_ciphers_pair(done.initiator.sender, done.responder.receiver);
  expect_ciphers_pair(done.responder.sender, done.initiator.receiver);

  // Nothing more is accepted once complete.
  EXPECT_EQ(responder->handle_message(bytes(64)).error(), errc::protocol_violation);
}

TEST(noise_handshake, is_deterministic_for_a_seeded_random) {
  const auto alice = identity(1);
  seeded_random rng1(7), rng2(7), rng3(8);
  auto a = handshake::initiator(alice, std::nullopt, {}, rng1);
  auto b = handshake::initiator(alice, std::nullopt, {}, rng2);
  auto c = handshake::initiator(alice, std::nullopt, {}, rng3);
  auto ma = a->poll_message(), mb = b->poll_message(), mc = c->poll_message();
  ASSERT_TRUE(ma && mb && mc);
  EXPECT_EQ(*ma, *mb);
  EXPECT_NE(*ma, *mc);
  EXPECT_EQ(ma->size(), 32u);  // e, with an empty payload
  EXPECT_FALSE(a->poll_message());
}

TEST(noise_handshake, muxer_cases) {
  using list = std::vector<std::string>;
  struct test_case {
    list initiator, responder;
    std::optional<std::string> expected;
  };
  const test_case cases[] = {
      {{"/yamux/1.0.0"}, {"/yamux/1.0.0"}, "/yamux/1.0.0"},
      {{"/mplex/6.7.0"}, {"/yamux/1.0.0"}, std::nullopt},  // none common
      {{}, {"/yamux/1.0.0"}, std::nullopt},                 // initiator offers none
      {{"/yamux/1.0.0"}, {}, std::nullopt},                 // responder offers none
      {{}, {}, std::nullopt},
  };
  for (const auto& c : cases) {
    seeded_random rng_a(3), rng_b(4);
    auto initiator = handshake::initiator(identity(1), std::nullopt, c.initiator, rng_a);
    auto responder = handshake::responder(identity(2), c.responder, rng_b);
    auto done = run_pair(*initiator, *responder);
    EXPECT_EQ(done.initiator.muxer, c.expected);
    EXPECT_EQ(done.responder.muxer, c.expected);
    EXPECT_EQ(done.initiator.remote_extensions.stream_muxers, c.responder);
    EXPECT_EQ(done.responder.remote_extensions.stream_muxers, c.initiator);
  }
}

TEST(noise_handshake, wrong_expected_peer_is_rejected_before_message_three) {
  seeded_random rng_a(1), rng_b(2);
  auto initiator = handshake::initiator(identity(1), peer_id::from_public_key(identity(3).public_key()), {}, rng_a);
  auto responder = handshake::responder(identity(2), {}, rng_b);
  ASSERT_TRUE(responder->handle_message(*initiator->poll_message()));
  EXPECT_EQ(initiator->handle_message(*responder->poll_message()).error(), errc::peer_id_mismatch);
  EXPECT_FALSE(initiator->poll_message());  // our identity is never sent to the wrong peer
  EXPECT_TRUE(initiator->has_failed());
  EXPECT_FALSE(initiator->is_complete());
  EXPECT_EQ(initiator->handle_message(bytes(100)).error(), errc::protocol_violation);
}

// A hand-driven Noise peer that sends whatever payload the test wants.
struct scripted_peer {
  static x25519_key_pair key(std::uint8_t fill) { return *x25519_key_pair::from_secret(bytes(32, fill)); }
  xx_handshake_state state;
  explicit scripted_peer(role r) : state(r, {}, key(0x51), key(0x52)) {}

  bytes signed_payload(const crypto::private_key& claimed, const crypto::private_key& signer) {
    bytes data = to_bytes(static_key_signature_prefix);
    append(data, state.local_static_public());
    handshake_payload p{.identity_key = claimed.public_key().to_protobuf(), .identity_sig = *signer.sign(data),
                        .extensions = {}};
    return encode_payload(p);
  }
};

TEST(noise_handshake, responder_signature_by_another_key_is_rejected) {
  seeded_random rng(1);
  auto initiator = handshake::initiator(identity(1), std::nullopt, {}, rng);
  scripted_peer fake(role::responder);
  ASSERT_TRUE(fake.state.read_message(*initiator->poll_message()));
  bytes second;
  ASSERT_TRUE(fake.state.write_message(fake.signed_payload(identity(2), identity(3)), second));
  EXPECT_EQ(initiator->handle_message(second).error(), errc::invalid_signature);
  EXPECT_FALSE(initiator->poll_message());
}

TEST(noise_handshake, initiator_signature_over_other_data_is_rejected) {
  seeded_random rng(1);
  auto responder = handshake::responder(identity(2), {"/yamux/1.0.0"}, rng);
  scripted_peer fake(role::initiator);
  bytes first;
  ASSERT_TRUE(fake.state.write_message({}, first));
  ASSERT_TRUE(responder->handle_message(first));
  ASSERT_TRUE(fake.state.read_message(*responder->poll_message()));
  // Signs the right prefix but a different static key.
  bytes data = to_bytes(static_key_signature_prefix);
  append(data, bytes(32, 9));
  handshake_payload p{.identity_key = identity(1).public_key().to_protobuf(), .identity_sig = *identity(1).sign(data),
                      .extensions = {}};
  bytes third;
  ASSERT_TRUE(fake.state.write_message(encode_payload(p), third));
  EXPECT_EQ(responder->handle_message(third).error(), errc::invalid_signature);
  EXPECT_FALSE(responder->is_complete());
}

TEST(noise_handshake, scripted_valid_initiator_is_accepted) {
  seeded_random rng(1);
  auto responder = handshake::responder(identity(2), {}, rng);
  scripted_peer fake(role::initiator);
  bytes first;
  ASSERT_TRUE(fake.state.write_message(as_bytes("ignored early bytes"), first));  // msg 1 payload is ignored
  ASSERT_TRUE(responder->handle_message(first));
  ASSERT_TRUE(fake.state.read_message(*responder->poll_message()));
  bytes third;
  ASSERT_TRUE(fake.state.write_message(fake.signed_payload(identity(1), identity(1)), third));
  ASSERT_TRUE(responder->handle_message(third));
  ASSERT_TRUE(responder->is_complete());
  auto done = responder->take_result();
  EXPECT_EQ(done.remote_peer, peer_id::from_public_key(identity(1).public_key()));
  EXPECT_EQ(done.muxer, std::nullopt);
}

TEST(noise_handshake, bad_payloads_are_rejected) {
  const bytes garbage_payloads[] = {
      bytes{0xff, 0xff},                             // broken protobuf
      bytes{},                                       // no identity key at all
      bytes{0x0a, 0x03, 0x08, 0x01, 0x12},           // truncated PublicKey inside
  };
  for (const auto& payload : garbage_payloads) {
    seeded_random rng(1);
    auto initiator = handshake::initiator(identity(1), std::nullopt, {}, rng);
    scripted_peer fake(role::responder);
    ASSERT_TRUE(fake.state.read_message(*initiator->poll_message()));
    bytes second;
    ASSERT_TRUE(fake.state.write_message(payload, second));
    auto r = initiator->handle_message(second);
    EXPECT_FALSE(r);
    EXPECT_TRUE(initiator->has_failed());
  }
}

TEST(noise_handshake, tampered_truncated_and_oversized_messages_are_rejected) {
  auto fresh = [](std::uint64_t seed) {
    seeded_random rng_a(seed), rng_b(seed + 100);
    auto i = handshake::initiator(identity(1), std::nullopt, {"/yamux/1.0.0"}, rng_a);
    auto r = handshake::responder(identity(2), {"/yamux/1.0.0"}, rng_b);
    return std::pair{std::move(*i), std::move(*r)};
  };
  {
    auto [i, r] = fresh(1);
    ASSERT_TRUE(r.handle_message(*i.poll_message()));
    bytes second = *r.poll_message();
    second[40] ^= 0x80;  // inside the encrypted static key
    EXPECT_EQ(i.handle_message(second).error(), errc::decrypt_failed);
  }
  {
    auto [i, r] = fresh(2);
    ASSERT_TRUE(r.handle_message(*i.poll_message()));
    bytes second = *r.poll_message();
    second.back() ^= 0x01;  // the payload's tag
    EXPECT_EQ(i.handle_message(second).error(), errc::decrypt_failed);
  }
  {
    auto [i, r] = fresh(3);
    ASSERT_TRUE(r.handle_message(*i.poll_message()));
    ASSERT_TRUE(i.handle_message(*r.poll_message()));
    ASSERT_TRUE(i.is_complete());
    bytes third = *i.poll_message();
    third[third.size() / 2] ^= 0x04;
    EXPECT_EQ(r.handle_message(third).error(), errc::decrypt_failed);
    EXPECT_FALSE(r.is_complete());
  }
  {
    auto [i, r] = fresh(4);
    ASSERT_TRUE(r.handle_message(*i.poll_message()));
    bytes second = *r.poll_message();
    EXPECT_EQ(i.handle_message(bytes_view(second).first(90)).error(), errc::handshake_failed);
  }
  {
    auto [i, r] = fresh(5);
    EXPECT_EQ(r.handle_message(bytes(65536, 1)).error(), errc::message_too_large);
    EXPECT_TRUE(r.has_failed());
  }
  {
    auto [i, r] = fresh(6);
    EXPECT_EQ(r.handle_message(bytes(5, 1)).error(), errc::handshake_failed);  // shorter than e
  }
  {
    auto [i, r] = fresh(7);
    EXPECT_EQ(i.handle_message(bytes(200, 1)).error(), errc::decrypt_failed);  // garbage message 2
  }
}

TEST(noise_handshake, oversized_local_payload_is_refused_up_front) {
  seeded_random rng(1);
  std::vector<std::string> muxers(2000, std::string(40, 'm'));
  EXPECT_EQ(handshake::responder(identity(1), muxers, rng).error(), errc::message_too_large);
}

}  // namespace
}  // namespace p2p::noise
