// The client against the real gateway transport (mcp::gateway::http_server) on 127.0.0.1
// port 0 in the same io_context, with a small test handler; plus a fake gateway that
// "crashes" (stops listening and drops the connection) for the node-gone case. One
// thread, no sleeps.
#include "mcp/gateway/client/http_client.hpp"

#include "http_client_test_support.hpp"

#include "mcp/gateway/http/http_server.hpp"

#include <gtest/gtest.h>

namespace mcp::gateway::client {
namespace {

using namespace testing_support;

TEST(HttpClient, InitializeCarriesTheSessionAndJsonReplies) {
  with_server({}, [](fixture& f) -> task<void> {
    http_client client(f.executor, f.url, test_config());
    co_await with_client(client, [&]() -> task<void> {
      EXPECT_FALSE(client.is_initialized());
      require((co_await client.send(initialize_request("2025-06-18", 1))).has_value(), "initialize sent");
      auto reply = co_await client.next_message();
      require(reply.has_value(), "initialize answered");
      EXPECT_EQ((*reply)["id"], 1);
      EXPECT_EQ((*reply)["result"]["protocolVersion"], "2025-06-18");
      // The session id and version are known before the response is handed out.
      require(f.log.sessions.size() == 1, "one session");
      EXPECT_EQ(client.session_id(), f.log.sessions[0]->id());
      EXPECT_EQ(client.session_id().size(), 32u);
      EXPECT_EQ(client.protocol_version(), "2025-06-18");
      EXPECT_TRUE(client.is_initialized());

      // A notification: 202, handed to the handler before send() returns.
      require((co_await client.send(jsonrpc::make_notification("notifications/initialized"))).has_value(),
              "notification accepted");
      require(f.log.notifications.size() == 1, "notification delivered");
      EXPECT_EQ(f.log.notifications[0]["method"], "notifications/initialized");

      // A JSON reply, twice (the second on the kept connection).
      for (const char* id : {"a", "b"}) {
        require((co_await client.send(jsonrpc::make_request(id, "tools/list"))).has_value(), "request sent");
        EXPECT_EQ(client.pending_requests(), 1u);
        reply = co_await client.next_message();
        require(reply.has_value(), "tools/list answered");
        EXPECT_EQ((*reply)["id"], id);
        EXPECT_EQ((*reply)["result"]["tools"][0]["name"], "echo");
        EXPECT_EQ(client.pending_requests(), 0u);
      }
    });
    EXPECT_EQ(f.server.session_count(), 0u);  // close() sent DELETE
    require(f.log.closes.size() == 1, "session closed");
    EXPECT_EQ(f.log.closes[0], close_reason::deleted);
  });
}

TEST(HttpClient, SendsTheNegotiatedProtocolVersionHeader) {
  // The handler answers initialize with a version the transport does not accept in the
  // MCP-Protocol-Version header: the next request is refused with 400, which proves the
  // client sends the header with the negotiated version.
  with_server({}, [](fixture& f) -> task<void> {
    http_client client(f.executor, f.url, test_config(false));
    co_await with_client(client, [&]() -> task<void> {
      json init = initialize_request("2025-06-18", 1);
      init["params"]["answerVersion"] = "1999-01-01";
      require((co_await client.send(std::move(init))).has_value(), "initialize sent");
      require((co_await client.next_message()).has_value(), "initialize answered");
      EXPECT_EQ(client.protocol_version(), "1999-01-01");
      require((co_await client.send(jsonrpc::make_request(2, "tools/list"))).has_value(), "sent");
      auto reply = co_await client.next_message();
      require(reply.has_value(), "answered");
      EXPECT_EQ((*reply)["id"], 2);
      EXPECT_EQ((*reply)["error"]["code"], jsonrpc::codes::invalid_request);
      EXPECT_NE((*reply)["error"]["message"].get<std::string>().find("1999-01-01"), std::string::npos)
          << reply->dump();
      EXPECT_FALSE(client.has_failed());
    });
  });
}

TEST(HttpClient, CallInitializesFirst) {
  with_server({}, [](fixture& f) -> task<void> {
    http_client client(f.executor, f.url, test_config(false));
    co_await with_client(client, [&]() -> task<void> {
      auto reply = co_await client.call("tools/list");
      require(reply.has_value(), "call worked: " + client.last_error());
      EXPECT_TRUE(reply->ok());
      EXPECT_EQ(reply->result["tools"][0]["name"], "echo");
      EXPECT_EQ(client.protocol_version(), "2025-11-25");
      require(f.log.notifications.size() == 1, "initialized sent");
      EXPECT_EQ(f.log.notifications[0]["method"], "notifications/initialized");

      reply = co_await client.call("no/such");
      require(reply.has_value(), "second call");
      require(!reply->ok(), "an error reply");
      EXPECT_EQ(reply->error->code, jsonrpc::codes::method_not_found);

      // The node's ping during a call is answered; sampling is refused.
      reply = co_await client.call("test/ping-me");
      require(reply.has_value() && reply->ok(), "ping-me");
      EXPECT_TRUE(reply->result["answer"].contains("result"));
      reply = co_await client.call("test/sample");
      require(reply.has_value() && reply->ok(), "sample");
      EXPECT_EQ(reply->result["sampled"]["error"]["code"], jsonrpc::codes::method_not_found);
    });
  });
}

TEST(HttpClient, SseReplyWithProgressThenResponse) {
  with_server({}, [](fixture& f) -> task<void> {
    http_client client(f.executor, f.url, test_config(false));
    co_await with_client(client, [&]() -> task<void> {
      co_await start_session(client);
      require((co_await client.send(call_with_progress(7, "tok"))).has_value(), "call sent");
      auto progress = co_await client.next_message();
      require(progress.has_value(), "progress");
      EXPECT_EQ((*progress)["method"], "notifications/progress");
      EXPECT_EQ((*progress)["params"]["progressToken"], "tok");
      auto response = co_await client.next_message();
      require(response.has_value(), "response");
      EXPECT_EQ((*response)["id"], 7);
      EXPECT_EQ((*response)["result"]["content"][0]["text"], "done");
      EXPECT_EQ(client.pending_requests(), 0u);
    });
  });
}

TEST(HttpClient, ServerRequestOnTheReplyIsAnsweredByTheClient) {
  with_server({}, [](fixture& f) -> task<void> {
    http_client client(f.executor, f.url, test_config(false));
    co_await with_client(client, [&]() -> task<void> {
      co_await start_session(client);
      require((co_await client.send(jsonrpc::make_request(3, "test/sample"))).has_value(), "sent");
      auto request = co_await client.next_message();
      require(request.has_value(), "sampling request");
      EXPECT_EQ((*request)["method"], "sampling/createMessage");
      // The answer is a POST of its own, accepted with 202 while the first reply waits.
      require((co_await client.send(sampling_answer((*request)["id"]))).has_value(), "answer accepted");
      auto response = co_await client.next_message();
      require(response.has_value(), "final response");
      EXPECT_EQ((*response)["id"], 3);
      EXPECT_EQ((*response)["result"]["sampled"]["result"]["content"]["text"], "hi");
    });
  });
}

TEST(HttpClient, StandaloneStreamDeliversServerMessages) {
  with_server({}, [](fixture& f) -> task<void> {
    http_client client(f.executor, f.url, test_config(true));
    co_await with_client(client, [&]() -> task<void> {
      co_await start_session(client);
      require((co_await client.send(post_request(4, list_changed()))).has_value(), "sent");
      // The response (POST reply) and the notification (GET stream) in either order.
      bool got_response = false;
      bool got_notification = false;
      for (int i = 0; i < 2; ++i) {
        auto message = co_await client.next_message();
        require(message.has_value(), "message");
        if (message->contains("id")) {
          EXPECT_EQ((*message)["result"]["posted"], true);
          got_response = true;
        } else {
          EXPECT_EQ((*message)["method"], "notifications/tools/list_changed");
          got_notification = true;
        }
      }
      EXPECT_TRUE(got_response);
      EXPECT_TRUE(got_notification);
      EXPECT_TRUE(client.is_listening());
      // A second one goes on the open stream.
      require((co_await client.send(post_request(5, list_changed()))).has_value(), "sent");
      for (int i = 0; i < 2; ++i) require((co_await client.next_message()).has_value(), "message");
    });
  });
}

TEST(HttpClient, NoStandaloneStreamWhenTheServerAnswers405) {
  http_server_config config;
  config.enable_get_stream = false;
  with_server(config, [](fixture& f) -> task<void> {
    http_client client(f.executor, f.url, test_config(true));
    co_await with_client(client, [&]() -> task<void> {
      co_await start_session(client);
      auto reply = co_await client.call("tools/list");
      require(reply.has_value() && reply->ok(), "works without the stream");
      EXPECT_FALSE(client.is_listening());
      EXPECT_FALSE(client.has_failed());
    });
  });
}

TEST(HttpClient, SessionClosedByTheServerEndsTheClient) {
  for (const bool listen : {true, false}) {
    SCOPED_TRACE(listen);
    with_server({}, [listen](fixture& f) -> task<void> {
      http_client client(f.executor, f.url, test_config(listen));
      co_await with_client(client, [&]() -> task<void> {
        co_await start_session(client);
        require((co_await client.send(jsonrpc::make_request(9, "test/close"))).has_value(), "sent");
        auto reply = co_await client.next_message();
        require(reply.has_value(), "answered by the transport");
        EXPECT_EQ((*reply)["id"], 9);
        EXPECT_EQ((*reply)["error"]["code"], jsonrpc::codes::connection_closed);
        if (!listen) {
          // Without a GET stream the next request finds out: HTTP 404.
          require((co_await client.send(jsonrpc::make_request(10, "tools/list"))).has_value(), "written");
          reply = co_await client.next_message();
          require(reply.has_value(), "made-up answer");
          EXPECT_EQ((*reply)["id"], 10);
          EXPECT_EQ((*reply)["error"]["code"], jsonrpc::codes::connection_closed);
          EXPECT_NE((*reply)["error"]["message"].get<std::string>().find("ended the MCP session"), std::string::npos);
        }
        // With a GET stream, its end and the 404 on reopening tell.
        EXPECT_FALSE((co_await client.next_message()).has_value());
        EXPECT_TRUE(client.has_failed());
        EXPECT_NE(client.last_error().find("the p2pmcp node ended the MCP session"), std::string::npos)
            << client.last_error();
        auto sent = co_await client.send(jsonrpc::make_request(11, "tools/list"));
        require(!sent, "refused after the failure");
        EXPECT_EQ(sent.error(), p2p::errc::closed);
      });
    });
  }
}

TEST(HttpClient, ConnectionRefusedIsOneSentence) {
  p2p::testing::run([](asio::any_io_executor executor) -> task<void> {
    const gateway_url url = *parse_url("http://127.0.0.1:" + std::to_string(free_port(executor)) + "/mcp");
    http_client client(executor, url, test_config());
    co_await with_client(client, [&]() -> task<void> {
      auto sent = co_await client.send(initialize_request("2025-11-25", 1));
      require(!sent, "refused");
      EXPECT_EQ(sent.error(), p2p::errc::unreachable);
      EXPECT_EQ(client.last_error(), "no p2pmcp node answers at " + url.text);
      EXPECT_TRUE(client.has_failed());
      EXPECT_FALSE((co_await client.next_message()).has_value());
    });
    http_client other(executor, url, test_config());
    co_await with_client(other, [&]() -> task<void> {
      auto reply = co_await other.call("tools/list");
      require(!reply, "call refused");
      EXPECT_EQ(reply.error(), p2p::errc::unreachable);
      EXPECT_EQ(other.last_error(), "no p2pmcp node answers at " + url.text);
    });
  });
}

TEST(HttpClient, NodeGoneMidRequestAnswersPendingRequests) {
  p2p::testing::run([](asio::any_io_executor executor) -> task<void> {
    tcp::acceptor acceptor(executor, {asio::ip::make_address("127.0.0.1"), 0});
    const gateway_url url = *parse_url("http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/mcp");
    http_client client(executor, url, test_config(false));
    auto script = [&]() -> task<void> {
      co_await with_client(client, [&]() -> task<void> {
        require((co_await client.send(initialize_request("2025-11-25", 1))).has_value(), "sent");
        require((co_await client.next_message()).has_value(), "initialized");
        EXPECT_EQ(client.session_id(), "fake-session");
        require((co_await client.send(jsonrpc::make_request(2, "tools/call"))).has_value(), "sent");
        auto reply = co_await client.next_message();
        require(reply.has_value(), "made-up answer");
        EXPECT_EQ((*reply)["id"], 2);
        EXPECT_EQ((*reply)["error"]["code"], jsonrpc::codes::connection_closed);
        EXPECT_NE((*reply)["error"]["message"].get<std::string>().find("the p2pmcp node stopped"), std::string::npos)
            << reply->dump();
        EXPECT_FALSE((co_await client.next_message()).has_value());
        EXPECT_TRUE(client.has_failed());
      });
      boost::system::error_code ignored;
      acceptor.close(ignored);  // ends the fake if the script failed before the crash
    };
    co_await (crashing_gateway(acceptor) && script());
  });
}

TEST(HttpClient, GracefulNodeStopAnswersPendingAndEndsTheClient) {
  with_server({}, [](fixture& f) -> task<void> {
    http_client client(f.executor, f.url, test_config(true));
    co_await with_client(client, [&]() -> task<void> {
      co_await start_session(client);
      require((co_await client.send(jsonrpc::make_request(5, "test/wait"))).has_value(), "sent");
      while (f.log.waiting == 0) co_await f.log.changed.wait();
      f.server.stop();
      auto reply = co_await client.next_message();
      require(reply.has_value(), "answered");
      EXPECT_EQ((*reply)["id"], 5);
      EXPECT_EQ((*reply)["error"]["code"], jsonrpc::codes::connection_closed);
      EXPECT_FALSE((co_await client.next_message()).has_value());
      EXPECT_TRUE(client.has_failed());
      EXPECT_NE(client.last_error().find("the p2pmcp node stopped"), std::string::npos) << client.last_error();
    });
  });
}

TEST(HttpClient, MessageSizeLimits) {
  with_server({}, [](fixture& f) -> task<void> {
    client_config config = test_config(false);
    config.max_message_size = 1024;
    http_client client(f.executor, f.url, config);
    co_await with_client(client, [&]() -> task<void> {
      co_await start_session(client);
      // Outgoing: refused before anything is sent.
      auto sent = co_await client.send(big_request(20, 2000));
      require(!sent, "too large to send");
      EXPECT_EQ(sent.error(), p2p::errc::message_too_large);
      EXPECT_NE(client.last_error().find("over the limit of 1 KiB"), std::string::npos) << client.last_error();
      EXPECT_EQ(client.pending_requests(), 0u);

      // Incoming JSON reply (Content-Length over the limit).
      require((co_await client.send(sized_request(21, "test/big", 4000))).has_value(), "sent");
      auto reply = co_await client.next_message();
      require(reply.has_value(), "answered");
      EXPECT_EQ((*reply)["id"], 21);
      EXPECT_EQ((*reply)["error"]["code"], jsonrpc::codes::message_too_large);
      EXPECT_NE((*reply)["error"]["message"].get<std::string>().find("over the limit"), std::string::npos);

      // Incoming SSE event over the limit: the id is recovered from its head.
      require((co_await client.send(sized_request(22, "test/big-sse", 4000))).has_value(), "sent");
      auto progress = co_await client.next_message();
      require(progress.has_value() && (*progress)["method"] == "notifications/progress", "progress first");
      reply = co_await client.next_message();
      require(reply.has_value(), "answered");
      EXPECT_EQ((*reply)["id"], 22);
      EXPECT_EQ((*reply)["error"]["code"], jsonrpc::codes::message_too_large);

      // A response just under the limit still arrives; the client is still usable.
      require((co_await client.send(sized_request(23, "test/big", 900))).has_value(), "sent");
      reply = co_await client.next_message();
      require(reply.has_value() && reply->contains("result"), "fits");
      EXPECT_FALSE(client.has_failed());
    });
  });
}

TEST(HttpClient, RefusesInvalidAndDuplicateMessages) {
  with_server({}, [](fixture& f) -> task<void> {
    http_client client(f.executor, f.url, test_config(false));
    co_await with_client(client, [&]() -> task<void> {
      auto sent = co_await client.send(not_jsonrpc());
      require(!sent, "not JSON-RPC");
      EXPECT_EQ(sent.error(), p2p::errc::invalid_argument);
      co_await start_session(client);
      sent = co_await client.send(initialize_request("2025-11-25", 50));
      require(!sent, "second initialize");
      EXPECT_EQ(sent.error(), p2p::errc::invalid_argument);
      require((co_await client.send(jsonrpc::make_request(6, "test/wait"))).has_value(), "sent");
      sent = co_await client.send(jsonrpc::make_request(6, "tools/list"));
      require(!sent, "id in use");
      EXPECT_EQ(sent.error(), p2p::errc::invalid_argument);
      f.log.released = true;
      f.log.changed.notify();
      auto reply = co_await client.next_message();
      require(reply.has_value(), "answered");
      EXPECT_EQ((*reply)["id"], 6);
    });
  });
}

TEST(HttpClient, RequestsBeforeInitializeAnswerWaitForTheSession) {
  with_server({}, [](fixture& f) -> task<void> {
    http_client client(f.executor, f.url, test_config(false));
    co_await with_client(client, [&]() -> task<void> {
      // initialize is held by the handler until released; a ping sent meanwhile waits
      // for the session id instead of going out without one.
      json init = initialize_request("2025-11-25", 1);
      init["params"]["hold"] = true;
      require((co_await client.send(std::move(init))).has_value(), "sent");
      bool ping_sent = false;
      auto ping = [&]() -> task<void> {
        require((co_await client.send(jsonrpc::make_request(2, "ping"))).has_value(), "ping sent");
        ping_sent = true;
      };
      auto release = [&]() -> task<void> {
        while (f.log.waiting == 0) co_await f.log.changed.wait();
        EXPECT_FALSE(ping_sent);
        f.log.released = true;
        f.log.changed.notify();
      };
      co_await (ping() && release());
      auto first = co_await client.next_message();
      auto second = co_await client.next_message();
      require(first.has_value() && second.has_value(), "both answered");
      EXPECT_EQ((*first)["id"], 1);
      EXPECT_EQ((*second)["id"], 2);
      EXPECT_TRUE(second->contains("result")) << second->dump();
    });
  });
}

}  // namespace
}  // namespace mcp::gateway::client
