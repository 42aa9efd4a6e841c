// multistream-select 1.0 over a p2p::stream: coroutine shells around the sans-IO
// dialer and listener (dialer.hpp, listener.hpp).
//
// Every function here reads exactly the negotiation's bytes and not one more (the
// length prefix byte by byte, then the body), so when it returns the stream can be
// handed to the next protocol (security, muxer, application) without losing data.
//
// Buffering assumption: the listener sends its header eagerly and the dialer writes its
// header and first proposal before reading, so both sides write about 20-1050 bytes
// before reading. Every libp2p transport accepts that much unread (a yamux window is
// 256 KiB); a pipe that buffers less than one header (20 bytes) could deadlock.
//
// On failure the stream is left as it is; the caller resets or closes it.
#pragma once

#include "p2p/core/stream.hpp"

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace p2p::multistream {

// Dialer: sends the header with protocols[0], then proposes the others in order after
// each "na". Returns the protocol the listener accepted.
// Errors: invalid_argument (empty list or an invalid id, see is_valid_protocol_id),
// protocol_not_supported (all refused), protocol_violation, and the stream's errors
// (closed, stream_reset, ...). `protocols` must stay alive until the task completes.
task<result<std::string>> select_one_of(stream& s, std::span<const std::string> protocols);

// Listener: answers proposals until one is supported, and returns it. "ls" is refused
// with "na". Errors: protocol_violation and the stream's errors; a dialer that gives up
// after "na" shows up as the stream's error (usually closed).
task<result<std::string>> handle(stream& s, std::function<bool(std::string_view)> is_supported);
// As above, serving exactly `protocols` and answering "ls" with them. `protocols` must
// stay alive until the task completes.
task<result<std::string>> handle(stream& s, std::span<const std::string> protocols);

// Lazy (optimistic) dialer for a protocol the listener is expected to support: returns
// at once, without a round trip. The returned stream
//   - sends header + proposal in front of the first write's data, in one write (or on its
//     own when a read or close_write comes first);
//   - on its first read, consumes and checks the listener's header and echo before
//     returning application data; "na" there fails the read with protocol_not_supported,
//     and every later read and write fails with the same error (a bad answer: protocol_
//     violation). Writes issued before the answer is read go out optimistically;
//   - forwards close_write (after sending the handshake, so the listener still sees the
//     proposal) and reset.
// Owns `s`. Throws std::invalid_argument if `protocol` is not a valid id (a bug: ids are
// local configuration).
std::unique_ptr<stream> select_lazy(std::unique_ptr<stream> s, std::string protocol);

}  // namespace p2p::multistream
