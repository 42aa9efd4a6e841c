#include "mcp/gateway/client/stdio_bridge.hpp"

#include "mcp/jsonrpc/line_framer.hpp"
#include "mcp/jsonrpc/message.hpp"

#include "p2p/core/log.hpp"
#include "p2p/core/signal.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <deque>

namespace mcp::gateway::client {
namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using p2p::errc;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view component = "mcp-stdio";

// The JSON-RPC code for a request the client could not send.
int code_for(const p2p::error_code& ec) {
  if (ec == errc::message_too_large) return jsonrpc::codes::message_too_large;
  if (ec == errc::invalid_argument) return jsonrpc::codes::invalid_request;
  return jsonrpc::codes::connection_closed;
}

std::string describe_size(std::size_t bytes) {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0) return std::to_string(bytes / (1024 * 1024)) + " MiB";
  return std::to_string(bytes) + " bytes";
}

}  // namespace

class stdio_bridge::impl {
 public:
  impl(asio::any_io_executor executor, gateway_url url, bridge_options options)
      : executor_(executor),
        options_(std::move(options)),
        client_(executor, std::move(url), options_.client),
        input_(executor),
        output_(executor),
        output_changed_(executor),
        pending_changed_(executor) {}

  task<int> run() {
    const int input = ::dup(options_.input_fd);
    const int output = input < 0 ? -1 : ::dup(options_.output_fd);
    if (input < 0 || output < 0) {
      p2p::log::error(component, "cannot use the standard input/output descriptors: {}", std::strerror(errno));
      if (input >= 0) ::close(input);
      co_return 1;
    }
    input_.assign(input);
    output_.assign(output);
    if (options_.unavailable) co_return co_await run_unavailable();
    co_await (read_input() && (pump() && write_output()));
    co_return client_.has_failed() ? 1 : 0;
  }

  void stop() {
    if (stopping_) return;
    stopping_ = true;
    boost::system::error_code ignored;
    if (input_.is_open()) input_.cancel(ignored);
    pending_changed_.notify();
  }

 private:
  // Input: lines -> messages -> the gateway, in order.
  task<void> read_input() {
    jsonrpc::line_framer framer(options_.client.max_message_size);
    std::array<char, 64 * 1024> chunk;
    bool more = !stopping_;
    while (more) {
      auto [ec, n] = co_await input_.async_read_some(asio::buffer(chunk), use_tuple);
      if (ec) {
        if (ec != asio::error::eof && ec != asio::error::operation_aborted) {
          p2p::log::warn(component, "reading standard input failed: {}", ec.message());
        }
        framer.finish();  // a last line without newline still counts
        more = false;
      } else {
        framer.feed(std::string_view(chunk.data(), n));
      }
      while (auto frame = framer.poll()) {
        if (stopping_ || client_.has_failed() || output_broken_) break;
        if (frame->is_oversized()) {
          refuse_oversized(*frame);
          continue;
        }
        jsonrpc::parsed_line parsed = jsonrpc::parse_line(frame->line);
        for (json& error : parsed.errors) queue_line(error);
        for (json& message : parsed.messages) {
          co_await forward(std::move(message));
          if (stopping_ || client_.has_failed()) break;
        }
      }
      if (stopping_ || client_.has_failed() || output_broken_) more = false;
    }
    input_done_ = true;
    if (!stopping_ && !client_.has_failed() && !output_broken_ && client_.pending_requests() > 0) {
      // The client closed its side; let answers already on the way reach it.
      asio::steady_timer timer(executor_, options_.drain_timeout);
      co_await (wait_for_pending() || timer.async_wait(use_tuple));
    }
    co_await client_.close();  // DELETE, unless the session is gone already
    reader_done_ = true;
    output_changed_.notify();
  }

  task<void> forward(json message) {
    const bool is_request = jsonrpc::classify(message) == jsonrpc::message_kind::request;
    const json id = is_request ? message["id"] : json();
    auto sent = co_await client_.send(std::move(message));
    if (sent) co_return;
    if (is_request) {
      queue_line(jsonrpc::make_error_response(id, code_for(sent.error()), client_.last_error()));
    } else if (!client_.has_failed()) {
      p2p::log::warn(component, "{}", client_.last_error());
    }
  }

  void refuse_oversized(const jsonrpc::frame& frame) {
    const jsonrpc::message_hint hint = jsonrpc::sniff_message(frame.head, frame.tail);
    const std::string sentence = "the message is " + std::to_string(frame.size) + " bytes, over the limit of " +
                                 describe_size(options_.client.max_message_size) + " for one message";
    if (hint.id && hint.has_method) {
      queue_line(jsonrpc::make_error_response(*hint.id, jsonrpc::codes::message_too_large, sentence));
    } else {
      p2p::log::warn(component, "dropped a line from standard input: {}", sentence);
    }
  }

  task<void> wait_for_pending() {
    while (client_.pending_requests() > 0 && !pump_done_ && !stopping_) co_await pending_changed_.wait();
  }

  // Gateway -> output queue. Ends when the client is closed or failed.
  task<void> pump() {
    while (auto message = co_await client_.next_message()) {
      while (lines_.size() >= options_.max_queued_lines && !output_broken_) co_await output_changed_.wait();
      queue_line(*message);
      pending_changed_.notify();
    }
    pump_done_ = true;
    if (client_.has_failed()) p2p::log::error(component, "{}", client_.last_error());
    pending_changed_.notify();
    output_changed_.notify();
    // The gateway is gone: stop reading (the reader then closes the client and ends).
    boost::system::error_code ignored;
    if (!input_done_ && input_.is_open()) input_.cancel(ignored);
  }

  void queue_line(const json& message) {
    if (output_broken_) return;
    lines_.push_back(jsonrpc::encode_line(message));
    output_changed_.notify();
  }

  // The one writer of the output: whole lines, in queue order.
  task<void> write_output() {
    std::string batch;
    for (;;) {
      while (lines_.empty() && !(pump_done_ && reader_done_)) co_await output_changed_.wait();
      if (lines_.empty()) break;
      batch.clear();
      while (!lines_.empty() && batch.size() < 256 * 1024) {
        batch += lines_.front();
        lines_.pop_front();
      }
      output_changed_.notify();  // room for the pump
      auto [ec, n] = co_await asio::async_write(output_, asio::buffer(batch), use_tuple);
      if (ec) {
        p2p::log::warn(component, "writing standard output failed ({}); stopping", ec.message());
        output_broken_ = true;
        lines_.clear();
        output_changed_.notify();
        boost::system::error_code ignored;
        if (input_.is_open()) input_.cancel(ignored);
        // Keep waiting for the reader and the pump to end; nothing more is written.
        while (!(pump_done_ && reader_done_)) co_await output_changed_.wait();
        break;
      }
    }
    boost::system::error_code ignored;
    output_.close(ignored);  // the client sees the end of our output now
  }

  // No gateway: answer the first request with the reason, then end.
  task<int> run_unavailable() {
    const std::string sentence = *options_.unavailable;
    p2p::log::error(component, "{}", sentence);
    jsonrpc::line_framer framer(options_.client.max_message_size);
    std::array<char, 64 * 1024> chunk;
    bool answered = false;
    while (!answered && !stopping_) {
      auto [ec, n] = co_await input_.async_read_some(asio::buffer(chunk), use_tuple);
      if (ec) {
        framer.finish();
      } else {
        framer.feed(std::string_view(chunk.data(), n));
      }
      std::string out;
      while (auto frame = framer.poll()) {
        if (frame->is_oversized()) continue;
        jsonrpc::parsed_line parsed = jsonrpc::parse_line(frame->line);
        for (const json& error : parsed.errors) out += jsonrpc::encode_line(error);
        for (const json& message : parsed.messages) {
          if (jsonrpc::classify(message) != jsonrpc::message_kind::request) continue;
          out += jsonrpc::encode_line(
              jsonrpc::make_error_response(message["id"], jsonrpc::codes::connection_closed, sentence));
          answered = true;
          break;
        }
        if (answered) break;
      }
      if (!out.empty()) co_await asio::async_write(output_, asio::buffer(out), use_tuple);
      if (ec) break;
    }
    boost::system::error_code ignored;
    output_.close(ignored);
    co_return 1;
  }

  asio::any_io_executor executor_;
  bridge_options options_;
  http_client client_;
  asio::posix::stream_descriptor input_;
  asio::posix::stream_descriptor output_;

  std::deque<std::string> lines_;  // encoded, waiting for the writer
  p2p::signal output_changed_;     // lines queued or written; reader or pump done
  p2p::signal pending_changed_;    // a response went out, or the pump ended
  bool stopping_ = false;
  bool input_done_ = false;   // no more input is read
  bool reader_done_ = false;  // the reader closed the client and queues nothing more
  bool pump_done_ = false;    // the client's queue ended
  bool output_broken_ = false;
};

stdio_bridge::stdio_bridge(asio::any_io_executor executor, gateway_url url, bridge_options options)
    : impl_(std::make_unique<impl>(std::move(executor), std::move(url), std::move(options))) {}
stdio_bridge::~stdio_bridge() = default;

task<int> stdio_bridge::run() { return impl_->run(); }
void stdio_bridge::stop() { impl_->stop(); }

task<int> run_stdio_bridge(asio::any_io_executor executor, gateway_url url, bridge_options options) {
  stdio_bridge bridge(std::move(executor), std::move(url), std::move(options));
  co_return co_await bridge.run();
}

}  // namespace mcp::gateway::client
