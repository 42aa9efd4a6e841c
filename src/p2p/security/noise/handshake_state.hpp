// Noise_XX_25519_ChaChaPoly_SHA256: the SymmetricState and HandshakeState objects of
// the Noise Protocol Framework (rev 34, sections 5.2 and 5.3) for the XX pattern:
//
//   -> e
//   <- e, ee, s, es
//   -> s, se
//
// Key pairs are injected (the caller draws them from its `random&`), so the state is
// deterministic for tests and test vectors. This layer knows nothing about libp2p:
// payloads are opaque bytes; see handshake.hpp for the libp2p handshake.
// Sans-IO; no Asio. Never throws except std::bad_alloc.
#pragma once

#include "p2p/core/bytes.hpp"
#include "p2p/core/error.hpp"
#include "p2p/security/noise/cipher_state.hpp"
#include "p2p/security/noise/primitives.hpp"

#include <optional>
#include <string_view>
#include <utility>

namespace p2p::noise {

inline constexpr std::string_view protocol_name = "Noise_XX_25519_ChaChaPoly_SHA256";
// Every Noise message (handshake or transport) is at most 65535 bytes.
inline constexpr std::size_t max_message_length = 65535;

class symmetric_state {
 public:
  // InitializeSymmetric(protocol_name).
  explicit symmetric_state(std::string_view name);

  void mix_hash(bytes_view data) noexcept;
  // MixKey: ck, temp_k = HKDF(ck, ikm, 2); the cipher gets temp_k and nonce 0.
  void mix_key(bytes_view input_key_material);
  // EncryptAndHash: appends the ciphertext to `out` and hashes it.
  result<void> encrypt_and_hash(bytes_view plaintext, bytes& out);
  // DecryptAndHash: the plaintext, or decrypt_failed.
  result<bytes> decrypt_and_hash(bytes_view ciphertext);
  // Split(): {initiator-to-responder, responder-to-initiator}.
  std::pair<cipher_state, cipher_state> split() const;

  bool has_key() const noexcept { return cipher_.has_key(); }
  const digest& handshake_hash() const noexcept { return h_; }

 private:
  digest ck_{};
  digest h_{};
  cipher_state cipher_;
};

enum class role { initiator, responder };

class xx_handshake_state {
 public:
  // Initialize(): XX has no pre-messages; `prologue` is empty for libp2p.
  // `ephemeral` is the key pair that GENERATE_KEYPAIR() would return for "e".
  xx_handshake_state(role r, bytes_view prologue, x25519_key_pair local_static, x25519_key_pair ephemeral);

  // True when it is this side's turn to write.
  bool is_my_turn() const noexcept;
  bool is_complete() const noexcept { return step_ == 3; }
  bool has_failed() const noexcept { return failed_; }

  // WriteMessage: appends the next handshake message (without any length prefix) to
  // `out`. Errors: protocol_violation when it is not our turn (or after a failure),
  // message_too_large when the message would exceed 65535 bytes (state unchanged).
  result<void> write_message(bytes_view payload, bytes& out);
  // ReadMessage: returns the decrypted payload. Errors: protocol_violation (not the
  // peer's turn, or after a failure), message_too_large (> 65535 bytes),
  // handshake_failed (too short, or a DH with an invalid public key), decrypt_failed
  // (authentication failed). Any error except protocol_violation fails the handshake.
  result<bytes> read_message(bytes_view message);

  // The remote static public key, once read (after message 2 for the initiator,
  // message 3 for the responder).
  const std::optional<dh_public_key>& remote_static() const noexcept { return remote_static_; }
  const dh_public_key& local_static_public() const noexcept { return static_.public_key(); }
  // h: the handshake hash (channel binding) once complete.
  const digest& handshake_hash() const noexcept { return symmetric_.handshake_hash(); }
  // Split() after the last message: {initiator-to-responder, responder-to-initiator}.
  std::pair<cipher_state, cipher_state> split() const { return symmetric_.split(); }

 private:
  result<void> mix_dh(const x25519_key_pair& local, bytes_view remote);

  role role_;
  symmetric_state symmetric_;
  x25519_key_pair static_;
  x25519_key_pair ephemeral_;
  std::optional<dh_public_key> remote_ephemeral_;
  std::optional<dh_public_key> remote_static_;
  int step_ = 0;  // index of the next message pattern (0, 1, 2; 3 = done)
  bool failed_ = false;
};

}  // namespace p2p::noise
