// The transport seam: how the host gets connections, whatever carries them. A transport
// dials and listens on the multiaddrs it understands and hands over raw byte streams,
// which the host's upgrader secures and multiplexes (connections/README.md in
// libp2p/specs). Implementations: tcp::transport (src/p2p/transport/tcp), the memory
// transport of the tests (testing/memory_network.hpp); every one passes the transport
// conformance suite (testing/transport_conformance.hpp).
//
// Contract:
// - can_dial / can_listen look at the address only (no I/O); an address ending in
//   /p2p/<peer ID> is the same address for the transport (the host checks the peer).
// - dial completes with a connected stream or an error; the caller bounds it (cancelling
//   the calling coroutine ends it, and nothing is left open). A refused or unreachable
//   address is an error, never a hang.
// - listen binds at once; listening on port 0 (or /memory/0) picks a free one, and the
//   listener's address() is the real, dialable one.
// - accept() completes with the next inbound connection; after close() (or if the
//   listener cannot go on) it completes with errc::closed. Temporary failures, such as
//   running out of file descriptors, are the transport's to ride out: they never end
//   accept() with an error while the listener can still work.
// - The raw stream's local and remote addresses are those of this connection: for an
//   inbound one, local is the listener's address and remote the dialer's.
//
// A transport that brings its own security and multiplexing (QUIC) will hand over
// connections that skip the upgrader; that variant comes with it.
//
// Threading: one io_context thread, as everything in the stack.
#pragma once

#include "p2p/core/multiaddr.hpp"
#include "p2p/core/stream.hpp"

#include <memory>
#include <string_view>

namespace p2p {

// One connection as a transport hands it over, before security.
struct raw_connection {
  std::unique_ptr<stream> raw;
  multiaddr local_address;
  multiaddr remote_address;
};

struct transport_dial_options {
  // Leave from the port of one of this transport's listeners (of the address family
  // dialed), so that a NAT maps the connection like the listen address: what hole
  // punching needs. Ignored by transports without ports.
  bool from_listen_port = false;
};

class transport_listener {
 public:
  virtual ~transport_listener() = default;
  virtual task<result<raw_connection>> accept() = 0;
  // Ends a pending accept() (errc::closed); connections already accepted stay.
  virtual void close() = 0;
  // As bound: the real port when listening on port 0.
  virtual const multiaddr& address() const noexcept = 0;
};

class transport {
 public:
  virtual ~transport() = default;
  // Short lowercase name for logs and status: "tcp", "memory".
  virtual std::string_view name() const noexcept = 0;
  virtual bool can_dial(const multiaddr& address) const = 0;
  virtual bool can_listen(const multiaddr& address) const = 0;
  virtual task<result<raw_connection>> dial(const multiaddr& address, transport_dial_options options = {}) = 0;
  virtual result<std::unique_ptr<transport_listener>> listen(const multiaddr& address) = 0;
};

}  // namespace p2p
