// remote_server against a scripted fake MCP server on the other end of in-memory
// stream pairs (peer_test_support.hpp). Each test's script plays the peer's side
// line by line: it reads what the client sent, checks it, and answers, resets or closes.
// Nothing sleeps: the tests wait on the upstream's own signals; real timers appear only
// where a timeout is what is tested (short ones), or where the script needs time to pass
// between progress notifications.
#include "mcp/peer/remote_server.hpp"

#include "mcp/jsonrpc/message.hpp"
#include "mcp/peer/peer_test_support.hpp"

#include "mcp_upstream_helpers.hpp"
#include "run.hpp"

#include "p2p/core/task_group.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace mcp::peer {
namespace {

using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;
using mcp::server::rpc_result;
using mcp::server::server_message;
using mcp::server::server_state;
using mcp::testing::arg;
using mcp::testing::j;
using mcp::testing::starts_with;
using mcp::testing::while_running;
using p2p::testing::run;
namespace codes = jsonrpc::codes;

// The peer's side: fake_peer and server_end (peer_test_support.hpp).
using fakes::fake_peer;
using fakes::peer_setup;
using fakes::server_end;
using fakes::text_result;

json tool(std::string name) {
  json t = {{"name", name}, {"inputSchema", {{"type", "object"}}}};
  return t;
}

std::vector<json> default_tools() { return {tool("echo"), tool("hang"), tool("slow")}; }

json init_result(std::string version = "2025-11-25") {
  json result = {{"protocolVersion", version},
                 {"capabilities", {{"tools", {{"listChanged", true}}}, {"logging", json::object()}}},
                 {"serverInfo", {{"name", "everything"}, {"version", "2.0"}}},
                 {"instructions", "be nice"}};
  return result;
}

// The answer to one tools/list request: the page its cursor ("page-<i>") names.
json tools_page(const json& request, const std::vector<json>& tools, std::size_t page_size = 2) {
  std::size_t start = 0;
  const std::string cursor = request["params"].value("cursor", "");
  if (!cursor.empty()) start = std::stoul(cursor.substr(5));
  json page = json::array();
  for (std::size_t i = start; i < std::min(start + page_size, tools.size()); ++i) page.push_back(tools[i]);
  json result = json::object();
  result["tools"] = std::move(page);
  if (start + page_size < tools.size()) result["nextCursor"] = "page-" + std::to_string(start + page_size);
  return result;
}

// Answers tools/list requests page by page, checking the cursors.
task<void> serve_tools_list(server_end& end, std::vector<json> tools, std::size_t page_size = 2) {
  for (std::size_t start = 0; start == 0 || start < tools.size(); start += page_size) {
    json request = co_await end.expect("tools/list");
    if (start == 0) {
      EXPECT_FALSE(request["params"].contains("cursor")) << request.dump();
    } else {
      EXPECT_EQ(request["params"].value("cursor", ""), "page-" + std::to_string(start));
    }
    co_await end.answer(request, tools_page(request, tools, page_size));
  }
}

// The peer's side of the lifecycle and the first tools/list; returns the initialize
// request.
task<json> start_session(server_end& end, json result = init_result(), std::vector<json> tools = default_tools()) {
  json initialize = co_await end.expect("initialize");
  co_await end.answer(initialize, result);
  json initialized = co_await end.expect("notifications/initialized");
  EXPECT_FALSE(initialized.contains("id"));
  if (result["capabilities"].contains("tools")) co_await serve_tools_list(end, std::move(tools));
  co_return initialize;
}

// ---------------------------------------------------------------------------------
// The client's side

remote_server_options fast_options() {
  remote_server_options options;
  options.backoff = {10ms, 40ms, 60s};
  options.close_grace = 100ms;
  return options;
}

// Runs `body(server, peer)` with the server running (while_running); then checks it is
// stopped and disconnected.
template <class Body>
void with_remote(remote_server_options options, Body body, peer_setup setup = {}) {
  run([&](asio::any_io_executor executor) -> task<void> {
    fake_peer peer(executor, setup);
    remote_server server(executor, "everything", "peer k3Xq9a", peer.opener(), options);
    co_await while_running(server, "remote_server.run", [&] { return body(server, peer); });
    EXPECT_EQ(server.state(), server_state::stopped);
    EXPECT_FALSE(server.is_connected());
  });
}

using mcp::testing::call_tool;
using mcp::testing::text_of;
using mcp::testing::tool_names;
using mcp::testing::wait_for_tools;

// Answers one tools/call for "echo" with its text.
task<void> answer_echo(server_end& end) {
  json request = co_await end.expect("tools/call");
  co_await end.answer(request, text_result(request["params"]["arguments"].value("text", "")));
}

// The script's timer, for time that must pass between progress notifications.
task<void> pause(duration d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(asio::use_awaitable);
}

// ---------------------------------------------------------------------------------

TEST(mcp_remote_server, runs_the_lifecycle_and_lists_tools_across_pages) {
  // One byte per read and tiny buffers: every partial read and write path.
  peer_setup tiny;
  tiny.streams.max_read = 1;
  tiny.streams.capacity = 16;
  with_remote(
      fast_options(),
      [](remote_server& server, fake_peer& peer) -> task<void> {
        EXPECT_EQ(server.state(), server_state::starting);
        EXPECT_TRUE(server.unavailable_reason().empty());
        const auto starting = server.state_version();
        EXPECT_EQ(server.name(), "everything");
        EXPECT_EQ(server.label(), "peer k3Xq9a");
        auto end = co_await peer.accept();
        std::vector<json> tools = {tool("echo"), tool("add"), tool("hang"), tool("sample"), tool("slow")};
        json initialize = co_await start_session(end, init_result(), tools);

        // What the peer saw: our versions, clientInfo and the capabilities the node
        // forwards to its own clients.
        EXPECT_EQ(initialize["params"]["protocolVersion"], "2025-11-25");
        EXPECT_EQ(initialize["params"]["clientInfo"]["name"], "p2pmcp");
        EXPECT_EQ(initialize["params"]["capabilities"],
                  j(R"({"sampling":{},"elicitation":{},"roots":{"listChanged":true}})"));

        EXPECT_TRUE(co_await server.wait_for_state(server_state::ready));
        EXPECT_TRUE(server.is_connected());
        EXPECT_NE(server.state_version(), starting);
        co_await server.state_changed(starting);  // already changed: at once
        co_await wait_for_tools(server, 5);
        const std::vector<std::string> expected = {"echo", "add", "hang", "sample", "slow"};
        EXPECT_EQ(tool_names(server), expected);
        EXPECT_EQ(server.protocol_version(), "2025-11-25");
        EXPECT_EQ(server.server_info()["name"], "everything");
        EXPECT_EQ(server.server_capabilities()["tools"]["listChanged"], true);
        EXPECT_EQ(server.instructions(), "be nice");
        EXPECT_TRUE(server.available());
        EXPECT_TRUE(server.unavailable_reason().empty());

        auto echoed =
            co_await (call_tool(server, "echo", arg("text", "over the wire")) && answer_echo(end));
        EXPECT_EQ(text_of(echoed), "over the wire");
        EXPECT_TRUE(server.notify("notifications/roots/list_changed"));
        json notification = co_await end.expect("notifications/roots/list_changed");
        EXPECT_FALSE(notification.contains("id"));
        EXPECT_EQ(peer.opens, 1);
        EXPECT_EQ(server.session(), 1u);
        EXPECT_EQ(server.queued_messages(), 0u);
      },
      tiny);
}

TEST(mcp_remote_server, negotiates_an_older_version_and_refuses_an_unknown_one) {
  with_remote(fast_options(), [](remote_server& server, fake_peer& peer) -> task<void> {
    auto end = co_await peer.accept();
    co_await start_session(end, init_result("2025-06-18"));
    EXPECT_TRUE(co_await server.wait_for_state(server_state::ready));
    EXPECT_EQ(server.protocol_version(), "2025-06-18");
  });

  with_remote(fast_options(), [](remote_server& server, fake_peer& peer) -> task<void> {
    auto end = co_await peer.accept();
    json initialize = co_await end.expect("initialize");
    co_await end.answer(initialize, init_result("2024-11-05"));
    // The client disconnects (spec: SHOULD), cleanly: our write side is closed first.
    EXPECT_FALSE(co_await end.read());
    EXPECT_EQ(end.ended(), p2p::errc::closed);
    co_await end.close();
    EXPECT_TRUE(co_await server.wait_for_state(server_state::restarting));
    EXPECT_EQ(server.last_error(),
              "server 'everything' on peer k3Xq9a wants protocol version 2024-11-05, which p2pmcp does not support "
              "(it speaks 2025-11-25, 2025-06-18, 2025-03-26)");
    // And tries again after the backoff.
    auto again = co_await peer.accept();
    co_await start_session(again);
    EXPECT_TRUE(co_await server.wait_for_state(server_state::ready));
    EXPECT_EQ(peer.opens, 2);
  });
}

TEST(mcp_remote_server, a_request_made_while_connecting_waits_for_ready) {
  with_remote(fast_options(), [](remote_server& server, fake_peer& peer) -> task<void> {
    EXPECT_EQ(server.state(), server_state::starting);
    // The request goes out as soon as the session is ready, among the tools/list pages.
    auto script = [&]() -> task<void> {
      auto end = co_await peer.accept();
      json initialize = co_await end.expect("initialize");
      co_await end.answer(initialize, init_result());
      co_await end.expect("notifications/initialized");
      const std::vector<json> tools = default_tools();
      bool listed = false;
      bool called = false;
      while (!listed || !called) {
        auto message = co_await end.read();
        EXPECT_TRUE(message);
        if (!message) co_return;
        if ((*message)["method"] == "tools/list") {
          json page = tools_page(*message, tools);
          listed = !page.contains("nextCursor");
          co_await end.answer(*message, std::move(page));
        } else {
          EXPECT_EQ((*message)["method"], "tools/call");
          called = true;
          co_await end.answer(*message, text_result((*message)["params"]["arguments"]["text"]));
        }
      }
    };
    auto answer = co_await (call_tool(server, "echo", arg("text", "early")) && script());
    EXPECT_EQ(text_of(answer), "early");
  });
}

TEST(mcp_remote_server, routes_concurrent_responses_out_of_order_and_maps_errors) {
  with_remote(fast_options(), [](remote_server& server, fake_peer& peer) -> task<void> {
    auto end = co_await peer.accept();
    co_await start_session(end);
    auto script = [&]() -> task<bool> {
      json first = co_await end.expect("tools/call");
      json second = co_await end.expect("tools/call");
      json third = co_await end.expect("resources/read");
      EXPECT_NE(first["id"], second["id"]);
      EXPECT_NE(second["id"], third["id"]);
      co_await end.send(jsonrpc::make_error_response(third["id"], -32002, "Resource not found", j(R"({"uri":"x:/"})")));
      co_await end.answer(second, text_result(second["params"]["arguments"]["text"]));
      co_await end.answer(first, text_result(first["params"]["arguments"]["text"]));
      co_return true;
    };
    auto results = co_await (call_tool(server, "echo", arg("text", "a")) && call_tool(server, "echo", arg("text", "b")) &&
                             server.request("resources/read", j(R"({"uri":"x:/"})"), 10s) && script());
    EXPECT_EQ(text_of(std::get<0>(results)), "a");
    EXPECT_EQ(text_of(std::get<1>(results)), "b");
    const auto& missing = std::get<2>(results);
    EXPECT_FALSE(missing);
    if (!missing) {
      EXPECT_TRUE(missing.error().from_server);
      EXPECT_EQ(missing.error().to_json(), j(R"({"code":-32002,"message":"Resource not found","data":{"uri":"x:/"}})"));
    }

    // Refused before anything is sent.
    json array_params = json::array();
    auto bad_params = co_await server.request("tools/call", std::move(array_params), 10s);
    EXPECT_FALSE(bad_params);
    EXPECT_EQ(bad_params.error().code, codes::invalid_params);
    auto initialize = co_await server.request("initialize", json::object(), 10s);
    EXPECT_FALSE(initialize);
    EXPECT_EQ(initialize.error().code, codes::invalid_request);
  });
}

TEST(mcp_remote_server, progress_restarts_the_timeout_up_to_the_maximum) {
  with_remote(fast_options(), [](remote_server& server, fake_peer& peer) -> task<void> {
    auto end = co_await peer.accept();
    co_await start_session(end);
    // 5 progress notifications 150 ms apart, then the answer: 750 ms in all, well past
    // the 500 ms timeout, which each notification restarts.
    auto script = [&]() -> task<void> {
      json request = co_await end.expect("tools/call");
      EXPECT_EQ(request["params"]["_meta"]["progressToken"], "tok-1");
      for (int i = 1; i <= 5; ++i) {
        co_await pause(150ms);
        json params = j(R"({"progressToken":"tok-1","total":5})");
        params["progress"] = i;
        co_await end.send(jsonrpc::make_notification("notifications/progress", std::move(params)));
      }
      co_await end.answer(request, text_result("done after 5 steps"));
    };
    auto answer = co_await (
        server.request("tools/call", j(R"({"name":"slow","arguments":{},"_meta":{"progressToken":"tok-1"}})"), 500ms) &&
        script());
    EXPECT_EQ(text_of(answer), "done after 5 steps");
    // The notifications were queued for the caller, in order.
    for (int i = 1; i <= 5; ++i) {
      auto message = server.poll_message();
      EXPECT_TRUE(message);
      if (!message) break;
      EXPECT_EQ(message->method(), "notifications/progress");
      EXPECT_EQ(message->message["params"]["progress"], i);
      EXPECT_EQ(message->session, 1u);
    }
    EXPECT_FALSE(server.poll_message());
  });

  remote_server_options options = fast_options();
  options.max_request_duration = 800ms;
  with_remote(options, [](remote_server& server, fake_peer& peer) -> task<void> {
    auto end = co_await peer.accept();
    co_await start_session(end);
    auto script = [&]() -> task<void> {
      json request = co_await end.expect("tools/call");
      for (int i = 1; i <= 8; ++i) {  // 1.2 s of progress, past the 800 ms maximum
        co_await pause(150ms);
        json params = arg("progressToken", 7);
        params["progress"] = i;
        co_await end.send(jsonrpc::make_notification("notifications/progress", std::move(params)));
      }
      json cancelled = co_await end.expect("notifications/cancelled");
      EXPECT_EQ(cancelled["params"]["requestId"], request["id"]);
      EXPECT_EQ(cancelled["params"]["reason"], "timed out");
    };
    auto answer = co_await (
        server.request("tools/call", j(R"({"name":"slow","arguments":{},"_meta":{"progressToken":7}})"), 500ms) &&
        script());
    EXPECT_FALSE(answer);
    if (!answer) {
      EXPECT_EQ(answer.error().code, codes::request_timeout);
      EXPECT_EQ(answer.error().message,
                "request tools/call to server 'everything' on peer k3Xq9a did not complete within the maximum of "
                "800 ms");
    }
  });
}

TEST(mcp_remote_server, a_timeout_sends_notifications_cancelled) {
  with_remote(fast_options(), [](remote_server& server, fake_peer& peer) -> task<void> {
    auto end = co_await peer.accept();
    co_await start_session(end);
    json late;
    auto script = [&]() -> task<void> {
      json request = co_await end.expect("tools/call");
      json cancelled = co_await end.expect("notifications/cancelled");
      EXPECT_EQ(cancelled["params"]["requestId"], request["id"]);
      EXPECT_EQ(cancelled["params"]["reason"], "timed out");
      late = request;
    };
    auto answer = co_await (call_tool(server, "hang", json::object(), 100ms) && script());
    EXPECT_FALSE(answer);
    if (!answer) {
      EXPECT_EQ(answer.error().code, codes::request_timeout);
      EXPECT_FALSE(answer.error().from_server);
      EXPECT_EQ(answer.error().message,
                "request tools/call to server 'everything' on peer k3Xq9a timed out after 100 ms without a response");
    }
    // A late answer to it is dropped; the session goes on.
    co_await end.answer(late, text_result("too late"));
    auto next = co_await (call_tool(server, "echo", arg("text", "next")) && answer_echo(end));
    EXPECT_EQ(text_of(next), "next");
    EXPECT_EQ(server.session(), 1u);
  });
}

TEST(mcp_remote_server, a_cancelled_caller_sends_notifications_cancelled) {
  with_remote(fast_options(), [](remote_server& server, fake_peer& peer) -> task<void> {
    auto end = co_await peer.accept();
    co_await start_session(end);
    // The caller gives up (its coroutine is cancelled) as soon as the peer has the request.
    auto caller = [&]() -> task<rpc_result<json>> { co_return co_await call_tool(server, "hang"); };
    auto peer_has_it = [&]() -> task<json> { co_return co_await end.expect("tools/call"); };
    auto raced = co_await (caller() || peer_has_it());
    EXPECT_EQ(raced.index(), 1u);
    if (raced.index() != 1) co_return;
    json cancelled = co_await end.expect("notifications/cancelled");
    EXPECT_EQ(cancelled["params"]["requestId"], std::get<1>(raced)["id"]);
    EXPECT_EQ(cancelled["params"]["reason"], "cancelled by the requester");
    EXPECT_EQ(server.state(), server_state::ready);
  });
}

TEST(mcp_remote_server, a_cancelled_caller_can_give_its_own_reason) {
  with_remote(fast_options(), [](remote_server& server, fake_peer& peer) -> task<void> {
    auto end = co_await peer.accept();
    co_await start_session(end);
    const std::string reason = "the user pressed stop";
    auto caller = [&]() -> task<rpc_result<json>> {
      json params = json::object();
      params["name"] = "hang";
      co_return co_await server.request("tools/call", std::move(params), std::chrono::seconds(10), &reason);
    };
    auto peer_has_it = [&]() -> task<json> { co_return co_await end.expect("tools/call"); };
    auto raced = co_await (caller() || peer_has_it());
    EXPECT_EQ(raced.index(), 1u);
    if (raced.index() != 1) co_return;
    json cancelled = co_await end.expect("notifications/cancelled");
    EXPECT_EQ(cancelled["params"]["reason"], reason);
  });
}

TEST(mcp_remote_server, a_disconnect_fails_pending_requests_at_once_and_reconnects) {
  struct way {
    const char* name;
    void (*end_it)(server_end&);
    const char* detail;
  };
  const way ways[] = {
      {"reset", [](server_end& end) { end.reset(); }, "stream reset"},
      {"broken connection", [](server_end& end) { end.stream().break_connection(); }, "connection closed"},
  };
  for (const way& w : ways) {
    SCOPED_TRACE(w.name);
    remote_server_options options = fast_options();
    options.backoff = {50ms, 50ms, 60s};
    with_remote(options, [&](remote_server& server, fake_peer& peer) -> task<void> {
      auto end = co_await peer.accept();
      co_await start_session(end);
      co_await wait_for_tools(server, 3);
      // Two requests in flight when the stream goes: both fail at once (their timeouts
      // are long), each with its own sentence.
      auto script = [&]() -> task<bool> {
        co_await end.expect("tools/call");
        co_await end.expect("prompts/get");
        w.end_it(end);
        co_return true;
      };
      auto results = co_await (call_tool(server, "hang", json::object(), 1h) &&
                               server.request("prompts/get", j(R"({"name":"p"})"), 1h) && script());
      const auto& call = std::get<0>(results);
      const auto& prompt = std::get<1>(results);
      EXPECT_FALSE(call);
      EXPECT_FALSE(prompt);
      if (call || prompt) co_return;
      EXPECT_EQ(call.error().code, codes::connection_closed);
      EXPECT_FALSE(call.error().from_server);
      EXPECT_EQ(call.error().message, "peer k3Xq9a disconnected during tools/call to server 'everything'");
      EXPECT_EQ(prompt.error().message, "peer k3Xq9a disconnected during prompts/get to server 'everything'");
      EXPECT_EQ(server.last_error(),
                std::string("peer k3Xq9a disconnected from server 'everything' (") + w.detail + ")");

      // The tools are kept meanwhile; then the opener is asked again and all is back.
      EXPECT_EQ(server.tools().size(), 3u);
      auto again = co_await peer.accept();
      EXPECT_EQ(peer.opens, 2);
      co_await start_session(again);
      EXPECT_TRUE(co_await server.wait_for_state(server_state::ready));
      EXPECT_EQ(server.session(), 2u);
      auto echoed = co_await (call_tool(server, "echo", arg("text", "back")) && answer_echo(again));
      EXPECT_EQ(text_of(echoed), "back");
      EXPECT_TRUE(server.unavailable_reason().empty());
      EXPECT_FALSE(server.last_error().empty());  // kept for status displays
    });
  }
}

TEST(mcp_remote_server, a_peer_closing_the_stream_is_a_disconnect_too) {
  remote_server_options options = fast_options();
  options.backoff = {5s, 5s, 60s};  // stays in restarting while the test looks
  with_remote(options, [](remote_server& server, fake_peer& peer) -> task<void> {
    auto end = co_await peer.accept();
    co_await start_session(end);
    auto script = [&]() -> task<void> {
      co_await end.expect("tools/call");
      co_await end.close();
    };
    auto call = co_await (call_tool(server, "hang") && script());
    EXPECT_FALSE(call);
    if (!call) {
      EXPECT_EQ(call.error().message, "peer k3Xq9a disconnected during tools/call to server 'everything'");
    }
    EXPECT_EQ(server.state(), server_state::restarting);
    EXPECT_FALSE(server.available());
    EXPECT_FALSE(server.is_connected());
    EXPECT_EQ(server.last_error(), "peer k3Xq9a disconnected from server 'everything' (stream closed)");
    EXPECT_EQ(server.unavailable_reason(), server.last_error() + "; reconnecting in 5 s");
    // Meanwhile requests fail at once with that sentence.
    auto during = co_await call_tool(server, "echo", arg("text", "x"));
    EXPECT_FALSE(during);
    if (!during) {
      EXPECT_EQ(during.error().code, codes::connection_closed);
      EXPECT_TRUE(starts_with(during.error().message, server.last_error() + "; reconnecting in "))
          << during.error().message;
    }
    EXPECT_FALSE(server.notify("notifications/roots/list_changed"));
  });
}

TEST(mcp_remote_server, a_refused_initialize_is_retried_after_a_long_delay) {
  with_remote(fast_options(), [](remote_server& server, fake_peer& peer) -> task<void> {
    auto end = co_await peer.accept();
    json initialize = co_await end.expect("initialize");
    co_await end.send(jsonrpc::make_error_response(
        initialize["id"], codes::access_denied, "peer 12D3KooWQYhTNQ is not allowed to use server 'everything'"));
    EXPECT_FALSE(co_await end.read());  // we close our side
    co_await end.close();
    EXPECT_TRUE(co_await server.wait_for_state(server_state::restarting));
    const std::string refused =
        "server 'everything' on peer k3Xq9a refused initialize: peer 12D3KooWQYhTNQ is not allowed to use server "
        "'everything' (code -32012)";
    EXPECT_EQ(server.last_error(), refused);
    // options.refused_retry (5 min) rather than the 10 ms backoff.
    EXPECT_EQ(server.unavailable_reason(), refused + "; reconnecting in 5 min");
    auto answer = co_await call_tool(server, "echo");
    EXPECT_FALSE(answer);
    if (!answer) {
      EXPECT_EQ(answer.error().code, codes::connection_closed);
      EXPECT_TRUE(starts_with(answer.error().message, refused + "; reconnecting in ")) << answer.error().message;
    }
    EXPECT_EQ(peer.opens, 1);
    // stop() does not wait for the delay (with_remote stops now).
  });

  remote_server_options quick = fast_options();
  quick.refused_retry = 20ms;
  with_remote(quick, [](remote_server& server, fake_peer& peer) -> task<void> {
    auto end = co_await peer.accept();
    json initialize = co_await end.expect("initialize");
    co_await end.send(jsonrpc::make_error_response(initialize["id"], codes::access_denied, "not allowed"));
    EXPECT_FALSE(co_await end.read());
    co_await end.close();
    // Allowed on the next try.
    auto again = co_await peer.accept();
    co_await start_session(again);
    EXPECT_TRUE(co_await server.wait_for_state(server_state::ready));
    EXPECT_EQ(peer.opens, 2);
  });
}

TEST(mcp_remote_server, an_opener_failure_is_a_sentence_and_is_retried) {
  remote_server_options options = fast_options();
  options.backoff = {300ms, 1s, 60s};
  peer_setup setup;
  setup.failures.push_back(p2p::errc::protocol_not_supported);
  with_remote(options, [](remote_server& server, fake_peer& peer) -> task<void> {
    EXPECT_TRUE(co_await server.wait_for_state(server_state::restarting));
    EXPECT_EQ(server.last_error(),
              "could not open a stream to peer k3Xq9a for server 'everything': protocol not supported by the peer");
    auto during = co_await call_tool(server, "echo");
    EXPECT_FALSE(during);
    if (!during) {
      EXPECT_TRUE(starts_with(during.error().message, server.last_error() + "; reconnecting in "))
          << during.error().message;
    }
    auto end = co_await peer.accept();
    co_await start_session(end);
    EXPECT_TRUE(co_await server.wait_for_state(server_state::ready));
    EXPECT_EQ(peer.opens, 2);
  }, setup);
}

TEST(mcp_remote_server, retry_now_skips_the_backoff_delay) {
  remote_server_options options = fast_options();
  options.backoff = {1h, 1h, 60s};  // without retry_now the test would wait an hour
  peer_setup setup;
  setup.failures.push_back(p2p::errc::unreachable);
  with_remote(options, [](remote_server& server, fake_peer& peer) -> task<void> {
    EXPECT_TRUE(co_await server.wait_for_state(server_state::restarting));
    EXPECT_EQ(peer.opens, 1);
    server.retry_now();
    auto end = co_await peer.accept();
    co_await start_session(end);
    EXPECT_TRUE(co_await server.wait_for_state(server_state::ready));
    EXPECT_EQ(peer.opens, 2);
    server.retry_now();  // ready: nothing to do
    EXPECT_EQ(server.state(), server_state::ready);
  }, setup);
}

TEST(mcp_remote_server, an_opener_that_hangs_times_out) {
  remote_server_options options = fast_options();
  options.connect_timeout = 50ms;
  options.backoff = {5s, 5s, 60s};
  peer_setup setup;
  setup.hang = true;
  with_remote(options, [](remote_server& server, fake_peer& peer) -> task<void> {
    EXPECT_TRUE(co_await server.wait_for_state(server_state::restarting));
    EXPECT_EQ(server.last_error(), "could not open a stream to peer k3Xq9a for server 'everything': timed out");
    EXPECT_EQ(peer.opens, 1);
  }, setup);
}

TEST(mcp_remote_server, refreshes_tools_on_list_changed) {
  with_remote(fast_options(), [](remote_server& server, fake_peer& peer) -> task<void> {
    auto end = co_await peer.accept();
    co_await start_session(end);
    co_await wait_for_tools(server, 3);
    const auto version = server.tools_version();
    co_await end.send(jsonrpc::make_notification("notifications/tools/list_changed"));
    std::vector<json> more = default_tools();
    more.push_back(tool("extra"));
    co_await serve_tools_list(end, more);
    co_await server.tools_changed(version);
    EXPECT_EQ(server.tools().size(), 4u);
    EXPECT_EQ(server.tools().back()["name"], "extra");
    // The notification is passed on to the owner too.
    auto message = co_await server.next_message();
    EXPECT_TRUE(message);
    if (message) {
      EXPECT_EQ(message->method(), "notifications/tools/list_changed");
    }
  });
}

TEST(mcp_remote_server, bounds_the_tool_list) {
  remote_server_options options = fast_options();
  options.max_tools = 4;
  options.max_tools_bytes = 500;
  with_remote(options, [](remote_server& server, fake_peer& peer) -> task<void> {
    auto end = co_await peer.accept();
    json huge = tool("huge");
    huge["description"] = std::string(1000, 'd');
    json nameless = j(R"({"description":"no name"})");
    const std::vector<json> tools = {tool("a"), nameless, huge, tool("b"), tool("c"), tool("d"), tool("e")};
    co_await start_session(end, init_result(), tools);
    co_await wait_for_tools(server, 4);
    const std::vector<std::string> expected = {"a", "b", "c", "d"};
    EXPECT_EQ(tool_names(server), expected);
  });
}

TEST(mcp_remote_server, catalogue_caps_apply_across_pages) {
  remote_server_options options = fast_options();
  mcp::server::catalogue_limits limits;
  limits.items_per_list = 3;
  limits.description_bytes = 100;
  options.catalogue = limits;
  with_remote(options, [](remote_server& server, fake_peer& peer) -> task<void> {
    auto end = co_await peer.accept();
    json wordy = tool("wordy");
    wordy["description"] = std::string(101, 'd');
    // Pages of 2: [a, wordy] [b, c] [d, e]: wordy is over the description cap, d and e
    // beyond 3 items.
    const std::vector<json> tools = {tool("a"), wordy, tool("b"), tool("c"), tool("d"), tool("e")};
    co_await start_session(end, init_result(), tools);
    co_await wait_for_tools(server, 3);
    const std::vector<std::string> expected = {"a", "b", "c"};
    EXPECT_EQ(tool_names(server), expected);
  });
}

TEST(mcp_remote_server, relays_server_requests_and_answers_ping) {
  with_remote(fast_options(), [](remote_server& server, fake_peer& peer) -> task<void> {
    auto end = co_await peer.accept();
    co_await start_session(end);

    // ping is answered by the upstream and never queued.
    co_await end.send(j(R"({"jsonrpc":"2.0","id":41,"method":"ping"})"));
    auto pong = co_await end.read();
    EXPECT_TRUE(pong);
    if (pong) {
      EXPECT_EQ(*pong, j(R"({"jsonrpc":"2.0","id":41,"result":{}})"));
    }
    EXPECT_EQ(server.queued_messages(), 0u);

    // sampling/createMessage goes to the single reader, who answers it.
    co_await end.send(j(R"({"jsonrpc":"2.0","id":"s-1","method":"sampling/createMessage",
                            "params":{"messages":[],"maxTokens":5}})"));
    auto request = co_await server.next_message();
    EXPECT_TRUE(request);
    if (!request) co_return;
    EXPECT_TRUE(request->is_request());
    EXPECT_EQ(request->method(), "sampling/createMessage");
    EXPECT_EQ(request->session, 1u);
    EXPECT_TRUE(server.respond(*request, j(R"({"role":"assistant","content":{"type":"text","text":"hi"}})")));
    auto answer = co_await end.read();
    EXPECT_TRUE(answer);
    if (answer) {
      EXPECT_EQ(*answer, j(R"({"jsonrpc":"2.0","id":"s-1",
                                "result":{"role":"assistant","content":{"type":"text","text":"hi"}}})"));
    }

    // An error answer travels too.
    co_await end.send(j(R"({"jsonrpc":"2.0","id":"s-2","method":"elicitation/create","params":{}})"));
    auto elicitation = co_await server.next_message();
    EXPECT_TRUE(elicitation && server.respond_error(*elicitation, -1, "User declined"));
    auto refusal = co_await end.read();
    EXPECT_TRUE(refusal);
    if (refusal) {
      EXPECT_EQ((*refusal)["error"], j(R"({"code":-1,"message":"User declined"})"));
    }

    // A request whose session ended can no longer be answered.
    co_await end.send(j(R"({"jsonrpc":"2.0","id":"r-1","method":"roots/list"})"));
    auto roots = co_await server.next_message();
    EXPECT_TRUE(roots);
    if (!roots) co_return;
    end.reset();
    auto again = co_await peer.accept();
    co_await start_session(again);
    EXPECT_TRUE(co_await server.wait_for_state(server_state::ready));
    EXPECT_FALSE(server.respond(*roots, j(R"({"roots":[]})")));
    EXPECT_FALSE(server.respond(server_message{j(R"({"jsonrpc":"2.0","method":"x"})"), server.session()}, json::object()));
  });
}

TEST(mcp_remote_server, oversized_lines_fail_only_their_request) {
  remote_server_options options = fast_options();
  options.max_line_length = 1024;
  options.max_outgoing_line = 1024;
  with_remote(options, [](remote_server& server, fake_peer& peer) -> task<void> {
    auto end = co_await peer.accept();
    co_await start_session(end);

    // A response over the limit: that request fails with -32011, the stream stays up.
    auto script = [&]() -> task<void> {
      json request = co_await end.expect("tools/call");
      co_await end.answer(request, text_result(std::string(4000, 'x')));
    };
    auto big = co_await (call_tool(server, "echo") && script());
    EXPECT_FALSE(big);
    if (!big) {
      EXPECT_EQ(big.error().code, codes::message_too_large);
      EXPECT_TRUE(starts_with(big.error().message,
                              "the response to tools/call from server 'everything' on peer k3Xq9a was dropped: it is "))
          << big.error().message;
      EXPECT_NE(big.error().message.find(" bytes, over the message size limit of 1 KiB"), std::string::npos);
    }

    // A request over the limit is not sent at all.
    auto too_big = co_await call_tool(server, "echo", arg("text", std::string(2000, 'y')));
    EXPECT_FALSE(too_big);
    if (!too_big) {
      EXPECT_EQ(too_big.error().code, codes::message_too_large);
      EXPECT_TRUE(starts_with(too_big.error().message,
                              "request tools/call to server 'everything' on peer k3Xq9a was not sent: it is "))
          << too_big.error().message;
    }

    // A server request over the limit is answered with -32011 by its id.
    co_await end.send_text(R"({"jsonrpc":"2.0","id":"big-1","method":"sampling/createMessage","params":{"x":")" +
                           std::string(2000, 'z') + "\"}}\n");
    auto refused = co_await end.read();
    EXPECT_TRUE(refused);
    if (refused) {
      EXPECT_EQ((*refused)["id"], "big-1");
      EXPECT_EQ((*refused)["error"]["code"], codes::message_too_large);
    }
    EXPECT_EQ(server.queued_messages(), 0u);

    // An answer of ours over the limit becomes a -32011 error.
    co_await end.send(j(R"({"jsonrpc":"2.0","id":"s-1","method":"sampling/createMessage","params":{}})"));
    auto sampling = co_await server.next_message();
    EXPECT_TRUE(sampling);
    if (sampling) {
      EXPECT_FALSE(server.respond(*sampling, arg("text", std::string(2000, 'w'))));
    }
    auto replaced = co_await end.read();
    EXPECT_TRUE(replaced);
    if (replaced) {
      EXPECT_EQ((*replaced)["id"], "s-1");
      EXPECT_EQ((*replaced)["error"]["code"], codes::message_too_large);
    }

    // The same session goes on: the next thing the peer reads is the next request.
    auto echoed = co_await (call_tool(server, "echo", arg("text", "small")) && answer_echo(end));
    EXPECT_EQ(text_of(echoed), "small");
    EXPECT_EQ(peer.opens, 1);
  });
}

TEST(mcp_remote_server, the_default_incoming_limit_is_4_mib) {
  with_remote(fast_options(), [](remote_server& server, fake_peer& peer) -> task<void> {
    auto end = co_await peer.accept();
    co_await start_session(end);
    auto script = [&]() -> task<bool> {
      json request = co_await end.expect("tools/call");
      co_await end.answer(request, text_result(std::string(4 * 1024 * 1024, 'x')));
      co_await answer_echo(end);
      co_return true;
    };
    auto results = co_await (call_tool(server, "echo") && call_tool(server, "echo", arg("text", "fits")) && script());
    const auto& big = std::get<0>(results);
    EXPECT_FALSE(big);
    if (!big) {
      EXPECT_EQ(big.error().code, codes::message_too_large);
      EXPECT_NE(big.error().message.find(" bytes, over the message size limit of 4 MiB"), std::string::npos)
          << big.error().message;
    }
    EXPECT_EQ(text_of(std::get<1>(results)), "fits");
  });
}

TEST(mcp_remote_server, stop_fails_everything_at_once_and_closes_the_stream_cleanly) {
  remote_server_options options = fast_options();
  options.close_grace = 1h;  // the peer closes its side as soon as it sees ours closed
  with_remote(options, [](remote_server& server, fake_peer& peer) -> task<void> {
    auto end = co_await peer.accept();
    co_await start_session(end);
    co_await wait_for_tools(server, 3);
    auto script = [&]() -> task<bool> {
      co_await end.expect("tools/call");
      server.stop();
      EXPECT_FALSE(co_await end.read());
      EXPECT_EQ(end.ended(), p2p::errc::closed);  // our side closed first, cleanly
      co_await end.close();
      co_return true;
    };
    // (Non-void branches: Boost 1.81's `tuple && void` operator does not compile.)
    auto tools_waiter = [&]() -> task<bool> {
      co_await server.tools_changed(server.tools_version());
      co_return true;
    };
    auto results = co_await (call_tool(server, "hang", json::object(), 1h) && server.next_message() &&
                             tools_waiter() && script());
    const auto& call = std::get<0>(results);
    EXPECT_FALSE(call);
    if (!call) {
      EXPECT_EQ(call.error().message, "server 'everything' on peer k3Xq9a was stopped");
    }
    EXPECT_FALSE(std::get<1>(results));  // next_message: nothing more
    EXPECT_EQ(server.state(), server_state::stopped);
    auto after = co_await call_tool(server, "echo");
    EXPECT_FALSE(after);
    if (!after) {
      EXPECT_EQ(after.error().message, "server 'everything' on peer k3Xq9a is stopped");
    }
    EXPECT_EQ(server.unavailable_reason(), "server 'everything' on peer k3Xq9a is stopped");
    EXPECT_FALSE(server.notify("notifications/roots/list_changed"));
    co_await server.state_changed(server.state_version());  // stopped for good: at once
  });
}

TEST(mcp_remote_server, stop_resets_the_stream_after_the_grace) {
  remote_server_options options = fast_options();
  options.close_grace = 50ms;
  with_remote(options, [](remote_server& server, fake_peer& peer) -> task<void> {
    auto end = co_await peer.accept();
    co_await start_session(end);
    server.stop();
    // The peer never closes its side: after the grace the stream is reset.
    EXPECT_TRUE(co_await server.wait_for_state(server_state::stopped));
    EXPECT_FALSE(co_await end.read());
    EXPECT_FALSE(co_await end.send(jsonrpc::make_notification("notifications/message")));
  });
}

TEST(mcp_remote_server, stop_while_connecting_cancels_the_opener) {
  peer_setup setup;
  setup.hang = true;
  with_remote(fast_options(), [](remote_server& server, fake_peer& peer) -> task<void> {
    co_await peer.wait_for_opens(1);
    auto stop_soon = [&]() -> task<void> {
      server.stop();
      co_return;
    };
    // A request waiting for ready is told at once, too.
    auto waiting = co_await (call_tool(server, "echo") && stop_soon());
    EXPECT_FALSE(waiting);
    if (!waiting) {
      EXPECT_EQ(waiting.error().message, "server 'everything' on peer k3Xq9a is stopped");
    }
    EXPECT_FALSE(co_await server.wait_for_state(server_state::ready));
  }, setup);
}

TEST(mcp_remote_server, stop_during_the_lifecycle_and_during_the_backoff) {
  with_remote(fast_options(), [](remote_server& server, fake_peer& peer) -> task<void> {
    auto end = co_await peer.accept();
    co_await end.expect("initialize");  // never answered
    server.stop();
    EXPECT_FALSE(co_await server.wait_for_state(server_state::ready));
  });
  remote_server_options options = fast_options();
  options.backoff = {1h, 1h, 1h};
  peer_setup unreachable;
  unreachable.failures.push_back(p2p::errc::unreachable);
  with_remote(options, [](remote_server& server, fake_peer& peer) -> task<void> {
    EXPECT_TRUE(co_await server.wait_for_state(server_state::restarting));
    EXPECT_TRUE(starts_with(server.unavailable_reason(),
                            "could not open a stream to peer k3Xq9a for server 'everything': peer unreachable; "
                            "reconnecting in "));
    server.stop();
    EXPECT_FALSE(co_await server.wait_for_state(server_state::ready));
  }, unreachable);
}

TEST(mcp_remote_server, cancelling_run_stops_without_grace) {
  run([](asio::any_io_executor executor) -> task<void> {
    remote_server_options options = fast_options();
    options.close_grace = 1h;  // would hang the test if honoured
    fake_peer peer(executor, peer_setup{});
    remote_server server(executor, "everything", "peer k3Xq9a", peer.opener(), options);
    p2p::task_group tasks(executor);
    tasks.spawn(server.run(), "run");
    auto end = co_await peer.accept();
    co_await start_session(end);
    EXPECT_TRUE(co_await server.wait_for_state(server_state::ready));
    tasks.cancel_all();
    co_await tasks.wait();
    EXPECT_EQ(server.state(), server_state::stopped);
    EXPECT_FALSE(co_await end.read());
  });
}

}  // namespace
}  // namespace mcp::peer
