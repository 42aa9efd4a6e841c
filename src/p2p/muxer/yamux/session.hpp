// Sans-IO yamux session (/yamux/1.0.0, libp2p/specs yamux/README.md).
//
// The session never touches a socket or a clock. The shell feeds it the bytes read
// from the secured connection (handle_bytes, any split down to single bytes), the
// current time (handle_timeout and read) and application commands (open_stream,
// write, read, close_write, reset, release, go_away, close). It answers with bytes to
// send (poll_output: every pending frame in one batch, so the shell writes them with a
// single underlying write), events as values (poll_event) and its next deadline
// (poll_timeout). Nothing calls back, so nothing re-enters.
//
// Flow control: every stream starts with the spec's 256 KiB window in both directions.
// A larger config.initial_window is announced with the SYN/ACK window update. A
// window update is sent when the application has consumed at least half the window;
// the window then doubles (auto-tuning, up to config.max_window and within the
// connection-wide config.connection_window_budget) when the previous half window was
// consumed in less than 4 x max(RTT, config.autotune_min_rtt). RTT comes from yamux
// pings (one at start, then every keepalive interval).
//
// Bounds: a peer can make us buffer at most the receive window per stream (data
// beyond it is a protocol violation); data frames are refused above config.max_window;
// outbound data stops at config.max_output_buffer until poll_output drains it;
// control frames caused by the peer (pongs, RSTs of refused streams) are capped.
//
// Protocol violations (bad version/type, data beyond the window, stream ID 0 or of the
// wrong parity, a SYN reusing an ID, a frame for a stream that was never opened, an
// over-large data frame, a window overflow) end the session: a GoAway(protocol error)
// is queued, the session becomes terminated, and a connection_error event says why.
// Frames for streams that were opened and are now gone are ignored (they race with
// our RST), as go-yamux and rust-yamux do.
#pragma once

#include "p2p/core/bytes.hpp"
#include "p2p/core/clock.hpp"
#include "p2p/core/error.hpp"
#include "p2p/muxer/yamux/frame.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <vector>

namespace p2p::yamux {

// The client (dialer) opens odd stream IDs, the server (listener) even ones.
enum class role { client, server };

struct config {
  // Receive window granted to each new stream. Values below 256 KiB are raised to it.
  std::uint32_t initial_window = default_window;
  // Auto-tuning ceiling per stream (go-yamux and js-libp2p-yamux use 16 MiB).
  std::uint32_t max_window = 16 * 1024 * 1024;
  // Total window growth above initial_window shared by all streams of the session.
  std::uint64_t connection_window_budget = 64 * 1024 * 1024;
  // Concurrent (not fully closed) streams per direction. Inbound streams over the
  // limit are reset; open_stream fails with resource_limit.
  std::size_t max_inbound_streams = 1000;
  std::size_t max_outbound_streams = 1000;
  // Inbound streams waiting for accept(); further SYNs are answered with RST.
  std::size_t accept_backlog = 256;
  // Our streams not yet acknowledged by the peer; can_open_stream() is false at the
  // limit (spec "ACK backlog": at most 256).
  std::size_t max_ack_backlog = 256;
  // Largest payload of one data frame we send (js-libp2p-yamux: 64 KiB messages).
  std::uint32_t max_frame_payload = 64 * 1024 - header_size;
  // write() accepts data until this many bytes wait in the output buffer.
  std::size_t max_output_buffer = 1024 * 1024;
  // Pings: keepalive_interval between pings (zero: only the initial RTT ping);
  // a ping unanswered for keepalive_timeout ends the session (zero: never).
  duration keepalive_interval = std::chrono::seconds(30);
  duration keepalive_timeout = std::chrono::seconds(30);
  // Send one ping at start to measure the RTT used by auto-tuning.
  bool measure_rtt = true;
  // Lower bound for the RTT in the auto-tuning rule, so fast local links still grow.
  duration autotune_min_rtt = std::chrono::milliseconds(1);
  // Shell only: after the session ends, how long to wait for the peer to close the
  // underlying connection before resetting it.
  duration close_timeout = std::chrono::seconds(5);
};

enum class event_type {
  inbound_stream,    // accept() has a stream (id: the new stream)
  readable,          // data arrived on `id`
  writable,          // `id` may write again (window update or output drained)
  stream_closed,     // the peer half-closed `id` (FIN): reads end after buffered data
  stream_reset,      // the peer reset `id`
  open_ready,        // can_open_stream() became true again (ACK backlog drained)
  go_away,           // the peer sent GoAway with `code`; open_stream now fails
  connection_error,  // the session ended; `error` says why (after this, no more events)
};

struct event {
  event_type type = event_type::connection_error;
  stream_id id = 0;
  std::uint32_t code = 0;
  error_code error;
};

class session {
 public:
  // Queues the initial RTT ping when config.measure_rtt.
  session(role local_role, const config& cfg, time_point now);

  session(const session&) = delete;
  session& operator=(const session&) = delete;
  session(session&&) = default;
  session& operator=(session&&) = default;

  // ---- input ----
  // Processes received bytes (any split). Ignored once the session is terminated.
  void handle_bytes(bytes_view data, time_point now);
  // Sends keepalive pings and enforces the ping timeout.
  void handle_timeout(time_point now);
  // The underlying connection ended or failed: terminates with connection_closed and
  // drops unsent output.
  void handle_connection_lost();

  // ---- commands ----
  // Allocates the next local stream ID and queues its SYN. Errors: connection_closed
  // (terminated, or the peer sent GoAway), resource_limit (max_outbound_streams, ACK
  // backlog full, IDs exhausted).
  result<stream_id> open_stream();
  // Next inbound stream, acknowledged now (ACK frame queued). Empty when none is
  // waiting or the session is terminated.
  std::optional<stream_id> accept();
  // Queues as much of `data` as the send window and output buffer allow; 0 means wait
  // for a writable event. Errors: closed (after close_write), stream_reset,
  // connection_closed, invalid_argument (unknown stream).
  result<std::size_t> write(stream_id id, bytes_view data);
  // Zero-copy write: like write(), but the payload is not copied. The pending output
  // keeps a view of `data` until poll_output hands it out or the output is dropped
  // (connection lost); either bumps output_generation(). The caller keeps `data` valid
  // and unchanged until output_generation() differs from its value when this returned,
  // or first calls adopt_borrowed().
  result<std::size_t> write_borrowed(stream_id id, bytes_view data);
  // Copies every payload still borrowed into the session, releasing the callers'
  // memory (for a writer that gives up waiting).
  void adopt_borrowed();
  // Copies buffered bytes; may queue a window update. 0 means wait for a readable
  // event. Errors: closed (peer FIN and all data read), stream_reset,
  // connection_closed (session ended before the peer's FIN), invalid_argument.
  result<std::size_t> read(stream_id id, mutable_bytes_view buffer, time_point now);
  // Zero-copy receive. After read() returned 0, the shell may lend the waiting reader's
  // buffer: payload that arrives for `id` is then copied straight into it instead of
  // into the stream's buffer (what does not fit is buffered as usual), and the next
  // read() with the same buffer returns those bytes without copying them again. The
  // loan ends with that read() or with cancel_loan(). `buffer` must stay valid and
  // untouched until then. Returns false (and lends nothing) when bytes are already
  // buffered, the buffer is empty, or the stream is unknown, reset or read-closed.
  bool lend_read_buffer(stream_id id, mutable_bytes_view buffer);
  // Ends a loan without reading: bytes already placed in the lent buffer are moved to
  // the front of the stream's buffer, so nothing is lost. Unknown IDs are ignored.
  void cancel_loan(stream_id id);
  // Half-close (FIN). Idempotent. Errors: stream_reset, connection_closed, invalid_argument.
  result<void> close_write(stream_id id);
  // Resets both directions (RST unless both were already closed). Unknown IDs are ignored.
  void reset(stream_id id);
  // The application dropped its handle: resets the stream unless our write side is
  // already closed (then it is a graceful close: we stop reading and ignore what the
  // remote still sends), and forgets it. Unknown IDs are ignored.
  void release(stream_id id);
  // Sends GoAway(code) once; later inbound streams are refused. Streams continue.
  void go_away(go_away_code code = go_away_code::normal);
  // GoAway(normal), then terminates with errc::closed; pending output stays queued.
  void close();

  // ---- output ----
  // The pending output as a gather list, so it can be written without joining it:
  // `parts` are, in wire order, views into `owned` (frame headers, control frames,
  // copied payloads), into `adopted` and into borrowed payloads.
  struct output_batch {
    bytes owned;
    std::vector<bytes> adopted;
    std::vector<bytes_view> parts;
  };
  // Moves every pending byte into `into` (its old contents are discarded, its storage
  // reused) and bumps output_generation(); borrowed payloads are only referenced, so
  // the caller must use them before their writers can resume. Returns false when
  // nothing is pending.
  bool poll_output(output_batch& into);
  // The same joined into one buffer (copies borrowed payloads).
  bool poll_output(bytes& into);
  bool has_output() const noexcept { return !out_.empty(); }
  std::optional<event> poll_event();
  // Bumped whenever the pending output is handed out or dropped (see write_borrowed).
  std::uint64_t output_generation() const noexcept { return output_generation_; }
  // Next time handle_timeout wants to run; empty when nothing is scheduled.
  std::optional<time_point> poll_timeout() const;

  // ---- state ----
  bool is_terminated() const noexcept { return terminated_; }
  error_code termination_reason() const noexcept { return error_; }
  bool can_open_stream() const noexcept;
  bool remote_went_away() const noexcept { return remote_go_away_; }
  std::optional<duration> rtt() const noexcept { return rtt_; }
  std::size_t stream_count() const noexcept { return streams_.size(); }
  // Per-stream introspection for tests and metrics; zero for unknown IDs.
  std::uint32_t send_window(stream_id id) const;
  std::uint32_t receive_window(stream_id id) const;  // current target window
  std::size_t buffered(stream_id id) const;
  // Room left in the buffer lent by lend_read_buffer; zero without a loan.
  std::size_t lent_room(stream_id id) const;

 private:
  // Received bytes not yet read, in fixed-size chunks: memory follows the unread
  // amount (plus one chunk kept for reuse), however the peer splits its frames.
  class receive_buffer {
   public:
    std::size_t size() const noexcept { return size_; }
    void append(bytes_view data);
    // Puts `data` before everything buffered (a cancelled loan's bytes).
    void prepend(bytes_view data);
    std::size_t read(mutable_bytes_view out) noexcept;
    void clear() noexcept;

   private:
    static constexpr std::size_t chunk_size = 16 * 1024;
    std::deque<bytes> chunks_;
    bytes spare_;             // a consumed chunk's storage, reused by the next append
    std::size_t offset_ = 0;  // read position in chunks_.front()
    std::size_t size_ = 0;
  };

  struct stream_entry {
    bool outbound = false;
    bool accepted = false;      // handed to the application
    bool acknowledged = false;  // outbound: ACK received; inbound: ACK sent
    bool write_closed = false;  // we sent FIN
    bool read_closed = false;   // peer sent FIN
    bool reset = false;
    bool counted = true;        // counts toward the concurrent stream limits
    bool readable_queued = false;
    bool writable_queued = false;
    bool waiting_for_output = false;
    std::uint32_t send_window = default_window;
    std::uint32_t recv_credit = default_window;  // bytes the peer may still send
    std::uint32_t recv_window = default_window;  // target window, grows by auto-tuning
    time_point epoch;                            // time of the last window update
    receive_buffer buffer;
    // The reader's buffer lent by lend_read_buffer; payload goes there first.
    std::uint8_t* loan = nullptr;
    std::size_t loan_size = 0;
    std::size_t loan_filled = 0;

    std::size_t buffered() const noexcept { return buffer.size() + loan_filled; }
  };

  stream_entry* find(stream_id id);
  const stream_entry* find(stream_id id) const;
  bool is_remote_id(stream_id id) const noexcept;
  bool was_opened(stream_id id) const noexcept;

  void process_header(const frame_header& header, time_point now);
  void process_stream_frame(const frame_header& header, time_point now);
  void process_ping(const frame_header& header, time_point now);
  void process_go_away(const frame_header& header);
  bool open_inbound(const frame_header& header, time_point now);
  void deliver_payload(bytes_view chunk);
  void finish_payload();

  static void end_loan(stream_entry& s);
  void apply_ack(stream_id id, stream_entry& s);
  void apply_remote_fin(stream_id id, stream_entry& s);
  void apply_remote_reset(stream_id id, stream_entry& s);
  void update_finished(stream_entry& s);
  void maybe_send_window_update(stream_id id, stream_entry& s, time_point now);
  void erase(stream_id id);

  result<std::size_t> queue_data(stream_id id, bytes_view data, bool borrow);
  std::size_t pending_output() const noexcept { return out_.size() + borrowed_bytes_; }
  void output_taken();
  void queue_frame(frame_type type, std::uint16_t flags, stream_id id, std::uint32_t length);
  bool queue_peer_caused(frame_type type, std::uint16_t flags, stream_id id, std::uint32_t length);
  void send_ping(time_point now);
  void push_event(event_type type, stream_id id = 0, std::uint32_t code = 0, error_code error = {});
  void queue_readable(stream_id id, stream_entry& s);
  void queue_writable(stream_id id, stream_entry& s);
  void fail(errc why, go_away_code code);
  void terminate(error_code why);

  role role_;
  config config_;
  time_point now_;

  // Parser state: header bytes so far, then the payload of the current data frame.
  std::uint8_t header_buffer_[header_size] = {};
  std::size_t header_fill_ = 0;
  bool in_payload_ = false;
  frame_header current_;
  std::uint32_t payload_left_ = 0;
  bool payload_to_stream_ = false;  // false: discard the payload

  std::unordered_map<stream_id, stream_entry> streams_;
  std::deque<stream_id> accept_queue_;
  std::vector<stream_id> output_waiters_;
  std::deque<event> events_;
  bytes out_;
  // Borrowed payloads of the pending output; each belongs at `position` in out_.
  struct borrowed_payload {
    std::size_t position;
    bytes_view data;
    bool adopted;
  };
  std::vector<borrowed_payload> borrowed_;
  std::vector<bytes> adopted_;  // copies made by adopt_borrowed
  std::size_t borrowed_bytes_ = 0;
  std::uint64_t output_generation_ = 0;

  std::uint64_t next_local_id_;
  stream_id last_remote_id_ = 0;
  std::size_t inbound_active_ = 0;
  std::size_t outbound_active_ = 0;
  std::size_t unacknowledged_ = 0;
  std::uint64_t window_growth_ = 0;  // sum of (recv_window - initial_window)

  bool local_go_away_ = false;
  bool remote_go_away_ = false;
  bool terminated_ = false;
  error_code error_;

  std::uint32_t next_ping_value_ = 0;
  bool ping_outstanding_ = false;
  std::uint32_t ping_value_ = 0;
  time_point ping_sent_;
  std::optional<time_point> next_ping_;
  std::optional<duration> rtt_;
};

}  // namespace p2p::yamux
