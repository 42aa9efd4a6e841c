// libp2p Noise security transport ("/noise"): runs the XX handshake over a raw
// connection and returns an encrypted, authenticated p2p::secured_connection.
// Spec: libp2p/specs noise/README.md (r3 / 2022-09-20, NoiseExtensions) and
// connections/inlined-muxer-negotiation.md. The protocol logic lives in the sans-IO
// handshake (handshake.hpp) and frame codec (transport.hpp); this is the Asio shell.
#pragma once

#include "p2p/core/keys.hpp"
#include "p2p/core/peer_id.hpp"
#include "p2p/core/random.hpp"
#include "p2p/core/stream.hpp"
#include "p2p/security/secured_connection.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace p2p::noise {

inline constexpr std::string_view protocol_id = "/noise";

// Dials side (Noise initiator). `muxers` are our stream muxers in preference order,
// offered for inlined negotiation (empty: offer none); the result's early_muxer() is
// the first of them the responder also offered, if any. `expected_remote`, when set,
// must be the responder's proven identity. `rng` supplies the session keys and must
// outlive the call only (not the connection).
// Errors: whatever the raw stream reports (closed, stream_reset, ...), the handshake
// core's errors (decrypt_failed, invalid_signature, peer_id_mismatch,
// handshake_failed, malformed, ...; see handshake.hpp). On error `raw` is reset and
// destroyed. The handshake has no timeout of its own: the caller bounds it.
task<result<std::unique_ptr<secured_connection>>> secure_outbound(std::unique_ptr<stream> raw,
                                                                  const crypto::private_key& identity,
                                                                  std::optional<peer_id> expected_remote,
                                                                  std::vector<std::string> muxers, random& rng);

// Listening side (Noise responder); the same contract without an expected peer.
task<result<std::unique_ptr<secured_connection>>> secure_inbound(std::unique_ptr<stream> raw,
                                                                 const crypto::private_key& identity,
                                                                 std::vector<std::string> muxers, random& rng);

// The returned connection owns `raw`:
//   write        encrypts into 65519-byte-plaintext frames and hands up to ~256 KiB of
//                frames to raw->write at once.
//   write_gather encrypts all parts (frames may span parts) into the send buffer before
//                it first suspends, then hands every frame to one raw->write; the
//                parts are never joined (yamux sends stream payloads this way).
//   read_some    reads up to 256 KiB from raw at once; complete frames that fit the
//                caller's buffer are decrypted straight into it, a larger frame is
//                decrypted in place and handed out over several calls.
//                errc::closed at a clean end of stream, errc::truncated when the stream
//                ends inside a frame. A frame that fails authentication fails the
//                connection: raw is reset and every later read and write returns
//                errc::decrypt_failed.
//   close_write  raw->close_write();  reset  raw->reset().
// Memory: one receive buffer (~320 KiB) and one send buffer (~256 KiB, or the largest
// gather write: up to yamux's output limit of 1 MiB), each allocated on first use.

}  // namespace p2p::noise
