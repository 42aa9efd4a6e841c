// The stdio bridge between two pipes (standing in for fds 0 and 1) and the real gateway
// transport on 127.0.0.1 port 0, or a fake gateway that crashes. One thread, no sleeps.
#include "mcp/gateway/client/stdio_bridge.hpp"

#include "http_client_test_support.hpp"

#include "mcp/jsonrpc/line_framer.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/write.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <csignal>

namespace mcp::gateway::client {
namespace {

using namespace testing_support;

struct pipe_ends {
  int read = -1;
  int write = -1;
};

pipe_ends make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  return {fds[0], fds[1]};
}

// The MCP client's side: writes the bridge's input, reads its output line by line.
class stdio_peer {
 public:
  explicit stdio_peer(asio::any_io_executor executor)
      : input_(make_pipe()), output_(make_pipe()), to_bridge_(executor, input_.write), from_bridge_(executor, output_.read) {}
  ~stdio_peer() { release_bridge_ends(); }
  stdio_peer(const stdio_peer&) = delete;
  stdio_peer& operator=(const stdio_peer&) = delete;

  // The descriptors the bridge uses (it works on duplicates).
  int bridge_input() const noexcept { return input_.read; }
  int bridge_output() const noexcept { return output_.write; }
  // Once the bridge runs: close our copies, so its end of output is visible as EOF.
  void release_bridge_ends() {
    if (input_.read >= 0) ::close(input_.read);
    if (output_.write >= 0) ::close(output_.write);
    input_.read = output_.write = -1;
  }

  task<void> write(const json& message) { co_await write_raw(jsonrpc::encode_line(message)); }
  task<void> write_raw(std::string text) {
    co_await asio::async_write(to_bridge_, asio::buffer(text), asio::use_awaitable);
  }
  void close_input() { to_bridge_.close(); }
  void close_output() { from_bridge_.close(); }

  // The next line of output as one message; nullopt at the end of output.
  task<std::optional<json>> read() {
    for (;;) {
      if (auto frame = framer_.poll()) {
        jsonrpc::parsed_line parsed = jsonrpc::parse_line(frame->line);
        require(parsed.errors.empty() && parsed.messages.size() == 1, "one message per line: " + frame->line);
        co_return std::move(parsed.messages[0]);
      }
      if (ended_) co_return std::nullopt;
      auto [ec, n] = co_await from_bridge_.async_read_some(asio::buffer(chunk_), asio::as_tuple(asio::use_awaitable));
      if (ec) {
        require(framer_.buffered() == 0, "output ended in the middle of a line");
        framer_.finish();
        ended_ = true;
      } else {
        framer_.feed(std::string_view(chunk_.data(), n));
      }
    }
  }

 private:
  pipe_ends input_;
  pipe_ends output_;
  asio::posix::stream_descriptor to_bridge_;
  asio::posix::stream_descriptor from_bridge_;
  jsonrpc::line_framer framer_;
  std::array<char, 4096> chunk_;
  bool ended_ = false;
};

bridge_options options_for(const stdio_peer& peer, bool listen = true) {
  bridge_options options;
  options.input_fd = peer.bridge_input();
  options.output_fd = peer.bridge_output();
  options.client = test_config(listen);
  return options;
}

std::string error_message(const json& response) { return response["error"]["message"].get<std::string>(); }

TEST(StdioBridge, WholeSessionThroughPipes) {
  with_server({}, [](fixture& f) -> task<void> {
    stdio_peer peer(f.executor);
    stdio_bridge bridge(f.executor, f.url, options_for(peer));
    int exit_code = -1;
    auto run_bridge = [&]() -> task<void> { exit_code = co_await bridge.run(); };
    auto script = [&]() -> task<void> {
      co_await peer.write(initialize_request("2025-11-25", 1));
      auto reply = co_await peer.read();
      require(reply.has_value(), "initialize answered");
      EXPECT_EQ((*reply)["id"], 1);
      EXPECT_EQ((*reply)["result"]["protocolVersion"], "2025-11-25");
      peer.release_bridge_ends();
      co_await peer.write(jsonrpc::make_notification("notifications/initialized"));

      // Progress, then the response (an SSE reply).
      co_await peer.write(call_with_progress(2, "t"));
      reply = co_await peer.read();
      require(reply.has_value(), "progress");
      EXPECT_EQ((*reply)["method"], "notifications/progress");
      reply = co_await peer.read();
      require(reply.has_value(), "response");
      EXPECT_EQ((*reply)["id"], 2);

      // Not JSON: the bridge answers like a server would.
      co_await peer.write_raw("this is not json\n");
      reply = co_await peer.read();
      require(reply.has_value(), "parse error");
      EXPECT_EQ((*reply)["error"]["code"], jsonrpc::codes::parse_error);
      EXPECT_TRUE((*reply)["id"].is_null());

      // A server-to-client request through stdio and back.
      co_await peer.write(jsonrpc::make_request(3, "test/sample"));
      reply = co_await peer.read();
      require(reply.has_value() && (*reply)["method"] == "sampling/createMessage", "sampling request");
      co_await peer.write(sampling_answer((*reply)["id"]));
      reply = co_await peer.read();
      require(reply.has_value(), "sampled");
      EXPECT_EQ((*reply)["id"], 3);
      EXPECT_EQ((*reply)["result"]["sampled"]["result"]["model"], "test");

      // A message of the node's own (GET stream) and the response, in either order.
      co_await peer.write(post_request(4, list_changed()));
      int seen = 0;
      for (int i = 0; i < 2; ++i) {
        reply = co_await peer.read();
        require(reply.has_value(), "message");
        seen += reply->contains("id") ? 1 : 10;
      }
      EXPECT_EQ(seen, 11);

      // A request and the end of input at once: the answer still comes, then the end.
      co_await peer.write(jsonrpc::make_request(5, "tools/list"));
      peer.close_input();
      reply = co_await peer.read();
      require(reply.has_value(), "answer after end of input");
      EXPECT_EQ((*reply)["id"], 5);
      EXPECT_FALSE((co_await peer.read()).has_value());
    };
    co_await (run_bridge() && script());
    EXPECT_EQ(exit_code, 0);
    require(f.log.closes.size() == 1, "session ended");
    EXPECT_EQ(f.log.closes[0], close_reason::deleted);
  });
}

TEST(StdioBridge, NoNodeAnswersTheFirstRequestAndExits1) {
  p2p::testing::run([](asio::any_io_executor executor) -> task<void> {
    const gateway_url url = *parse_url("http://127.0.0.1:" + std::to_string(free_port(executor)) + "/mcp");
    stdio_peer peer(executor);
    stdio_bridge bridge(executor, url, options_for(peer));
    int exit_code = -1;
    auto run_bridge = [&]() -> task<void> { exit_code = co_await bridge.run(); };
    auto script = [&]() -> task<void> {
      co_await peer.write(initialize_request("2025-11-25", 1));
      auto reply = co_await peer.read();
      require(reply.has_value(), "answered");
      EXPECT_EQ((*reply)["id"], 1);
      EXPECT_EQ((*reply)["error"]["code"], jsonrpc::codes::connection_closed);
      EXPECT_EQ(error_message(*reply), "no p2pmcp node answers at " + url.text);
      peer.release_bridge_ends();
      EXPECT_FALSE((co_await peer.read()).has_value());
    };
    co_await (run_bridge() && script());
    EXPECT_EQ(exit_code, 1);
  });
}

TEST(StdioBridge, UnavailableAnswersWithTheReason) {
  p2p::testing::run([](asio::any_io_executor executor) -> task<void> {
    stdio_peer peer(executor);
    bridge_options options = options_for(peer);
    options.unavailable = "no p2pmcp node is running with home /x (start one with `p2pmcp up --home /x`)";
    stdio_bridge bridge(executor, gateway_url{}, options);
    int exit_code = -1;
    auto run_bridge = [&]() -> task<void> { exit_code = co_await bridge.run(); };
    auto script = [&]() -> task<void> {
      co_await peer.write(jsonrpc::make_notification("notifications/whatever"));
      co_await peer.write(initialize_request("2025-11-25", "a"));
      auto reply = co_await peer.read();
      require(reply.has_value(), "answered");
      EXPECT_EQ((*reply)["id"], "a");
      EXPECT_EQ(error_message(*reply), *options.unavailable);
      peer.release_bridge_ends();
      EXPECT_FALSE((co_await peer.read()).has_value());
    };
    co_await (run_bridge() && script());
    EXPECT_EQ(exit_code, 1);
  });
}

TEST(StdioBridge, NodeCrashAnswersPendingRequestsAndExits1) {
  p2p::testing::run([](asio::any_io_executor executor) -> task<void> {
    tcp::acceptor acceptor(executor, {asio::ip::make_address("127.0.0.1"), 0});
    const gateway_url url = *parse_url("http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/mcp");
    stdio_peer peer(executor);
    stdio_bridge bridge(executor, url, options_for(peer, false));
    int exit_code = -1;
    auto run_bridge = [&]() -> task<void> { exit_code = co_await bridge.run(); };
    auto script = [&]() -> task<void> {
      co_await peer.write(initialize_request("2025-11-25", 1));
      auto reply = co_await peer.read();
      require(reply.has_value() && reply->contains("result"), "initialized");
      peer.release_bridge_ends();
      co_await peer.write(jsonrpc::make_request(2, "tools/call"));
      reply = co_await peer.read();
      require(reply.has_value(), "answered");
      EXPECT_EQ((*reply)["id"], 2);
      EXPECT_EQ((*reply)["error"]["code"], jsonrpc::codes::connection_closed);
      EXPECT_EQ(error_message(*reply).rfind("the p2pmcp node stopped", 0), 0u) << reply->dump();
      EXPECT_FALSE((co_await peer.read()).has_value());
      boost::system::error_code ignored;
      acceptor.close(ignored);
    };
    co_await (crashing_gateway(acceptor) && (run_bridge() && script()));
    EXPECT_EQ(exit_code, 1);
  });
}

TEST(StdioBridge, GracefulNodeStopExits1) {
  with_server({}, [](fixture& f) -> task<void> {
    stdio_peer peer(f.executor);
    stdio_bridge bridge(f.executor, f.url, options_for(peer));
    int exit_code = -1;
    auto run_bridge = [&]() -> task<void> { exit_code = co_await bridge.run(); };
    auto script = [&]() -> task<void> {
      co_await peer.write(initialize_request("2025-11-25", 1));
      require((co_await peer.read()).has_value(), "initialized");
      peer.release_bridge_ends();
      co_await peer.write(jsonrpc::make_request(2, "test/wait"));
      while (f.log.waiting == 0) co_await f.log.changed.wait();
      f.server.stop();
      auto reply = co_await peer.read();
      require(reply.has_value(), "answered");
      EXPECT_EQ((*reply)["id"], 2);
      EXPECT_EQ((*reply)["error"]["code"], jsonrpc::codes::connection_closed);
      EXPECT_FALSE((co_await peer.read()).has_value());
    };
    co_await (run_bridge() && script());
    EXPECT_EQ(exit_code, 1);
  });
}

TEST(StdioBridge, OversizedLineIsRefusedAndTheSessionGoesOn) {
  with_server({}, [](fixture& f) -> task<void> {
    stdio_peer peer(f.executor);
    bridge_options options = options_for(peer, false);
    options.client.max_message_size = 1024;
    stdio_bridge bridge(f.executor, f.url, options);
    int exit_code = -1;
    auto run_bridge = [&]() -> task<void> { exit_code = co_await bridge.run(); };
    auto script = [&]() -> task<void> {
      co_await peer.write(initialize_request("2025-11-25", 1));
      require((co_await peer.read()).has_value(), "initialized");
      peer.release_bridge_ends();
      co_await peer.write(big_request(2, 5000));  // over the line limit: refused by the framer
      auto reply = co_await peer.read();
      require(reply.has_value(), "refused");
      EXPECT_EQ((*reply)["id"], 2);
      EXPECT_EQ((*reply)["error"]["code"], jsonrpc::codes::message_too_large);
      co_await peer.write(sized_request(3, "test/big", 4000));  // response over the limit
      reply = co_await peer.read();
      require(reply.has_value(), "refused");
      EXPECT_EQ((*reply)["id"], 3);
      EXPECT_EQ((*reply)["error"]["code"], jsonrpc::codes::message_too_large);
      co_await peer.write(jsonrpc::make_request(4, "tools/list"));
      reply = co_await peer.read();
      require(reply.has_value() && reply->contains("result"), "still works");
      peer.close_input();
      EXPECT_FALSE((co_await peer.read()).has_value());
    };
    co_await (run_bridge() && script());
    EXPECT_EQ(exit_code, 0);
  });
}

TEST(StdioBridge, ClosedOutputOrStopEndsTheSession) {
  std::signal(SIGPIPE, SIG_IGN);  // a write to the closed pipe must fail, not kill the test
  for (const bool use_stop : {false, true}) {
    SCOPED_TRACE(use_stop);
    with_server({}, [use_stop](fixture& f) -> task<void> {
      stdio_peer peer(f.executor);
      stdio_bridge bridge(f.executor, f.url, options_for(peer));
      int exit_code = -1;
      auto run_bridge = [&]() -> task<void> { exit_code = co_await bridge.run(); };
      auto script = [&]() -> task<void> {
        co_await peer.write(initialize_request("2025-11-25", 1));
        require((co_await peer.read()).has_value(), "initialized");
        peer.release_bridge_ends();
        if (use_stop) {
          bridge.stop();
        } else {
          peer.close_output();
          co_await peer.write(jsonrpc::make_request(2, "tools/list"));  // its answer cannot be written
        }
      };
      co_await (run_bridge() && script());
      EXPECT_EQ(exit_code, 0);
      require(f.log.closes.size() == 1, "session ended");
      EXPECT_EQ(f.log.closes[0], close_reason::deleted);
    });
  }
}

}  // namespace
}  // namespace mcp::gateway::client
