// An in-process network for tests: transports (p2p/transport/transport.hpp) that listen
// on and dial /memory/<n> addresses, each connection a memory_stream pair. Whole nodes
// can run on it without sockets: deterministic, on one io_context, nothing to wait for
// but the coroutines themselves. It passes the transport conformance suite
// (transport_conformance.hpp), as TCP does.
//
// Addresses: listening on /memory/0 picks a free number; /memory/<n> with n taken fails
// with address_in_use. Each dialed connection gets a fresh /memory/<n> as the dialer's
// local address (what the listener sees as remote). Dialing a number nobody listens on,
// or a listener whose accept queue holds `backlog` connections not yet accepted, fails
// with connection_refused, as TCP would. A trailing /p2p/<peer ID> is ignored.
//
// Lifetimes: the network's state is shared by its transports and listeners, so any of
// them may be destroyed in any order. Threading: one io_context thread.
#pragma once

#include "memory_stream.hpp"

#include "p2p/transport/transport.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace p2p::testing {

struct memory_network_options {
  memory_stream_options pipes;  // each connection's pipes (short reads, small buffers)
  std::size_t backlog = 128;    // connections a listener holds before accept()
};

class memory_network {
 public:
  explicit memory_network(boost::asio::any_io_executor executor, memory_network_options options = {});
  ~memory_network();
  memory_network(const memory_network&) = delete;
  memory_network& operator=(const memory_network&) = delete;

  // A transport on this network, for one node.
  std::unique_ptr<transport> make_transport();

  // Connections made so far, and listeners open now.
  std::size_t connections() const noexcept;
  std::size_t listeners() const noexcept;

  struct state;

 private:
  std::shared_ptr<state> state_;
};

// /memory/<n>, optionally followed by /p2p/<peer ID>; nullopt for anything else.
std::optional<std::uint64_t> memory_port(const multiaddr& address);
multiaddr memory_address(std::uint64_t port);

}  // namespace p2p::testing
