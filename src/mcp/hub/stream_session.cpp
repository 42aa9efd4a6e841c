#include "mcp/hub/stream_session.hpp"

#include "mcp/jsonrpc/line_framer.hpp"
#include "mcp/jsonrpc/message.hpp"

#include "p2p/core/log.hpp"
#include "p2p/core/signal.hpp"
#include "p2p/core/task_group.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>

#include <array>
#include <string>

namespace mcp::hub {

namespace asio = boost::asio;
namespace codes = jsonrpc::codes;
namespace log = p2p::log;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr std::string_view component = "mcp/peer";

// The writing half: messages become lines in one buffer, written by one coroutine.
class line_writer final : public client_link {
 public:
  line_writer(asio::any_io_executor executor, p2p::stream& s, std::size_t max_output)
      : stream_(s), max_output_(max_output), wake_(executor) {}

  bool post(json message) override {
    if (failed_ || closing_) return false;
    output_ += message.dump(-1, ' ', false, json::error_handler_t::replace);
    output_ += '\n';
    if (output_.size() > max_output_) {
      // The peer does not read what it asked for: give up on it rather than grow.
      log::info(component, "peer stopped reading its MCP replies ({} bytes queued); resetting the stream",
                output_.size());
      failed_ = true;
      stream_.reset();
    }
    wake_.notify();
    return !failed_;
  }

  // Writes until finish() and everything is out, or the stream fails.
  task<void> run() {
    for (;;) {
      while (output_.empty() && !closing_ && !failed_) co_await wake_.wait();
      if (failed_) co_return;
      if (output_.empty()) break;  // closing and drained
      std::string chunk;
      chunk.swap(output_);
      auto written = co_await stream_.write(p2p::as_bytes(chunk));
      if (!written) {
        failed_ = true;
        co_return;
      }
    }
    co_await stream_.close_write();
  }

  void finish() {
    closing_ = true;
    wake_.notify();
  }

 private:
  p2p::stream& stream_;
  std::size_t max_output_;
  std::string output_;
  bool closing_ = false;
  bool failed_ = false;
  p2p::signal wake_;
};

class line_reply final : public reply_sink {
 public:
  explicit line_reply(line_writer& writer) : writer_(writer) {}
  task<bool> send_related(json message) override { co_return writer_.post(std::move(message)); }
  task<void> respond(json response) override {
    writer_.post(std::move(response));
    co_return;
  }

 private:
  line_writer& writer_;
};

task<void> run_request(session& s, line_writer& writer, json request, std::size_t& running) {
  line_reply reply(writer);
  co_await s.handle(std::move(request), &reply);
  --running;
}

task<void> read_loop(session& s, p2p::stream& stream, line_writer& writer, p2p::task_group& requests,
                     const stream_session_options& limits, std::size_t& running) {
  jsonrpc::line_framer framer(limits.max_line);
  std::array<std::uint8_t, 16 * 1024> buffer{};
  for (;;) {
    auto n = co_await stream.read_some(p2p::mutable_bytes_view(buffer.data(), buffer.size()));
    if (!n || *n == 0) {
      framer.finish();
    } else {
      framer.feed(p2p::bytes_view(buffer.data(), *n));
    }
    while (auto frame = framer.poll()) {
      if (frame->is_oversized()) {
        const auto hint = jsonrpc::sniff_message(frame->head, frame->tail);
        if (hint.id && hint.has_method)
          writer.post(jsonrpc::make_error_response(*hint.id, codes::message_too_large,
                                                   "message of " + std::to_string(frame->size) +
                                                       " bytes is over the limit of " + std::to_string(limits.max_line) + " bytes"));
        continue;
      }
      auto parsed = jsonrpc::parse_line(frame->line);
      for (auto& error : parsed.errors) writer.post(std::move(error));
      for (auto& message : parsed.messages) {
        if (jsonrpc::classify(message) != jsonrpc::message_kind::request) {
          co_await s.handle(std::move(message), nullptr);
          continue;
        }
        if (running >= limits.max_concurrent_requests) {
          writer.post(jsonrpc::make_error_response(message["id"], codes::too_many_requests,
                                                   "too many requests in flight on this stream (limit " +
                                                       std::to_string(limits.max_concurrent_requests) + ")"));
          continue;
        }
        ++running;
        requests.spawn(run_request(s, writer, std::move(message), running), "mcp request");
      }
    }
    if (!n || *n == 0) co_return;
  }
}

}  // namespace

task<void> serve_stream(hub& h, p2p::stream& s, session_options options, stream_session_options limits) {
  co_await asio::this_coro::throw_if_cancelled(false);  // clean up even when cancelled
  auto executor = co_await asio::this_coro::executor;
  line_writer writer(executor, s, limits.max_output);
  const std::string label = options.label;
  auto session = h.open_session(writer, std::move(options));
  p2p::task_group requests(executor);
  p2p::task_group output(executor);
  std::size_t running = 0;
  output.spawn(writer.run(), "mcp writer");
  log::debug(component, "{}: MCP session opened", label);

  co_await read_loop(*session, s, writer, requests, limits, running);

  // The peer is gone (or we stop): cancel what still runs upstream, then write out what
  // was answered. When we were cancelled, do not wait on a peer that may never read.
  const asio::cancellation_state cancellation = co_await asio::this_coro::cancellation_state;
  if (cancellation.cancelled() != asio::cancellation_type::none) s.reset();
  session->close();
  co_await requests.wait();
  writer.finish();
  co_await output.wait();
  session.reset();
  log::debug(component, "{}: MCP session closed", label);
}

}  // namespace mcp::hub
