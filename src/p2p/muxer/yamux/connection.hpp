// yamux over a secured connection: the coroutine shell around yamux::session.
//
// run() drives one reader loop (transport -> session), one writer loop (session output
// -> transport, every pending frame in one write) and one timer (the session's
// keepalive deadline, then the close grace period); all three finish before run()
// returns, and the transport is destroyed then.
//
// Streams (from open_stream / accept_stream) implement p2p::stream:
//   read_some    waits for data; errc::closed after the peer's FIN, stream_reset,
//                connection_closed once the connection ended before the peer's FIN.
//                While it waits, its buffer is lent to the session, so arriving
//                payload is copied once, straight into it.
//   write        waits for send window and output room (backpressure per stream).
//                Payloads of 128 KiB or more are not copied: the frames refer to the
//                caller's bytes, and write returns once the writer loop has handed
//                them to the transport's write_gather (which reads them before it
//                first suspends); smaller payloads are copied and write returns at once.
//   close_write  FIN.   reset  RST.
//   destructor   resets the stream unless both directions were closed.
// A stream keeps its connection object alive (shared ownership), so streams may
// outlive the connection's run(); the connection tolerates streams destroyed first.
//
// Shutdown: close() queues GoAway(normal), ends the session (open streams fail with
// connection_closed), and run() then flushes the output, half-closes the transport,
// waits up to config.close_timeout for the peer to close its side, and resets the
// transport if it does not. A protocol violation, a keepalive timeout or the transport
// ending take the same path.
//
// Threading: one io_context thread for the connection and all its streams.
#pragma once

#include "p2p/core/clock.hpp"
#include "p2p/core/signal.hpp"
#include "p2p/core/stream.hpp"
#include "p2p/muxer/muxed_connection.hpp"
#include "p2p/muxer/yamux/session.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <optional>
#include <unordered_map>

namespace p2p::yamux {

// The protocol ID negotiated with multistream-select.
inline constexpr const char* protocol_id = "/yamux/1.0.0";

class connection final : public muxed_connection, public std::enable_shared_from_this<connection> {
  struct private_tag {};

 public:
  // Use make_connection. `clk` must outlive the connection.
  connection(private_tag, asio::any_io_executor executor, std::unique_ptr<stream> transport, role local_role,
             const config& cfg, clock& clk);
  ~connection() override;

  task<void> run() override;
  // Waits while the spec's ACK backlog (config.max_ack_backlog) is full. Errors:
  // connection_closed (ended, or the peer sent GoAway), resource_limit.
  task<result<std::unique_ptr<stream>>> open_stream() override;
  task<result<std::unique_ptr<stream>>> accept_stream() override;
  void close() override;
  bool is_closed() const noexcept override;

  // GoAway(normal) without closing: the peer may not open more streams; ours continue.
  void go_away();
  // Last RTT measured by yamux ping, if any.
  std::optional<duration> rtt() const noexcept { return core_.rtt(); }
  // The sans-IO core, for tests and metrics.
  const session& core() const noexcept { return core_; }

 private:
  class muxed_stream;
  friend std::shared_ptr<connection> make_connection(asio::any_io_executor, std::unique_ptr<stream>, role,
                                                     const config&, clock&);

  task<void> read_loop();
  task<void> write_loop();
  task<void> timer_loop();
  // Delivers the session's events to the waiting coroutines and wakes the writer and
  // timer when needed. Called after every interaction with the session.
  void pump();
  void wake_everyone();
  void release(stream_id id);

  asio::any_io_executor executor_;
  std::unique_ptr<stream> transport_;
  clock& clock_;
  session core_;
  duration close_timeout_;

  signal write_wakeup_;
  signal accept_wakeup_;
  signal open_wakeup_;
  signal output_taken_;  // the pending output was handed to the transport or dropped
  std::uint64_t taken_generation_ = 0;
  asio::steady_timer timer_;
  std::optional<time_point> armed_deadline_;

  std::unordered_map<stream_id, muxed_stream*> streams_;
  session::output_batch write_batch_;
  bool started_ = false;
  bool lent_buffer_full_ = false;  // pump() woke a reader whose lent buffer is nearly full
  bool reader_done_ = false;
  bool writer_done_ = false;
};

std::shared_ptr<connection> make_connection(asio::any_io_executor executor, std::unique_ptr<stream> transport,
                                            role local_role, const config& cfg, clock& clk);

}  // namespace p2p::yamux
