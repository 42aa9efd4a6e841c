// Resources through the hub against fake upstreams: URIs addressed by prefix and handed
// back unwrapped, and subscriptions counted per client so one leaving keeps the others'
// updates.
#include "mcp/hub/hub.hpp"

#include "mcp/jsonrpc/message.hpp"

#include "mcp_hub_fakes.hpp"
#include "run.hpp"

#include "p2p/core/signal.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mcp::hub {
namespace {

namespace asio = boost::asio;
using p2p::testing::run;
using namespace fakes;

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

}  // namespace
}  // namespace mcp::hub
