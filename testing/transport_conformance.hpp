// Conformance suite for the transport seam (p2p/transport/transport.hpp), run against
// every transport (TCP, the tests' memory network; WebSocket and others later), as
// go-libp2p's p2p/transport/testsuite does.
//
// Usage, in a test file of the implementation:
//   P2P_TRANSPORT_CONFORMANCE_TESTS(tcp_conformance, my_factory)
// where my_factory is a p2p::testing::transport_factory. This defines one TEST per case.
// Every case runs on a fresh io_context and ends with every connection and listener
// closed; a watchdog fails a case that hangs instead of hanging the test binary.
#pragma once

#include "p2p/transport/transport.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <gtest/gtest.h>

#include <cstddef>
#include <functional>
#include <memory>

namespace p2p::testing {

// Two nodes' transports of one kind and where to listen.
struct transport_fixture {
  std::shared_ptr<void> keep;           // what the transports need alive (a memory network)
  std::unique_ptr<transport> dialer;    // the dialing node's
  std::unique_ptr<transport> listener;  // the listening node's
  multiaddr listen_address;             // asks for a free port: /ip4/127.0.0.1/tcp/0, /memory/0
  multiaddr foreign_address;            // another transport's: neither dialable nor listenable
};
using transport_factory = std::function<transport_fixture(boost::asio::any_io_executor executor)>;

namespace transport_conformance {

// The listener's address is concrete (not port 0), of this transport, and dialable.
void listen_gives_a_dialable_address(const transport_factory& factory);
// Dial and accept; bytes both ways; each side's addresses are the other's reversed.
void dial_accept_and_exchange(const transport_factory& factory);
// close_write: the peer reads what was written, then EOF (errc::closed), and can still
// write back.
void half_close(const transport_factory& factory);
// reset() (and destroying a stream) ends the peer's pending read with an error.
void reset_ends_the_peers_read(const transport_factory& factory);
// `size` bytes each way at the same time, verified byte for byte.
void large_transfer_both_ways(const transport_factory& factory, std::size_t size);
// `count` dials at once, all accepted, each connection echoing its own bytes.
void many_concurrent_connections(const transport_factory& factory, std::size_t count);
// close() ends a pending accept with errc::closed; dialing the closed address fails
// (at once, not after a timeout).
void closed_listener_ends_accept_and_refuses(const transport_factory& factory);
// An address with a trailing /p2p/<peer ID> dials the same listener.
void dial_with_peer_id(const transport_factory& factory);
// Addresses of another transport are neither dialable nor listenable.
void foreign_addresses(const transport_factory& factory);

}  // namespace transport_conformance
}  // namespace p2p::testing

#define P2P_TRANSPORT_CONFORMANCE_CASE_(suite, name, call) \
  TEST(suite, name) {                                      \
    namespace tc = ::p2p::testing::transport_conformance;  \
    call;                                                  \
  }

// `transfer_bytes` each way in large_transfer_both_ways, `connections` at once in
// many_concurrent_connections: smaller for transports that move one byte per read.
#define P2P_TRANSPORT_CONFORMANCE_TESTS_SIZED(suite, factory, transfer_bytes, connections)                         \
  P2P_TRANSPORT_CONFORMANCE_CASE_(suite, listen_gives_a_dialable_address, tc::listen_gives_a_dialable_address(factory)) \
  P2P_TRANSPORT_CONFORMANCE_CASE_(suite, dial_accept_and_exchange, tc::dial_accept_and_exchange(factory))             \
  P2P_TRANSPORT_CONFORMANCE_CASE_(suite, half_close, tc::half_close(factory))                                         \
  P2P_TRANSPORT_CONFORMANCE_CASE_(suite, reset_ends_the_peers_read, tc::reset_ends_the_peers_read(factory))           \
  P2P_TRANSPORT_CONFORMANCE_CASE_(suite, large_transfer_both_ways, tc::large_transfer_both_ways(factory, transfer_bytes)) \
  P2P_TRANSPORT_CONFORMANCE_CASE_(suite, many_concurrent_connections,                                                 \
                                  tc::many_concurrent_connections(factory, connections))                              \
  P2P_TRANSPORT_CONFORMANCE_CASE_(suite, closed_listener_ends_accept_and_refuses,                                     \
                                  tc::closed_listener_ends_accept_and_refuses(factory))                               \
  P2P_TRANSPORT_CONFORMANCE_CASE_(suite, dial_with_peer_id, tc::dial_with_peer_id(factory))                           \
  P2P_TRANSPORT_CONFORMANCE_CASE_(suite, foreign_addresses, tc::foreign_addresses(factory))

#define P2P_TRANSPORT_CONFORMANCE_TESTS(suite, factory) \
  P2P_TRANSPORT_CONFORMANCE_TESTS_SIZED(suite, factory, 16 * 1024 * 1024, 100)
