// The libp2p Noise handshake core (libp2p/specs noise/README.md): XX with an empty
// prologue, a fresh X25519 static key per session authenticated by the libp2p identity
// key, NoiseExtensions for inlined muxer negotiation
// (connections/inlined-muxer-negotiation.md).
//
// Sans-IO, fed one handshake message at a time (the frame body, without the 2-byte
// length prefix):
//
//   auto hs = handshake::initiator(identity, expected, muxers, rng);   // or responder()
//   loop:  while (auto m = hs->poll_message()) send(*m);
//          if (hs->is_complete()) break;
//          if (auto r = hs->handle_message(receive()); !r) fail(r.error());
//   auto done = hs->take_result();
//
// Message contents: the initiator's first message carries an empty payload; message 2
// carries the responder's signed payload and its muxers, message 3 the initiator's.
// Remote data (identity, extensions) is exposed only after its signature checked out.
// No Asio; never throws except std::bad_alloc.
#pragma once

#include "p2p/core/bytes.hpp"
#include "p2p/core/error.hpp"
#include "p2p/core/keys.hpp"
#include "p2p/core/peer_id.hpp"
#include "p2p/core/random.hpp"
#include "p2p/security/noise/cipher_state.hpp"
#include "p2p/security/noise/handshake_state.hpp"
#include "p2p/security/noise/payload.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace p2p::noise {

// Prefix of the data signed by the identity key: prefix || noise static public key.
inline constexpr std::string_view static_key_signature_prefix = "noise-libp2p-static-key:";

// The inlined muxer choice: the first entry of the initiator's list that the responder
// also lists; nullopt when either list is empty or they share nothing (the upgrader
// then negotiates the muxer with multistream-select).
std::optional<std::string> select_muxer(const std::vector<std::string>& initiator_muxers,
                                        const std::vector<std::string>& responder_muxers);

struct handshake_result {
  crypto::public_key remote_public_key;
  peer_id remote_peer;
  noise_extensions remote_extensions;  // empty when the peer sent none
  std::optional<std::string> muxer;    // select_muxer() over both sides' lists
  cipher_state sender;                 // encrypts what we send
  cipher_state receiver;               // decrypts what we receive
  digest handshake_hash{};             // Noise h, for channel binding
};

class handshake {
 public:
  // Draws the session's static and ephemeral X25519 keys from `rng` (static first)
  // and signs the static key. The initiator's first message is ready right away.
  // `expected_remote` (optional) must match the responder's proven identity.
  // Errors: message_too_large when the payload (muxer list) does not fit one 65535-byte
  // message; handshake_failed when key generation or signing fails.
  static result<handshake> initiator(const crypto::private_key& identity, std::optional<peer_id> expected_remote,
                                     std::vector<std::string> muxers, random& rng);
  static result<handshake> responder(const crypto::private_key& identity, std::vector<std::string> muxers,
                                     random& rng);

  // The next message to send, if one is due (frame body; prefix it with its length).
  std::optional<bytes> poll_message();

  // Consumes one received message. Errors (all end the handshake; later calls return
  // protocol_violation):
  //   protocol_violation  a message arrived when none was expected
  //   message_too_large   longer than 65535 bytes
  //   handshake_failed    too short, or a low-order X25519 public key
  //   decrypt_failed      a tampered or misdirected message
  //   malformed/truncated payload protobuf; invalid_key/unsupported_key_type identity key
  //   invalid_signature   the identity key did not sign this session's static key
  //   peer_id_mismatch    the responder is not `expected_remote`
  result<void> handle_message(bytes_view message);

  // True once the last message was handled (initiator: and message 3 is queued).
  bool is_complete() const noexcept { return complete_; }
  bool has_failed() const noexcept { return failed_; }

  // Moves the results out. Precondition: is_complete() (throws std::logic_error
  // otherwise — a bug in the caller).
  handshake_result take_result();

 private:
  handshake(role r, std::optional<peer_id> expected_remote, std::vector<std::string> muxers,
            xx_handshake_state state, bytes local_payload);
  static result<handshake> create(role r, const crypto::private_key& identity, std::optional<peer_id> expected_remote,
                                  std::vector<std::string> muxers, random& rng);
  result<void> process(bytes_view message);
  result<void> finish(bytes_view remote_payload);

  role role_;
  std::optional<peer_id> expected_remote_;
  std::vector<std::string> muxers_;
  xx_handshake_state state_;
  bytes local_payload_;  // our encoded NoiseHandshakePayload
  std::optional<bytes> outgoing_;
  std::optional<handshake_result> result_;
  bool complete_ = false;
  bool failed_ = false;
};

}  // namespace p2p::noise
