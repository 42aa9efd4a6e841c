// Calls through the hub against fake upstreams and recording clients: a tool call reaches
// its upstream under its original name, progress and server-to-client requests come back to
// the calling client (and only where the routing is unambiguous), member order is kept,
// and cancellation reaches the server.
#include "mcp/hub/hub.hpp"

#include "mcp/jsonrpc/message.hpp"

#include "mcp_hub_fakes.hpp"
#include "run.hpp"

#include "p2p/core/signal.hpp"
#include "p2p/core/task_group.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mcp::hub {
namespace {

namespace asio = boost::asio;
using p2p::testing::run;
using namespace fakes;

TEST(hub, tool_call_goes_to_its_upstream_with_the_original_name_and_progress_comes_back) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    fake_upstream a(ex, "everything");
    a.set_tools({tool("longRunning")});
    p2p::signal proceed(ex);
    bool go = false;
    a.on_request = [&](std::string method, json params) -> task<rpc_result<json>> {
      EXPECT_EQ(method, "tools/call");
      EXPECT_EQ(params["name"], "longRunning");
      const json token = params["_meta"]["progressToken"];
      EXPECT_EQ(token, "mine");  // the client's own: no other request to this server uses it
      json progress = J(R"({"progress": 1})");
      progress["progressToken"] = token;
      a.push(jsonrpc::make_notification("notifications/progress", std::move(progress)));
      while (!go) co_await proceed.wait();
      json result = J(R"({"content": [{"type": "text", "text": "done"}]})");
      co_return result;
    };
    h.add_upstream(a, "k3Xq9a_everything");
    recording_client client(ex);
    auto s = h.open_session(client, {});
    recording_reply reply(ex);
    p2p::task_group calls(ex);
    json message = request(7, "tools/call", J(R"({"name": "k3Xq9a_everything_longRunning", "_meta": {"progressToken": "mine"}})"));
    calls.spawn(s->handle(std::move(message), &reply), "call");
    co_await reply.wait_related(1);
    EXPECT_EQ(reply.related[0]["method"], "notifications/progress");
    EXPECT_EQ(reply.related[0]["params"]["progressToken"], "mine");
    EXPECT_TRUE(reply.response.is_null());
    go = true;
    proceed.notify();
    co_await calls.wait();
    EXPECT_EQ(reply.response["id"], 7);
    EXPECT_EQ(reply.response["result"]["content"][0]["text"], "done");
    s.reset();
    co_await h.remove_upstream(a);
  });
}

TEST(hub, a_progress_token_reaches_the_server_only_when_the_client_sent_one) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    fake_upstream a(ex, "everything");
    a.set_tools({tool("echo")});
    a.on_request = [&](std::string, json) -> task<rpc_result<json>> {
      json result = J(R"({"content": []})");
      co_return result;
    };
    h.add_upstream(a, "local_everything");
    recording_client client(ex);
    auto s = h.open_session(client, {});
    // No _meta: none is added.
    CALL(plain, *s, 1, "tools/call", R"({"name": "local_everything_echo", "arguments": {"x": 1}})");
    EXPECT_EQ(a.requests.back()["params"].dump(), R"({"name":"echo","arguments":{"x":1}})");
    // _meta without a token: passed as it is.
    CALL(meta, *s, 2, "tools/call", R"({"name": "local_everything_echo", "_meta": {"trace": "t1"}})");
    EXPECT_EQ(a.requests.back()["params"].dump(), R"({"name":"echo","_meta":{"trace":"t1"}})");
    // Not a tool call: nothing added either.
    CALL(subscribed, *s, 3, "resources/subscribe", R"({"uri": "p2pmcp://local_everything/test://r"})");
    EXPECT_EQ(a.requests.back()["method"], "resources/subscribe");
    EXPECT_EQ(a.requests.back()["params"].dump(), R"({"uri":"test://r"})");
    // A token: the client's own (no other request to this server uses it), other members kept.
    CALL(with_token, *s, 4, "tools/call", R"({"name": "local_everything_echo", "_meta": {"progressToken": 1, "trace": "t2"}})");
    EXPECT_EQ(a.requests.back()["params"]["_meta"].dump(), R"({"progressToken":1,"trace":"t2"})");
    s.reset();
    co_await h.remove_upstream(a);
  });
}

TEST(hub, progress_goes_back_with_the_clients_own_token_of_the_same_type) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    fake_upstream a(ex, "everything");
    a.set_tools({tool("slow")});
    p2p::signal proceed(ex);
    bool go = false;
    a.on_request = [&](std::string, json params) -> task<rpc_result<json>> {
      json progress = J(R"({"progress": 1, "total": 2})");
      progress["progressToken"] = params["_meta"]["progressToken"];
      a.push(jsonrpc::make_notification("notifications/progress", std::move(progress)));
      while (!go) co_await proceed.wait();
      json result = J(R"({"content": []})");
      co_return result;
    };
    h.add_upstream(a, "local_everything");
    recording_client c1(ex), c2(ex);
    auto s1 = h.open_session(c1, {});
    auto s2 = h.open_session(c2, {});
    // Both clients use the same token value: the first keeps it, the second gets the hub's
    // own in its place (the server must tell them apart); each gets its own progress, as sent.
    recording_reply r1(ex), r2(ex);
    p2p::task_group calls(ex);
    json m1 = request(1, "tools/call", J(R"({"name": "local_everything_slow", "_meta": {"progressToken": 7}})"));
    json m2 = request(1, "tools/call", J(R"({"name": "local_everything_slow", "_meta": {"progressToken": 7}})"));
    calls.spawn(s1->handle(std::move(m1), &r1), "call 1");
    calls.spawn(s2->handle(std::move(m2), &r2), "call 2");
    co_await r1.wait_related(1);
    co_await r2.wait_related(1);
    go = true;
    proceed.notify();
    co_await calls.wait();
    EXPECT_EQ(a.requests[0]["params"]["_meta"]["progressToken"], 7);
    EXPECT_NE(a.requests[1]["params"]["_meta"]["progressToken"], 7);
    EXPECT_EQ(r1.related[0]["params"].dump(), R"({"progress":1,"total":2,"progressToken":7})");
    EXPECT_EQ(r2.related[0]["params"].dump(), R"({"progress":1,"total":2,"progressToken":7})");
    s1.reset();
    s2.reset();
    co_await h.remove_upstream(a);
  });
}

TEST(hub, sampling_request_reaches_the_calling_client_and_its_answer_the_server) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    fake_upstream a(ex, "everything");
    a.set_tools({tool("sampleLLM")});
    a.on_request = [&](std::string, json) -> task<rpc_result<json>> {
      a.push(jsonrpc::make_request(42, "sampling/createMessage", J(R"({"maxTokens": 10})")));
      co_await a.wait_for_responses(1);
      json result = J(R"({"content": [{"type": "text"}]})");
      result["content"][0]["text"] = a.responses[0]["result"]["model"];
      co_return result;
    };
    h.add_upstream(a, "local_everything");
    recording_client other_client(ex), client(ex);
    auto bystander = h.open_session(other_client, {});
    auto s = h.open_session(client, {});
    CALL(init1, *bystander, 1, "initialize", R"({"capabilities": {"sampling": {}}})");
    CALL(init2, *s, 1, "initialize", R"({"capabilities": {"sampling": {}}})");

    recording_reply reply(ex);
    p2p::task_group calls(ex);
    json message = request(9, "tools/call", J(R"({"name": "local_everything_sampleLLM"})"));
    calls.spawn(s->handle(std::move(message), &reply), "call");
    co_await reply.wait_related(1);
    const json sampling = reply.related[0];
    EXPECT_EQ(sampling["method"], "sampling/createMessage");
    EXPECT_NE(sampling["id"], 42);  // a fresh id for this client
    json answer = jsonrpc::make_result_response(sampling["id"], J(R"({"model": "test-model"})"));
    co_await s->handle(std::move(answer), nullptr);
    co_await calls.wait();
    EXPECT_EQ(a.responses[0]["id"], 42);
    EXPECT_EQ(reply.response["result"]["content"][0]["text"], "test-model");
    EXPECT_TRUE(other_client.posted.empty());
    bystander.reset();
    s.reset();
    co_await h.remove_upstream(a);
  });
}

TEST(hub, member_order_passes_through_in_both_directions) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    // Not alphabetical on purpose: a sorted JSON type would reorder every one of these.
    const std::string schema_text =
        R"({"type":"object","properties":{"zeta":{"type":"string"},"alpha":{"type":"number"},"mid":{"type":"boolean"}},"required":["zeta"]})";
    const std::string form_text =
        R"({"message":"Who?","requestedSchema":{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},"email":{"type":"string"}}}})";
    const std::string reply_text = R"({"action":"accept","content":{"name":"Ada","age":36,"email":"a@b.c"}})";
    fake_upstream a(ex, "forms");
    json listed_tool = J(R"({"name": "ask", "title": "Ask", "description": "d"})");
    listed_tool["inputSchema"] = json::parse(schema_text);
    a.set_tools({listed_tool});
    a.on_request = [&](std::string, json) -> task<rpc_result<json>> {
      json form = jsonrpc::make_request(8, "elicitation/create", json::parse(form_text));
      a.push(std::move(form));
      co_await a.wait_for_responses(1);
      json result = J(R"({"content": []})");
      co_return result;
    };
    h.add_upstream(a, "local_forms");
    recording_client client(ex);
    auto s = h.open_session(client, {});
    CALL(init, *s, 1, "initialize", R"({"capabilities": {"elicitation": {}}})");
    CALL(listed, *s, 2, "tools/list", "{}");
    EXPECT_EQ(listed["result"]["tools"][0]["inputSchema"].dump(), schema_text);
    EXPECT_EQ(listed["result"]["tools"][0].dump(),
              R"({"name":"local_forms_ask","title":"Ask","description":"d","inputSchema":)" + schema_text + "}");

    recording_reply reply(ex);
    p2p::task_group calls(ex);
    json message = request(3, "tools/call", J(R"({"name": "local_forms_ask", "arguments": {"b": 1, "a": 2}})"));
    calls.spawn(s->handle(std::move(message), &reply), "call");
    co_await reply.wait_related(1);
    EXPECT_EQ(reply.related[0]["params"].dump(), form_text);
    EXPECT_EQ(a.requests.back()["params"]["arguments"].dump(), R"({"b":1,"a":2})");
    json answer = jsonrpc::make_result_response(reply.related[0]["id"], json::parse(reply_text));
    co_await s->handle(std::move(answer), nullptr);
    co_await calls.wait();
    EXPECT_EQ(a.responses[0]["result"].dump(), reply_text);
    s.reset();
    co_await h.remove_upstream(a);
  });
}

// Two clients call the same tool of one shared upstream at once; what the server sends
// on its own while both calls are in flight has no owner it could name.
TEST(hub, server_messages_go_only_where_the_routing_is_unambiguous) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    fake_upstream a(ex, "everything");
    a.set_tools({tool("work")});
    p2p::signal proceed(ex), arrived(ex);
    bool go = false;
    int calls_in = 0;
    a.on_request = [&](std::string, json) -> task<rpc_result<json>> {
      ++calls_in;
      arrived.notify();
      while (!go) co_await proceed.wait();
      json result = J(R"({"content": []})");
      co_return result;
    };
    h.add_upstream(a, "local_everything");
    recording_client c1(ex), c2(ex);
    auto s1 = h.open_session(c1, {});
    auto s2 = h.open_session(c2, {});
    CALL(init1, *s1, 1, "initialize", R"({"capabilities": {"sampling": {}, "elicitation": {}}})");
    CALL(init2, *s2, 1, "initialize", R"({"capabilities": {"sampling": {}, "elicitation": {}}})");
    c1.posted.clear();
    c2.posted.clear();

    // No request in flight, two clients: a log line is dropped (counted), a server
    // request refused. list_changed reaches both: it is about the server.
    a.push(jsonrpc::make_notification("notifications/message", J(R"({"level": "info", "data": "idle"})")));
    a.push(jsonrpc::make_request(50, "roots/list", json::object()));
    a.push(jsonrpc::make_notification("notifications/resources/list_changed"));
    co_await a.wait_for_responses(1);
    while (c1.posted.empty() || c2.posted.empty()) co_await c1.signal.wait();
    EXPECT_EQ(h.dropped_log_messages(), 1u);
    EXPECT_EQ(a.responses[0]["error"]["message"],
              "p2pmcp cannot tell which of its 2 clients this roots/list is for: they share one session with the "
              "MCP server 'everything', whose messages do not say (try again while only one client uses that server)");
    EXPECT_EQ(c1.posted.size(), 1u);
    EXPECT_EQ(c1.posted[0]["method"], "notifications/resources/list_changed");
    EXPECT_EQ(c2.posted.size(), 1u);

    // One call in flight (s1's): a log line and an elicitation go on its reply stream,
    // the logger named after the server; s2 gets nothing.
    recording_reply r1(ex), r2(ex), r1b(ex);
    p2p::task_group calls(ex);
    json m1 = request(2, "tools/call", J(R"({"name": "local_everything_work"})"));
    calls.spawn(s1->handle(std::move(m1), &r1), "s1 call");
    while (calls_in < 1) co_await arrived.wait();
    a.push(jsonrpc::make_notification("notifications/message", J(R"({"level": "info", "logger": "w", "data": "for s1"})")));
    a.push(jsonrpc::make_request(51, "elicitation/create", J(R"({"message": "for s1"})")));
    co_await r1.wait_related(2);
    EXPECT_EQ(r1.related[0]["method"], "notifications/message");
    EXPECT_EQ(r1.related[0]["params"]["logger"], "local_everything/w");
    EXPECT_EQ(r1.related[1]["method"], "elicitation/create");
    json answer = jsonrpc::make_result_response(r1.related[1]["id"], J(R"({"action": "decline"})"));
    co_await s1->handle(std::move(answer), nullptr);
    co_await a.wait_for_responses(2);
    EXPECT_EQ(a.responses[1]["id"], 51);
    EXPECT_EQ(a.responses[1]["result"]["action"], "decline");

    // A second call of the same client: still its messages, but which call is unknown,
    // so they go on the session's own stream.
    json m1b = request(3, "tools/call", J(R"({"name": "local_everything_work"})"));
    calls.spawn(s1->handle(std::move(m1b), &r1b), "s1 second call");
    while (calls_in < 2) co_await arrived.wait();
    a.push(jsonrpc::make_notification("notifications/message", J(R"({"level": "info", "data": "s1 again"})")));
    while (c1.posted.size() < 2) co_await c1.signal.wait();
    EXPECT_EQ(c1.posted[1]["params"]["data"], "s1 again");

    // Calls of both clients in flight: refused and dropped, never guessed.
    json m2 = request(2, "tools/call", J(R"({"name": "local_everything_work"})"));
    calls.spawn(s2->handle(std::move(m2), &r2), "s2 call");
    while (calls_in < 3) co_await arrived.wait();
    a.push(jsonrpc::make_notification("notifications/message", J(R"({"level": "info", "data": "whose?"})")));
    a.push(jsonrpc::make_request(52, "sampling/createMessage", J(R"({"maxTokens": 5})")));
    co_await a.wait_for_responses(3);
    EXPECT_EQ(a.responses[2]["id"], 52);
    EXPECT_EQ(a.responses[2]["error"]["code"], -32603);
    EXPECT_NE(a.responses[2]["error"]["message"].get<std::string>().find("which of its 2 clients this sampling/createMessage"),
              std::string::npos);
    EXPECT_EQ(h.dropped_log_messages(), 2u);

    go = true;
    proceed.notify();
    co_await calls.wait();
    EXPECT_EQ(r1.related.size(), 2u);
    EXPECT_TRUE(r2.related.empty());
    EXPECT_TRUE(r1b.related.empty());
    EXPECT_EQ(c1.posted.size(), 2u);
    EXPECT_EQ(c2.posted.size(), 1u);
    s1.reset();
    s2.reset();
    co_await h.remove_upstream(a);
  });
}

TEST(hub, a_server_request_with_no_client_to_answer_is_refused_at_once) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    fake_upstream a(ex, "everything");
    h.add_upstream(a, "local_everything");
    a.push(jsonrpc::make_request(5, "sampling/createMessage", json::object()));
    co_await a.wait_for_responses(1);
    EXPECT_EQ(a.responses[0]["error"]["code"], -32601);
    co_await h.remove_upstream(a);
  });
}

TEST(hub, cancellation_from_the_client_cancels_the_upstream_request) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    fake_upstream a(ex, "everything");
    a.set_tools({tool("slow")});
    p2p::signal never(ex);
    bool reached = false, cancelled = false;
    p2p::signal reached_signal(ex);
    a.on_request = [&](std::string, json) -> task<rpc_result<json>> {
      reached = true;
      reached_signal.notify();
      co_await never.wait();  // completes only by cancellation
      cancelled = true;
      co_return rpc_error(-32000, "cancelled");
    };
    h.add_upstream(a, "local_everything");
    recording_client client(ex);
    auto s = h.open_session(client, {});
    recording_reply reply(ex);
    p2p::task_group calls(ex);
    json message = request(3, "tools/call", J(R"({"name": "local_everything_slow"})"));
    calls.spawn(s->handle(std::move(message), &reply), "call");
    while (!reached) co_await reached_signal.wait();
    json cancel = jsonrpc::make_cancelled(3, "user");
    co_await s->handle(std::move(cancel), nullptr);
    co_await calls.wait();
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(reply.response["id"], 3);
    EXPECT_TRUE(reply.response.contains("error"));
    s.reset();
    co_await h.remove_upstream(a);
  });
}

TEST(hub, a_clients_cancellation_reason_reaches_the_server) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    fake_upstream a(ex, "everything");
    a.set_tools({tool("slow")});
    p2p::signal never(ex), reached_signal(ex);
    bool reached = false;
    std::string reason = "(none)";
    a.on_request = [&](std::string, json) -> task<rpc_result<json>> {
      const std::string* given = a.cancel_reason;
      reached = true;
      reached_signal.notify();
      co_await never.wait();  // completes only by cancellation
      if (given) reason = *given;
      co_return rpc_error(-32000, "cancelled");
    };
    h.add_upstream(a, "local_everything");
    recording_client client(ex);
    auto s = h.open_session(client, {});
    recording_reply reply(ex);
    p2p::task_group calls(ex);
    json message = request(3, "tools/call", J(R"({"name": "local_everything_slow"})"));
    calls.spawn(s->handle(std::move(message), &reply), "call");
    while (!reached) co_await reached_signal.wait();
    json cancel = jsonrpc::make_cancelled(3, "the user pressed stop");
    co_await s->handle(std::move(cancel), nullptr);
    co_await calls.wait();
    EXPECT_EQ(reason, "the user pressed stop");
    s.reset();
    co_await h.remove_upstream(a);
  });
}

}  // namespace
}  // namespace mcp::hub
