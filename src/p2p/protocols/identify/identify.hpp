// libp2p identify (specs identify/README.md, v1.0.0 r1 2021-08-09):
// "/ipfs/id/1.0.0" and "/ipfs/id/push/1.0.0".
//
// identify: the dialer opens a stream; the identified peer writes one Identify message
// and closes. identify/push: a peer opens a stream, writes an Identify message with
// its changed information and closes. Both carry the same protobuf message, framed
// with an unsigned-varint length prefix (as go-, js- and rust-libp2p do).
//
// A sender may split one Identify into several framed parts (go-libp2p sends a large
// signedPeerRecord in a second part); the receiver reads parts until EOF and merges
// them with protobuf semantics (later scalar fields win, repeated fields append),
// which is exactly decoding their concatenation.
//
// The message codec is sans-IO (message.hpp); the two coroutines here are thin
// shells over the p2p::stream seam. Error rule of the coroutines: on failure the
// stream has been reset before they return, so the caller just drops it.
#pragma once

#include "p2p/core/stream.hpp"
#include "p2p/protocols/identify/message.hpp"

#include <cstddef>
#include <string_view>

namespace p2p::identify {

inline constexpr std::string_view protocol_id = "/ipfs/id/1.0.0";
inline constexpr std::string_view push_protocol_id = "/ipfs/id/push/1.0.0";

// Sends `m` as one length-prefixed part, then closes our write side. Used by the
// identify responder and by the push sender.
// Errors: the stream's write/close errors.
task<result<void>> write_message(stream& s, const message& m);

// Reads length-prefixed parts until the remote closes its write side, merges them and
// decodes the result; then closes our write side (we never send on these streams; an
// error from that close is ignored since the message is already complete). Used by the
// identify requester and the push receiver. `limit` bounds all parts together.
// Errors: message_too_large (over `limit`), protocol_violation (no part at all, or more
// than max_parts), truncated (EOF inside a part), varint errors of a prefix,
// decode's errors, stream_reset, connection_closed.
task<result<message>> read_message(stream& s, std::size_t limit = default_max_size);

}  // namespace p2p::identify
