// libp2p ping (specs ping/ping.md, r0 2022-12-09), protocol ID "/ipfs/ping/1.0.0".
//
// The dialer writes 32 random bytes, the listener echoes them, the dialer measures the
// round trip. Several pings may share one stream; the dialer ends the exchange by
// closing its write side, after which the listener closes its own.
//
// Both sides are written against the p2p::stream seam, so they run over any muxed
// stream. They take no timeouts and enforce no per-peer stream limits: the caller (the
// host) wraps them in a per-operation timeout, and accepts at most two inbound ping
// streams per peer as the spec asks (and keeps at most one outbound).
//
// Error rule for every function here: on failure the stream has been reset before the
// function returns (a half-done echo cannot be resumed), so the caller just drops it.
#pragma once

#include "p2p/core/clock.hpp"
#include "p2p/core/random.hpp"
#include "p2p/core/stream.hpp"

#include <cstddef>
#include <string_view>

namespace p2p::ping {

inline constexpr std::string_view protocol_id = "/ipfs/ping/1.0.0";
inline constexpr std::size_t payload_size = 32;

// Dialer side, one round trip on an open ping stream: writes 32 bytes from `rng`,
// reads 32 bytes back and returns the time between starting the write and receiving
// the last echoed byte, measured with `now`. Call again on the same stream for the
// next ping.
// Errors: protocol_violation (echo differs), truncated (stream ended inside the echo),
// closed (remote closed before echoing anything), stream_reset, connection_closed.
task<result<duration>> ping_once(stream& s, random& rng, clock& now);

// Dialer side, after the last ping: closes our write side and waits for the listener
// to close its side. Errors: protocol_violation (unexpected bytes), stream_reset, ...
task<result<void>> finish(stream& s);

// Listener side: echoes 32-byte payloads until the remote closes its write side, then
// closes ours and returns success. Echoes each complete payload as soon as it arrives.
// Errors: truncated (remote closed in the middle of a payload), stream_reset,
// connection_closed, and write errors.
task<result<void>> serve(stream& s);

}  // namespace p2p::ping
