// The stream-muxer seam: a secured connection carrying many independent streams.
// Implemented by yamux (and mplex later); the muxer conformance suite in testing/
// runs against every implementation.
#pragma once

#include "p2p/core/stream.hpp"

#include <memory>

namespace p2p {

class muxed_connection {
 public:
  virtual ~muxed_connection() = default;

  // Drives the connection (reader, writer and timer loops) until it ends. Exactly one
  // caller, the connection's owner, awaits it; it returns after close(), a fatal
  // protocol error or the underlying stream ending, once every loop has finished.
  virtual task<void> run() = 0;

  // Opens a new outbound stream. Errors: connection_closed, resource_limit.
  virtual task<result<std::unique_ptr<stream>>> open_stream() = 0;
  // Waits for the next inbound stream. errc::connection_closed once the connection ended.
  virtual task<result<std::unique_ptr<stream>>> accept_stream() = 0;

  // Graceful close: tells the peer (yamux GoAway), stops accepting, ends run().
  // Open streams are reset. Never blocks; safe to call more than once.
  virtual void close() = 0;
  virtual bool is_closed() const noexcept = 0;
};

}  // namespace p2p
