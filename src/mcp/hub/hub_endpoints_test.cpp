// The single-server endpoints of the hub against fake upstreams: the peer hop's sessions
// (transparent names, refusal, capabilities of a server still starting), the gateway's
// sub-endpoints (http_front: /mcp and /mcp/<prefix>), and the newline stream shell
// (stream_session).
#include "mcp/hub/http_front.hpp"
#include "mcp/hub/hub.hpp"
#include "mcp/hub/stream_session.hpp"

#include "mcp/jsonrpc/line_framer.hpp"
#include "mcp/jsonrpc/message.hpp"

#include "mcp_hub_fakes.hpp"
#include "memory_stream.hpp"
#include "run.hpp"

#include "p2p/core/task_group.hpp"

#include <boost/asio/post.hpp>

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

namespace mcp::hub {
namespace {

namespace asio = boost::asio;
using p2p::testing::run;
using namespace fakes;

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
