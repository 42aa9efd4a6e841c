// The stream seam: one virtual interface above the security layer.
//
// A secured connection (Noise over TCP) and every muxed stream (yamux) is a
// `p2p::stream`; protocols are written once against it. Semantics follow go-libp2p's
// core/network/mux.go:
//   read_some    at least one byte, or errc::closed once the remote closed its write
//                side and all data was consumed, or errc::stream_reset.
//   write        all bytes or an error; waits for flow control (backpressure).
//   close_write  half-close: the remote reads EOF after what we wrote; we can still read.
//   reset        abort both directions at once; pending operations end with stream_reset.
//
// Threading: a node runs its whole stack on one io_context thread; streams are used
// from that thread only. Only one read and one write may be outstanding at a time.
#pragma once

#include "p2p/core/bytes.hpp"
#include "p2p/core/error.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <span>

namespace p2p {

namespace asio = boost::asio;

template <class T>
using task = asio::awaitable<T>;

class stream {
 public:
  virtual ~stream() = default;

  virtual task<result<std::size_t>> read_some(mutable_bytes_view buffer) = 0;
  virtual task<result<void>> write(bytes_view data) = 0;
  // Gather write: writes the concatenation of `parts`, with write()'s contract. Every
  // part is read before the call first suspends, so the caller may release or reuse
  // the parts' memory as soon as the call has suspended. The default joins the parts
  // and calls write(); a transport that can avoid that copy overrides it.
  virtual task<result<void>> write_gather(std::span<const bytes_view> parts) {
    bytes joined;
    for (const bytes_view part : parts) append(joined, part);
    co_return co_await write(joined);
  }
  virtual task<result<void>> close_write() = 0;
  virtual void reset() = 0;
};

// Fills `buffer` completely; errc::closed if the stream ends first (truncated data).
task<result<void>> read_exact(stream& s, mutable_bytes_view buffer);

// Reads until the remote closes its write side. errc::message_too_large past `limit`.
task<result<bytes>> read_to_end(stream& s, std::size_t limit);

// Reads one unsigned-varint length-prefixed message (libp2p's usual framing) with
// the length capped at `limit`. Reads exactly the message's bytes and nothing more,
// so the stream can be handed to the next protocol afterwards.
task<result<bytes>> read_length_prefixed(stream& s, std::size_t limit);
// Writes `message` with its unsigned-varint length prefix, in one write.
task<result<void>> write_length_prefixed(stream& s, bytes_view message);

}  // namespace p2p
