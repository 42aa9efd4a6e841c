#include "p2p/security/noise/handshake.hpp"

#include <algorithm>
#include <stdexcept>

namespace p2p::noise {

std::optional<std::string> select_muxer(const std::vector<std::string>& initiator_muxers,
                                        const std::vector<std::string>& responder_muxers) {
  for (const auto& candidate : initiator_muxers)
    if (std::find(responder_muxers.begin(), responder_muxers.end(), candidate) != responder_muxers.end())
      return candidate;
  return std::nullopt;
}

handshake::handshake(role r, std::optional<peer_id> expected_remote, std::vector<std::string> muxers,
                     xx_handshake_state state, bytes local_payload)
    : role_(r),
      expected_remote_(std::move(expected_remote)),
      muxers_(std::move(muxers)),
      state_(std::move(state)),
      local_payload_(std::move(local_payload)) {}

result<handshake> handshake::create(role r, const crypto::private_key& identity,
                                    std::optional<peer_id> expected_remote, std::vector<std::string> muxers,
                                    random& rng) {
  std::uint8_t secret[dh_length];
  rng.fill(secret);
  auto local_static = x25519_key_pair::from_secret(secret);
  rng.fill(secret);
  auto ephemeral = x25519_key_pair::from_secret(secret);
  std::fill(std::begin(secret), std::end(secret), 0);
  if (!local_static || !ephemeral) return errc::handshake_failed;

  bytes signed_data = to_bytes(static_key_signature_prefix);
  append(signed_data, local_static->public_key());
  auto signature = identity.sign(signed_data);
  if (!signature) return errc::handshake_failed;

  handshake_payload payload;
  payload.identity_key = identity.public_key().to_protobuf();
  payload.identity_sig = std::move(*signature);
  if (!muxers.empty()) payload.extensions.emplace().stream_muxers = muxers;
  bytes encoded = encode_payload(payload);
  // Our payload travels in message 2 (responder) or 3 (initiator); the larger fixed
  // part is message 2's: e (32) + encrypted s (48) + tag (16).
  if (encoded.size() > max_message_length - (dh_length + dh_length + tag_length + tag_length))
    return errc::message_too_large;

  handshake hs(r, std::move(expected_remote), std::move(muxers),
               xx_handshake_state(r, {}, std::move(*local_static), std::move(*ephemeral)), std::move(encoded));
  if (r == role::initiator) {
    bytes first;
    if (auto w = hs.state_.write_message({}, first); !w) return errc::handshake_failed;
    hs.outgoing_ = std::move(first);
  }
  return hs;
}

result<handshake> handshake::initiator(const crypto::private_key& identity, std::optional<peer_id> expected_remote,
                                       std::vector<std::string> muxers, random& rng) {
  return create(role::initiator, identity, std::move(expected_remote), std::move(muxers), rng);
}

result<handshake> handshake::responder(const crypto::private_key& identity, std::vector<std::string> muxers,
                                       random& rng) {
  return create(role::responder, identity, std::nullopt, std::move(muxers), rng);
}

std::optional<bytes> handshake::poll_message() {
  auto out = std::move(outgoing_);
  outgoing_.reset();
  return out;
}

result<void> handshake::handle_message(bytes_view message) {
  if (failed_ || complete_) return errc::protocol_violation;
  auto r = process(message);
  if (!r) {
    failed_ = true;
    outgoing_.reset();
  }
  return r;
}

result<void> handshake::process(bytes_view message) {
  auto payload = state_.read_message(message);
  if (!payload) return payload.error();
  if (role_ == role::responder && !state_.is_complete()) {
    // Message 1's payload is unauthenticated and carries nothing for libp2p: ignored.
    bytes reply;
    if (auto w = state_.write_message(local_payload_, reply); !w) return w.error();
    outgoing_ = std::move(reply);
    return {};
  }
  // Message 2 (we initiate) or 3 (we respond): the remote's signed payload.
  if (auto f = finish(*payload); !f) return f.error();
  if (role_ == role::initiator) {
    bytes last;
    if (auto w = state_.write_message(local_payload_, last); !w) return w.error();
    outgoing_ = std::move(last);
  }
  auto [initiator_to_responder, responder_to_initiator] = state_.split();
  auto& done = *result_;
  done.handshake_hash = state_.handshake_hash();
  if (role_ == role::initiator) {
    done.sender = std::move(initiator_to_responder);
    done.receiver = std::move(responder_to_initiator);
  } else {
    done.sender = std::move(responder_to_initiator);
    done.receiver = std::move(initiator_to_responder);
  }
  complete_ = true;
  return {};
}

result<void> handshake::finish(bytes_view remote_payload) {
  auto payload = decode_payload(remote_payload);
  if (!payload) return payload.error();
  auto key = crypto::public_key::from_protobuf(payload->identity_key);
  if (!key) return key.error();

  const auto& remote_static = *state_.remote_static();
  bytes signed_data = to_bytes(static_key_signature_prefix);
  append(signed_data, remote_static);
  if (!key->verify(signed_data, payload->identity_sig)) return errc::invalid_signature;

  if (expected_remote_ && !expected_remote_->matches(*key)) return errc::peer_id_mismatch;

  noise_extensions extensions = payload->extensions.value_or(noise_extensions{});
  std::optional<std::string> muxer = role_ == role::initiator ? select_muxer(muxers_, extensions.stream_muxers)
                                                              : select_muxer(extensions.stream_muxers, muxers_);
  result_.emplace(handshake_result{
      .remote_public_key = *key,
      .remote_peer = peer_id::from_public_key(*key),
      .remote_extensions = std::move(extensions),
      .muxer = std::move(muxer),
      .sender = {},
      .receiver = {},
      .handshake_hash = {},
  });
  return {};
}

handshake_result handshake::take_result() {
  if (!complete_ || !result_) throw std::logic_error("noise::handshake::take_result before completion");
  handshake_result out = std::move(*result_);
  result_.reset();
  return out;
}

}  // namespace p2p::noise
