// Test support shared by http_client_test.cpp and stdio_bridge_test.cpp: the real gateway
// transport (mcp::gateway::http_server) on 127.0.0.1 port 0 with a small MCP handler, a
// fake gateway that crashes, and message builders. Test-only.
#pragma once

#include "mcp/gateway/client/http_client.hpp"

#include "mcp/gateway/http/http_server.hpp"
#include "mcp/jsonrpc/message.hpp"

#include "p2p/core/signal.hpp"
#include "run.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <gtest/gtest.h>

#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

namespace mcp::gateway::client::testing_support {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using mcp::gateway::client_session;
using mcp::gateway::close_reason;
using mcp::gateway::http_server;
using mcp::gateway::http_server_config;
using mcp::gateway::response_channel;
using mcp::gateway::session_handler;

// GoogleTest's ASSERT_* return, which a coroutine cannot: fail the test by throwing.
inline void require(bool condition, const std::string& what) {
  if (!condition) throw std::runtime_error("requirement failed: " + what);
}

// ---- message builders (outside coroutines: GCC 12 miscompiles braced json there) ----

inline json initialize_request(const std::string& version, json id) {
  return jsonrpc::make_request(std::move(id), "initialize",
                               {{"protocolVersion", version},
                                {"capabilities", json::object()},
                                {"clientInfo", {{"name", "test"}, {"version", "0"}}}});
}
inline json call_with_progress(json id, const std::string& token) {
  return jsonrpc::make_request(std::move(id), "tools/call",
                               {{"name", "echo"}, {"arguments", json::object()}, {"_meta", {{"progressToken", token}}}});
}
inline json sampling_answer(json id) {
  return jsonrpc::make_result_response(
      std::move(id), {{"role", "assistant"}, {"content", {{"type", "text"}, {"text", "hi"}}}, {"model", "test"}});
}
inline json list_changed() { return jsonrpc::make_notification("notifications/tools/list_changed"); }
inline json post_request(json id, json message) {
  return jsonrpc::make_request(std::move(id), "test/post", {{"message", std::move(message)}});
}
inline json big_request(json id, std::size_t size) {
  return jsonrpc::make_request(std::move(id), "tools/call", {{"blob", std::string(size, 'b')}});
}
inline json sized_request(json id, const std::string& method, std::size_t size) {
  return jsonrpc::make_request(std::move(id), method, {{"size", size}});
}
inline json not_jsonrpc() { return {{"hello", "world"}}; }

// ---- the handler: a tiny MCP server with test methods ----

struct test_log {
  explicit test_log(asio::any_io_executor executor) : changed(executor) {}
  std::vector<json> notifications;
  std::vector<json> responses;  // to the handler's own requests
  std::vector<close_reason> closes;
  std::vector<client_session*> sessions;
  std::size_t waiting = 0;  // handlers waiting for `released`
  bool released = false;
  p2p::signal changed;  // anything above changed
};

class test_handler final : public session_handler {
 public:
  test_handler(client_session& session, test_log& log) : session_(session), log_(log) {
    log_.sessions.push_back(&session);
  }

  task<void> on_message(json message, response_channel& channel) override {
    if (!message.contains("method")) {
      log_.responses.push_back(std::move(message));
      log_.changed.notify();
      co_return;
    }
    if (!message.contains("id")) {
      log_.notifications.push_back(std::move(message));
      log_.changed.notify();
      co_return;
    }
    const std::string method = message["method"];
    const json id = message["id"];
    const json params = message.value("params", json::object());
    json extra;
    if (method == "tools/call" && params.contains("_meta")) {
      co_await channel.send(progress(params["_meta"]["progressToken"]));
    } else if (method == "test/sample" || method == "test/ping-me") {
      const std::string request_id = "s-" + std::to_string(++server_requests_);
      json request = server_request(request_id, method == "test/sample" ? "sampling/createMessage" : "ping");
      co_await channel.send(std::move(request));
      extra = co_await wait_for_response(request_id);
    } else if (method == "test/wait" || (method == "initialize" && params.value("hold", false))) {
      ++log_.waiting;
      log_.changed.notify();
      while (!log_.released && !closed_) co_await log_.changed.wait();
    } else if (method == "test/close") {
      session_.close();
    } else if (method == "test/big-sse") {
      co_await channel.send(progress("p"));
    }
    co_await channel.respond(answer(method, id, params, extra));
  }

  void on_close(close_reason reason) noexcept override {
    closed_ = true;
    log_.closes.push_back(reason);
    log_.changed.notify();
  }

 private:
  task<json> wait_for_response(const std::string& id) {
    for (;;) {
      for (const json& response : log_.responses) {
        if (response["id"] == id) co_return response;
      }
      if (closed_) co_return json();
      co_await log_.changed.wait();
    }
  }

  static json progress(const json& token) {
    return jsonrpc::make_notification("notifications/progress",
                                      {{"progressToken", token}, {"progress", 1}, {"total", 2}});
  }
  static json server_request(const std::string& id, const std::string& method) {
    if (method == "ping") return jsonrpc::make_request(id, method);
    return jsonrpc::make_request(id, method, {{"messages", json::array()}, {"maxTokens", 10}});
  }

  json answer(const std::string& method, const json& id, const json& params, const json& extra) {
    if (method == "initialize") {
      const std::string version = params.value("answerVersion", params.value("protocolVersion", "2025-06-18"));
      return jsonrpc::make_result_response(id, {{"protocolVersion", version},
                                                {"capabilities", {{"tools", json::object()}}},
                                                {"serverInfo", {{"name", "test"}, {"version", "1"}}}});
    }
    if (method == "tools/list") {
      return jsonrpc::make_result_response(
          id, {{"tools", json::array({{{"name", "echo"}, {"inputSchema", {{"type", "object"}}}}})}});
    }
    if (method == "tools/call") {
      return jsonrpc::make_result_response(id, {{"content", json::array({{{"type", "text"}, {"text", "done"}}})}});
    }
    if (method == "test/sample") return jsonrpc::make_result_response(id, {{"sampled", extra}});
    if (method == "test/ping-me") return jsonrpc::make_result_response(id, {{"answer", extra}});
    if (method == "test/post") {
      const bool posted = session_.post_to_client(params["message"]);
      return jsonrpc::make_result_response(id, {{"posted", posted}});
    }
    if (method == "test/big" || method == "test/big-sse") {
      return jsonrpc::make_result_response(id, {{"text", std::string(params.value("size", 0), 'x')}});
    }
    if (method == "test/wait" || method == "test/close" || method == "ping") {
      return jsonrpc::make_result_response(id, json::object());
    }
    return jsonrpc::make_error_response(id, jsonrpc::codes::method_not_found, "no " + method);
  }

  client_session& session_;
  test_log& log_;
  bool closed_ = false;
  int server_requests_ = 0;
};

// ---- harness ----

struct fixture {
  asio::any_io_executor executor;
  http_server& server;
  test_log& log;
  gateway_url url;
};

inline client_config test_config(bool listen = true) {
  client_config config;
  config.listen = listen;
  return config;
}

// Runs `body` against a fresh gateway transport on 127.0.0.1 port 0, then stops it.
template <class Body>
void with_server(http_server_config config, Body&& body) {
  p2p::testing::run([&](asio::any_io_executor executor) -> task<void> {
    test_log log(executor);
    p2p::manual_clock clock;
    p2p::system_random random;
    config.port = 0;
    auto opened = http_server::open(
        executor, config, [&](client_session& session) { return std::make_unique<test_handler>(session, log); },
        clock, random);
    require(opened.has_value(), "server opened");
    http_server& server = **opened;
    const auto url = parse_url("http://127.0.0.1:" + std::to_string(server.port()) + "/mcp");
    require(url.has_value(), "url");
    fixture f{executor, server, log, *url};
    std::exception_ptr failure;
    auto test = [&]() -> task<void> {
      try {
        co_await body(f);
      } catch (...) {
        failure = std::current_exception();
      }
      server.stop();
    };
    co_await (server.run() && test());
    EXPECT_EQ(server.session_count(), 0u);
    EXPECT_EQ(server.open_sse_streams(), 0u);
    if (failure) std::rethrow_exception(failure);
  });
}

// Runs `body`, then closes the client whatever happened (its readers refer to it).
template <class Body>
task<void> with_client(http_client& client, Body body) {
  std::exception_ptr failure;
  try {
    co_await body();
  } catch (...) {
    failure = std::current_exception();
  }
  co_await client.close();
  if (failure) std::rethrow_exception(failure);
}

// Initializes a session through send()/next_message() (version 2025-06-18).
inline task<void> start_session(http_client& client) {
  require((co_await client.send(initialize_request("2025-06-18", "init"))).has_value(), "initialize sent");
  auto reply = co_await client.next_message();
  require(reply.has_value() && reply->contains("result"), "initialize answered");
  require((co_await client.send(jsonrpc::make_notification("notifications/initialized"))).has_value(),
          "initialized sent");
}

// A loopback port nothing listens on (bound and released at once).
inline std::uint16_t free_port(asio::any_io_executor executor) {
  tcp::acceptor acceptor(executor, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = acceptor.local_endpoint().port();
  acceptor.close();
  return port;
}

inline json fake_initialize_result(const json& id) {
  return jsonrpc::make_result_response(id, {{"protocolVersion", "2025-11-25"},
                                            {"capabilities", json::object()},
                                            {"serverInfo", {{"name", "fake"}, {"version", "0"}}}});
}

// A gateway that answers initialize (JSON, session "fake-session"), 405 to GET, 202 to
// notifications, and on the first other request "crashes": stops listening and drops
// the connection without an answer.
inline task<void> crashing_gateway(tcp::acceptor& acceptor) {
  for (;;) {
    auto [accept_error, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (accept_error) co_return;
    beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> request;
      auto [ec, n] = co_await http::async_read(socket, buffer, request, asio::as_tuple(asio::use_awaitable));
      if (ec) break;
      http::response<http::string_body> response{http::status::accepted, 11};
      if (request.method() == http::verb::get) {
        response.result(http::status::method_not_allowed);
      } else if (request.method() == http::verb::post) {
        const json message = json::parse(request.body(), nullptr, false);
        if (message.value("method", "") == "initialize") {
          response.result(http::status::ok);
          response.set(http::field::content_type, "application/json");
          response.set("Mcp-Session-Id", "fake-session");
          response.body() = fake_initialize_result(message["id"]).dump();
        } else if (message.contains("id") && message.contains("method")) {
          boost::system::error_code ignored;
          acceptor.close(ignored);
          socket.shutdown(tcp::socket::shutdown_both, ignored);
          socket.close(ignored);
          co_return;
        }
      }
      response.keep_alive(true);
      response.prepare_payload();
      auto [write_error, written] = co_await http::async_write(socket, response, asio::as_tuple(asio::use_awaitable));
      if (write_error) break;
    }
  }
}

}  // namespace mcp::gateway::client::testing_support
