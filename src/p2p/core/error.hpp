// Error vocabulary for the whole stack.
//
// Anything a peer, a file or the network can cause is reported as a `result<T>`
// (boost::system::result) carrying a `p2p::errc`. Decoders and sans-IO cores never
// throw: they parse untrusted bytes and run under fuzzers. Exceptions are kept for
// programming errors and start-up failures.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <type_traits>

namespace p2p {

template <class T>
using result = boost::system::result<T>;
using error_code = boost::system::error_code;

// One enum for the library. Each value's message is a sentence fragment that reads
// well after "failed: " in a user-facing message.
enum class errc {
  // Decoding untrusted bytes.
  truncated = 1,            // input ended before a complete value
  malformed,                // bytes do not follow the encoding
  varint_overflow,          // unsigned varint longer than 9 bytes or over 63 bits
  varint_not_minimal,       // unsigned varint with redundant trailing zero groups
  message_too_large,        // a length prefix or message over the configured limit
  unknown_multicodec,       // multiaddr/multihash/multibase code we do not know
  invalid_multiaddr,
  invalid_peer_id,
  unsupported_key_type,
  invalid_key,
  invalid_signature,
  // Protocol state machines.
  protocol_violation,       // the peer broke the protocol's rules
  protocol_not_supported,   // multistream-select answered "na" to every offer
  handshake_failed,
  decrypt_failed,           // AEAD authentication failed
  peer_id_mismatch,         // remote proved a different identity than the one dialed
  // Streams and connections.
  closed,                   // clean end of stream (EOF / FIN) or operation on a closed stream
  stream_reset,             // the stream was reset by either side
  connection_closed,        // the underlying connection went away
  timeout,
  cancelled,
  resource_limit,           // a configured limit (streams, buffered bytes, ...) was hit
  unreachable,              // no address of the peer could be dialed
  no_addresses,             // dial by peer ID without any known address
  invalid_argument,
  io_error,
};

const boost::system::error_category& p2p_category() noexcept;

inline error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), p2p_category()};
}

// Short human sentence for an error_code, for logs and the command line.
std::string describe(const error_code& ec);

}  // namespace p2p

template <>
struct boost::system::is_error_code_enum<p2p::errc> : std::true_type {};
