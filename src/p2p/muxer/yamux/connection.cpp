#include "p2p/muxer/yamux/connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <utility>

namespace p2p::yamux {

namespace {
// Bytes requested from the transport per read: one maximal Noise frame (65519 bytes)
// fits, so Noise decrypts straight into this buffer. Not larger, because payload
// beyond a waiting reader's buffer (echo readers use 64 KiB) would take the slower
// path through the stream's buffer.
constexpr std::size_t read_chunk = 64 * 1024;
// Writes at least this large lend their payload to the session instead of copying it,
// then wait until the writer loop has handed it to the transport. Such a write is a
// full transport write on its own, so waiting costs no batching; smaller writes are
// copied and return at once, so several of them share one transport write (fewer
// syscalls, which outweighs the copy: measured with a 64 KiB echo).
constexpr std::size_t borrow_threshold = 128 * 1024;
}  // namespace

// ---------------------------------------------------------------------------------
// Streams

class connection::muxed_stream final : public stream {
 public:
  muxed_stream(std::shared_ptr<connection> owner, stream_id id)
      : connection_(std::move(owner)), id_(id), readable_(connection_->executor_), writable_(connection_->executor_) {
    connection_->streams_[id_] = this;
  }

  ~muxed_stream() override { connection_->release(id_); }

  task<result<std::size_t>> read_some(mutable_bytes_view buffer) override {
    auto owner = connection_;  // the connection outlives this coroutine
    if (buffer.empty()) co_return std::size_t{0};
    // While we wait, `buffer` is lent to the session so payload lands in it directly.
    // The guard ends the loan however this coroutine ends (cancellation, destruction)
    // and is declared after `owner`, so it runs while the session still exists.
    loan_guard guard{*this};
    for (;;) {
      auto n = owner->core_.read(id_, buffer, owner->clock_.now());
      guard.release();  // read() ended any loan
      if (!n) co_return n.error();
      if (*n > 0) {
        owner->pump();  // a window update may be due
        co_return *n;
      }
      if (owner->core_.lend_read_buffer(id_, buffer)) lent_ = true;
      co_await readable_.wait();
    }
  }

  task<result<void>> write(bytes_view data) override {
    auto owner = connection_;
    const bool borrow = data.size() >= borrow_threshold;
    // Declared after `owner`: if we leave while the session still refers to `data`
    // (error, cancellation), the guard makes it copy the payload first.
    borrow_guard guard{*owner, std::nullopt};
    std::size_t offset = 0;
    do {
      auto n = borrow ? owner->core_.write_borrowed(id_, data.subspan(offset))
                      : owner->core_.write(id_, data.subspan(offset));
      if (!n) co_return n.error();
      if (*n == 0) {
        if (data.empty()) break;
        co_await writable_.wait();
        continue;
      }
      if (borrow) guard.generation = owner->core_.output_generation();
      offset += *n;
      owner->pump();
    } while (offset < data.size());
    // The writer loop takes the output (and the transport reads it) before we resume.
    while (guard.is_pending()) co_await owner->output_taken_.wait();
    co_return result<void>{};
  }

  task<result<void>> close_write() override {
    auto r = connection_->core_.close_write(id_);
    connection_->pump();
    co_return r;
  }

  void reset() override {
    connection_->core_.reset(id_);
    connection_->pump();
    wake();
  }

  void wake() noexcept {
    readable_.notify();
    writable_.notify();
  }
  void wake_reader() noexcept { readable_.notify(); }
  void wake_writer() noexcept { writable_.notify(); }
  // True while a read_some waits with its buffer lent to the session.
  bool has_lent_buffer() const noexcept { return lent_; }

 private:
  struct borrow_guard {
    connection& owner;
    std::optional<std::uint64_t> generation;  // output generation of our last borrow
    bool is_pending() const noexcept { return generation && owner.core_.output_generation() == *generation; }
    ~borrow_guard() {
      if (is_pending()) owner.core_.adopt_borrowed();
    }
  };

  struct loan_guard {
    muxed_stream& owner;
    void release() noexcept { owner.lent_ = false; }
    ~loan_guard() {
      if (owner.lent_) owner.connection_->core_.cancel_loan(owner.id_);
      owner.lent_ = false;
    }
  };

  std::shared_ptr<connection> connection_;
  stream_id id_;
  signal readable_;
  signal writable_;
  bool lent_ = false;
};

// ---------------------------------------------------------------------------------
// Connection

connection::connection(private_tag, asio::any_io_executor executor, std::unique_ptr<stream> transport,
                       role local_role, const config& cfg, clock& clk)
    : executor_(executor),
      transport_(std::move(transport)),
      clock_(clk),
      core_(local_role, cfg, clk.now()),
      close_timeout_(cfg.close_timeout),
      write_wakeup_(executor),
      accept_wakeup_(executor),
      open_wakeup_(executor),
      output_taken_(executor),
      timer_(executor) {}

connection::~connection() = default;

std::shared_ptr<connection> make_connection(asio::any_io_executor executor, std::unique_ptr<stream> transport,
                                            role local_role, const config& cfg, clock& clk) {
  return std::make_shared<connection>(connection::private_tag{}, std::move(executor), std::move(transport),
                                      local_role, cfg, clk);
}

task<void> connection::run() {
  using namespace boost::asio::experimental::awaitable_operators;
  auto self = shared_from_this();
  if (started_) co_return;  // exactly one owner runs the connection
  started_ = true;
  std::exception_ptr failure;
  try {
    co_await (read_loop() && write_loop() && timer_loop());
  } catch (...) {
    // A bug, not a peer: end this connection, let the owner see the exception.
    failure = std::current_exception();
  }
  core_.handle_connection_lost();
  pump();
  wake_everyone();
  transport_.reset();
  if (failure) std::rethrow_exception(failure);
}

task<void> connection::read_loop() {
  bytes buffer(read_chunk);
  for (;;) {
    auto n = co_await transport_->read_some(buffer);
    if (!n) break;
    // After the session ended we keep reading (and ignoring) until the peer closes,
    // so our GoAway and FIN are not lost to a connection reset.
    core_.handle_bytes(bytes_view(buffer.data(), *n), clock_.now());
    pump();
    if (std::exchange(lent_buffer_full_, false)) {
      // A waiting reader's lent buffer is (nearly) full: let it take its bytes before
      // we read more, or the next payload overflows into the stream buffer and is
      // copied twice. (Posted after the reader's wake-up, so it runs first.) Otherwise
      // keep reading: the reader gets larger batches.
      co_await asio::post(executor_, asio::use_awaitable);
    }
  }
  core_.handle_connection_lost();
  pump();
  wake_everyone();
  reader_done_ = true;
  write_wakeup_.notify();
  timer_.cancel();
}

task<void> connection::write_loop() {
  bool transport_failed = false;
  for (;;) {
    if (core_.poll_output(write_batch_)) {
      // Writers whose payload is in the batch may resume: the transport reads every
      // part before it first suspends (stream::write_gather's contract).
      pump();
      const auto& parts = write_batch_.parts;
      auto written = parts.size() == 1 ? co_await transport_->write(parts.front())
                                       : co_await transport_->write_gather(parts);
      if (!written) {
        transport_failed = true;
        core_.handle_connection_lost();
        pump();
        wake_everyone();
        break;
      }
      pump();  // streams stopped by the full output buffer may write again
      continue;
    }
    if (core_.is_terminated() || reader_done_) break;
    co_await write_wakeup_.wait();
  }
  // The peer reads EOF after our last frame (the GoAway when we closed).
  if (!transport_failed) (void)co_await transport_->close_write();
  write_batch_ = session::output_batch{};
  writer_done_ = true;
  timer_.cancel();
}

task<void> connection::timer_loop() {
  std::optional<std::chrono::steady_clock::time_point> grace_end;
  bool transport_reset = false;
  while (!(reader_done_ && writer_done_)) {
    if (core_.is_terminated()) {
      // Wait for the peer to close its side; past the grace period, abort the
      // transport so the pending read (or a write the peer never drains) ends.
      armed_deadline_.reset();
      if (!grace_end) grace_end = std::chrono::steady_clock::now() + close_timeout_;
      if (!transport_reset && std::chrono::steady_clock::now() >= *grace_end) {
        transport_reset = true;
        transport_->reset();
      }
      timer_.expires_at(transport_reset ? std::chrono::steady_clock::time_point::max() : *grace_end);
    } else if (auto deadline = core_.poll_timeout()) {
      const time_point now = clock_.now();
      if (now >= *deadline) {
        core_.handle_timeout(now);
        pump();
        continue;
      }
      armed_deadline_ = deadline;
      timer_.expires_after(*deadline - now);
    } else {
      armed_deadline_.reset();
      timer_.expires_at(std::chrono::steady_clock::time_point::max());
    }
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

task<result<std::unique_ptr<stream>>> connection::open_stream() {
  auto self = shared_from_this();
  for (;;) {
    if (core_.is_terminated() || core_.remote_went_away()) co_return errc::connection_closed;
    if (core_.can_open_stream()) break;
    co_await open_wakeup_.wait();
  }
  auto id = core_.open_stream();
  if (!id) co_return id.error();
  std::unique_ptr<stream> opened = std::make_unique<muxed_stream>(self, *id);
  pump();
  co_return std::move(opened);
}

task<result<std::unique_ptr<stream>>> connection::accept_stream() {
  auto self = shared_from_this();
  for (;;) {
    if (auto id = core_.accept()) {
      std::unique_ptr<stream> accepted = std::make_unique<muxed_stream>(self, *id);
      pump();
      co_return std::move(accepted);
    }
    if (core_.is_terminated()) co_return errc::connection_closed;
    co_await accept_wakeup_.wait();
  }
}

void connection::close() {
  core_.close();
  pump();
}

bool connection::is_closed() const noexcept { return core_.is_terminated(); }

void connection::go_away() {
  core_.go_away(go_away_code::normal);
  pump();
}

void connection::release(stream_id id) {
  streams_.erase(id);
  core_.release(id);
  pump();
}

void connection::pump() {
  auto handle = [this](stream_id id) -> muxed_stream* {
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second;
  };
  while (auto e = core_.poll_event()) {
    switch (e->type) {
      case event_type::inbound_stream:
        accept_wakeup_.notify();
        break;
      case event_type::readable:
        if (auto* s = handle(e->id)) {
          if (s->has_lent_buffer() && core_.lent_room(e->id) < read_chunk) lent_buffer_full_ = true;
          s->wake_reader();
        }
        break;
      case event_type::stream_closed:
        if (auto* s = handle(e->id)) s->wake_reader();
        break;
      case event_type::writable:
        if (auto* s = handle(e->id)) s->wake_writer();
        break;
      case event_type::stream_reset:
        if (auto* s = handle(e->id)) s->wake();
        break;
      case event_type::open_ready:
      case event_type::go_away:
        open_wakeup_.notify();
        break;
      case event_type::connection_error:
        wake_everyone();
        break;
    }
  }
  if (core_.has_output() || core_.is_terminated()) write_wakeup_.notify();
  if (core_.output_generation() != taken_generation_) {
    taken_generation_ = core_.output_generation();
    output_taken_.notify();
  }
  if (core_.poll_timeout() != armed_deadline_) timer_.cancel();
}

void connection::wake_everyone() {
  for (auto& [id, s] : streams_) s->wake();
  accept_wakeup_.notify();
  open_wakeup_.notify();
  write_wakeup_.notify();
  output_taken_.notify();
  timer_.cancel();
}

}  // namespace p2p::yamux
