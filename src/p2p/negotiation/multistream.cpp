#include "p2p/negotiation/multistream.hpp"

#include "p2p/core/signal.hpp"
#include "p2p/negotiation/dialer.hpp"
#include "p2p/negotiation/listener.hpp"

#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <array>
#include <optional>
#include <stdexcept>
#include <vector>

namespace p2p::multistream {
namespace {

// Runs a dialer or listener core to completion over `s`. Reads are capped at the core's
// wanted(), which is what keeps the bytes after the negotiation in the stream. With
// `may_write` false the core must have no output (the lazy stream's read side, which
// may not write while the application's write is in flight).
template <class Core>
task<result<void>> run_exchange(stream& s, Core& core, bool may_write) {
  std::array<std::uint8_t, 256> buffer;
  for (;;) {
    if (may_write) {
      if (bytes out = core.poll_output(); !out.empty()) {
        if (auto written = co_await s.write(out); !written) co_return written.error();
      }
    }
    if (core.is_done()) break;
    const std::size_t want = std::min(core.wanted(), buffer.size());
    auto n = co_await s.read_some(mutable_bytes_view(buffer.data(), want));
    if (!n) co_return n.error();
    if (auto used = core.handle_data(bytes_view(buffer.data(), *n)); !used) co_return used.error();
  }
  if (core.error()) co_return core.error();
  co_return result<void>{};
}

class lazy_stream final : public stream {
 public:
  lazy_stream(std::unique_ptr<stream> inner, dialer core) : inner_(std::move(inner)), dialer_(std::move(core)) {}

  task<result<std::size_t>> read_some(mutable_bytes_view buffer) override {
    if (!negotiated_) {
      if (negotiation_error_) co_return negotiation_error_;
      // The listener cannot answer a proposal it has not received, so a read that comes
      // before any write sends the handshake itself.
      if (sending_ == send_state::pending) {
        if (auto sent = co_await send_handshake({}); !sent) co_return sent.error();
      }
      // If the application's first write is still sending the handshake, reading the
      // answer meanwhile is fine: reads and writes are independent.
      if (auto answered = co_await run_exchange(*inner_, dialer_, false); !answered) {
        negotiation_error_ = answered.error();
        co_return negotiation_error_;
      }
      negotiated_ = true;
    }
    co_return co_await inner_->read_some(buffer);
  }

  task<result<void>> write(bytes_view data) override {
    if (negotiation_error_) co_return negotiation_error_;
    if (sending_ == send_state::pending) co_return co_await send_handshake(data);
    if (auto sent = co_await wait_for_handshake(); !sent) co_return sent.error();
    if (negotiation_error_) co_return negotiation_error_;
    co_return co_await inner_->write(data);
  }

  task<result<void>> close_write() override {
    if (sending_ == send_state::pending) {
      if (auto sent = co_await send_handshake({}); !sent) co_return sent.error();
    } else if (auto sent = co_await wait_for_handshake(); !sent) {
      co_return sent.error();
    }
    co_return co_await inner_->close_write();
  }

  void reset() override { inner_->reset(); }

 private:
  enum class send_state { pending, sending, sent };

  // Writes header + proposal, followed by `data`, in one write.
  task<result<void>> send_handshake(bytes_view data) {
    sending_ = send_state::sending;
    bytes out = dialer_.poll_output();
    append(out, data);
    auto written = co_await inner_->write(out);
    sending_ = send_state::sent;
    if (!written) send_error_ = written.error();
    if (sent_signal_) sent_signal_->notify();
    co_return written;
  }

  // Waits while a read is sending the handshake; returns how that write ended.
  task<result<void>> wait_for_handshake() {
    if (sending_ == send_state::sending) {
      if (!sent_signal_) sent_signal_.emplace(co_await asio::this_coro::executor);
      while (sending_ == send_state::sending) co_await sent_signal_->wait();
    }
    if (send_error_) co_return send_error_;
    co_return result<void>{};
  }

  std::unique_ptr<stream> inner_;
  dialer dialer_;
  send_state sending_ = send_state::pending;
  error_code send_error_;
  std::optional<p2p::signal> sent_signal_;  // created on first need: it needs an executor
  bool negotiated_ = false;
  error_code negotiation_error_;
};

}  // namespace

task<result<std::string>> select_one_of(stream& s, std::span<const std::string> protocols) {
  auto core = dialer::create(std::vector<std::string>(protocols.begin(), protocols.end()));
  if (!core) co_return core.error();
  if (auto done = co_await run_exchange(s, *core, true); !done) co_return done.error();
  co_return std::string(*core->selected());
}

task<result<std::string>> handle(stream& s, std::function<bool(std::string_view)> is_supported) {
  listener core(std::move(is_supported));
  if (auto done = co_await run_exchange(s, core, true); !done) co_return done.error();
  co_return std::string(*core.selected());
}

task<result<std::string>> handle(stream& s, std::span<const std::string> protocols) {
  auto is_supported = [protocols](std::string_view id) {
    return std::find(protocols.begin(), protocols.end(), id) != protocols.end();
  };
  listener core(is_supported, std::vector<std::string>(protocols.begin(), protocols.end()));
  if (auto done = co_await run_exchange(s, core, true); !done) co_return done.error();
  co_return std::string(*core.selected());
}

std::unique_ptr<stream> select_lazy(std::unique_ptr<stream> s, std::string protocol) {
  auto core = dialer::create({std::move(protocol)});
  if (!core) throw std::invalid_argument("multistream: invalid protocol id for lazy select");
  return std::make_unique<lazy_stream>(std::move(s), std::move(*core));
}

}  // namespace p2p::multistream
