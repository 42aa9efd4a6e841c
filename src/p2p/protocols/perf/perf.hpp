// libp2p perf (specs perf/perf.md, r0 2022-11-16), protocol ID "/perf/1.0.0".
//
// Client: writes the number of bytes it wants back as a big-endian u64, uploads N
// bytes, closes its write side, then reads until the server closes. Server: reads the
// u64, drains the upload until EOF, only then sends the requested bytes and closes.
//
// The spec says perf SHOULD NOT be enabled by default (a client makes the server do a
// lot of work); the host registers `serve` only when the user asks for it.
//
// Error rule for every function here: on failure the stream has been reset before the
// function returns, so the caller just drops it. No timeouts inside: the caller wraps
// the calls if it wants one (and resets the stream when it cancels them).
#pragma once

#include "p2p/core/clock.hpp"
#include "p2p/core/stream.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

namespace p2p::perf {

inline constexpr std::string_view protocol_id = "/perf/1.0.0";
// Size of the one buffer each side allocates and of every write (yamux splits it into
// frames as its window allows).
inline constexpr std::size_t chunk_size = 64 * 1024;

struct stats {
  std::uint64_t upload_bytes = 0;    // payload written, not counting the 8-byte header
  std::uint64_t download_bytes = 0;  // payload read back
  duration upload_time{};            // from the first write until our write side is closed
  duration download_time{};          // from closing our write side until the server's EOF
};

// Called with the numbers so far (the phase in progress has its time so far).
using progress_callback = std::function<void(const stats&)>;

struct client_options {
  std::uint64_t upload_bytes = 0;    // zero is valid
  std::uint64_t download_bytes = 0;  // zero and 2^64-1 are valid
  progress_callback on_progress{};   // optional
  duration progress_interval = std::chrono::seconds(1);  // at most one callback per interval
};

// Runs one perf exchange on an open "/perf/1.0.0" stream and returns what it measured
// with `now`. `on_progress` runs inline on the calling coroutine between reads/writes;
// it must not use the stream.
// Errors: truncated (server closed before sending everything asked for),
// protocol_violation (server sent more), stream_reset, connection_closed, write errors.
task<result<stats>> run_client(stream& s, clock& now, client_options options);

// Serves one perf stream. Memory use is one chunk_size buffer whatever the client asks.
// Errors: truncated (stream ended inside the 8-byte header), stream_reset,
// connection_closed, write errors.
task<result<void>> serve(stream& s);

}  // namespace p2p::perf
