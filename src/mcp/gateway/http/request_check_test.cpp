// Scripted checks of the sans-IO Streamable HTTP rules (request_check.hpp).
#include "mcp/gateway/http/request_check.hpp"

#include <gtest/gtest.h>

#include <set>

namespace mcp::gateway {
namespace {

request_head post_head() {
  request_head head;
  head.method = http_method::post;
  head.method_name = "POST";
  head.target = "/mcp";
  head.host = "127.0.0.1:7469";
  head.accept = "application/json, text/event-stream";
  head.content_type = "application/json";
  head.content_length = 100;
  return head;
}

request_head get_head() {
  request_head head;
  head.method = http_method::get;
  head.method_name = "GET";
  head.target = "/mcp";
  head.host = "localhost:7469";
  head.accept = "text/event-stream";
  head.session_id = "abc";
  return head;
}

unsigned status_of(const head_outcome& outcome) { return outcome.error ? outcome.error->status : 0; }

TEST(AcceptHeader, MediaRangesAndQuality) {
  EXPECT_TRUE(accept_allows(std::nullopt, "application/json"));
  EXPECT_TRUE(accept_allows("application/json, text/event-stream", "application/json"));
  EXPECT_TRUE(accept_allows("application/json, text/event-stream", "text/event-stream"));
  EXPECT_TRUE(accept_allows("*/*", "text/event-stream"));
  EXPECT_TRUE(accept_allows("text/*;q=0.5", "text/event-stream"));
  EXPECT_TRUE(accept_allows("Application/JSON", "application/json"));
  EXPECT_TRUE(accept_allows("text/event-stream ; q=0.9 , application/json;q=1", "application/json"));
  EXPECT_FALSE(accept_allows("application/json", "text/event-stream"));
  EXPECT_FALSE(accept_allows("application/json;q=0, text/event-stream", "application/json"));
  EXPECT_FALSE(accept_allows("application/json;q=0.000", "application/json"));
  EXPECT_FALSE(accept_allows("image/png", "application/json"));
  EXPECT_FALSE(accept_allows("", "application/json"));
  EXPECT_FALSE(accept_allows("application/*x", "application/json"));
  EXPECT_FALSE(accept_allows("text/event-streamx", "text/event-stream"));
}

TEST(HostHeader, NamesAndPorts) {
  EXPECT_EQ(host_name_of("localhost:7469"), "localhost");
  EXPECT_EQ(host_name_of("127.0.0.1"), "127.0.0.1");
  EXPECT_EQ(host_name_of("[::1]:80"), "[::1]");
  EXPECT_EQ(host_name_of("[::1]"), "[::1]");
  EXPECT_EQ(host_name_of(" evil.example:80 "), "evil.example");
  EXPECT_FALSE(host_name_of("localhost:abc"));
  EXPECT_FALSE(host_name_of("localhost:123456"));
  EXPECT_FALSE(host_name_of("[::1"));
  EXPECT_FALSE(host_name_of("[::1]x"));
  EXPECT_FALSE(host_name_of(":80"));
  EXPECT_FALSE(host_name_of(""));

  const std::vector<std::string> none;
  EXPECT_TRUE(is_allowed_host_name("LocalHost", none));
  EXPECT_TRUE(is_allowed_host_name("127.0.0.1", none));
  EXPECT_TRUE(is_allowed_host_name("[::1]", none));
  EXPECT_FALSE(is_allowed_host_name("localhost.evil.example", none));
  EXPECT_FALSE(is_allowed_host_name("127.0.0.2", none));
  EXPECT_FALSE(is_allowed_host_name("0.0.0.0", none));
  EXPECT_TRUE(is_allowed_host_name("mybox.lan", {"mybox.lan"}));
}

TEST(OriginHeader, OnlyHttpOriginsOfLoopbackNames) {
  EXPECT_EQ(origin_host("http://localhost:6274"), "localhost");
  EXPECT_EQ(origin_host("https://127.0.0.1"), "127.0.0.1");
  EXPECT_EQ(origin_host("HTTP://[::1]:3000"), "[::1]");
  EXPECT_EQ(origin_host("http://evil.example"), "evil.example");
  EXPECT_FALSE(origin_host("null"));
  EXPECT_FALSE(origin_host("file://"));
  EXPECT_FALSE(origin_host("chrome-extension://abcdef"));
  EXPECT_FALSE(origin_host("http://localhost/path"));
  EXPECT_FALSE(origin_host("http://user@localhost"));
  EXPECT_FALSE(origin_host("http://"));
}

TEST(CheckHead, AcceptsAWellFormedPost) {
  const auto outcome = check_head(post_head(), check_config{});
  ASSERT_FALSE(outcome.error) << outcome.error->message;
  EXPECT_EQ(outcome.head.kind, request_kind::post);
  EXPECT_TRUE(outcome.head.accepts_json);
  EXPECT_TRUE(outcome.head.accepts_sse);
  EXPECT_TRUE(outcome.head.cors_origin.empty());
  EXPECT_TRUE(outcome.head.session_id.empty());
}

TEST(CheckHead, DnsRebindingProtection) {
  check_config config;
  auto head = post_head();
  head.host.reset();
  EXPECT_EQ(status_of(check_head(head, config)), 400u);
  head.host = "evil.example:7469";
  auto outcome = check_head(head, config);
  EXPECT_EQ(status_of(outcome), 403u);
  EXPECT_NE(outcome.error->message.find("evil.example"), std::string::npos);
  EXPECT_NE(outcome.error->message.find("DNS rebinding"), std::string::npos);

  head = post_head();
  head.origin = "http://evil.example";
  outcome = check_head(head, config);
  EXPECT_EQ(status_of(outcome), 403u);
  EXPECT_EQ(error_body(*outcome.error)["id"], nullptr);
  head.origin = "null";
  EXPECT_EQ(status_of(check_head(head, config)), 403u);
  head.origin = "http://localhost:6274";
  outcome = check_head(head, config);
  EXPECT_FALSE(outcome.error);
  EXPECT_EQ(outcome.head.cors_origin, "http://localhost:6274");
  head.repeated = "Origin";
  EXPECT_EQ(status_of(check_head(head, config)), 403u);

  head = post_head();
  head.host = "mybox.lan";
  EXPECT_EQ(status_of(check_head(head, config)), 403u);
  config.extra_allowed_hosts = {"mybox.lan"};
  EXPECT_EQ(status_of(check_head(head, config)), 0u);
}

TEST(CheckHead, PathAndMethod) {
  check_config config;
  auto head = post_head();
  head.target = "/mcp?x=1";
  EXPECT_EQ(status_of(check_head(head, config)), 0u);
  head.target = "/other";
  EXPECT_EQ(status_of(check_head(head, config)), 404u);
  head.target = "/mcp/";
  EXPECT_EQ(status_of(check_head(head, config)), 404u);

  head = post_head();
  head.method = http_method::other;
  head.method_name = "PUT";
  auto outcome = check_head(head, config);
  EXPECT_EQ(status_of(outcome), 405u);
  EXPECT_EQ(outcome.error->allow, "GET, POST, DELETE, OPTIONS");
  EXPECT_NE(outcome.error->message.find("PUT"), std::string::npos);

  head.method = http_method::options;
  outcome = check_head(head, config);
  EXPECT_FALSE(outcome.error);
  EXPECT_EQ(outcome.head.kind, request_kind::preflight);

  config.enable_get_stream = false;
  outcome = check_head(get_head(), config);
  EXPECT_EQ(status_of(outcome), 405u);
  EXPECT_EQ(outcome.error->allow, "POST, DELETE, OPTIONS");
}

TEST(CheckHead, SubEndpoints) {
  check_config config;
  auto head = post_head();
  head.target = "/mcp/k3Xq9a_files";
  EXPECT_EQ(status_of(check_head(head, config)), 404u) << "off unless enabled";

  config.sub_endpoints = true;
  auto outcome = check_head(head, config);
  ASSERT_FALSE(outcome.error) << outcome.error->message;
  EXPECT_EQ(outcome.head.endpoint, "k3Xq9a_files");

  head.target = "/mcp/local_my%20server?x=1";
  outcome = check_head(head, config);
  ASSERT_FALSE(outcome.error) << outcome.error->message;
  EXPECT_EQ(outcome.head.endpoint, "local_my server");

  head.target = "/mcp";
  outcome = check_head(head, config);
  ASSERT_FALSE(outcome.error);
  EXPECT_EQ(outcome.head.endpoint, "");

  for (std::string_view target : {"/mcp/", "/mcp/a/b", "/mcpx", "/mcp//a", "/other/a"}) {
    head.target = target;
    outcome = check_head(head, config);
    EXPECT_EQ(status_of(outcome), 404u) << target;
    if (outcome.error) {
      EXPECT_NE(outcome.error->message.find("/mcp/<name>"), std::string::npos) << target;
    }
  }
  const std::string too_long = "/mcp/" + std::string(max_endpoint_name + 1, 'a');
  for (std::string_view target : {std::string_view("/mcp/a%2"), std::string_view("/mcp/a%zz"),
                                  std::string_view("/mcp/a%0Ab"), std::string_view(too_long)}) {
    head.target = target;
    EXPECT_EQ(status_of(check_head(head, config)), 400u) << target;
  }
  // The other rules still apply to sub-endpoints.
  head = post_head();
  head.target = "/mcp/a";
  head.host = "evil.example:7469";
  EXPECT_EQ(status_of(check_head(head, config)), 403u);
  auto get = get_head();
  get.target = "/mcp/a";
  get.session_id.reset();
  EXPECT_EQ(status_of(check_head(get, config)), 400u);
}

TEST(CheckHead, PercentDecoding) {
  EXPECT_EQ(percent_decode("a%20b%2Fc%2f"), "a b/c/");
  EXPECT_EQ(percent_decode(""), "");
  EXPECT_FALSE(percent_decode("%"));
  EXPECT_FALSE(percent_decode("%4"));
  EXPECT_FALSE(percent_decode("%g0"));
  EXPECT_EQ(sub_path_of("/mcp", "/mcp"), "");
  EXPECT_EQ(sub_path_of("/mcp/x", "/mcp"), "x");
  EXPECT_FALSE(sub_path_of("/mcp/", "/mcp"));
  EXPECT_FALSE(sub_path_of("/mcpx", "/mcp"));
  EXPECT_FALSE(sub_path_of("/mc", "/mcp"));
}

TEST(CheckHead, GetAndDelete) {
  check_config config;
  auto head = get_head();
  auto outcome = check_head(head, config);
  ASSERT_FALSE(outcome.error);
  EXPECT_EQ(outcome.head.kind, request_kind::get);
  EXPECT_EQ(outcome.head.session_id, "abc");

  head.accept = "application/json";
  EXPECT_EQ(status_of(check_head(head, config)), 406u);
  head = get_head();
  head.session_id.reset();
  EXPECT_EQ(status_of(check_head(head, config)), 400u);
  head = get_head();
  head.protocol_version = "2024-01-01";
  outcome = check_head(head, config);
  EXPECT_EQ(status_of(outcome), 400u);
  EXPECT_NE(outcome.error->message.find("2025-06-18"), std::string::npos);
  head.protocol_version = "2025-06-18";
  EXPECT_EQ(status_of(check_head(head, config)), 0u);
  head.last_event_id = "1-3";
  EXPECT_TRUE(check_head(head, config).head.has_last_event_id);

  head = get_head();
  head.method = http_method::delete_;
  outcome = check_head(head, config);
  EXPECT_FALSE(outcome.error);
  EXPECT_EQ(outcome.head.kind, request_kind::delete_);
  head.repeated = "Mcp-Session-Id";
  EXPECT_EQ(status_of(check_head(head, config)), 400u);
}

TEST(CheckHead, PostNegotiation) {
  check_config config;
  auto head = post_head();
  head.content_type = "text/plain";
  EXPECT_EQ(status_of(check_head(head, config)), 415u);
  head.content_type.reset();
  EXPECT_EQ(status_of(check_head(head, config)), 415u);
  head.content_type = "Application/Json; charset=utf-8";
  EXPECT_EQ(status_of(check_head(head, config)), 0u);

  head = post_head();
  head.accept = "image/png";
  EXPECT_EQ(status_of(check_head(head, config)), 406u);
  head.accept = "application/json";
  auto outcome = check_head(head, config);
  EXPECT_FALSE(outcome.error);
  EXPECT_FALSE(outcome.head.accepts_sse);
  head.accept.reset();  // no Accept: anything goes
  outcome = check_head(head, config);
  EXPECT_TRUE(outcome.head.accepts_json && outcome.head.accepts_sse);
}

TEST(CheckHead, BodySizeLimit) {
  check_config config;
  config.max_body_size = 1000;
  auto head = post_head();
  head.content_length = 1000;
  EXPECT_EQ(status_of(check_head(head, config)), 0u);
  head.content_length = 1001;
  const auto outcome = check_head(head, config);
  EXPECT_EQ(status_of(outcome), 413u);
  EXPECT_EQ(outcome.error->code, jsonrpc::codes::message_too_large);
  EXPECT_NE(outcome.error->message.find("1001"), std::string::npos);
  EXPECT_NE(outcome.error->message.find("1000"), std::string::npos);
}

body_outcome body_check(std::string_view body, bool has_session, std::string header_version = "",
                        std::string negotiated = "") {
  checked_head head;
  head.protocol_version = std::move(header_version);
  body_context context;
  context.has_session_header = has_session;
  context.negotiated_version = negotiated;  // outlives the call below
  return check_body(body, head, context, check_config{});
}

TEST(CheckBody, Initialize) {
  const std::string init =
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}})";
  auto outcome = body_check(init, false);
  ASSERT_FALSE(outcome.error) << outcome.error->message;
  EXPECT_TRUE(outcome.body.is_initialize);
  EXPECT_EQ(outcome.body.request_count, 1u);
  EXPECT_EQ(outcome.body.protocol_version, "2025-03-26");
  // The header is not checked on initialize: its body negotiates the version.
  EXPECT_FALSE(body_check(init, false, "1999-01-01").error);

  outcome = body_check(init, true);
  EXPECT_EQ(outcome.error->status, 400u);
  EXPECT_NE(outcome.error->message.find("without an Mcp-Session-Id"), std::string::npos);
  outcome = body_check("[" + init + "]", false, "2025-03-26");
  EXPECT_EQ(outcome.error->status, 400u);
}

TEST(CheckBody, SessionAndVersion) {
  const std::string list = R"({"jsonrpc":"2.0","id":"a","method":"tools/list"})";
  auto outcome = body_check(list, false);
  EXPECT_EQ(outcome.error->status, 400u);
  EXPECT_NE(outcome.error->message.find("Mcp-Session-Id header is required"), std::string::npos);

  outcome = body_check(list, true, "2025-06-18");
  ASSERT_FALSE(outcome.error);
  EXPECT_EQ(outcome.body.protocol_version, "2025-06-18");
  outcome = body_check(list, true, "", "2025-11-25");
  EXPECT_EQ(outcome.body.protocol_version, "2025-11-25");
  outcome = body_check(list, true);
  EXPECT_EQ(outcome.body.protocol_version, "2025-03-26");
  outcome = body_check(list, true, "2030-01-01");
  EXPECT_EQ(outcome.error->status, 400u);
  EXPECT_NE(outcome.error->message.find("unsupported MCP-Protocol-Version '2030-01-01'"),
            std::string::npos);

  outcome = body_check(R"({"jsonrpc":"2.0","method":"notifications/initialized"})", true);
  ASSERT_FALSE(outcome.error);
  EXPECT_EQ(outcome.body.request_count, 0u);
}

TEST(CheckBody, InvalidJsonRpc) {
  auto outcome = body_check("{not json", true);
  EXPECT_EQ(outcome.error->status, 400u);
  EXPECT_EQ(outcome.error->code, jsonrpc::codes::parse_error);
  EXPECT_EQ(outcome.error->id, nullptr);
  outcome = body_check("", true);
  EXPECT_EQ(outcome.error->code, jsonrpc::codes::parse_error);
  outcome = body_check(R"({"jsonrpc":"1.0","id":7,"method":"x"})", true);
  EXPECT_EQ(outcome.error->code, jsonrpc::codes::invalid_request);
  outcome = body_check(R"({"jsonrpc":"2.0","id":7,"method":5})", true);
  EXPECT_EQ(outcome.error->code, jsonrpc::codes::invalid_request);
  outcome = body_check(R"({"jsonrpc":"2.0","id":7,"method":"x","params":3})", true);
  EXPECT_EQ(outcome.error->id, 7);
  EXPECT_EQ(error_body(*outcome.error)["id"], 7);
}

TEST(CheckBody, BatchesOnlyWith20250326) {
  const std::string batch =
      R"([{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","method":"n"}])";
  auto outcome = body_check(batch, true, "2025-06-18");
  EXPECT_EQ(outcome.error->status, 400u);
  EXPECT_NE(outcome.error->message.find("batches"), std::string::npos);
  EXPECT_EQ(body_check(batch, true, "", "2025-11-25").error->status, 400u);

  outcome = body_check(batch, true, "2025-03-26");
  ASSERT_FALSE(outcome.error);
  EXPECT_TRUE(outcome.body.was_batch);
  EXPECT_EQ(outcome.body.messages.size(), 2u);
  EXPECT_EQ(outcome.body.request_count, 1u);
  EXPECT_FALSE(body_check(batch, true, "", "2025-03-26").error);
  EXPECT_FALSE(body_check(batch, true).error);  // no header, no negotiated version: 2025-03-26

  outcome = body_check(R"([{"jsonrpc":"2.0","id":1,"method":"x"}, 5, 6])", true, "2025-03-26");
  EXPECT_EQ(outcome.error->status, 400u);
  EXPECT_NE(outcome.error->message.find("1 more"), std::string::npos);
  EXPECT_EQ(body_check("[]", true, "2025-03-26").error->status, 400u);
}

TEST(Encoders, SessionIdsAndEvents) {
  p2p::seeded_random random(7);
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    const std::string id = make_session_id(random);
    EXPECT_EQ(id.size(), 32u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 100u);

  const json message = {{"jsonrpc", "2.0"}, {"method", "x"}, {"params", {{"text", "a\nb"}}}};
  EXPECT_EQ(encode_sse_event("3-1", message),
            "event: message\nid: 3-1\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":"
            "{\"text\":\"a\\nb\"}}\n\n");
  EXPECT_EQ(encode_sse_event("", json::object()), "event: message\ndata: {}\n\n");

  http_error error;
  error.message = "nope";
  EXPECT_EQ(error_body(error),
            json::parse(R"({"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"nope"}})"));
}

}  // namespace
}  // namespace mcp::gateway
