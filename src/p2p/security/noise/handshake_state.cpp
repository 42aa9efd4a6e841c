#include "p2p/security/noise/handshake_state.hpp"

#include <algorithm>

namespace p2p::noise {

symmetric_state::symmetric_state(std::string_view name) {
  // Names up to HASHLEN bytes are zero-padded instead of hashed
  // ("Noise_XX_25519_ChaChaPoly_SHA256" is exactly 32 bytes).
  if (name.size() <= hash_length) {
    std::copy(name.begin(), name.end(), h_.begin());
  } else {
    h_ = sha256(as_bytes(name));
  }
  ck_ = h_;
}

void symmetric_state::mix_hash(bytes_view data) noexcept {
  h_ = sha256(h_, data);
}

void symmetric_state::mix_key(bytes_view input_key_material) {
  auto [chaining_key, temp_key] = hkdf2(ck_, input_key_material);
  ck_ = chaining_key;
  cipher_ = cipher_state(temp_key);  // HASHLEN == 32: no truncation needed
}

result<void> symmetric_state::encrypt_and_hash(bytes_view plaintext, bytes& out) {
  const std::size_t offset = out.size();
  out.resize(offset + plaintext.size() + (has_key() ? tag_length : 0));
  auto written = cipher_.encrypt(h_, plaintext, mutable_bytes_view(out).subspan(offset));
  if (!written) {
    out.resize(offset);
    return written.error();
  }
  mix_hash(bytes_view(out).subspan(offset));
  return {};
}

result<bytes> symmetric_state::decrypt_and_hash(bytes_view ciphertext) {
  bytes plaintext(ciphertext.size());
  auto written = cipher_.decrypt(h_, ciphertext, plaintext);
  if (!written) return written.error();
  plaintext.resize(*written);
  mix_hash(ciphertext);
  return plaintext;
}

std::pair<cipher_state, cipher_state> symmetric_state::split() const {
  auto [k1, k2] = hkdf2(ck_, {});
  return {cipher_state(k1), cipher_state(k2)};
}

xx_handshake_state::xx_handshake_state(role r, bytes_view prologue, x25519_key_pair local_static,
                                       x25519_key_pair ephemeral)
    : role_(r), symmetric_(protocol_name), static_(std::move(local_static)), ephemeral_(std::move(ephemeral)) {
  symmetric_.mix_hash(prologue);
}

bool xx_handshake_state::is_my_turn() const noexcept {
  if (failed_ || step_ >= 3) return false;
  const bool initiator_writes = step_ % 2 == 0;
  return initiator_writes == (role_ == role::initiator);
}

result<void> xx_handshake_state::mix_dh(const x25519_key_pair& local, bytes_view remote) {
  auto shared = local.dh(remote);
  if (!shared) return shared.error();
  symmetric_.mix_key(*shared);
  return {};
}

result<void> xx_handshake_state::write_message(bytes_view payload, bytes& out) {
  if (!is_my_turn()) return errc::protocol_violation;
  // Size of the tokens before the payload, and whether the payload is encrypted.
  static constexpr std::size_t token_bytes[3] = {dh_length, dh_length + dh_length + tag_length,
                                                 dh_length + tag_length};
  const std::size_t payload_overhead = step_ == 0 ? 0 : tag_length;
  if (payload.size() > max_message_length - token_bytes[step_] - payload_overhead)
    return errc::message_too_large;

  const std::size_t start = out.size();
  auto fail = [&](error_code ec) -> result<void> {
    out.resize(start);
    failed_ = true;
    return ec;
  };
  const auto& e = ephemeral_.public_key();
  if (step_ == 0) {  // -> e
    out.insert(out.end(), e.begin(), e.end());
    symmetric_.mix_hash(e);
  } else if (step_ == 1) {  // <- e, ee, s, es   (responder)
    out.insert(out.end(), e.begin(), e.end());
    symmetric_.mix_hash(e);
    if (auto r = mix_dh(ephemeral_, *remote_ephemeral_); !r) return fail(r.error());
    if (auto r = symmetric_.encrypt_and_hash(static_.public_key(), out); !r) return fail(r.error());
    if (auto r = mix_dh(static_, *remote_ephemeral_); !r) return fail(r.error());
  } else {  // -> s, se   (initiator)
    if (auto r = symmetric_.encrypt_and_hash(static_.public_key(), out); !r) return fail(r.error());
    if (auto r = mix_dh(static_, *remote_ephemeral_); !r) return fail(r.error());
  }
  if (auto r = symmetric_.encrypt_and_hash(payload, out); !r) return fail(r.error());
  ++step_;
  return {};
}

result<bytes> xx_handshake_state::read_message(bytes_view message) {
  if (failed_ || step_ >= 3 || is_my_turn()) return errc::protocol_violation;
  auto fail = [&](error_code ec) -> result<bytes> {
    failed_ = true;
    return ec;
  };
  if (message.size() > max_message_length) return fail(errc::message_too_large);

  auto take_public_key = [&](dh_public_key& key) {
    std::copy_n(message.begin(), dh_length, key.begin());
    message = message.subspan(dh_length);
  };
  if (step_ == 0) {  // -> e   (we are the responder)
    if (message.size() < dh_length) return fail(errc::handshake_failed);
    take_public_key(remote_ephemeral_.emplace());
    symmetric_.mix_hash(*remote_ephemeral_);
  } else if (step_ == 1) {  // <- e, ee, s, es   (we are the initiator)
    if (message.size() < dh_length + dh_length + tag_length + tag_length) return fail(errc::handshake_failed);
    take_public_key(remote_ephemeral_.emplace());
    symmetric_.mix_hash(*remote_ephemeral_);
    if (auto r = mix_dh(ephemeral_, *remote_ephemeral_); !r) return fail(r.error());
    auto s = symmetric_.decrypt_and_hash(message.first(dh_length + tag_length));
    if (!s) return fail(s.error());
    message = message.subspan(dh_length + tag_length);
    std::copy_n(s->begin(), dh_length, remote_static_.emplace().begin());
    if (auto r = mix_dh(ephemeral_, *remote_static_); !r) return fail(r.error());
  } else {  // -> s, se   (we are the responder)
    if (message.size() < dh_length + tag_length + tag_length) return fail(errc::handshake_failed);
    auto s = symmetric_.decrypt_and_hash(message.first(dh_length + tag_length));
    if (!s) return fail(s.error());
    message = message.subspan(dh_length + tag_length);
    std::copy_n(s->begin(), dh_length, remote_static_.emplace().begin());
    if (auto r = mix_dh(ephemeral_, *remote_static_); !r) return fail(r.error());
  }
  auto payload = symmetric_.decrypt_and_hash(message);
  if (!payload) return fail(payload.error());
  ++step_;
  return payload;
}

}  // namespace p2p::noise
