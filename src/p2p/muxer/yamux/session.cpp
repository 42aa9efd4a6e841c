#include "p2p/muxer/yamux/session.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

namespace p2p::yamux {

namespace {
// Control frames the peer makes us send (pongs, RSTs for refused streams) may exceed
// max_output_buffer by this much; past it the peer is flooding us without reading.
constexpr std::size_t control_slack = 64 * 1024;

config normalized(config cfg) {
  cfg.initial_window = std::max(cfg.initial_window, default_window);
  cfg.max_window = std::max(cfg.max_window, cfg.initial_window);
  cfg.max_frame_payload = std::max<std::uint32_t>(cfg.max_frame_payload, 1);
  cfg.max_output_buffer = std::max<std::size_t>(cfg.max_output_buffer, 1024);
  cfg.max_ack_backlog = std::max<std::size_t>(cfg.max_ack_backlog, 1);
  return cfg;
}
}  // namespace

session::session(role local_role, const config& cfg, time_point now)
    : role_(local_role), config_(normalized(cfg)), now_(now),
      next_local_id_(local_role == role::client ? 1 : 2) {
  if (config_.measure_rtt) {
    send_ping(now);
  } else if (config_.keepalive_interval > duration::zero()) {
    next_ping_ = now + config_.keepalive_interval;
  }
}

// ---------------------------------------------------------------------------------
// Input

void session::handle_bytes(bytes_view data, time_point now) {
  now_ = now;
  while (!data.empty() && !terminated_) {
    if (in_payload_) {
      const std::size_t take = std::min<std::size_t>(payload_left_, data.size());
      deliver_payload(data.first(take));
      data = data.subspan(take);
      payload_left_ -= static_cast<std::uint32_t>(take);
      if (payload_left_ == 0) finish_payload();
      continue;
    }
    const std::size_t take = std::min(header_size - header_fill_, data.size());
    std::memcpy(header_buffer_ + header_fill_, data.data(), take);
    header_fill_ += take;
    data = data.subspan(take);
    if (header_fill_ < header_size) break;
    header_fill_ = 0;
    auto header = decode_header(bytes_view(header_buffer_, header_size));
    if (!header) {
      fail(errc::protocol_violation, go_away_code::protocol_error);
      return;
    }
    process_header(*header, now);
  }
}

void session::handle_timeout(time_point now) {
  now_ = now;
  if (terminated_) return;
  if (ping_outstanding_) {
    if (config_.keepalive_timeout > duration::zero() && now - ping_sent_ >= config_.keepalive_timeout) {
      fail(errc::timeout, go_away_code::internal_error);
    }
    return;
  }
  if (next_ping_ && now >= *next_ping_) send_ping(now);
}

void session::handle_connection_lost() {
  if (!terminated_) terminate(errc::connection_closed);
  // Nothing can be sent any more; keep the memory bound.
  bytes().swap(out_);
  borrowed_.clear();
  adopted_.clear();
  borrowed_bytes_ = 0;
  ++output_generation_;  // borrowed payloads are released
}

void session::process_header(const frame_header& header, time_point now) {
  switch (header.type) {
    case frame_type::data:
    case frame_type::window_update:
      process_stream_frame(header, now);
      return;
    case frame_type::ping:
      process_ping(header, now);
      return;
    case frame_type::go_away:
      process_go_away(header);
      return;
  }
}

void session::process_stream_frame(const frame_header& header, time_point now) {
  const stream_id id = header.id;
  const bool is_data = header.type == frame_type::data;
  // Payloads we do not keep are skipped byte by byte as they arrive.
  auto discard_payload = [&] {
    if (is_data && header.length > 0) {
      in_payload_ = true;
      payload_left_ = header.length;
      payload_to_stream_ = false;
      current_ = header;
    }
  };

  if (id == 0) return fail(errc::protocol_violation, go_away_code::protocol_error);
  // No window we ever grant is larger than max_window, so a longer data frame cannot
  // be valid for any stream, known or forgotten.
  if (is_data && header.length > config_.max_window) {
    return fail(errc::protocol_violation, go_away_code::protocol_error);
  }

  stream_entry* s = find(id);
  if (header.has(flag::syn)) {
    // IDs only grow (every implementation allocates them +2), so an ID at or below the
    // last one seen is a reuse, and the parity tells whose stream it is.
    if (s != nullptr || !is_remote_id(id) || id <= last_remote_id_) {
      return fail(errc::protocol_violation, go_away_code::protocol_error);
    }
    last_remote_id_ = id;
    if (header.has(flag::rst) || !open_inbound(header, now)) {
      if (!terminated_) discard_payload();
      return;
    }
    s = find(id);
  } else if (s == nullptr) {
    // A stream we (or they) already forgot: its frames race with our RST. A stream
    // that never existed is a violation.
    if (!was_opened(id)) return fail(errc::protocol_violation, go_away_code::protocol_error);
    discard_payload();
    return;
  }

  if (header.has(flag::ack)) apply_ack(id, *s);
  if (header.has(flag::rst)) {
    apply_remote_reset(id, *s);
    discard_payload();
    return;
  }

  if (is_data) {
    if (s->reset) {  // reset locally; the peer has not seen our RST yet
      discard_payload();
      return;
    }
    if (header.length > s->recv_credit) {
      return fail(errc::protocol_violation, go_away_code::protocol_error);
    }
    s->recv_credit -= header.length;
    if (s->read_closed && header.length > 0) {
      // Data after the peer's own FIN: contain the damage to this stream.
      reset(id);
      discard_payload();
      return;
    }
    if (header.length > 0) {
      in_payload_ = true;
      payload_left_ = header.length;
      payload_to_stream_ = true;
      current_ = header;
      return;  // FIN, if any, applies after the payload
    }
    if (header.has(flag::fin)) apply_remote_fin(id, *s);
    return;
  }

  if (header.length > 0) {
    if (header.length > std::numeric_limits<std::uint32_t>::max() - s->send_window) {
      return fail(errc::protocol_violation, go_away_code::protocol_error);
    }
    s->send_window += header.length;
    if (!s->reset && !s->write_closed) queue_writable(id, *s);
  }
  if (header.has(flag::fin)) apply_remote_fin(id, *s);
}

bool session::open_inbound(const frame_header& header, time_point now) {
  const stream_id id = header.id;
  const bool refuse = local_go_away_ || accept_queue_.size() >= config_.accept_backlog ||
                      inbound_active_ >= config_.max_inbound_streams;
  if (refuse) {
    if (!queue_peer_caused(frame_type::window_update, flag::rst, id, 0)) {
      fail(errc::resource_limit, go_away_code::internal_error);
    }
    return false;
  }
  auto& s = streams_[id];
  s.outbound = false;
  s.recv_window = config_.initial_window;
  s.epoch = now;
  ++inbound_active_;
  accept_queue_.push_back(id);
  push_event(event_type::inbound_stream, id);
  return true;
}

void session::deliver_payload(bytes_view chunk) {
  if (!payload_to_stream_) return;
  stream_entry* s = find(current_.id);
  if (s == nullptr || s->reset) {  // released or reset while the payload was arriving
    payload_to_stream_ = false;
    return;
  }
  if (s->loan != nullptr && s->loan_filled < s->loan_size) {
    // The reader is waiting with its own buffer: fill it directly, saving the copy
    // into and out of the stream's buffer. (A loan exists only while nothing else is
    // buffered, and overflow goes to the buffer after it, so order is kept.)
    const std::size_t n = std::min(chunk.size(), s->loan_size - s->loan_filled);
    std::memcpy(s->loan + s->loan_filled, chunk.data(), n);
    s->loan_filled += n;
    chunk = chunk.subspan(n);
  }
  if (!chunk.empty()) s->buffer.append(chunk);
  queue_readable(current_.id, *s);
}

void session::finish_payload() {
  in_payload_ = false;
  if (payload_to_stream_ && current_.has(flag::fin)) {
    if (stream_entry* s = find(current_.id); s != nullptr && !s->reset) apply_remote_fin(current_.id, *s);
  }
  payload_to_stream_ = false;
}

void session::process_ping(const frame_header& header, time_point now) {
  const bool syn = header.has(flag::syn);
  const bool ack = header.has(flag::ack);
  if (syn && !ack) {
    // Echo the opaque value; a peer flooding pings without reading gets no pongs.
    queue_peer_caused(frame_type::ping, flag::ack, 0, header.length);
  } else if (ack && !syn) {
    // Unsolicited or stale pongs are ignored (go-yamux does the same).
    if (ping_outstanding_ && header.length == ping_value_) {
      rtt_ = now - ping_sent_;
      ping_outstanding_ = false;
      if (config_.keepalive_interval > duration::zero()) next_ping_ = now + config_.keepalive_interval;
    }
  }
}

void session::process_go_away(const frame_header& header) {
  if (!remote_go_away_) {
    remote_go_away_ = true;
    push_event(event_type::go_away, 0, header.length);
  }
  // Normal termination lets running streams finish; an error code ends the session.
  if (header.length != static_cast<std::uint32_t>(go_away_code::normal)) terminate(errc::connection_closed);
}

// ---------------------------------------------------------------------------------
// Stream state

void session::apply_ack(stream_id, stream_entry& s) {
  if (!s.outbound || s.acknowledged) return;
  s.acknowledged = true;
  const bool was_full = unacknowledged_ >= config_.max_ack_backlog;
  --unacknowledged_;
  if (was_full && !terminated_) push_event(event_type::open_ready);
}

void session::apply_remote_fin(stream_id id, stream_entry& s) {
  if (s.read_closed) return;
  s.read_closed = true;
  push_event(event_type::stream_closed, id);
  update_finished(s);
}

void session::apply_remote_reset(stream_id id, stream_entry& s) {
  if (s.reset) return;
  if (!s.outbound && !s.accepted) {
    // Nobody holds it yet: forget it instead of handing a dead stream to accept().
    erase(id);
    return;
  }
  s.reset = true;
  s.buffer.clear();
  s.loan = nullptr;
  s.loan_filled = 0;
  push_event(event_type::stream_reset, id);
  update_finished(s);
}

void session::update_finished(stream_entry& s) {
  if (!s.counted || !(s.reset || (s.read_closed && s.write_closed))) return;
  s.counted = false;
  --(s.outbound ? outbound_active_ : inbound_active_);
  if (s.outbound && !s.acknowledged) {
    // A stream that ended before its ACK gives its backlog slot back (go-yamux too).
    s.acknowledged = true;
    const bool was_full = unacknowledged_ >= config_.max_ack_backlog;
    --unacknowledged_;
    if (was_full && !terminated_) push_event(event_type::open_ready);
  }
}

void session::maybe_send_window_update(stream_id id, stream_entry& s, time_point now) {
  if (terminated_ || s.read_closed || s.reset || !s.accepted) return;
  const std::uint64_t available = std::uint64_t{s.recv_credit} + s.buffered();
  if (available >= s.recv_window) return;
  std::uint32_t delta = s.recv_window - static_cast<std::uint32_t>(available);
  // Updates for less than half the window cost a frame and gain little.
  if (delta < s.recv_window / 2) return;

  // Auto-tuning: the reader went through half a window within 4 RTTs, so the window
  // (not the reader) limits throughput; double it. The RTT floor keeps this working
  // on links whose measured RTT is near zero (loopback, memory pipes).
  const duration rtt = std::max(rtt_.value_or(duration::zero()), config_.autotune_min_rtt);
  if (s.recv_window < config_.max_window && now - s.epoch < 4 * rtt) {
    const std::uint64_t budget_left =
        config_.connection_window_budget > window_growth_ ? config_.connection_window_budget - window_growth_ : 0;
    const std::uint64_t grow =
        std::min<std::uint64_t>({s.recv_window, config_.max_window - s.recv_window, budget_left});
    s.recv_window += static_cast<std::uint32_t>(grow);
    window_growth_ += grow;
    delta += static_cast<std::uint32_t>(grow);
  }
  s.epoch = now;
  s.recv_credit += delta;
  queue_frame(frame_type::window_update, 0, id, delta);
}

void session::erase(stream_id id) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  stream_entry& s = it->second;
  if (s.counted) {
    s.reset = true;  // makes update_finished release the counters
    update_finished(s);
  }
  window_growth_ -= s.recv_window - config_.initial_window;
  if (!s.outbound && !s.accepted) {
    accept_queue_.erase(std::remove(accept_queue_.begin(), accept_queue_.end(), id), accept_queue_.end());
  }
  streams_.erase(it);
}

// ---------------------------------------------------------------------------------
// Commands

result<stream_id> session::open_stream() {
  if (terminated_ || remote_go_away_) return errc::connection_closed;
  if (outbound_active_ >= config_.max_outbound_streams) return errc::resource_limit;
  if (unacknowledged_ >= config_.max_ack_backlog) return errc::resource_limit;
  if (next_local_id_ > std::numeric_limits<stream_id>::max()) return errc::resource_limit;
  const auto id = static_cast<stream_id>(next_local_id_);
  next_local_id_ += 2;
  auto& s = streams_[id];
  s.outbound = true;
  s.accepted = true;
  s.recv_window = config_.initial_window;
  s.recv_credit = config_.initial_window;
  s.epoch = now_;
  ++outbound_active_;
  ++unacknowledged_;
  // The SYN rides on a window update that also announces any window beyond 256 KiB.
  queue_frame(frame_type::window_update, flag::syn, id, config_.initial_window - default_window);
  return id;
}

std::optional<stream_id> session::accept() {
  while (!terminated_ && !accept_queue_.empty()) {
    const stream_id id = accept_queue_.front();
    accept_queue_.pop_front();
    stream_entry* s = find(id);
    if (s == nullptr) continue;
    if (s->reset) {  // reset by us before anyone accepted it (data after FIN)
      erase(id);
      continue;
    }
    s->accepted = true;
    s->acknowledged = true;
    s->epoch = now_;
    const std::uint64_t available = std::uint64_t{s->recv_credit} + s->buffered();
    const std::uint32_t delta =
        available < s->recv_window ? s->recv_window - static_cast<std::uint32_t>(available) : 0;
    s->recv_credit += delta;
    queue_frame(frame_type::window_update, flag::ack, id, delta);
    return id;
  }
  return std::nullopt;
}

result<std::size_t> session::write(stream_id id, bytes_view data) { return queue_data(id, data, false); }

result<std::size_t> session::write_borrowed(stream_id id, bytes_view data) { return queue_data(id, data, true); }

void session::adopt_borrowed() {
  for (borrowed_payload& payload : borrowed_) {
    if (payload.adopted) continue;
    adopted_.emplace_back(payload.data.begin(), payload.data.end());
    payload.data = adopted_.back();  // a vector's heap storage survives moves of the vector
    payload.adopted = true;
  }
}

result<std::size_t> session::queue_data(stream_id id, bytes_view data, bool borrow) {
  stream_entry* s = find(id);
  if (s == nullptr) return errc::invalid_argument;
  if (s->reset) return errc::stream_reset;
  if (s->write_closed) return errc::closed;
  if (terminated_) return errc::connection_closed;
  if (data.empty() || s->send_window == 0) return std::size_t{0};
  if (pending_output() + header_size >= config_.max_output_buffer) {
    if (!s->waiting_for_output) {
      s->waiting_for_output = true;
      output_waiters_.push_back(id);
    }
    return std::size_t{0};
  }
  const std::size_t budget = config_.max_output_buffer - pending_output() - header_size;
  const std::size_t total = std::min({data.size(), std::size_t{s->send_window}, budget});
  std::size_t done = 0;
  while (done < total) {
    const std::size_t n = std::min<std::size_t>(total - done, config_.max_frame_payload);
    queue_frame(frame_type::data, 0, id, static_cast<std::uint32_t>(n));
    if (borrow) {
      borrowed_.push_back({out_.size(), data.subspan(done, n), false});
      borrowed_bytes_ += n;
    } else {
      append(out_, data.subspan(done, n));
    }
    done += n;
  }
  s->send_window -= static_cast<std::uint32_t>(total);
  return total;
}

result<std::size_t> session::read(stream_id id, mutable_bytes_view buffer, time_point now) {
  now_ = now;
  stream_entry* s = find(id);
  if (s == nullptr) return errc::invalid_argument;
  if (s->reset) return errc::stream_reset;
  std::size_t n = 0;
  if (s->loan != nullptr) {
    if (buffer.data() == s->loan && buffer.size() >= s->loan_filled) {
      n = s->loan_filled;  // already in place
      s->loan = nullptr;
      s->loan_filled = 0;
    } else {
      end_loan(*s);
    }
  }
  if (n == 0 && s->buffered() == 0) {
    if (s->read_closed) return errc::closed;
    if (terminated_) return errc::connection_closed;
    return std::size_t{0};
  }
  n += s->buffer.read(buffer.subspan(n));
  if (n == 0) return std::size_t{0};
  maybe_send_window_update(id, *s, now);
  return n;
}

bool session::lend_read_buffer(stream_id id, mutable_bytes_view buffer) {
  stream_entry* s = find(id);
  if (s == nullptr || s->reset || s->read_closed || buffer.empty() || s->buffered() > 0) return false;
  s->loan = buffer.data();
  s->loan_size = buffer.size();
  s->loan_filled = 0;
  return true;
}

void session::cancel_loan(stream_id id) {
  if (stream_entry* s = find(id)) end_loan(*s);
}

void session::end_loan(stream_entry& s) {
  if (s.loan_filled > 0) s.buffer.prepend(bytes_view(s.loan, s.loan_filled));
  s.loan = nullptr;
  s.loan_filled = 0;
}

result<void> session::close_write(stream_id id) {
  stream_entry* s = find(id);
  if (s == nullptr) return errc::invalid_argument;
  if (s->reset) return errc::stream_reset;
  if (s->write_closed) return {};
  if (terminated_) return errc::connection_closed;
  s->write_closed = true;
  queue_frame(frame_type::window_update, flag::fin, id, 0);
  update_finished(*s);
  return {};
}

void session::reset(stream_id id) {
  stream_entry* s = find(id);
  if (s == nullptr || s->reset) return;
  const bool both_closed = s->read_closed && s->write_closed;
  s->reset = true;
  s->buffer.clear();
  s->loan = nullptr;
  s->loan_filled = 0;
  if (!both_closed && !terminated_) queue_frame(frame_type::window_update, flag::rst, id, 0);
  update_finished(*s);
}

void session::release(stream_id id) {
  stream_entry* s = find(id);
  if (s == nullptr) return;
  // Dropping a stream whose write side is still open aborts it (RST). After our FIN
  // it is a graceful close (go-libp2p's Close): we simply stop reading, and frames the
  // remote still sends for it are ignored.
  if (!s->reset && !s->write_closed && !terminated_) {
    queue_frame(frame_type::window_update, flag::rst, id, 0);
  }
  erase(id);
}

void session::go_away(go_away_code code) {
  if (terminated_ || local_go_away_) return;
  local_go_away_ = true;
  queue_frame(frame_type::go_away, 0, 0, static_cast<std::uint32_t>(code));
}

void session::close() {
  if (terminated_) return;
  go_away(go_away_code::normal);
  terminate(errc::closed);
}

// ---------------------------------------------------------------------------------
// Output

bool session::poll_output(output_batch& into) {
  into.owned.clear();
  into.adopted.clear();
  into.parts.clear();
  if (out_.empty()) return false;
  std::swap(into.owned, out_);
  std::swap(into.adopted, adopted_);
  const bytes_view owned(into.owned);
  std::size_t at = 0;
  for (const borrowed_payload& payload : borrowed_) {
    if (payload.position > at) into.parts.push_back(owned.subspan(at, payload.position - at));
    into.parts.push_back(payload.data);
    at = payload.position;
  }
  if (at < owned.size()) into.parts.push_back(owned.subspan(at));
  output_taken();
  return true;
}

bool session::poll_output(bytes& into) {
  into.clear();
  if (out_.empty()) return false;
  if (borrowed_.empty()) {
    std::swap(into, out_);
  } else {
    into.reserve(pending_output());
    std::size_t at = 0;
    for (const borrowed_payload& payload : borrowed_) {
      into.insert(into.end(), out_.begin() + static_cast<std::ptrdiff_t>(at),
                  out_.begin() + static_cast<std::ptrdiff_t>(payload.position));
      append(into, payload.data);
      at = payload.position;
    }
    into.insert(into.end(), out_.begin() + static_cast<std::ptrdiff_t>(at), out_.end());
    out_.clear();
    adopted_.clear();
  }
  output_taken();
  return true;
}

void session::output_taken() {
  borrowed_.clear();
  borrowed_bytes_ = 0;
  ++output_generation_;
  // The output buffer has room again: wake the writers it stopped.
  for (stream_id id : output_waiters_) {
    if (stream_entry* s = find(id)) {
      s->waiting_for_output = false;
      if (!s->reset && !s->write_closed && !terminated_) queue_writable(id, *s);
    }
  }
  output_waiters_.clear();
}

std::optional<event> session::poll_event() {
  if (events_.empty()) return std::nullopt;
  event e = events_.front();
  events_.pop_front();
  if (e.type == event_type::readable || e.type == event_type::writable) {
    if (stream_entry* s = find(e.id)) {
      (e.type == event_type::readable ? s->readable_queued : s->writable_queued) = false;
    }
  }
  return e;
}

std::optional<time_point> session::poll_timeout() const {
  if (terminated_) return std::nullopt;
  if (ping_outstanding_) {
    if (config_.keepalive_timeout > duration::zero()) return ping_sent_ + config_.keepalive_timeout;
    return std::nullopt;
  }
  return next_ping_;
}

bool session::can_open_stream() const noexcept {
  return !terminated_ && !remote_go_away_ && unacknowledged_ < config_.max_ack_backlog;
}

std::uint32_t session::send_window(stream_id id) const {
  const stream_entry* s = find(id);
  return s != nullptr ? s->send_window : 0;
}

std::uint32_t session::receive_window(stream_id id) const {
  const stream_entry* s = find(id);
  return s != nullptr ? s->recv_window : 0;
}

std::size_t session::buffered(stream_id id) const {
  const stream_entry* s = find(id);
  return s != nullptr ? s->buffered() : 0;
}

std::size_t session::lent_room(stream_id id) const {
  const stream_entry* s = find(id);
  return s != nullptr && s->loan != nullptr ? s->loan_size - s->loan_filled : 0;
}

// ---------------------------------------------------------------------------------
// Helpers

void session::receive_buffer::append(bytes_view data) {
  while (!data.empty()) {
    if (chunks_.empty() || chunks_.back().size() >= chunk_size) {
      chunks_.push_back(std::move(spare_));
      spare_ = bytes();
      chunks_.back().reserve(chunk_size);
    }
    bytes& back = chunks_.back();
    const std::size_t n = std::min(chunk_size - back.size(), data.size());
    back.insert(back.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
    data = data.subspan(n);
    size_ += n;
  }
}

void session::receive_buffer::prepend(bytes_view data) {
  if (data.empty()) return;
  if (offset_ > 0) {
    bytes& front = chunks_.front();
    front.erase(front.begin(), front.begin() + static_cast<std::ptrdiff_t>(offset_));
    offset_ = 0;
  }
  chunks_.emplace_front(data.begin(), data.end());
  size_ += data.size();
}

std::size_t session::receive_buffer::read(mutable_bytes_view out) noexcept {
  std::size_t copied = 0;
  while (copied < out.size() && size_ > 0) {
    bytes& front = chunks_.front();
    const std::size_t n = std::min(front.size() - offset_, out.size() - copied);
    std::memcpy(out.data() + copied, front.data() + offset_, n);
    offset_ += n;
    copied += n;
    size_ -= n;
    if (offset_ == front.size()) {
      // Keep one chunk's storage for the next frame instead of freeing it.
      if (front.capacity() >= chunk_size && spare_.capacity() == 0) {
        front.clear();
        spare_ = std::move(front);
      }
      chunks_.pop_front();
      offset_ = 0;
    }
  }
  return copied;
}

void session::receive_buffer::clear() noexcept {
  chunks_.clear();
  bytes().swap(spare_);
  offset_ = 0;
  size_ = 0;
}

session::stream_entry* session::find(stream_id id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : &it->second;
}

const session::stream_entry* session::find(stream_id id) const {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : &it->second;
}

bool session::is_remote_id(stream_id id) const noexcept {
  const bool even = id % 2 == 0;
  return role_ == role::client ? even : !even;
}

bool session::was_opened(stream_id id) const noexcept {
  if (id == 0) return false;
  return is_remote_id(id) ? id <= last_remote_id_ : id < next_local_id_;
}

void session::queue_frame(frame_type type, std::uint16_t flags, stream_id id, std::uint32_t length) {
  append_header(out_, frame_header{protocol_version, type, flags, id, length});
}

bool session::queue_peer_caused(frame_type type, std::uint16_t flags, stream_id id, std::uint32_t length) {
  if (pending_output() >= config_.max_output_buffer + control_slack) return false;
  queue_frame(type, flags, id, length);
  return true;
}

void session::send_ping(time_point now) {
  ping_value_ = next_ping_value_++;
  ping_outstanding_ = true;
  ping_sent_ = now;
  next_ping_.reset();
  queue_frame(frame_type::ping, flag::syn, 0, ping_value_);
}

void session::push_event(event_type type, stream_id id, std::uint32_t code, error_code error) {
  event e;
  e.type = type;
  e.id = id;
  e.code = code;
  e.error = error;
  events_.push_back(e);
}

void session::queue_readable(stream_id id, stream_entry& s) {
  if (s.readable_queued) return;
  s.readable_queued = true;
  push_event(event_type::readable, id);
}

void session::queue_writable(stream_id id, stream_entry& s) {
  if (s.writable_queued) return;
  s.writable_queued = true;
  push_event(event_type::writable, id);
}

void session::fail(errc why, go_away_code code) {
  if (terminated_) return;
  queue_frame(frame_type::go_away, 0, 0, static_cast<std::uint32_t>(code));
  terminate(why);
}

void session::terminate(error_code why) {
  if (terminated_) return;
  terminated_ = true;
  error_ = why;
  in_payload_ = false;
  ping_outstanding_ = false;
  next_ping_.reset();
  accept_queue_.clear();
  push_event(event_type::connection_error, 0, 0, why);
}

}  // namespace p2p::yamux
