#include "memory_stream.hpp"

#include "p2p/core/signal.hpp"

#include <algorithm>
#include <deque>

namespace p2p::testing {

namespace {
struct pipe {
  explicit pipe(boost::asio::any_io_executor executor) : changed(executor) {}
  std::deque<std::uint8_t> buffer;
  bool write_closed = false;
  bool reset = false;
  bool broken = false;
  std::size_t total_written = 0;
  p2p::signal changed;
};
}  // namespace

struct memory_stream::shared_state {
  shared_state(boost::asio::any_io_executor executor, memory_stream_options opts)
      : options(opts), pipes{pipe(executor), pipe(executor)} {}
  memory_stream_options options;
  pipe pipes[2];  // pipes[i] carries bytes written by side i
};

memory_stream::~memory_stream() {
  // Dropping an end without closing acts like a reset for the peer.
  auto& out = state_->pipes[side_];
  auto& in = state_->pipes[1 - side_];
  if (!out.write_closed) out.reset = true;
  in.reset = true;
  out.changed.notify();
  in.changed.notify();
}

task<result<std::size_t>> memory_stream::read_some(mutable_bytes_view buffer) {
  auto state = state_;  // keep alive across suspension
  auto& in = state->pipes[1 - side_];
  if (buffer.empty()) co_return std::size_t{0};
  for (;;) {
    if (in.broken) co_return errc::connection_closed;
    if (!in.buffer.empty()) {
      const std::size_t n = std::min({buffer.size(), in.buffer.size(), state->options.max_read});
      std::copy_n(in.buffer.begin(), n, buffer.begin());
      in.buffer.erase(in.buffer.begin(), in.buffer.begin() + static_cast<std::ptrdiff_t>(n));
      in.changed.notify();
      co_return n;
    }
    if (in.reset) co_return errc::stream_reset;
    if (in.write_closed) co_return errc::closed;
    co_await in.changed.wait();
  }
}

task<result<void>> memory_stream::write(bytes_view data) {
  auto state = state_;
  auto& out = state->pipes[side_];
  std::size_t offset = 0;
  while (offset < data.size()) {
    if (out.reset || out.broken) co_return errc::stream_reset;
    if (out.write_closed) co_return errc::closed;
    if (out.buffer.size() >= state->options.capacity) {
      co_await out.changed.wait();
      continue;
    }
    const std::size_t n = std::min(data.size() - offset, state->options.capacity - out.buffer.size());
    out.buffer.insert(out.buffer.end(), data.begin() + static_cast<std::ptrdiff_t>(offset),
                      data.begin() + static_cast<std::ptrdiff_t>(offset + n));
    out.total_written += n;
    offset += n;
    out.changed.notify();
  }
  co_return result<void>{};
}

task<result<void>> memory_stream::close_write() {
  auto& out = state_->pipes[side_];
  out.write_closed = true;
  out.changed.notify();
  co_return result<void>{};
}

void memory_stream::reset() {
  for (auto& p : state_->pipes) {
    p.reset = true;
    p.changed.notify();
  }
}

void memory_stream::break_connection() {
  for (auto& p : state_->pipes) {
    p.broken = true;
    p.changed.notify();
  }
}

std::size_t memory_stream::bytes_written() const { return state_->pipes[side_].total_written; }

std::pair<std::unique_ptr<memory_stream>, std::unique_ptr<memory_stream>> make_memory_stream_pair(
    boost::asio::any_io_executor executor, memory_stream_options options) {
  auto state = std::make_shared<memory_stream::shared_state>(executor, options);
  return {std::make_unique<memory_stream>(state, 0), std::make_unique<memory_stream>(state, 1)};
}

}  // namespace p2p::testing
