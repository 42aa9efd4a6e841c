// A peer's MCP session on arbitrary bytes: what a peer writes on a
// /p2pmcp/mcp/1.0.0/<server> stream goes through hub::serve_stream to a hosted server
// (here a fake that answers every request with its params, and sometimes sends progress
// or a server-to-client request of its own). The session must never crash or throw,
// must end when the input does, and must write only complete lines that parse as valid
// JSON-RPC messages. Small limits so the fuzzer reaches them.
#include "mcp/hub/hub.hpp"
#include "fuzz_support.hpp"
#include "mcp/hub/stream_session.hpp"
#include "mcp/jsonrpc/line_framer.hpp"
#include "mcp/jsonrpc/message.hpp"

#include "p2p/core/signal.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>

#include <cstdlib>
#include <deque>
#include <string>

namespace {

namespace asio = boost::asio;
using mcp::hub::json;
using mcp::server::rpc_error;
using mcp::server::rpc_result;
using mcp::server::server_message;
using p2p::task;

using fuzz::check;

// The peer's side: reads hand out the input in small chunks, then end of stream.
class scripted_stream final : public p2p::stream {
 public:
  explicit scripted_stream(std::string_view input) : input_(input) {}
  task<p2p::result<std::size_t>> read_some(p2p::mutable_bytes_view buffer) override {
    const std::size_t n = std::min({buffer.size(), input_.size(), chunk_});
    std::copy_n(input_.data(), n, buffer.data());
    input_.remove_prefix(n);
    chunk_ = chunk_ % 97 + 1;
    co_return n;
  }
  task<p2p::result<void>> write(p2p::bytes_view data) override {
    output.append(reinterpret_cast<const char*>(data.data()), data.size());
    co_return p2p::result<void>();
  }
  task<p2p::result<void>> close_write() override {
    closed = true;
    co_return p2p::result<void>();
  }
  void reset() override { closed = true; }

  std::string output;
  bool closed = false;

 private:
  std::string_view input_;
  std::size_t chunk_ = 7;
};

class echo_upstream final : public mcp::server::upstream {
 public:
  explicit echo_upstream(asio::any_io_executor ex) : signal_(ex) {}
  const std::string& name() const noexcept override { return name_; }
  bool available() const noexcept override { return true; }
  std::string unavailable_reason() const override { return {}; }
  std::uint64_t state_version() const noexcept override { return 0; }
  task<void> state_changed(std::uint64_t) override { co_await wait_stop(); }
  const std::string& protocol_version() const noexcept override { return version_; }
  const json& server_info() const noexcept override { return info_; }
  const json& server_capabilities() const noexcept override { return capabilities_; }
  const std::string& instructions() const noexcept override { return version_; }
  task<rpc_result<json>> request(std::string method, json params, mcp::server::duration,
                                 const std::string*) override {
    if (method.size() % 5 == 0) co_return rpc_error(-32000, "refused");
    if (method.size() % 3 == 0 && params.is_object() && params.contains("_meta")) {
      // Progress and a sampling request of its own, as servers do mid-call.
      server_message progress;
      progress.message = mcp::jsonrpc::make_notification("notifications/progress", json::object());
      progress.message["params"]["progressToken"] = params["_meta"].value("progressToken", json());
      queue_.push_back(std::move(progress));
      server_message sampling;
      sampling.message = mcp::jsonrpc::make_request(next_id_++, "sampling/createMessage", json::object());
      queue_.push_back(std::move(sampling));
      signal_.notify();
    }
    co_return params;
  }
  bool notify(std::string, json) override { return true; }
  task<std::optional<server_message>> next_message() override {
    while (queue_.empty() && !stopped_) {
      co_await signal_.wait();
      const asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
      if (state.cancelled() != asio::cancellation_type::none) co_return std::nullopt;
    }
    if (queue_.empty()) co_return std::nullopt;
    server_message m = std::move(queue_.front());
    queue_.pop_front();
    co_return m;
  }
  bool respond(const server_message&, json) override { return true; }
  bool respond_error(const server_message&, int, std::string, json) override { return true; }
  const std::vector<json>& tools() const noexcept override { return tools_; }
  std::uint64_t tools_version() const noexcept override { return 0; }
  task<void> tools_changed(std::uint64_t) override { co_await wait_stop(); }
  void stop() {
    stopped_ = true;
    signal_.notify();
  }

 private:
  task<void> wait_stop() {
    while (!stopped_) {
      co_await signal_.wait();
      const asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
      if (state.cancelled() != asio::cancellation_type::none) co_return;
    }
  }
  std::string name_ = "fuzz";
  std::string version_ = "2025-11-25";
  json info_ = json::object();
  json capabilities_ = json::object();
  std::vector<json> tools_;
  std::deque<server_message> queue_;
  std::int64_t next_id_ = 1;
  bool stopped_ = false;
  p2p::signal signal_;
};

task<void> scenario(asio::any_io_executor ex, std::string_view input, std::string& output, bool& ended) {
  mcp::hub::hub h(ex);
  echo_upstream up(ex);
  h.add_upstream(up, "");
  scripted_stream s(input);
  mcp::hub::session_options options;
  options.only = &up;
  options.label = "fuzz";
  mcp::hub::stream_session_options limits;
  limits.max_line = 512;
  limits.max_output = 64 * 1024;
  limits.max_concurrent_requests = 4;
  co_await mcp::hub::serve_stream(h, s, options, limits);
  ended = s.closed;
  output = std::move(s.output);
  co_await h.remove_upstream(up);
  up.stop();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  asio::io_context io;
  std::string output;
  bool ended = false;
  bool done = false;
  asio::co_spawn(io, scenario(io.get_executor(), input, output, ended), [&](std::exception_ptr e) {
    check(!e);
    done = true;
  });
  io.run();
  check(done && ended);
  // Only whole lines, each one valid JSON-RPC message.
  check(output.empty() || output.back() == '\n');
  std::size_t start = 0;
  while (start < output.size()) {
    const std::size_t end = output.find('\n', start);
    auto parsed = mcp::jsonrpc::parse_line(std::string_view(output).substr(start, end - start));
    check(parsed.errors.empty() && parsed.messages.size() == 1);
    start = end + 1;
  }
  return 0;
}
