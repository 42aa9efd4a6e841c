// The hub against fake upstreams (scripted in process) and recording clients: routing by
// name and URI, progress and server-to-client requests through the hop, cancellation,
// list_changed, the peer hop's transparency and refusal, the gateway's endpoints
// (http_front: /mcp and /mcp/<prefix>), and the newline stream shell.
#include "mcp/hub/http_front.hpp"
#include "mcp/hub/hub.hpp"
#include "mcp/hub/naming.hpp"
#include "mcp/hub/stream_session.hpp"

#include "mcp/jsonrpc/line_framer.hpp"
#include "mcp/jsonrpc/message.hpp"

#include "mcp_hub_fakes.hpp"
#include "memory_stream.hpp"
#include "run.hpp"

#include "p2p/core/signal.hpp"
#include "p2p/core/task_group.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/this_coro.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <functional>

namespace mcp::hub {
namespace {

namespace asio = boost::asio;
using p2p::testing::run;
using namespace fakes;

TEST(hub, gateway_lists_every_upstreams_tools_with_prefixed_names) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    fake_upstream a(ex, "everything"), b(ex, "memory");
    a.set_tools({tool("echo"), tool("add")});
    b.set_tools({tool("read_graph")});
    h.add_upstream(a, "k3Xq9a_everything", true);
    h.add_upstream(b, "local_memory");
    recording_client client(ex);
    auto s = h.open_session(client, {});

    CALL(init, *s, 1, "initialize", R"({"protocolVersion": "2025-03-26", "capabilities": {}})");
    EXPECT_EQ(init["result"]["protocolVersion"], "2025-03-26");
    EXPECT_TRUE(init["result"]["capabilities"]["tools"]["listChanged"].get<bool>());
    EXPECT_EQ(init["result"]["serverInfo"]["name"], "p2pmcp");

    CALL(listed, *s, 2, "tools/list", "{}");
    std::vector<std::string> names;
    for (auto& t : listed["result"]["tools"]) names.push_back(t["name"]);
    EXPECT_EQ(names, (std::vector<std::string>{"k3Xq9a_everything_echo", "k3Xq9a_everything_add", "local_memory_read_graph"}));

    // A peer that is unreachable leaves the list (and clients hear about it).
    a.set_available(false);
    while (client.posted.empty()) co_await client.signal.wait();
    EXPECT_EQ(client.posted.back()["method"], "notifications/tools/list_changed");
    CALL(listed2, *s, 3, "tools/list", "{}");
    EXPECT_EQ(listed2["result"]["tools"].size(), 1u);
    // Calling its tool anyway gives the upstream's sentence, not "unknown tool".
    CALL(failed, *s, 4, "tools/call", R"({"name": "k3Xq9a_everything_echo"})");
    EXPECT_EQ(failed["error"]["code"], -32000);
    EXPECT_EQ(failed["error"]["message"], "peer gone");

    CALL(unknown, *s, 5, "tools/call", R"({"name": "nobody_x_y"})");
    EXPECT_EQ(unknown["error"]["code"], -32602);
    EXPECT_NE(unknown["error"]["message"].get<std::string>().find("unknown tool 'nobody_x_y'"), std::string::npos);

    s.reset();
    co_await h.remove_upstream(a);
    co_await h.remove_upstream(b);
  });
}

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

TEST(hub, subscriptions_are_counted_so_one_client_leaving_keeps_the_others_updates) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    fake_upstream a(ex, "everything");
    p2p::signal asked(ex);
    a.on_request = [&](std::string, json) -> task<rpc_result<json>> {
      asked.notify();
      co_return json::object();
    };
    h.add_upstream(a, "local_everything");
    recording_client c1(ex), c2(ex), c3(ex);
    auto s1 = h.open_session(c1, {});
    auto s2 = h.open_session(c2, {});
    auto s3 = h.open_session(c3, {});
    auto unsubscribes = [&] {
      return std::count_if(a.requests.begin(), a.requests.end(),
                           [](const json& r) { return r["method"] == "resources/unsubscribe"; });
    };
    auto updated = [&] {
      json n = jsonrpc::make_notification("notifications/resources/updated", J(R"({"uri": "test://r"})"));
      a.push(std::move(n));
    };
    CALL(sub1, *s1, 1, "resources/subscribe", R"({"uri": "p2pmcp://local_everything/test://r"})");
    CALL(sub2, *s2, 1, "resources/subscribe", R"({"uri": "p2pmcp://local_everything/test://r"})");
    EXPECT_TRUE(sub1.contains("result"));
    EXPECT_TRUE(sub2.contains("result"));
    updated();
    while (c1.posted.empty() || c2.posted.empty()) co_await c1.signal.wait();
    EXPECT_EQ(c1.posted[0]["params"]["uri"], "p2pmcp://local_everything/test://r");
    EXPECT_EQ(c2.posted[0]["params"]["uri"], "p2pmcp://local_everything/test://r");

    // s1 leaves: answered here, the server keeps the subscription for s2.
    CALL(unsub1, *s1, 2, "resources/unsubscribe", R"({"uri": "p2pmcp://local_everything/test://r"})");
    EXPECT_EQ(unsub1["result"], json::object());
    EXPECT_EQ(unsubscribes(), 0);
    // A session that never subscribed cannot end s2's subscription either.
    CALL(unsub3, *s3, 2, "resources/unsubscribe", R"({"uri": "p2pmcp://local_everything/test://r"})");
    EXPECT_EQ(unsubscribes(), 0);
    updated();
    while (c2.posted.size() < 2) co_await c2.signal.wait();
    EXPECT_EQ(c1.posted.size(), 1u);
    EXPECT_TRUE(c3.posted.empty());

    // The last subscriber goes away without unsubscribing: the hub unsubscribes for it.
    s2.reset();
    while (unsubscribes() < 1) co_await asked.wait();
    EXPECT_EQ(a.requests.back()["params"]["uri"], "test://r");
    // A lone subscriber's own unsubscribe reaches the server once.
    CALL(sub3, *s3, 3, "resources/subscribe", R"({"uri": "p2pmcp://local_everything/test://r"})");
    CALL(unsub3b, *s3, 4, "resources/unsubscribe", R"({"uri": "p2pmcp://local_everything/test://r"})");
    s3.reset();
    EXPECT_EQ(unsubscribes(), 2);
    s1.reset();
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

json resource_answer(const std::string& method, const json& params) {
  json result = json::object();
  if (method == "resources/list") {
    result = J(R"({"resources": [{"uri": "test://static/1", "name": "one"}]})");
  } else if (method == "resources/templates/list") {
    result = J(R"({"resourceTemplates": [{"uriTemplate": "test://static/{id}", "name": "t"}]})");
  } else if (method == "resources/read") {
    result = J(R"({"contents": [{"text": "hello"}]})");
    result["contents"][0]["uri"] = params["uri"];
  } else if (method == "prompts/list") {
    result = J(R"({"prompts": [{"name": "simple"}]})");
  } else if (method == "prompts/get") {
    result = J(R"({"messages": [{"role": "user", "content": {"type": "text"}}]})");
    result["messages"][0]["content"]["text"] = params["name"];
  }
  return result;
}

TEST(hub, resources_are_addressed_by_prefixed_uris) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    fake_upstream a(ex, "everything");
    a.on_request = [&](std::string method, json params) -> task<rpc_result<json>> {
      co_return resource_answer(method, params);
    };
    h.add_upstream(a, "k3Xq9a_everything");
    recording_client client(ex);
    auto s = h.open_session(client, {});
    CALL(listed, *s, 1, "resources/list", "{}");
    EXPECT_EQ(listed["result"]["resources"][0]["uri"], "p2pmcp://k3Xq9a_everything/test://static/1");
    CALL(templates, *s, 2, "resources/templates/list", "{}");
    EXPECT_EQ(templates["result"]["resourceTemplates"][0]["uriTemplate"], "p2pmcp://k3Xq9a_everything/test://static/{id}");
    CALL(read, *s, 3, "resources/read", R"({"uri": "p2pmcp://k3Xq9a_everything/test://static/7"})");
    EXPECT_EQ(a.requests.back()["params"]["uri"], "test://static/7");
    EXPECT_EQ(read["result"]["contents"][0]["uri"], "p2pmcp://k3Xq9a_everything/test://static/7");
    CALL(bad, *s, 4, "resources/read", R"({"uri": "test://static/7"})");
    EXPECT_EQ(bad["error"]["code"], -32002);
    CALL(prompts, *s, 5, "prompts/list", "{}");
    EXPECT_EQ(prompts["result"]["prompts"][0]["name"], "k3Xq9a_everything_simple");
    CALL(prompt, *s, 6, "prompts/get", R"({"name": "k3Xq9a_everything_simple"})");
    EXPECT_EQ(prompt["result"]["messages"][0]["content"]["text"], "simple");
    s.reset();
    co_await h.remove_upstream(a);
  });
}

TEST(hub, uris_the_gateway_hands_out_reach_the_server_unwrapped_wherever_they_are_sent) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    fake_upstream a(ex, "everything");
    a.set_tools({tool("embed")});
    a.on_request = [&](std::string method, json params) -> task<rpc_result<json>> {
      json result = json::object();
      if (method == "tools/call") {
        // Gives back what it got, as an embedded resource and a resource link.
        result = J(R"({"content": [{"type": "resource", "resource": {"text": "t"}}, {"type": "resource_link", "name": "l"}]})");
        const json& args = params.value("arguments", json::object());
        result["content"][0]["resource"]["uri"] = args.value("uri", std::string("test://embedded"));
        result["content"][1]["uri"] = args.value("uri", std::string("test://embedded"));
      } else if (method == "completion/complete") {
        result = J(R"({"completion": {"values": []}})");
      } else if (method == "prompts/get") {
        result = J(R"({"messages": []})");
      }
      co_return result;
    };
    h.add_upstream(a, "k3Xq9a_everything");
    recording_client client(ex);
    auto s = h.open_session(client, {});

    CALL(first, *s, 1, "tools/call", R"({"name": "k3Xq9a_everything_embed"})");
    const std::string handed_out = first["result"]["content"][0]["resource"]["uri"];
    EXPECT_EQ(handed_out, "p2pmcp://k3Xq9a_everything/test://embedded");
    EXPECT_EQ(first["result"]["content"][1]["uri"], handed_out);

    // Sent back as an argument, at any depth: unwrapped; another server's URI and other
    // strings are left alone. The result is wrapped once, not twice.
    json args = J(R"({"deep": [{"x": 1}], "other": "p2pmcp://local_files/file:///a", "plain": "p2pmcp://"})");
    args["uri"] = handed_out;
    args["deep"][0]["u"] = handed_out;
    json call_params = J(R"({"name": "k3Xq9a_everything_embed"})");
    call_params["arguments"] = args;
    json again_message = request(2, "tools/call", call_params);
    json again = co_await call(*s, std::move(again_message), ex);
    const json sent = a.requests.back()["params"]["arguments"];
    EXPECT_EQ(sent["uri"], "test://embedded");
    EXPECT_EQ(sent["deep"][0]["u"], "test://embedded");
    EXPECT_EQ(sent["other"], "p2pmcp://local_files/file:///a");
    EXPECT_EQ(sent["plain"], "p2pmcp://");
    EXPECT_EQ(again["result"]["content"][0]["resource"]["uri"], handed_out);

    // completion/complete refs and arguments, prompts/get arguments.
    json complete_params = J(R"({"ref": {"type": "ref/resource"}, "argument": {"name": "id"}})");
    complete_params["ref"]["uri"] = "p2pmcp://k3Xq9a_everything/test://static/{id}";
    complete_params["argument"]["value"] = handed_out;
    json complete_message = request(3, "completion/complete", complete_params);
    json completed = co_await call(*s, std::move(complete_message), ex);
    EXPECT_TRUE(completed.contains("result"));
    EXPECT_EQ(a.requests.back()["params"]["ref"]["uri"], "test://static/{id}");
    EXPECT_EQ(a.requests.back()["params"]["argument"]["value"], "test://embedded");
    json prompt_params = J(R"({"name": "k3Xq9a_everything_p"})");
    prompt_params["arguments"]["file"] = handed_out;
    json prompt_message = request(4, "prompts/get", prompt_params);
    json prompt = co_await call(*s, std::move(prompt_message), ex);
    EXPECT_EQ(a.requests.back()["params"]["arguments"]["file"], "test://embedded");
    s.reset();
    co_await h.remove_upstream(a);
  });
}

TEST(hub, aggregated_lists_ask_every_upstream_at_once_and_keep_the_hub_order) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    using namespace asio::experimental::awaitable_operators;
    fake_upstream a(ex, "slow"), b(ex, "fast");
    p2p::signal b_asked_signal(ex);
    bool b_asked = false;
    bool a_saw_b = false;
    a.on_request = [&](std::string, json) -> task<rpc_result<json>> {
      // Answers once B has been asked too: at once when the hub asks both together,
      // only after the bound when it asks one after the other.
      asio::steady_timer bound(ex, std::chrono::seconds(5));
      auto wait_for_b = [&]() -> task<void> {
        while (!b_asked) co_await b_asked_signal.wait();
      };
      co_await (wait_for_b() || bound.async_wait(asio::use_awaitable));
      a_saw_b = b_asked;
      co_return J(R"({"resources": [{"uri": "test://a", "name": "a"}]})");
    };
    b.on_request = [&](std::string, json) -> task<rpc_result<json>> {
      b_asked = true;
      b_asked_signal.notify();
      co_return J(R"({"resources": [{"uri": "test://b", "name": "b"}]})");
    };
    h.add_upstream(a, "local_slow");
    h.add_upstream(b, "local_fast");
    recording_client client(ex);
    auto s = h.open_session(client, {});
    CALL(listed, *s, 1, "resources/list", "{}");
    EXPECT_TRUE(a_saw_b);
    EXPECT_EQ(listed["result"]["resources"].size(), 2u);
    EXPECT_EQ(listed["result"]["resources"][0]["uri"], "p2pmcp://local_slow/test://a");
    EXPECT_EQ(listed["result"]["resources"][1]["uri"], "p2pmcp://local_fast/test://b");
    s.reset();
    co_await h.remove_upstream(a);
    co_await h.remove_upstream(b);
  });
}

TEST(hub, a_peers_lists_are_capped_in_the_aggregated_lists) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    fake_upstream peer(ex, "big"), local(ex, "files");
    auto many = [](std::string method) -> task<rpc_result<json>> {
      json result = json::object();
      const std::string member = method == "prompts/list" ? "prompts" : "resources";
      result[member] = json::array();
      for (int i = 0; i < 20; ++i) {
        json item = json::object();
        item["name"] = "item" + std::to_string(i);
        if (member == "resources") item["uri"] = "file:///" + std::to_string(i);
        result[member].push_back(std::move(item));
      }
      json huge = json::object();
      huge["name"] = "huge";
      huge["uri"] = "file:///huge";
      huge["description"] = std::string(100000, 'd');
      result[member].push_back(std::move(huge));
      co_return result;
    };
    peer.on_request = [&](std::string method, json) { return many(std::move(method)); };
    local.on_request = [&](std::string method, json) { return many(std::move(method)); };
    h.add_upstream(peer, "k3Xq9a_big", true);
    h.add_upstream(local, "local_files");
    server::catalogue_limits limits;
    limits.items_per_list = 5;
    h.limit_lists(peer, limits);
    recording_client client(ex);
    auto s = h.open_session(client, {});
    CALL(resources, *s, 1, "resources/list", "{}");
    CALL(prompts, *s, 2, "prompts/list", "{}");
    // The peer gives 5 of its 21 (the huge one is over the description cap anyway); the
    // local server is not capped.
    EXPECT_EQ(resources["result"]["resources"].size(), 5u + 21u);
    EXPECT_EQ(prompts["result"]["prompts"].size(), 5u + 21u);
    EXPECT_EQ(prompts["result"]["prompts"][4]["name"], "k3Xq9a_big_item4");
    s.reset();
    co_await h.remove_upstream(peer);
    co_await h.remove_upstream(local);
  });
}

TEST(hub, a_prompt_whose_name_had_to_be_shortened_routes_back_to_its_original) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    // 70 characters and a space: too long and invalid as a gateway name.
    const std::string original = "summarize the following text " + std::string(41, 'x');
    fake_upstream a(ex, "everything");
    a.on_request = [&](std::string method, json params) -> task<rpc_result<json>> {
      json result = json::object();
      if (method == "prompts/list") {
        result["prompts"] = json::array();
        result["prompts"].push_back(json::object({{"name", original}}));
        result["prompts"].push_back(json::object({{"name", "simple"}}));
      } else {
        result["got"] = params["name"];
      }
      co_return result;
    };
    h.add_upstream(a, "k3Xq9a_everything");
    recording_client client(ex);
    auto s = h.open_session(client, {});
    CALL(listed, *s, 1, "prompts/list", "{}");
    EXPECT_EQ(listed["result"]["prompts"].size(), 2u);
    if (listed["result"]["prompts"].size() != 2u) co_return;
    const std::string exposed = listed["result"]["prompts"][0]["name"].get<std::string>();
    EXPECT_TRUE(is_valid_exposed_name(exposed)) << exposed;
    EXPECT_EQ(exposed, expose_name("k3Xq9a_everything", original));
    json get = request(2, "prompts/get", json::object());
    get["params"]["name"] = exposed;
    json got = co_await call(*s, std::move(get), ex);
    EXPECT_EQ(got["result"]["got"], original) << got.dump();
    CALL(plain, *s, 3, "prompts/get", R"({"name": "k3Xq9a_everything_simple"})");
    EXPECT_EQ(plain["result"]["got"], "simple");
    // A name never listed still routes by its prefix.
    CALL(unlisted, *s, 4, "prompts/get", R"({"name": "k3Xq9a_everything_other"})");
    EXPECT_EQ(unlisted["result"]["got"], "other");
    s.reset();
    co_await h.remove_upstream(a);
  });
}

TEST(hub, peer_sessions_see_one_server_with_its_own_names_and_can_be_refused) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    fake_upstream a(ex, "everything"), b(ex, "memory");
    a.set_tools({tool("echo")});
    b.set_tools({tool("read_graph")});
    a.on_request = [&](std::string method, json) -> task<rpc_result<json>> {
      json result = json::object();
      result["method"] = method;
      co_return result;
    };
    h.add_upstream(a, "local_everything");
    h.add_upstream(b, "local_memory");
    recording_client client(ex);
    session_options options;
    options.only = &a;
    auto s = h.open_session(client, options);
    CALL(init, *s, 1, "initialize", R"({"protocolVersion": "2025-11-25"})");
    EXPECT_EQ(init["result"]["serverInfo"]["name"], "fake");
    EXPECT_EQ(init["result"]["protocolVersion"], "2025-11-25");
    CALL(listed, *s, 2, "tools/list", "{}");
    EXPECT_EQ(listed["result"]["tools"].size(), 1u);
    EXPECT_EQ(listed["result"]["tools"][0]["name"], "echo");
    // Methods the hub does not know still reach the server.
    CALL(custom, *s, 3, "vendor/thing", "{}");
    EXPECT_EQ(custom["result"]["method"], "vendor/thing");

    session_options refused;
    refused.only = &a;
    refused.refuse = rpc_error(jsonrpc::codes::access_denied, "peer X is not allowed to use server 'everything'");
    auto r = h.open_session(client, refused);
    CALL(denied, *r, 1, "initialize", "{}");
    EXPECT_EQ(denied["error"]["code"], jsonrpc::codes::access_denied);
    CALL(denied_call, *r, 2, "tools/call", R"({"name": "echo"})");
    EXPECT_EQ(denied_call["error"]["code"], jsonrpc::codes::access_denied);
    s.reset();
    r.reset();
    co_await h.remove_upstream(a);
    co_await h.remove_upstream(b);
  });
}

TEST(hub, a_peer_that_connects_while_the_server_starts_gets_its_real_capabilities) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    fake_upstream a(ex, "everything");
    a.set_starting();
    a.capabilities_ = json::object();
    h.add_upstream(a, "local_everything");
    recording_client client(ex);
    session_options options;
    options.only = &a;
    auto s = h.open_session(client, options);
    recording_reply reply(ex);
    p2p::task_group calls(ex);
    json message = request(1, "initialize", J(R"({"protocolVersion": "2025-06-18"})"));
    calls.spawn(s->handle(std::move(message), &reply), "initialize");
    asio::post(ex, [&] { a.set_ready(J(R"({"resources": {}, "prompts": {}})")); });
    co_await calls.wait();
    EXPECT_TRUE(reply.response["result"]["capabilities"].contains("resources")) << reply.response.dump();
    EXPECT_TRUE(reply.response["result"]["capabilities"].contains("prompts"));
    s.reset();
    co_await h.remove_upstream(a);
  });
}

task<std::string> read_line(p2p::stream& s, jsonrpc::line_framer& framer) {
  std::array<std::uint8_t, 4096> buffer{};
  for (;;) {
    if (auto frame = framer.poll()) co_return frame->line;
    auto n = co_await s.read_some(p2p::mutable_bytes_view(buffer.data(), buffer.size()));
    if (!n || *n == 0) co_return std::string();
    framer.feed(p2p::bytes_view(buffer.data(), *n));
  }
}

task<void> write_line(p2p::stream& s, const json& message) {
  const std::string line = message.dump() + "\n";
  auto written = co_await s.write(p2p::as_bytes(line));
  EXPECT_TRUE(written);
}

// The transport's side of a session, for the HTTP front's factory.
struct fake_client_session final : gateway::client_session {
  explicit fake_client_session(std::string endpoint) : endpoint_(std::move(endpoint)) {}
  const std::string& id() const noexcept override { return id_; }
  const std::string& protocol_version() const noexcept override { return version_; }
  const std::string& endpoint() const noexcept override { return endpoint_; }
  bool post_to_client(json message) override {
    posted.push_back(std::move(message));
    return true;
  }
  bool has_standalone_stream() const noexcept override { return false; }
  void close() override {}
  std::vector<json> posted;

 private:
  std::string id_ = "0123456789abcdef0123456789abcdef";
  std::string version_ = "2025-11-25";
  std::string endpoint_;
};

// One request's answer through a handler (JSON only: no stream).
struct answer_channel final : gateway::response_channel {
  bool can_stream() const noexcept override { return false; }
  task<p2p::result<void>> send(json) override { co_return p2p::errc::closed; }
  task<p2p::result<void>> respond(json r) override {
    response = std::move(r);
    co_return p2p::result<void>{};
  }
  json response;
};

task<json> ask(gateway::session_handler& handler, json message) {
  answer_channel channel;
  co_await handler.on_message(std::move(message), channel);
  co_return channel.response;
}

#define ASK(result, handler, id, method, params_text)      \
  json result;                                              \
  {                                                         \
    json message_ = request(id, method, J(params_text));    \
    result = co_await ask(handler, std::move(message_));    \
  }

std::vector<std::string> tool_names(const json& response) {
  std::vector<std::string> names;
  for (const auto& t : response["result"]["tools"]) names.push_back(t["name"]);
  return names;
}

TEST(http_front, a_sub_endpoint_shows_one_upstream_as_itself_and_unknown_names_are_refused) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    fake_upstream a(ex, "everything"), b(ex, "memory");
    a.set_tools({tool("echo")});
    b.set_tools({tool("read_graph")});
    a.on_request = [&](std::string method, json params) -> task<rpc_result<json>> {
      json result = json::object();
      result["method"] = method;
      result["name"] = params.value("name", "");
      co_return result;
    };
    h.add_upstream(a, "k3Xq9a_everything", true);
    h.add_upstream(b, "local_memory");

    EXPECT_FALSE(check_endpoint(h, "k3Xq9a_everything", "/mcp"));
    EXPECT_FALSE(check_endpoint(h, "local_memory", "/mcp"));
    const auto missing = check_endpoint(h, "k3Xq9a_everything_echo", "/mcp");
    EXPECT_TRUE(missing.has_value());
    if (missing) {
      EXPECT_NE(missing->find("no MCP server named 'k3Xq9a_everything_echo'"), std::string::npos) << *missing;
      EXPECT_NE(missing->find("/mcp/k3Xq9a_everything, /mcp/local_memory"), std::string::npos) << *missing;
    }
    gateway::http_server_config config;
    config.path = "/x";
    route_endpoints(config, h);
    EXPECT_TRUE(static_cast<bool>(config.endpoint_check));
    if (config.endpoint_check) {
      EXPECT_FALSE(config.endpoint_check("local_memory"));
      EXPECT_NE(config.endpoint_check("nope").value_or("").find("/x/local_memory"), std::string::npos);
    }

    auto factory = make_http_front(h);
    fake_client_session single_client("k3Xq9a_everything"), all_client(""), unknown_client("nope");
    EXPECT_FALSE(factory(unknown_client)) << "no handler for an unknown endpoint (the transport answers 404)";
    auto single = factory(single_client);
    auto all = factory(all_client);

    // The single-server endpoint: the server's own serverInfo, names and calls.
    ASK(init, *single, 1, "initialize", R"({"protocolVersion": "2025-11-25", "capabilities": {}})");
    EXPECT_EQ(init["result"]["serverInfo"]["name"], "fake");
    ASK(listed, *single, 2, "tools/list", "{}");
    EXPECT_EQ(tool_names(listed), (std::vector<std::string>{"echo"}));
    ASK(called, *single, 3, "tools/call", R"({"name": "echo"})");
    EXPECT_EQ(called["result"]["name"], "echo");

    // The aggregated endpoint: the gateway, every server, prefixed names.
    ASK(init_all, *all, 1, "initialize", R"({"protocolVersion": "2025-11-25", "capabilities": {}})");
    EXPECT_EQ(init_all["result"]["serverInfo"]["name"], "p2pmcp");
    ASK(listed_all, *all, 2, "tools/list", "{}");
    EXPECT_EQ(tool_names(listed_all),
              (std::vector<std::string>{"k3Xq9a_everything_echo", "local_memory_read_graph"}));

    // The server leaves the hub: its single-server sessions close, the aggregated one stays.
    co_await h.remove_upstream(a);
    ASK(after, *single, 4, "tools/list", "{}");
    EXPECT_EQ(after["error"]["message"], "the session is closed");
    EXPECT_TRUE(check_endpoint(h, "k3Xq9a_everything", "/mcp").has_value());
    ASK(listed_after, *all, 3, "tools/list", "{}");
    EXPECT_EQ(tool_names(listed_after), (std::vector<std::string>{"local_memory_read_graph"}));

    single->on_close(gateway::close_reason::deleted);
    all->on_close(gateway::close_reason::deleted);
    single.reset();
    all.reset();
    co_await h.remove_upstream(b);
  });
}

TEST(stream_session, serves_a_peer_over_newline_delimited_json_rpc) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    fake_upstream a(ex, "everything");
    a.set_tools({tool("echo")});
    a.on_request = [&](std::string, json params) -> task<rpc_result<json>> {
      json result = J(R"({"content": [{"type": "text"}]})");
      result["content"][0]["text"] = params["arguments"]["message"];
      co_return result;
    };
    h.add_upstream(a, "local_everything");
    auto [client, server] = p2p::testing::make_memory_stream_pair(ex, {.max_read = 7});
    p2p::task_group tasks(ex);
    session_options options;
    options.only = &a;
    options.label = "peer test";
    stream_session_options limits;
    limits.max_line = 1024;
    tasks.spawn(serve_stream(h, *server, options, limits), "serve");

    jsonrpc::line_framer framer;
    json m1 = request(1, "initialize", J(R"({"protocolVersion": "2025-06-18"})"));
    co_await write_line(*client, m1);
    json init = json::parse(co_await read_line(*client, framer));
    EXPECT_EQ(init["result"]["protocolVersion"], "2025-06-18");
    json m2 = jsonrpc::make_notification("notifications/initialized");
    co_await write_line(*client, m2);
    json m3 = request(2, "tools/call", J(R"({"name": "echo", "arguments": {"message": "hi"}})"));
    co_await write_line(*client, m3);
    json echoed = json::parse(co_await read_line(*client, framer));
    EXPECT_EQ(echoed["id"], 2);
    EXPECT_EQ(echoed["result"]["content"][0]["text"], "hi");

    // An oversized request is answered with -32011 and the stream keeps working.
    json m4 = request(3, "tools/call", J(R"({"name": "echo", "arguments": {}})"));
    m4["params"]["arguments"]["message"] = std::string(2000, 'x');
    co_await write_line(*client, m4);
    json too_big = json::parse(co_await read_line(*client, framer));
    EXPECT_EQ(too_big["id"], 3);
    EXPECT_EQ(too_big["error"]["code"], jsonrpc::codes::message_too_large);
    // Garbage gets a parse error.
    const std::string garbage = "{not json\n";
    co_await client->write(p2p::as_bytes(garbage));
    json parse_error = json::parse(co_await read_line(*client, framer));
    EXPECT_EQ(parse_error["error"]["code"], jsonrpc::codes::parse_error);
    json m5 = request(4, "ping");
    co_await write_line(*client, m5);
    json pong = json::parse(co_await read_line(*client, framer));
    EXPECT_EQ(pong["id"], 4);

    co_await client->close_write();
    EXPECT_EQ(co_await read_line(*client, framer), "");  // the server closes its side too
    co_await tasks.wait();
    co_await h.remove_upstream(a);
  });
}

}  // namespace
}  // namespace mcp::hub
