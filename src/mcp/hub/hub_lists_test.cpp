// The hub's lists against fake upstreams: the gateway's aggregated lists with prefixed
// names, every upstream asked at once in the hub's order, a peer's lists capped, and a
// shortened name routing back to its original.
#include "mcp/hub/hub.hpp"
#include "mcp/hub/naming.hpp"

#include "mcp/jsonrpc/message.hpp"

#include "mcp_hub_fakes.hpp"
#include "run.hpp"

#include "p2p/core/signal.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

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
    EXPECT_NE(unknown["error"]["message"].get<std::string>().find("unknown tool 'nobody_x_y': no MCP server"),
              std::string::npos);
    // A server that is there but has no such tool says so.
    CALL(missing, *s, 6, "tools/call", R"({"name": "local_memory_write_graph"})");
    EXPECT_EQ(missing["error"]["message"],
              "unknown tool 'local_memory_write_graph': MCP server 'local_memory' offers no tool 'write_graph' "
              "(list the tools again)");

    s.reset();
    co_await h.remove_upstream(a);
    co_await h.remove_upstream(b);
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

}  // namespace
}  // namespace mcp::hub
