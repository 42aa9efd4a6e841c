// Conformance suite for the stream-muxer seam (p2p::muxed_connection), run against
// every implementation (yamux now, mplex later), as go-libp2p's p2p/muxer/testsuite
// and rust-libp2p's muxers/test-harness do.
//
// Usage, in a test file of the implementation:
//   P2P_MUXER_CONFORMANCE_TESTS(yamux_conformance, my_factory)
// where my_factory is a p2p::testing::muxer_factory. This defines one TEST per case,
// each once over roomy memory pipes and once over pipes that return one byte per read
// and buffer only 512 bytes (every partial-I/O path, transport backpressure).
//
// Every case runs on a fresh io_context with both connections' run() driven
// concurrently, closes both connections at the end and waits for run() to return, so a
// connection that does not shut down hangs the case; a watchdog fails it after
// a few minutes instead of hanging the test binary.
#pragma once

#include "memory_stream.hpp"
#include "p2p/muxer/muxed_connection.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <gtest/gtest.h>

#include <cstddef>
#include <functional>
#include <memory>

namespace p2p::testing {

struct muxer_pair {
  std::shared_ptr<muxed_connection> client;  // the dialer's side
  std::shared_ptr<muxed_connection> server;  // the listener's side
};

// Wraps two connected transports (taking ownership) into muxed connections. Must not
// start run(); the suite does.
using muxer_factory = std::function<muxer_pair(boost::asio::any_io_executor executor,
                                               std::unique_ptr<stream> client_transport,
                                               std::unique_ptr<stream> server_transport)>;

namespace muxer_conformance {

// One byte per read, 512 bytes of buffer per direction.
inline constexpr memory_stream_options tiny_pipes{.max_read = 1, .capacity = 512};

// Both sides open streams; the other side accepts them and sees the first bytes.
void open_accept(const muxer_factory& factory, const memory_stream_options& options = {});
// Request/response echo, each side opening once.
void echo_both_directions(const muxer_factory& factory, const memory_stream_options& options = {});
// close_write: the peer reads EOF after the data and can still write back; writing
// after close_write fails with errc::closed.
void half_close(const muxer_factory& factory, const memory_stream_options& options = {});
// reset() ends the peer's pending read with stream_reset; later writes fail too.
void reset_propagates(const muxer_factory& factory, const memory_stream_options& options = {});
// Destroying an open stream resets it for the peer.
void dropped_stream_resets(const muxer_factory& factory, const memory_stream_options& options = {});
// `streams` concurrent streams, each carrying `bytes_per_stream` client->server,
// verified byte for byte, then a short answer back.
void many_concurrent_streams(const muxer_factory& factory, const memory_stream_options& options,
                             std::size_t streams, std::size_t bytes_per_stream);
// One stream carrying `size` bytes, verified byte for byte.
void large_transfer(const muxer_factory& factory, const memory_stream_options& options, std::size_t size);
// Opening and finishing `count` streams one after another (more than the usual
// 1000-stream limit) shows that finished streams give their slots back.
void sequential_streams(const muxer_factory& factory, const memory_stream_options& options, std::size_t count);
// A stream whose reader never reads blocks only its own writer.
void backpressure_isolated(const muxer_factory& factory, const memory_stream_options& options = {});
// close() on one side ends the other side's pending accept and stream reads and the
// closing side's own streams, and both run() calls return.
void close_ends_streams_and_accept(const muxer_factory& factory, const memory_stream_options& options = {});
// The transport breaking ends both connections and all their streams.
void transport_failure_ends_everything(const muxer_factory& factory, const memory_stream_options& options = {});
// Streams used and destroyed after their connection finished run() and was released.
void streams_outlive_connection(const muxer_factory& factory, const memory_stream_options& options = {});

}  // namespace muxer_conformance
}  // namespace p2p::testing

#define P2P_MUXER_CONFORMANCE_CASE_(suite, name, call)                      \
  TEST(suite, name) {                                                       \
    namespace mc = ::p2p::testing::muxer_conformance;                       \
    call;                                                                   \
  }

#define P2P_MUXER_CONFORMANCE_TESTS(suite, factory)                                                        \
  P2P_MUXER_CONFORMANCE_CASE_(suite, open_accept, mc::open_accept(factory))                                \
  P2P_MUXER_CONFORMANCE_CASE_(suite, open_accept_tiny_pipes, mc::open_accept(factory, mc::tiny_pipes))     \
  P2P_MUXER_CONFORMANCE_CASE_(suite, echo_both_directions, mc::echo_both_directions(factory))              \
  P2P_MUXER_CONFORMANCE_CASE_(suite, echo_both_directions_tiny_pipes,                                      \
                              mc::echo_both_directions(factory, mc::tiny_pipes))                           \
  P2P_MUXER_CONFORMANCE_CASE_(suite, half_close, mc::half_close(factory))                                  \
  P2P_MUXER_CONFORMANCE_CASE_(suite, half_close_tiny_pipes, mc::half_close(factory, mc::tiny_pipes))       \
  P2P_MUXER_CONFORMANCE_CASE_(suite, reset_propagates, mc::reset_propagates(factory))                      \
  P2P_MUXER_CONFORMANCE_CASE_(suite, reset_propagates_tiny_pipes,                                          \
                              mc::reset_propagates(factory, mc::tiny_pipes))                               \
  P2P_MUXER_CONFORMANCE_CASE_(suite, dropped_stream_resets, mc::dropped_stream_resets(factory))            \
  P2P_MUXER_CONFORMANCE_CASE_(suite, dropped_stream_resets_tiny_pipes,                                     \
                              mc::dropped_stream_resets(factory, mc::tiny_pipes))                          \
  P2P_MUXER_CONFORMANCE_CASE_(suite, many_concurrent_streams,                                              \
                              mc::many_concurrent_streams(factory, {}, 200, 256 * 1024))                   \
  P2P_MUXER_CONFORMANCE_CASE_(suite, many_concurrent_streams_tiny_pipes,                                   \
                              mc::many_concurrent_streams(factory, mc::tiny_pipes, 20, 16 * 1024))         \
  P2P_MUXER_CONFORMANCE_CASE_(suite, large_transfer, mc::large_transfer(factory, {}, 16 * 1024 * 1024))    \
  P2P_MUXER_CONFORMANCE_CASE_(suite, large_transfer_tiny_pipes,                                            \
                              mc::large_transfer(factory, mc::tiny_pipes, 512 * 1024))                     \
  P2P_MUXER_CONFORMANCE_CASE_(suite, sequential_streams, mc::sequential_streams(factory, {}, 1500))        \
  P2P_MUXER_CONFORMANCE_CASE_(suite, sequential_streams_tiny_pipes,                                        \
                              mc::sequential_streams(factory, mc::tiny_pipes, 50))                         \
  P2P_MUXER_CONFORMANCE_CASE_(suite, backpressure_isolated, mc::backpressure_isolated(factory))            \
  P2P_MUXER_CONFORMANCE_CASE_(suite, backpressure_isolated_tiny_pipes,                                     \
                              mc::backpressure_isolated(factory, mc::tiny_pipes))                          \
  P2P_MUXER_CONFORMANCE_CASE_(suite, close_ends_streams_and_accept, mc::close_ends_streams_and_accept(factory)) \
  P2P_MUXER_CONFORMANCE_CASE_(suite, close_ends_streams_and_accept_tiny_pipes,                             \
                              mc::close_ends_streams_and_accept(factory, mc::tiny_pipes))                  \
  P2P_MUXER_CONFORMANCE_CASE_(suite, transport_failure_ends_everything,                                    \
                              mc::transport_failure_ends_everything(factory))                              \
  P2P_MUXER_CONFORMANCE_CASE_(suite, transport_failure_ends_everything_tiny_pipes,                         \
                              mc::transport_failure_ends_everything(factory, mc::tiny_pipes))              \
  P2P_MUXER_CONFORMANCE_CASE_(suite, streams_outlive_connection, mc::streams_outlive_connection(factory))  \
  P2P_MUXER_CONFORMANCE_CASE_(suite, streams_outlive_connection_tiny_pipes,                                \
                              mc::streams_outlive_connection(factory, mc::tiny_pipes))
