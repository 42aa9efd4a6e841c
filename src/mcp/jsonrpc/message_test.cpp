#include "mcp/jsonrpc/message.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mcp::jsonrpc {
namespace {

json j(std::string_view text) { return json::parse(text); }

int error_code_of(const json& response) { return response["error"]["code"].get<int>(); }

TEST(jsonrpc_message, classifies_mcp_messages) {
  // Shapes from the MCP specification (basic/index, utilities/progress, cancellation).
  EXPECT_EQ(classify(j(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{}})")),
            message_kind::request);
  EXPECT_EQ(classify(j(R"({"jsonrpc":"2.0","id":"abc","method":"tools/list"})")),
            message_kind::request);
  EXPECT_EQ(classify(j(R"({"jsonrpc":"2.0","id":-5,"method":"ping"})")), message_kind::request);
  EXPECT_EQ(classify(j(R"({"jsonrpc":"2.0","method":"notifications/progress",
                           "params":{"progressToken":"abc123","progress":50,"total":100}})")),
            message_kind::notification);
  EXPECT_EQ(classify(j(R"({"jsonrpc":"2.0","id":1,"result":{"tools":[]}})")),
            message_kind::response);
  EXPECT_EQ(classify(j(R"({"jsonrpc":"2.0","id":"x","error":{"code":-32602,"message":"bad"}})")),
            message_kind::response);
  // Error responses may carry a null id when the request's id could not be read.
  EXPECT_EQ(classify(j(R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}})")),
            message_kind::response);
  // JSON-RPC params may be an array.
  EXPECT_EQ(classify(j(R"({"jsonrpc":"2.0","method":"m","params":[1,2]})")),
            message_kind::notification);
}

TEST(jsonrpc_message, rejects_invalid_shapes) {
  for (const char* text : {
           R"([])",
           R"("just a string")",
           R"({"id":1,"method":"m"})",                              // no jsonrpc
           R"({"jsonrpc":"1.0","id":1,"method":"m"})",              // wrong version
           R"({"jsonrpc":2.0,"id":1,"method":"m"})",                // version not a string
           R"({"jsonrpc":"2.0","id":null,"method":"m"})",           // MCP: never a null request id
           R"({"jsonrpc":"2.0","id":1.5,"method":"m"})",            // fractional id
           R"({"jsonrpc":"2.0","id":true,"method":"m"})",
           R"({"jsonrpc":"2.0","id":{"a":1},"method":"m"})",
           R"({"jsonrpc":"2.0","id":1,"method":7})",
           R"({"jsonrpc":"2.0","method":"m","params":"bar"})",
           R"({"jsonrpc":"2.0","id":1,"method":"m","result":{}})",
           R"({"jsonrpc":"2.0","id":1})",                           // neither result nor error
           R"({"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"x"}})",
           R"({"jsonrpc":"2.0","result":{}})",                      // response without id
           R"({"jsonrpc":"2.0","id":null,"result":{}})",            // result with null id
           R"({"jsonrpc":"2.0","id":1,"error":"bad"})",
           R"({"jsonrpc":"2.0","id":1,"error":{"message":"x"}})",
           R"({"jsonrpc":"2.0","id":1,"error":{"code":1.5,"message":"x"}})",
           R"({"jsonrpc":"2.0","id":1,"error":{"code":1}})",
       }) {
    EXPECT_EQ(classify(j(text)), message_kind::invalid) << text;
  }
}

TEST(jsonrpc_message, parse_error_gets_minus_32700_with_null_id) {
  // jsonrpc.org/specification examples: invalid JSON.
  const auto parsed = parse_line(R"({"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz])");
  EXPECT_TRUE(parsed.messages.empty());
  ASSERT_EQ(parsed.errors.size(), 1u);
  EXPECT_EQ(error_code_of(parsed.errors[0]), codes::parse_error);
  EXPECT_TRUE(parsed.errors[0]["id"].is_null());
  EXPECT_EQ(parsed.errors[0]["jsonrpc"], "2.0");
  EXPECT_EQ(classify(parsed.errors[0]), message_kind::response);
  // Invalid UTF-8 is not JSON either (MCP: messages MUST be UTF-8).
  EXPECT_EQ(error_code_of(parse_line("{\"jsonrpc\":\"2.0\",\"method\":\"\xff\"}").errors.at(0)),
            codes::parse_error);
}

TEST(jsonrpc_message, invalid_request_gets_minus_32600) {
  // jsonrpc.org example: {"jsonrpc": "2.0", "method": 1, "params": "bar"}
  auto parsed = parse_line(R"({"jsonrpc": "2.0", "method": 1, "params": "bar"})");
  ASSERT_EQ(parsed.errors.size(), 1u);
  EXPECT_EQ(error_code_of(parsed.errors[0]), codes::invalid_request);
  EXPECT_TRUE(parsed.errors[0]["id"].is_null());
  // A request whose id is readable gets its id back, so the sender can match the error.
  parsed = parse_line(R"({"jsonrpc":"2.0","id":"r1","method":"m","params":"bar"})");
  ASSERT_EQ(parsed.errors.size(), 1u);
  EXPECT_EQ(parsed.errors[0]["id"], "r1");
  EXPECT_NE(parsed.errors[0]["error"]["message"].get<std::string>().find("params"), std::string::npos);
  // A broken response does not: its id names one of the sender's own requests.
  parsed = parse_line(R"({"jsonrpc":"2.0","id":4})");
  ASSERT_EQ(parsed.errors.size(), 1u);
  EXPECT_TRUE(parsed.errors[0]["id"].is_null());
}

TEST(jsonrpc_message, batches_are_split_and_errors_never_batched) {
  auto parsed = parse_line(
      R"([{"jsonrpc":"2.0","id":1,"method":"tools/list"},)"
      R"({"jsonrpc":"2.0","method":"notifications/initialized"},)"
      R"({"foo":"boo"},)"
      R"({"jsonrpc":"2.0","id":"2","result":{}}])");
  EXPECT_TRUE(parsed.was_batch);
  ASSERT_EQ(parsed.messages.size(), 3u);
  EXPECT_EQ(parsed.messages[0]["method"], "tools/list");
  EXPECT_EQ(parsed.messages[1]["method"], "notifications/initialized");
  EXPECT_EQ(parsed.messages[2]["id"], "2");
  ASSERT_EQ(parsed.errors.size(), 1u);
  EXPECT_EQ(error_code_of(parsed.errors[0]), codes::invalid_request);

  // jsonrpc.org examples: [] is one Invalid Request; [1,2,3] is three.
  parsed = parse_line("[]");
  EXPECT_TRUE(parsed.messages.empty());
  ASSERT_EQ(parsed.errors.size(), 1u);
  EXPECT_TRUE(parsed.errors[0].is_object());
  parsed = parse_line("[1,2,3]");
  EXPECT_EQ(parsed.errors.size(), 3u);
  for (const auto& error : parsed.errors) EXPECT_EQ(error_code_of(error), codes::invalid_request);
  // Invalid JSON inside a batch is one parse error.
  parsed = parse_line(R"([{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},{"jsonrpc": "2.0", "method")");
  ASSERT_EQ(parsed.errors.size(), 1u);
  EXPECT_EQ(error_code_of(parsed.errors[0]), codes::parse_error);
}

TEST(jsonrpc_message, batch_size_is_limited) {
  std::string batch = "[";
  for (int i = 0; i < 5; ++i) batch += std::string(i ? "," : "") + R"({"jsonrpc":"2.0","method":"m"})";
  batch += "]";
  parse_limits limits;
  limits.max_batch = 4;
  const auto parsed = parse_line(batch, limits);
  EXPECT_TRUE(parsed.messages.empty());
  ASSERT_EQ(parsed.errors.size(), 1u);
  EXPECT_EQ(error_code_of(parsed.errors[0]), codes::invalid_request);
  limits.max_batch = 5;
  EXPECT_EQ(parse_line(batch, limits).messages.size(), 5u);
}

TEST(jsonrpc_message, deep_nesting_is_refused_before_parsing) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const auto parsed = parse_line(deep);
  EXPECT_TRUE(parsed.messages.empty());
  ASSERT_EQ(parsed.errors.size(), 1u);
  EXPECT_EQ(error_code_of(parsed.errors[0]), codes::invalid_request);
  // Brackets inside strings do not count; nesting up to the limit is fine.
  parse_limits limits;
  limits.max_depth = 3;
  EXPECT_EQ(parse_line(R"({"jsonrpc":"2.0","method":"m","params":{"a":{"b":"[[[[[[{{{{"}}})", limits)
                .messages.size(),
            1u);
  const auto refused =
      parse_line(R"({"jsonrpc":"2.0","id":9,"method":"m","params":{"a":{"b":[1]}}})", limits);
  ASSERT_EQ(refused.errors.size(), 1u);
  EXPECT_EQ(refused.errors[0]["id"], 9);  // recovered, so the client can match it
}

TEST(jsonrpc_message, builders) {
  EXPECT_EQ(make_error_response(3, codes::request_timeout, "late"),
            j(R"({"jsonrpc":"2.0","id":3,"error":{"code":-32001,"message":"late"}})"));
  EXPECT_EQ(make_error_response("a", -1, "m", json{{"k", 1}})["error"]["data"]["k"], 1);
  EXPECT_EQ(make_result_response("a", json::object()),
            j(R"({"jsonrpc":"2.0","id":"a","result":{}})"));
  EXPECT_EQ(make_request(1, "ping"), j(R"({"jsonrpc":"2.0","id":1,"method":"ping"})"));
  EXPECT_EQ(make_notification("notifications/initialized"),
            j(R"({"jsonrpc":"2.0","method":"notifications/initialized"})"));
  EXPECT_EQ(make_cancelled("123", "User requested cancellation"),
            j(R"({"jsonrpc":"2.0","method":"notifications/cancelled",
                  "params":{"requestId":"123","reason":"User requested cancellation"}})"));
  EXPECT_EQ(make_cancelled(5, ""), j(R"({"jsonrpc":"2.0","method":"notifications/cancelled",
                                          "params":{"requestId":5}})"));
}

TEST(jsonrpc_message, describe_duration) {
  EXPECT_EQ(describe_duration_ms(60000), "60 s");
  EXPECT_EQ(describe_duration_ms(1500), "1.5 s");
  EXPECT_EQ(describe_duration_ms(1250), "1.25 s");
  EXPECT_EQ(describe_duration_ms(250), "250 ms");
  EXPECT_EQ(describe_duration_ms(0), "0 ms");
  EXPECT_EQ(describe_duration_ms(600000), "10 min");
  EXPECT_EQ(describe_duration_ms(90000), "90 s");
}

TEST(jsonrpc_message, sniff_finds_top_level_id_in_head) {
  // Python SDK order: jsonrpc, id, method/result first.
  auto hint = sniff_message(R"({"jsonrpc":"2.0","id":42,"result":{"content":[{"type":"text","text":"aaaa)", "");
  ASSERT_TRUE(hint.id);
  EXPECT_EQ(*hint.id, 42);
  EXPECT_TRUE(hint.has_outcome);
  EXPECT_FALSE(hint.has_method);
  hint = sniff_message(R"( { "method" : "tools/call", "params":{"id":7,"x":"}"}, "id" : "r-\"1\"" , "jsonrpc":)", "");
  ASSERT_TRUE(hint.id);
  EXPECT_EQ(*hint.id, "r-\"1\"");
  EXPECT_TRUE(hint.has_method);
  // A nested "id" is not the message's id.
  hint = sniff_message(R"({"method":"tools/call","params":{"id":7,"arguments":{"data":"xxxx)", "");
  EXPECT_FALSE(hint.id);
  EXPECT_TRUE(hint.has_method);
  // An id cut off at the end of the head is not guessed.
  hint = sniff_message(R"({"jsonrpc":"2.0","id":12)", "");
  EXPECT_FALSE(hint.id);
}

TEST(jsonrpc_message, sniff_finds_id_at_the_end) {
  // TypeScript SDK order: {result, jsonrpc, id}.
  auto hint = sniff_message(R"({"result":{"content":[{"type":"text","text":"aaaa)",
                            R"(aaaa"}]},"jsonrpc":"2.0","id":17})");
  ASSERT_TRUE(hint.id);
  EXPECT_EQ(*hint.id, 17);
  EXPECT_TRUE(hint.has_outcome);
  hint = sniff_message("", "aaa\"}]}, \"id\" : \"a\\\"b\" }\r");
  ASSERT_TRUE(hint.id);
  EXPECT_EQ(*hint.id, "a\"b");
  hint = sniff_message("", R"(aaa"},"id":-3})");
  ASSERT_TRUE(hint.id);
  EXPECT_EQ(*hint.id, -3);
  // Not a member at the top level's end, or not an id.
  EXPECT_FALSE(sniff_message("", R"("id":5}})").id);
  EXPECT_FALSE(sniff_message("", R"(x\"id":5})").id);
  EXPECT_FALSE(sniff_message("", R"(,"id":1.5})").id);
  EXPECT_FALSE(sniff_message("", R"(,"xid":1})").id);
  EXPECT_FALSE(sniff_message("", R"(abc"})").id);
  EXPECT_FALSE(sniff_message("", "").id);
}

}  // namespace
}  // namespace mcp::jsonrpc
