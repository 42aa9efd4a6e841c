// The libp2p Noise handshake payload (libp2p/specs noise/README.md, "The libp2p
// Handshake Payload"), carried encrypted in XX messages 2 and 3:
//
//   message NoiseExtensions {
//     repeated bytes webtransport_certhashes = 1;
//     repeated string stream_muxers = 2;
//   }
//   message NoiseHandshakePayload {
//     optional bytes identity_key = 1;       // PublicKey protobuf (peer-ids spec)
//     optional bytes identity_sig = 2;       // sig over "noise-libp2p-static-key:" || s
//     optional NoiseExtensions extensions = 4;
//   }
//
// Sans-IO; no Asio. The decoder never throws (except std::bad_alloc) and skips
// unknown fields, as protobuf requires.
#pragma once

#include "p2p/core/bytes.hpp"
#include "p2p/core/error.hpp"

#include <optional>
#include <string>
#include <vector>

namespace p2p::noise {

struct noise_extensions {
  std::vector<bytes> webtransport_certhashes;
  std::vector<std::string> stream_muxers;

  friend bool operator==(const noise_extensions&, const noise_extensions&) = default;
};

struct handshake_payload {
  bytes identity_key;
  bytes identity_sig;
  std::optional<noise_extensions> extensions;  // absent when the field was not sent

  friend bool operator==(const handshake_payload&, const handshake_payload&) = default;
};

// Fields in order 1, 2, 4; `extensions` only when set.
bytes encode_payload(const handshake_payload& payload);

// Errors: truncated/malformed for broken protobuf, and malformed for a known field
// with the wrong wire type. Repeated occurrences follow protobuf merge rules: the
// last identity_key/identity_sig wins, extensions messages are merged (lists appended).
result<handshake_payload> decode_payload(bytes_view encoded);

}  // namespace p2p::noise
