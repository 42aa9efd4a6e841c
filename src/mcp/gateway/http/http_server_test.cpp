// The Streamable HTTP server on 127.0.0.1 port 0, driven by a raw Beast HTTP client in the
// same io_context (one thread, no sleeps). Idle expiry runs on a manual clock.
#include "mcp/gateway/http/http_server.hpp"

#include "p2p/core/signal.hpp"
#include "run.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>

namespace mcp::gateway {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

// GoogleTest's ASSERT_* return, which a coroutine cannot: fail the test by throwing.
void require(bool condition, const std::string& what) {
  if (!condition) throw std::runtime_error("requirement failed: " + what);
}

// ---- the handler: a tiny MCP server with test methods ----

struct test_log {
  explicit test_log(asio::any_io_executor executor) : release(executor) {}
  std::vector<json> notifications;
  std::vector<json> responses;
  std::vector<close_reason> closes;
  std::vector<bool> send_results;     // what response_channel::send returned
  std::vector<bool> respond_results;  // what respond returned after a wait
  std::vector<client_session*> sessions;
  std::size_t waiting = 0;
  p2p::signal release;  // wakes test/wait handlers
  bool released = false;
};

class test_handler final : public session_handler {
 public:
  test_handler(client_session& session, test_log& log) : session_(session), log_(log) {
    log_.sessions.push_back(&session);
  }

  task<void> on_message(json message, response_channel& channel) override {
    if (!message.contains("method")) {
      log_.responses.push_back(message);
      co_return;
    }
    if (!message.contains("id")) {
      log_.notifications.push_back(message);
      co_return;
    }
    const std::string method = message["method"];
    const json id = message["id"];
    const json params = message.value("params", json::object());
    if (method == "tools/call" && params.contains("_meta") &&
        params["_meta"].contains("progressToken")) {
      // Streams a progress notification first when the client asked for progress.
      const bool could_stream = channel.can_stream();
      const auto sent = co_await channel.send(progress(params["_meta"]["progressToken"]));
      log_.send_results.push_back(sent.has_value());
      EXPECT_EQ(could_stream, sent.has_value());
    } else if (method == "test/wait") {
      if (params.value("stream", false)) {
        const auto sent = co_await channel.send(
            jsonrpc::make_notification("notifications/message", log_message()));
        log_.send_results.push_back(sent.has_value());
      }
      ++log_.waiting;
      while (!log_.released && !closed_) co_await log_.release.wait();
    } else if (method == "test/throw") {
      throw std::runtime_error("boom");
    } else if (method == "test/silent") {
      co_return;
    } else if (method == "test/wrong-id") {
      const auto wrong = co_await channel.respond(jsonrpc::make_result_response(12345, json()));
      log_.respond_results.push_back(wrong.has_value());
    }
    const auto answered = co_await channel.respond(answer(method, id, params));
    if (method == "test/wait") log_.respond_results.push_back(answered.has_value());
  }

  // The reply to a request (built outside the coroutine: GCC 12 miscompiles braced json
  // initializers inside co_await expressions).
  json answer(const std::string& method, const json& id, const json& params) {
    if (method == "initialize") {
      if (params.value("fail", false)) return jsonrpc::make_error_response(id, -32602, "unsupported");
      return jsonrpc::make_result_response(
          id, {{"protocolVersion", params.value("protocolVersion", "2025-06-18")},
               {"capabilities", {{"tools", json::object()}}},
               {"serverInfo", {{"name", "test"}, {"version", "1"}}}});
    }
    if (method == "tools/list") {
      return jsonrpc::make_result_response(
          id, {{"tools", json::array({{{"name", "echo"}, {"inputSchema", {{"type", "object"}}}}})}});
    }
    if (method == "tools/call") {
      return jsonrpc::make_result_response(
          id, {{"content", json::array({{{"type", "text"}, {"text", "done"}}})}});
    }
    if (method == "test/post") {
      const bool posted = session_.post_to_client(params["message"]);
      return jsonrpc::make_result_response(id, {{"posted", posted}});
    }
    if (method == "test/wait" || method == "test/wrong-id") {
      return jsonrpc::make_result_response(id, json::object());
    }
    return jsonrpc::make_error_response(id, jsonrpc::codes::method_not_found, "no " + method);
  }
  static json progress(const json& token) {
    return jsonrpc::make_notification("notifications/progress",
                                      {{"progressToken", token}, {"progress", 1}, {"total", 2}});
  }
  static json log_message() { return {{"level", "info"}, {"data", "waiting"}}; }

  void on_close(close_reason reason) noexcept override {
    closed_ = true;
    log_.closes.push_back(reason);
    log_.release.notify();
  }

 private:
  client_session& session_;
  test_log& log_;
  bool closed_ = false;
};

// ---- the client ----

using response = http::response<http::string_body>;
using request = http::request<http::string_body>;

struct fixture {
  http_server& server;
  test_log& log;
  p2p::manual_clock& clock;
  std::uint16_t port;

  std::string host() const { return "127.0.0.1:" + std::to_string(port); }

  request post(const json& body, const std::string& session = {},
               const std::string& version = "2025-06-18") const {
    request req{http::verb::post, "/mcp", 11};
    req.set(http::field::host, host());
    req.set(http::field::accept, "application/json, text/event-stream");
    req.set(http::field::content_type, "application/json");
    if (!session.empty()) {
      req.set("Mcp-Session-Id", session);
      if (!version.empty()) req.set("MCP-Protocol-Version", version);
    }
    req.body() = body.dump();
    req.prepare_payload();
    return req;
  }
  request bare(http::verb verb, const std::string& session = {}) const {
    request req{verb, "/mcp", 11};
    req.set(http::field::host, host());
    if (verb == http::verb::get) req.set(http::field::accept, "text/event-stream");
    if (!session.empty()) {
      req.set("Mcp-Session-Id", session);
      req.set("MCP-Protocol-Version", "2025-06-18");
    }
    req.prepare_payload();
    return req;
  }
};

struct client {
  tcp::socket socket;
  beast::flat_buffer buffer;
};

task<client> connect(std::uint16_t port) {
  tcp::socket socket(co_await asio::this_coro::executor);
  co_await socket.async_connect({asio::ip::make_address("127.0.0.1"), port}, asio::use_awaitable);
  co_return client{std::move(socket), {}};
}

// One request and its whole response (an SSE reply to a POST ends, so this reads it all).
task<response> roundtrip(client& c, request req) {
  co_await http::async_write(c.socket, req, asio::use_awaitable);
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  co_await http::async_read(c.socket, c.buffer, parser, asio::use_awaitable);
  co_return parser.release();
}

task<response> roundtrip(std::uint16_t port, request req) {
  client c = co_await connect(port);
  co_return co_await roundtrip(c, std::move(req));
}

// Raw bytes in, one response out.
task<response> raw_roundtrip(std::uint16_t port, std::string bytes) {
  client c = co_await connect(port);
  co_await asio::async_write(c.socket, asio::buffer(bytes), asio::use_awaitable);
  http::response_parser<http::string_body> parser;
  co_await http::async_read(c.socket, c.buffer, parser, asio::use_awaitable);
  co_return parser.release();
}

struct sse_event {
  std::string id;
  json data;
};

// Parses "event:/id:/data:" blocks; comments and incomplete trailing text are skipped.
std::vector<sse_event> parse_events(const std::string& text, std::size_t* comments = nullptr) {
  std::vector<sse_event> events;
  std::size_t start = 0;
  for (;;) {
    const auto end = text.find("\n\n", start);
    if (end == std::string::npos) break;
    const std::string block = text.substr(start, end - start);
    start = end + 2;
    sse_event event;
    bool has_data = false;
    std::size_t line_start = 0;
    while (line_start <= block.size()) {
      auto line_end = block.find('\n', line_start);
      if (line_end == std::string::npos) line_end = block.size();
      const std::string line = block.substr(line_start, line_end - line_start);
      line_start = line_end + 1;
      if (line.rfind("id: ", 0) == 0) event.id = line.substr(4);
      if (line.rfind("data: ", 0) == 0) {
        event.data = json::parse(line.substr(6));
        has_data = true;
      }
      if (line.rfind(":", 0) == 0 && comments) ++*comments;
    }
    if (has_data) events.push_back(std::move(event));
  }
  return events;
}

json body_of(const response& res) { return json::parse(res.body()); }

std::string error_message(const response& res) {
  const json body = body_of(res);
  return body["error"]["message"].get<std::string>();
}

json initialize_request(const std::string& version = "2025-06-18", json id = 1) {
  return jsonrpc::make_request(std::move(id), "initialize",
                               {{"protocolVersion", version},
                                {"capabilities", json::object()},
                                {"clientInfo", {{"name", "raw-beast"}, {"version", "0"}}}});
}

// Initializes a session and returns its id.
task<std::string> initialize(const fixture& f, const std::string& version = "2025-06-18") {
  const response res = co_await roundtrip(f.port, f.post(initialize_request(version)));
  require(res.result() == http::status::ok, "initialize answered 200");
  const std::string session(res["Mcp-Session-Id"]);
  require(!session.empty(), "initialize returned an Mcp-Session-Id");
  co_return session;
}

// Runs `body` against a fresh server, then stops the server and waits for it.
template <class Body>
void with_server(http_server_config config, Body&& body) {
  p2p::testing::run([&](asio::any_io_executor executor) -> task<void> {
    test_log log(executor);
    p2p::manual_clock clock;
    p2p::system_random random;
    config.port = 0;
    auto opened = http_server::open(
        executor, config,
        [&](client_session& session) { return std::make_unique<test_handler>(session, log); },
        clock, random);
    require(opened.has_value(), "server opened");
    http_server& server = **opened;
    fixture f{server, log, clock, server.port()};
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
    EXPECT_EQ(server.connection_count(), 0u);
    if (failure) std::rethrow_exception(failure);
  });
}

// ---- tests ----

TEST(HttpServer, InitializeListAndNotification) {
  with_server({}, [](fixture& f) -> task<void> {
    client c = co_await connect(f.port);
    response res = co_await roundtrip(c, f.post(initialize_request()));
    EXPECT_EQ(res.result(), http::status::ok);
    EXPECT_EQ(res[http::field::content_type], "application/json");
    const std::string session(res["Mcp-Session-Id"]);
    EXPECT_EQ(session.size(), 32u);
    EXPECT_EQ(session.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_EQ(body_of(res)["result"]["protocolVersion"], "2025-06-18");
    EXPECT_EQ(f.server.session_count(), 1u);
    require(f.log.sessions.size() == 1, "one handler created");
    EXPECT_EQ(f.log.sessions[0]->id(), session);
    EXPECT_EQ(f.log.sessions[0]->protocol_version(), "2025-06-18");

    // Same connection (keep-alive): the initialized notification gets 202 and no body.
    res = co_await roundtrip(
        c, f.post(jsonrpc::make_notification("notifications/initialized"), session));
    EXPECT_EQ(res.result(), http::status::accepted);
    EXPECT_TRUE(res.body().empty());
    require(f.log.notifications.size() == 1, "notification delivered");
    EXPECT_EQ(f.log.notifications[0]["method"], "notifications/initialized");

    res = co_await roundtrip(c, f.post(jsonrpc::make_request("a", "tools/list"), session));
    EXPECT_EQ(res.result(), http::status::ok);
    EXPECT_EQ(res[http::field::content_type], "application/json");
    EXPECT_EQ(res["Mcp-Session-Id"], session);
    const json list = body_of(res);
    EXPECT_EQ(list["id"], "a");
    EXPECT_EQ(list["result"]["tools"][0]["name"], "echo");

    // A response to a server-to-client request is accepted the same way.
    res = co_await roundtrip(c, f.post(jsonrpc::make_result_response(99, json::object()), session));
    EXPECT_EQ(res.result(), http::status::accepted);
    EXPECT_EQ(f.log.responses.size(), 1u);

    // Unknown method: the handler's JSON-RPC error is a normal 200 reply.
    res = co_await roundtrip(c, f.post(jsonrpc::make_request(2, "nope"), session));
    EXPECT_EQ(res.result(), http::status::ok);
    EXPECT_EQ(body_of(res)["error"]["code"], jsonrpc::codes::method_not_found);
  });
}

TEST(HttpServer, ProgressStreamsOverSse) {
  with_server({}, [](fixture& f) -> task<void> {
    const std::string session = co_await initialize(f);
    const json call = jsonrpc::make_request(
        7, "tools/call",
        {{"name", "echo"}, {"arguments", json::object()}, {"_meta", {{"progressToken", "tok"}}}});
    const response res = co_await roundtrip(f.port, f.post(call, session));
    EXPECT_EQ(res.result(), http::status::ok);
    EXPECT_EQ(res[http::field::content_type], "text/event-stream");
    EXPECT_EQ(res["Mcp-Session-Id"], session);
    const auto events = parse_events(res.body());
    require(events.size() == 2, "two SSE events, got: " + res.body());
    EXPECT_EQ(events[0].data["method"], "notifications/progress");
    EXPECT_EQ(events[0].data["params"]["progressToken"], "tok");
    EXPECT_EQ(events[1].data["id"], 7);
    EXPECT_EQ(events[1].data["result"]["content"][0]["text"], "done");
    EXPECT_FALSE(events[0].id.empty());
    EXPECT_NE(events[0].id, events[1].id);
    EXPECT_EQ(f.log.send_results, std::vector<bool>{true});
    EXPECT_EQ(f.server.open_sse_streams(), 0u);

    // A second streamed call gets event ids that differ from the first stream's.
    const response again = co_await roundtrip(f.port, f.post(call, session));
    const auto more = parse_events(again.body());
    require(more.size() == 2, "two SSE events again");
    EXPECT_NE(more[0].id, events[0].id);
    EXPECT_NE(more[1].id, events[1].id);
  });
}

TEST(HttpServer, ClientWithoutSseGetsJsonAndHandlerLearnsIt) {
  with_server({}, [](fixture& f) -> task<void> {
    const std::string session = co_await initialize(f);
    request req = f.post(jsonrpc::make_request(
                             8, "tools/call", {{"name", "echo"}, {"_meta", {{"progressToken", 1}}}}),
                         session);
    req.set(http::field::accept, "application/json");
    const response res = co_await roundtrip(f.port, req);
    EXPECT_EQ(res.result(), http::status::ok);
    EXPECT_EQ(res[http::field::content_type], "application/json");
    EXPECT_EQ(body_of(res)["id"], 8);
    EXPECT_EQ(f.log.send_results, std::vector<bool>{false});

    // Accepting only SSE gets SSE even for a plain response.
    request sse_only = f.post(jsonrpc::make_request(9, "tools/list"), session);
    sse_only.set(http::field::accept, "text/event-stream");
    const response streamed = co_await roundtrip(f.port, sse_only);
    EXPECT_EQ(streamed[http::field::content_type], "text/event-stream");
    const auto events = parse_events(streamed.body());
    require(events.size() == 1, "one event");
    EXPECT_EQ(events[0].data["id"], 9);
  });
}

TEST(HttpServer, SessionHeaderRules) {
  with_server({}, [](fixture& f) -> task<void> {
    const std::string session = co_await initialize(f);
    response res = co_await roundtrip(f.port, f.post(jsonrpc::make_request(1, "tools/list")));
    EXPECT_EQ(res.result(), http::status::bad_request);
    EXPECT_NE(error_message(res).find("Mcp-Session-Id header is required"), std::string::npos);
    EXPECT_EQ(body_of(res)["id"], nullptr);

    res = co_await roundtrip(f.port, f.post(jsonrpc::make_request(1, "tools/list"),
                                            "00000000000000000000000000000000"));
    EXPECT_EQ(res.result(), http::status::not_found);
    EXPECT_NE(error_message(res).find("initialize"), std::string::npos);

    res = co_await roundtrip(f.port, f.bare(http::verb::get));
    EXPECT_EQ(res.result(), http::status::bad_request);
    res = co_await roundtrip(f.port, f.bare(http::verb::delete_, "nope"));
    EXPECT_EQ(res.result(), http::status::not_found);

    // initialize must not carry a session id.
    res = co_await roundtrip(f.port, f.post(initialize_request(), session));
    EXPECT_EQ(res.result(), http::status::bad_request);

    res = co_await roundtrip(f.port,
                             f.post(jsonrpc::make_request(1, "tools/list"), session, "1999-01-01"));
    EXPECT_EQ(res.result(), http::status::bad_request);
    EXPECT_NE(error_message(res).find("1999-01-01"), std::string::npos);

    // Without MCP-Protocol-Version the negotiated version applies.
    res = co_await roundtrip(f.port, f.post(jsonrpc::make_request(1, "tools/list"), session, ""));
    EXPECT_EQ(res.result(), http::status::ok);
  });
}

TEST(HttpServer, OriginAndHostValidation) {
  with_server({}, [](fixture& f) -> task<void> {
    request req = f.post(initialize_request());
    req.set(http::field::origin, "http://evil.example");
    response res = co_await roundtrip(f.port, req);
    EXPECT_EQ(res.result(), http::status::forbidden);
    EXPECT_EQ(res[http::field::content_type], "application/json");
    EXPECT_EQ(body_of(res)["jsonrpc"], "2.0");
    EXPECT_EQ(body_of(res)["id"], nullptr);
    EXPECT_NE(error_message(res).find("evil.example"), std::string::npos);
    EXPECT_EQ(f.server.session_count(), 0u);

    req = f.post(initialize_request());
    req.set(http::field::host, "attacker.example:" + std::to_string(f.port));
    res = co_await roundtrip(f.port, req);
    EXPECT_EQ(res.result(), http::status::forbidden);
    EXPECT_NE(error_message(res).find("attacker.example"), std::string::npos);

    // A page served from localhost (MCP Inspector) is allowed, with CORS headers.
    req = f.post(initialize_request());
    req.set(http::field::origin, "http://localhost:6274");
    res = co_await roundtrip(f.port, req);
    EXPECT_EQ(res.result(), http::status::ok);
    EXPECT_EQ(res[http::field::access_control_allow_origin], "http://localhost:6274");
    EXPECT_EQ(res[http::field::access_control_expose_headers], "Mcp-Session-Id");

    request preflight{http::verb::options, "/mcp", 11};
    preflight.set(http::field::host, f.host());
    preflight.set(http::field::origin, "http://127.0.0.1:6274");
    preflight.set(http::field::access_control_request_method, "POST");
    res = co_await roundtrip(f.port, preflight);
    EXPECT_EQ(res.result(), http::status::no_content);
    EXPECT_EQ(res[http::field::access_control_allow_origin], "http://127.0.0.1:6274");
    EXPECT_NE(res[http::field::access_control_allow_headers].find("Mcp-Session-Id"),
              std::string::npos);
  });
}

TEST(HttpServer, HttpLevelErrors) {
  with_server({}, [](fixture& f) -> task<void> {
    request req = f.post(initialize_request());
    req.set(http::field::content_type, "text/plain");
    response res = co_await roundtrip(f.port, req);
    EXPECT_EQ(res.result(), http::status::unsupported_media_type);

    req = f.post(initialize_request());
    req.set(http::field::accept, "image/png");
    res = co_await roundtrip(f.port, req);
    EXPECT_EQ(res.result(), http::status::not_acceptable);

    req = f.post(initialize_request());
    req.target("/other");
    res = co_await roundtrip(f.port, req);
    EXPECT_EQ(res.result(), http::status::not_found);

    req = f.post(initialize_request());
    req.method(http::verb::put);
    res = co_await roundtrip(f.port, req);
    EXPECT_EQ(res.result(), http::status::method_not_allowed);
    EXPECT_EQ(res[http::field::allow], "GET, POST, DELETE, OPTIONS");

    req = f.post(initialize_request());
    req.body() = "{\"jsonrpc\":";
    req.prepare_payload();
    res = co_await roundtrip(f.port, req);
    EXPECT_EQ(res.result(), http::status::bad_request);
    EXPECT_EQ(body_of(res)["error"]["code"], jsonrpc::codes::parse_error);

    res = co_await raw_roundtrip(f.port, "GARBAGE\r\n\r\n");
    EXPECT_EQ(res.result(), http::status::bad_request);

    res = co_await raw_roundtrip(f.port, "GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " +
                                             std::string(20000, 'a') + "\r\n\r\n");
    EXPECT_EQ(res.result(), http::status::request_header_fields_too_large);

    res = co_await raw_roundtrip(f.port, "POST /mcp HTTP/1.1\r\nContent-Type: application/json\r\n"
                                         "Content-Length: 2\r\n\r\n{}");
    EXPECT_EQ(res.result(), http::status::bad_request);  // no Host
  });
}

TEST(HttpServer, OversizedBodies) {
  http_server_config config;
  config.max_body_size = 64 * 1024;
  with_server(config, [](fixture& f) -> task<void> {
    const std::string session = co_await initialize(f);
    json big = jsonrpc::make_request(1, "tools/call", {{"blob", std::string(100 * 1024, 'x')}});
    response res = co_await roundtrip(f.port, f.post(big, session));
    EXPECT_EQ(res.result(), http::status::payload_too_large);
    EXPECT_EQ(body_of(res)["error"]["code"], jsonrpc::codes::message_too_large);
    EXPECT_NE(error_message(res).find("65536"), std::string::npos);

    // Chunked, so the size shows only while reading.
    request chunked = f.post(big, session);
    chunked.erase(http::field::content_length);
    chunked.chunked(true);
    res = co_await roundtrip(f.port, chunked);
    EXPECT_EQ(res.result(), http::status::payload_too_large);

    // Exactly at the limit is fine.
    json fits = jsonrpc::make_request(2, "tools/list", {{"pad", ""}});
    const std::size_t overhead = fits.dump().size();
    fits["params"]["pad"] = std::string(64 * 1024 - overhead, 'y');
    res = co_await roundtrip(f.port, f.post(fits, session));
    EXPECT_EQ(res.result(), http::status::ok);
  });
}

TEST(HttpServer, SubEndpointsAreCheckedAndSessionsKeepTheirs) {
  http_server_config config;
  bool files_there = true;
  config.endpoint_check = [&files_there](std::string_view name) -> std::optional<std::string> {
    if ((name == "files" && files_there) || name == "my server") return std::nullopt;
    return "Not Found: no server '" + std::string(name) + "' here";
  };
  with_server(config, [&files_there](fixture& f) -> task<void> {
    auto at = [](request req, const char* target) {
      req.target(target);
      return req;
    };
    response res = co_await roundtrip(f.port, at(f.post(initialize_request()), "/mcp/files"));
    require(res.result() == http::status::ok, "initialize at /mcp/files answered 200");
    const std::string files(res["Mcp-Session-Id"]);
    require(f.log.sessions.size() == 1, "one handler created");
    EXPECT_EQ(f.log.sessions[0]->endpoint(), "files");

    res = co_await roundtrip(f.port, at(f.post(initialize_request()), "/mcp/my%20server"));
    require(res.result() == http::status::ok, "initialize at a percent-encoded name answered 200");
    require(f.log.sessions.size() == 2, "two handlers created");
    EXPECT_EQ(f.log.sessions[1]->endpoint(), "my server");

    res = co_await roundtrip(f.port, f.post(initialize_request()));
    require(res.result() == http::status::ok, "initialize at /mcp answered 200");
    const std::string plain(res["Mcp-Session-Id"]);
    require(f.log.sessions.size() == 3, "three handlers created");
    EXPECT_EQ(f.log.sessions[2]->endpoint(), "");

    // An endpoint that does not exist: 404 with the checker's sentence, no session.
    res = co_await roundtrip(f.port, at(f.post(initialize_request()), "/mcp/nope"));
    EXPECT_EQ(res.result(), http::status::not_found);
    EXPECT_EQ(error_message(res), "Not Found: no server 'nope' here");
    EXPECT_EQ(f.server.session_count(), 3u);

    // A session answers only at the endpoint it was started on.
    res = co_await roundtrip(f.port, at(f.post(jsonrpc::make_request(2, "tools/list"), files), "/mcp/files"));
    EXPECT_EQ(res.result(), http::status::ok);
    res = co_await roundtrip(f.port, f.post(jsonrpc::make_request(3, "tools/list"), files));
    EXPECT_EQ(res.result(), http::status::not_found);
    EXPECT_NE(error_message(res).find("another MCP endpoint"), std::string::npos);
    res = co_await roundtrip(f.port, at(f.post(jsonrpc::make_request(4, "tools/list"), plain), "/mcp/files"));
    EXPECT_EQ(res.result(), http::status::not_found);
    res = co_await roundtrip(f.port, at(f.bare(http::verb::delete_, files), "/mcp/nope"));
    EXPECT_EQ(res.result(), http::status::not_found);
    EXPECT_EQ(f.server.session_count(), 3u);
    res = co_await roundtrip(f.port, at(f.bare(http::verb::delete_, files), "/mcp/files"));
    EXPECT_EQ(res.result(), http::status::ok);
    EXPECT_EQ(f.server.session_count(), 2u);

    // The endpoint goes away: its session's next request gets the 404 and ends it.
    res = co_await roundtrip(f.port, at(f.post(initialize_request()), "/mcp/files"));
    require(res.result() == http::status::ok, "initialize at /mcp/files again answered 200");
    const std::string files2(res["Mcp-Session-Id"]);
    EXPECT_EQ(f.server.session_count(), 3u);
    files_there = false;
    res = co_await roundtrip(f.port, at(f.post(jsonrpc::make_request(5, "tools/list"), files2), "/mcp/files"));
    EXPECT_EQ(res.result(), http::status::not_found);
    EXPECT_EQ(error_message(res), "Not Found: no server 'files' here");
    EXPECT_EQ(f.server.session_count(), 2u);
    require(!f.log.closes.empty(), "the handler heard of the close");
    EXPECT_EQ(f.log.closes.back(), close_reason::closed_by_server);
  });

  // Without a checker there are no sub-endpoints.
  with_server({}, [](fixture& f) -> task<void> {
    request req = f.post(initialize_request());
    req.target("/mcp/files");
    const response res = co_await roundtrip(f.port, std::move(req));
    EXPECT_EQ(res.result(), http::status::not_found);
    EXPECT_EQ(f.server.session_count(), 0u);
  });
}

TEST(HttpServer, DeleteEndsTheSession) {
  with_server({}, [](fixture& f) -> task<void> {
    const std::string session = co_await initialize(f);
    response res = co_await roundtrip(f.port, f.bare(http::verb::delete_, session));
    EXPECT_EQ(res.result(), http::status::ok);
    EXPECT_EQ(f.log.closes, std::vector<close_reason>{close_reason::deleted});
    EXPECT_EQ(f.server.session_count(), 0u);
    res = co_await roundtrip(f.port, f.post(jsonrpc::make_request(1, "tools/list"), session));
    EXPECT_EQ(res.result(), http::status::not_found);
    res = co_await roundtrip(f.port, f.bare(http::verb::delete_, session));
    EXPECT_EQ(res.result(), http::status::not_found);
  });
}

// Reads from a GET stream until `count` events arrived.
task<std::vector<sse_event>> read_events(client& c, http::response_parser<http::string_body>& parser,
                                         std::size_t count, std::size_t* comments = nullptr) {
  for (;;) {
    std::size_t seen_comments = 0;
    auto events = parse_events(parser.get().body(), &seen_comments);
    if (comments) *comments = seen_comments;
    if (events.size() >= count && (!comments || seen_comments > 0)) co_return events;
    require(!parser.is_done(), "stream ended early: " + parser.get().body());
    co_await http::async_read_some(c.socket, c.buffer, parser, asio::use_awaitable);
  }
}

TEST(HttpServer, StandaloneGetStreamDeliversServerMessages) {
  with_server({}, [](fixture& f) -> task<void> {
    const std::string session = co_await initialize(f);
    // Posted before any stream is open: waits in the session's queue.
    const json early = jsonrpc::make_notification("notifications/tools/list_changed");
    const json post_early = jsonrpc::make_request(1, "test/post", {{"message", early}});
    response res = co_await roundtrip(f.port, f.post(post_early, session));
    EXPECT_EQ(body_of(res)["result"]["posted"], true);

    client stream = co_await connect(f.port);
    co_await http::async_write(stream.socket, f.bare(http::verb::get, session), asio::use_awaitable);
    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);
    co_await http::async_read_header(stream.socket, stream.buffer, parser, asio::use_awaitable);
    EXPECT_EQ(parser.get().result(), http::status::ok);
    EXPECT_EQ(parser.get()[http::field::content_type], "text/event-stream");
    EXPECT_EQ(parser.get()["Mcp-Session-Id"], session);
    require(f.log.sessions.size() == 1, "one session");

    const json sampling = jsonrpc::make_request(
        "s1", "sampling/createMessage", {{"messages", json::array()}, {"maxTokens", 10}});
    const json post_sampling = jsonrpc::make_request(2, "test/post", {{"message", sampling}});
    res = co_await roundtrip(f.port, f.post(post_sampling, session));
    EXPECT_EQ(body_of(res)["result"]["posted"], true);
    EXPECT_TRUE(f.log.sessions[0]->has_standalone_stream());

    const auto events = co_await read_events(stream, parser, 2);
    EXPECT_EQ(events[0].data, early);
    EXPECT_EQ(events[1].data, sampling);
    EXPECT_NE(events[0].id, events[1].id);

    // Only one standalone stream per session.
    res = co_await roundtrip(f.port, f.bare(http::verb::get, session));
    EXPECT_EQ(res.result(), http::status::conflict);

    // The client answers the sampling request with a POST: 202.
    const json sampling_result = jsonrpc::make_result_response("s1", {{"ok", true}});
    res = co_await roundtrip(f.port, f.post(sampling_result, session));
    EXPECT_EQ(res.result(), http::status::accepted);

    // DELETE ends the stream cleanly (last chunk).
    res = co_await roundtrip(f.port, f.bare(http::verb::delete_, session));
    EXPECT_EQ(res.result(), http::status::ok);
    while (!parser.is_done()) {
      co_await http::async_read_some(stream.socket, stream.buffer, parser, asio::use_awaitable);
    }
    EXPECT_FALSE(f.log.sessions.empty());
  });
}

TEST(HttpServer, StandaloneStreamKeepAliveAndDisabledGet) {
  http_server_config config;
  config.sse_keepalive_interval = std::chrono::milliseconds(1);
  with_server(config, [](fixture& f) -> task<void> {
    const std::string session = co_await initialize(f);
    client stream = co_await connect(f.port);
    co_await http::async_write(stream.socket, f.bare(http::verb::get, session), asio::use_awaitable);
    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);
    co_await http::async_read_header(stream.socket, stream.buffer, parser, asio::use_awaitable);
    std::size_t comments = 0;
    co_await read_events(stream, parser, 0, &comments);
    EXPECT_GT(comments, 0u);
    EXPECT_EQ(f.server.open_sse_streams(), 1u);
    // The client hangs up: the server notices without writing anything else first.
    stream.socket.close();
    while (f.log.sessions[0]->has_standalone_stream()) {
      co_await roundtrip(f.port, f.post(jsonrpc::make_request(1, "tools/list"), session));
    }
    EXPECT_EQ(f.server.open_sse_streams(), 0u);
  });

  config.enable_get_stream = false;
  with_server(config, [](fixture& f) -> task<void> {
    const std::string session = co_await initialize(f);
    response res = co_await roundtrip(f.port, f.bare(http::verb::get, session));
    EXPECT_EQ(res.result(), http::status::method_not_allowed);
    EXPECT_EQ(res[http::field::allow], "POST, DELETE, OPTIONS");
    const json post = jsonrpc::make_request(1, "test/post",
                                            {{"message", jsonrpc::make_notification("x")}});
    res = co_await roundtrip(f.port, f.post(post, session));
    EXPECT_EQ(body_of(res)["result"]["posted"], false);
  });

  // Responses and invalid messages are never posted to the standalone stream.
  with_server({}, [](fixture& f) -> task<void> {
    const std::string session = co_await initialize(f);
    const json response_post = jsonrpc::make_request(
        1, "test/post", {{"message", jsonrpc::make_result_response(5, json::object())}});
    response res = co_await roundtrip(f.port, f.post(response_post, session));
    EXPECT_EQ(body_of(res)["result"]["posted"], false);
    const json junk_post = jsonrpc::make_request(2, "test/post", {{"message", 42}});
    res = co_await roundtrip(f.port, f.post(junk_post, session));
    EXPECT_EQ(body_of(res)["result"]["posted"], false);
  });
}

TEST(HttpServer, SessionCloseEndsInFlightRequests) {
  with_server({}, [](fixture& f) -> task<void> {
    const std::string session = co_await initialize(f);
    client streamed = co_await connect(f.port);
    client plain = co_await connect(f.port);
    const json wait_streamed = jsonrpc::make_request(1, "test/wait", {{"stream", true}});
    co_await http::async_write(streamed.socket, f.post(wait_streamed, session), asio::use_awaitable);
    co_await http::async_write(plain.socket,
                               f.post(jsonrpc::make_request(2, "test/wait"), session),
                               asio::use_awaitable);
    http::response_parser<http::string_body> parser;
    co_await http::async_read_header(streamed.socket, streamed.buffer, parser, asio::use_awaitable);
    EXPECT_EQ(parser.get()[http::field::content_type], "text/event-stream");
    while (f.log.waiting < 2) {  // both handlers parked
      co_await roundtrip(f.port, f.post(jsonrpc::make_request(3, "tools/list"), session));
    }

    response res = co_await roundtrip(f.port, f.bare(http::verb::delete_, session));
    EXPECT_EQ(res.result(), http::status::ok);

    co_await http::async_read(streamed.socket, streamed.buffer, parser, asio::use_awaitable);
    const auto events = parse_events(parser.get().body());
    require(events.size() == 2, "log message and error, got: " + parser.get().body());
    EXPECT_EQ(events[0].data["method"], "notifications/message");
    EXPECT_EQ(events[1].data["id"], 1);
    EXPECT_EQ(events[1].data["error"]["code"], jsonrpc::codes::connection_closed);
    EXPECT_NE(events[1].data["error"]["message"].get<std::string>().find("HTTP DELETE"),
              std::string::npos);

    http::response_parser<http::string_body> plain_parser;
    co_await http::async_read(plain.socket, plain.buffer, plain_parser, asio::use_awaitable);
    EXPECT_EQ(plain_parser.get()[http::field::content_type], "application/json");
    EXPECT_EQ(json::parse(plain_parser.get().body())["error"]["code"],
              jsonrpc::codes::connection_closed);
    // The handlers' own late responses were refused.
    EXPECT_EQ(f.log.respond_results, (std::vector<bool>{false, false}));
  });
}

TEST(HttpServer, HandlerFailuresBecomeErrors) {
  with_server({}, [](fixture& f) -> task<void> {
    const std::string session = co_await initialize(f);
    response res = co_await roundtrip(f.port, f.post(jsonrpc::make_request(1, "test/throw"), session));
    EXPECT_EQ(res.result(), http::status::ok);
    EXPECT_EQ(body_of(res)["error"]["code"], jsonrpc::codes::internal_error);
    EXPECT_EQ(body_of(res)["id"], 1);
    res = co_await roundtrip(f.port, f.post(jsonrpc::make_request(2, "test/silent"), session));
    EXPECT_EQ(body_of(res)["error"]["code"], jsonrpc::codes::internal_error);
    EXPECT_NE(error_message(res).find("no response"), std::string::npos);
    res = co_await roundtrip(f.port, f.post(jsonrpc::make_request(3, "test/wrong-id"), session));
    EXPECT_EQ(body_of(res)["id"], 3);
    EXPECT_EQ(f.log.respond_results, std::vector<bool>{false});
  });
}

TEST(HttpServer, FailedInitializeLeavesNoSession) {
  with_server({}, [](fixture& f) -> task<void> {
    json init = initialize_request();
    init["params"]["fail"] = true;
    const response res = co_await roundtrip(f.port, f.post(init));
    EXPECT_EQ(res.result(), http::status::ok);
    EXPECT_EQ(body_of(res)["error"]["code"], -32602);
    EXPECT_EQ(res.count("Mcp-Session-Id"), 0u);
    EXPECT_EQ(f.server.session_count(), 0u);
    EXPECT_EQ(f.log.closes, std::vector<close_reason>{close_reason::initialize_failed});
  });
}

TEST(HttpServer, BatchesWithProtocol20250326) {
  with_server({}, [](fixture& f) -> task<void> {
    const std::string old_session = co_await initialize(f, "2025-03-26");
    const json batch = json::array({jsonrpc::make_request(1, "tools/list"),
                                    jsonrpc::make_notification("notifications/initialized"),
                                    jsonrpc::make_request(2, "tools/list")});
    response res = co_await roundtrip(f.port, f.post(batch, old_session, "2025-03-26"));
    EXPECT_EQ(res.result(), http::status::ok);
    const json answers = body_of(res);
    require(answers.is_array() && answers.size() == 2, "a batch of two responses: " + res.body());
    EXPECT_EQ(answers[0]["id"], 1);
    EXPECT_EQ(answers[1]["id"], 2);
    EXPECT_EQ(f.log.notifications.size(), 1u);

    const json notifications = json::array({jsonrpc::make_notification("a"),
                                            jsonrpc::make_notification("b")});
    res = co_await roundtrip(f.port, f.post(notifications, old_session, ""));
    EXPECT_EQ(res.result(), http::status::accepted);
    EXPECT_EQ(f.log.notifications.size(), 3u);

    const std::string session = co_await initialize(f, "2025-06-18");
    res = co_await roundtrip(f.port, f.post(batch, session));
    EXPECT_EQ(res.result(), http::status::bad_request);
    EXPECT_NE(error_message(res).find("2025-03-26"), std::string::npos);
  });
}

TEST(HttpServer, IdleSessionsExpire) {
  http_server_config config;
  config.session_idle_timeout = std::chrono::minutes(30);
  with_server(config, [](fixture& f) -> task<void> {
    const std::string idle = co_await initialize(f);
    f.clock.advance(std::chrono::minutes(20));
    const std::string fresh = co_await initialize(f);
    EXPECT_EQ(f.server.expire_idle_sessions(), 0u);
    f.clock.advance(std::chrono::minutes(10));
    EXPECT_EQ(f.server.expire_idle_sessions(), 1u);
    EXPECT_EQ(f.log.closes, std::vector<close_reason>{close_reason::expired});
    response res = co_await roundtrip(f.port, f.post(jsonrpc::make_request(1, "tools/list"), idle));
    EXPECT_EQ(res.result(), http::status::not_found);
    res = co_await roundtrip(f.port, f.post(jsonrpc::make_request(1, "tools/list"), fresh));
    EXPECT_EQ(res.result(), http::status::ok);
    // A session with an open stream is not idle, however long it lasts.
    client stream = co_await connect(f.port);
    co_await http::async_write(stream.socket, f.bare(http::verb::get, fresh), asio::use_awaitable);
    http::response_parser<http::string_body> parser;
    co_await http::async_read_header(stream.socket, stream.buffer, parser, asio::use_awaitable);
    f.clock.advance(std::chrono::hours(5));
    EXPECT_EQ(f.server.expire_idle_sessions(), 0u);
    EXPECT_EQ(f.server.session_count(), 1u);
  });
}

TEST(HttpServer, SessionLimitClosesTheLeastRecentlyUsedIdleSession) {
  http_server_config config;
  config.max_sessions = 2;
  with_server(config, [](fixture& f) -> task<void> {
    const std::string oldest = co_await initialize(f);
    f.clock.advance(std::chrono::seconds(1));
    const std::string used = co_await initialize(f);
    f.clock.advance(std::chrono::seconds(1));
    response res = co_await roundtrip(f.port, f.post(jsonrpc::make_request(1, "tools/list"), oldest));
    EXPECT_EQ(res.result(), http::status::ok);  // `oldest` is now the most recently used
    f.clock.advance(std::chrono::seconds(1));
    const std::string newest = co_await initialize(f);
    EXPECT_EQ(f.log.closes, std::vector<close_reason>{close_reason::evicted});
    res = co_await roundtrip(f.port, f.post(jsonrpc::make_request(2, "tools/list"), used));
    EXPECT_EQ(res.result(), http::status::not_found);
    res = co_await roundtrip(f.port, f.post(jsonrpc::make_request(2, "tools/list"), oldest));
    EXPECT_EQ(res.result(), http::status::ok);
    EXPECT_EQ(f.server.session_count(), 2u);

    // Sessions with a stream open are busy: when all are, a new one is refused.
    std::vector<std::string> busy;
    busy.push_back(oldest);
    busy.push_back(newest);
    std::vector<std::unique_ptr<client>> streams;
    for (const std::string& session : busy) {
      client opened = co_await connect(f.port);
      streams.push_back(std::make_unique<client>(std::move(opened)));
      co_await http::async_write(streams.back()->socket, f.bare(http::verb::get, session), asio::use_awaitable);
      http::response_parser<http::string_body> parser;
      co_await http::async_read_header(streams.back()->socket, streams.back()->buffer, parser, asio::use_awaitable);
    }
    res = co_await roundtrip(f.port, f.post(initialize_request("2025-06-18", 5)));
    EXPECT_EQ(res.result(), http::status::service_unavailable);
    EXPECT_EQ(body_of(res)["id"], 5);
    EXPECT_NE(error_message(res).find("all 2 MCP sessions of this gateway are busy"), std::string::npos);
  });
}

TEST(HttpServer, StreamLimitFallsBackToJson) {
  http_server_config config;
  config.max_sse_streams = 1;
  with_server(config, [](fixture& f) -> task<void> {
    const std::string session = co_await initialize(f);
    client stream = co_await connect(f.port);
    co_await http::async_write(stream.socket, f.bare(http::verb::get, session), asio::use_awaitable);
    http::response_parser<http::string_body> parser;
    co_await http::async_read_header(stream.socket, stream.buffer, parser, asio::use_awaitable);
    EXPECT_EQ(f.server.open_sse_streams(), 1u);

    // No stream slot left: the progress is dropped and the response comes as JSON.
    const json call = jsonrpc::make_request(1, "tools/call", {{"_meta", {{"progressToken", 1}}}});
    const response res = co_await roundtrip(f.port, f.post(call, session));
    EXPECT_EQ(res[http::field::content_type], "application/json");
    EXPECT_EQ(f.log.send_results, std::vector<bool>{false});

    const std::string other = co_await initialize(f);
    const response refused = co_await roundtrip(f.port, f.bare(http::verb::get, other));
    EXPECT_EQ(refused.result(), http::status::service_unavailable);
  });
}

TEST(HttpServer, ShutdownEndsOpenStreamsAndSessions) {
  with_server({}, [](fixture& f) -> task<void> {
    const std::string session = co_await initialize(f);
    client stream = co_await connect(f.port);
    co_await http::async_write(stream.socket, f.bare(http::verb::get, session), asio::use_awaitable);
    http::response_parser<http::string_body> parser;
    co_await http::async_read_header(stream.socket, stream.buffer, parser, asio::use_awaitable);
    f.server.stop();
    // The stream ends with its last chunk.
    while (!parser.is_done()) {
      co_await http::async_read_some(stream.socket, stream.buffer, parser, asio::use_awaitable);
    }
    EXPECT_EQ(f.log.closes, std::vector<close_reason>{close_reason::shutdown});
  });
}

}  // namespace
}  // namespace mcp::gateway
