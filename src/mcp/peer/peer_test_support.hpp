// The peer's side for tests of the client half of MCP over libp2p (remote_server,
// remote_source): a fake peer whose stream opener makes in-memory stream pairs (or fails,
// or hangs, as scripted), and the peer's end of one stream, read and answered line by line.
#pragma once

#include "mcp/peer/remote_server.hpp"

#include "mcp/jsonrpc/line_framer.hpp"
#include "mcp/jsonrpc/message.hpp"

#include "memory_stream.hpp"

#include "p2p/core/signal.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mcp::peer::fakes {

using p2p::testing::make_memory_stream_pair;
using p2p::testing::memory_stream;
using p2p::testing::memory_stream_options;

// The peer's end of one stream, read and written by a test's script.
class server_end {
 public:
  explicit server_end(std::unique_ptr<memory_stream> stream) : stream_(std::move(stream)) {}

  // The next message from the client; nullopt once the stream ended (ended() says how).
  task<std::optional<json>> read() {
    for (;;) {
      if (!messages_.empty()) {
        json message = std::move(messages_.front());
        messages_.pop_front();
        co_return message;
      }
      auto n = co_await stream_->read_some(buffer_);
      if (!n) {
        ended_ = n.error();
        co_return std::nullopt;
      }
      framer_.feed(p2p::bytes_view(buffer_.data(), *n));
      while (auto frame = framer_.poll()) messages_.push_back(json::parse(frame->line));
    }
  }
  // The next message, which must be a request or notification with this method.
  task<json> expect(std::string method) {
    auto message = co_await read();
    EXPECT_TRUE(message) << "the stream ended while waiting for " << method;
    if (!message) co_return json();
    EXPECT_EQ(message->value("method", ""), method) << message->dump();
    co_return std::move(*message);
  }

  task<bool> send(json message) { co_return co_await send_text(jsonrpc::encode_line(message)); }
  task<bool> send_text(std::string text) {
    auto written = co_await stream_->write(p2p::as_bytes(text));
    co_return static_cast<bool>(written);
  }
  task<bool> answer(const json& request, json result) {
    co_return co_await send(jsonrpc::make_result_response(request["id"], std::move(result)));
  }
  task<void> close() { (void)co_await stream_->close_write(); }
  void reset() { stream_->reset(); }
  memory_stream& stream() { return *stream_; }
  p2p::error_code ended() const { return ended_; }

 private:
  std::unique_ptr<memory_stream> stream_;
  jsonrpc::line_framer framer_;
  std::deque<json> messages_;
  std::vector<std::uint8_t> buffer_ = std::vector<std::uint8_t>(4096);
  p2p::error_code ended_;
};

// How the peer behaves from the first open on.
struct peer_setup {
  memory_stream_options streams;
  std::deque<p2p::errc> failures;  // the first opens fail with these
  bool hang = false;               // every open hangs until cancelled
};

// The peer as the opener sees it: each open makes a stream pair (or fails, or hangs, as
// scripted) and hands the peer's end to accept(), or to serve_each when set.
struct fake_peer {
  fake_peer(asio::any_io_executor executor_, peer_setup setup)
      : executor(executor_),
        stream_options(setup.streams),
        hang(setup.hang),
        failures(std::move(setup.failures)),
        changed(executor_) {}

  stream_opener opener() {
    return [this]() -> task<p2p::result<std::unique_ptr<p2p::stream>>> {
      ++opens;
      changed.notify();
      if (hang) {
        // Ends only by cancellation (which throws, as a well-behaved opener does).
        asio::steady_timer forever(executor);
        forever.expires_at(asio::steady_timer::time_point::max());
        co_await forever.async_wait(asio::use_awaitable);
      }
      if (!failures.empty()) {
        const p2p::errc failure = failures.front();
        failures.pop_front();
        co_return failure;
      }
      auto pair = make_memory_stream_pair(executor, stream_options);
      if (serve_each) {
        serve_each(std::move(pair.second));
      } else {
        accepted.push_back(std::move(pair.second));
      }
      changed.notify();
      co_return std::unique_ptr<p2p::stream>(std::move(pair.first));
    };
  }

  // The peer's end of the next stream the remote_server opens.
  task<server_end> accept() {
    while (accepted.empty()) co_await changed.wait();
    auto stream = std::move(accepted.front());
    accepted.pop_front();
    co_return server_end(std::move(stream));
  }

  task<void> wait_for_opens(int count) {
    while (opens < count) co_await changed.wait();
  }

  asio::any_io_executor executor;
  memory_stream_options stream_options;
  int opens = 0;
  bool hang = false;
  std::deque<p2p::errc> failures;  // the next opens fail with these
  std::deque<std::unique_ptr<memory_stream>> accepted;
  // When set, takes the peer's end of every stream as it opens (accept() then sees none).
  std::function<void(std::unique_ptr<memory_stream>)> serve_each;
  p2p::signal changed;
};

// A tools/call result with one text item.
inline json text_result(std::string text) {
  json content = json::array();
  content.push_back({{"type", "text"}, {"text", std::move(text)}});
  json result = json::object();
  result["content"] = std::move(content);
  return result;
}

}  // namespace mcp::peer::fakes
