#include "mcp/jsonrpc/id_router.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace mcp::jsonrpc {
namespace {

using namespace std::chrono_literals;

json j(std::string_view text) { return json::parse(text); }

constexpr channel_id client_a = 1;
constexpr channel_id client_b = 2;
constexpr channel_id peer_x = 10;
constexpr channel_id peer_y = 11;

class router_test : public ::testing::Test {
 protected:
  std::vector<outgoing> drain() {
    std::vector<outgoing> out;
    while (auto next = router_.poll_output()) out.push_back(std::move(*next));
    return out;
  }

  std::vector<event> events() {
    std::vector<event> out;
    while (auto next = router_.poll_event()) out.push_back(std::move(*next));
    return out;
  }

  // Routes a request and returns what the upstream received.
  json forward(channel_id client, const json& request, channel_id upstream,
               const request_options& options = {}) {
    router_.route_request(client, request, upstream, now_, options);
    auto out = drain();
    EXPECT_EQ(out.size(), 1u);
    if (out.size() != 1) return nullptr;
    EXPECT_EQ(out[0].to, side::upstream);
    EXPECT_EQ(out[0].channel, upstream);
    return out[0].message;
  }

  static json tool_call(json id, std::string name) {
    return make_request(std::move(id), "tools/call", {{"name", std::move(name)}, {"arguments", json::object()}});
  }

  router_config config_;
  id_router router_{config_};
  time_point now_ = time_point{} + 1000s;
};

TEST_F(router_test, clients_with_the_same_ids_only_see_their_own_responses) {
  const json to_x_from_a = forward(client_a, tool_call(1, "a-tool"), peer_x);
  const json to_x_from_b = forward(client_b, tool_call(1, "b-tool"), peer_x);
  const json string_id_from_a = forward(client_a, tool_call("1", "a-string"), peer_x);
  ASSERT_TRUE(to_x_from_a["id"].is_number_integer());
  EXPECT_NE(to_x_from_a["id"], to_x_from_b["id"]);
  EXPECT_NE(string_id_from_a["id"], to_x_from_a["id"]);
  EXPECT_EQ(to_x_from_b["params"]["name"], "b-tool");
  EXPECT_EQ(router_.pending_count(), 3u);
  EXPECT_EQ(router_.clients_waiting_on(peer_x), (std::vector<channel_id>{client_a, client_b}));

  // The upstream answers in another order.
  for (const json* sent : {&to_x_from_b, &string_id_from_a, &to_x_from_a}) {
    const std::string tool = (*sent)["params"]["name"];
    EXPECT_FALSE(router_.handle_upstream_message(
        peer_x, make_result_response((*sent)["id"], {{"tool", tool}}), now_));
  }
  const auto out = drain();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].to, side::client);
  EXPECT_EQ(out[0].channel, client_b);
  EXPECT_EQ(out[0].message, j(R"({"jsonrpc":"2.0","id":1,"result":{"tool":"b-tool"}})"));
  EXPECT_EQ(out[1].channel, client_a);
  EXPECT_EQ(out[1].message, j(R"({"jsonrpc":"2.0","id":"1","result":{"tool":"a-string"}})"));
  EXPECT_EQ(out[2].channel, client_a);
  EXPECT_EQ(out[2].message, j(R"({"jsonrpc":"2.0","id":1,"result":{"tool":"a-tool"}})"));
  EXPECT_EQ(router_.pending_count(), 0u);
  EXPECT_FALSE(router_.poll_timeout());
  EXPECT_TRUE(events().empty());
}

TEST_F(router_test, error_responses_are_routed_like_results) {
  const json sent = forward(client_a, tool_call("q", "t"), peer_x);
  router_.handle_upstream_message(
      peer_x, make_error_response(sent["id"], codes::invalid_params, "Unknown tool"), now_);
  const auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].message,
            j(R"({"jsonrpc":"2.0","id":"q","error":{"code":-32602,"message":"Unknown tool"}})"));
}

TEST_F(router_test, unknown_and_duplicate_response_ids_are_dropped) {
  const json sent = forward(client_a, tool_call(5, "t"), peer_x);
  // Never issued, wrong type, null, negative, or from a channel the request did not go to.
  router_.handle_upstream_message(peer_x, make_result_response(999999, {}), now_);
  router_.handle_upstream_message(peer_x, make_result_response(5, {}), now_ /* 5 is the client's id */);
  router_.handle_upstream_message(peer_x, make_result_response("1", {}), now_);
  router_.handle_upstream_message(peer_x, make_error_response(nullptr, -32700, "Parse error"), now_);
  router_.handle_upstream_message(peer_x, make_result_response(-1, {}), now_);
  router_.handle_upstream_message(peer_y, make_result_response(sent["id"], {}), now_);
  router_.handle_client_message(client_a, make_result_response(sent["id"], {}), now_);
  EXPECT_TRUE(drain().empty());
  EXPECT_EQ(router_.pending_count(), 1u);
  auto logged = events();
  EXPECT_EQ(logged.size(), 7u);
  for (const auto& e : logged) {
    EXPECT_TRUE(e.type == event_type::unknown_response || e.type == event_type::late_response);
  }
  EXPECT_EQ(logged[5].channel, peer_y);
  EXPECT_NE(logged[5].detail.find("upstream 11"), std::string::npos);

  // The right one, then a duplicate.
  router_.handle_upstream_message(peer_x, make_result_response(sent["id"], {{"n", 1}}), now_);
  router_.handle_upstream_message(peer_x, make_result_response(sent["id"], {{"n", 2}}), now_);
  const auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].message["result"]["n"], 1);
  logged = events();
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_EQ(logged[0].type, event_type::late_response);
  EXPECT_EQ(logged[0].id, sent["id"]);
}

TEST_F(router_test, progress_token_round_trip) {
  json request = tool_call(3, "slow");
  request["params"]["_meta"] = {{"progressToken", "abc123"}, {"other", true}};
  const json sent = forward(client_a, request, peer_x);
  const json& token = sent["params"]["_meta"]["progressToken"];
  EXPECT_TRUE(token.is_number_integer());
  EXPECT_EQ(sent["params"]["_meta"]["other"], true);

  // Another client using the same token gets its own.
  json other = tool_call(3, "slow");
  other["params"]["_meta"] = {{"progressToken", "abc123"}};
  const json sent_b = forward(client_b, other, peer_x);
  EXPECT_NE(sent_b["params"]["_meta"]["progressToken"], token);

  router_.handle_upstream_message(
      peer_x,
      make_notification("notifications/progress",
                        {{"progressToken", token}, {"progress", 50}, {"total", 100}, {"message", "half"}}),
      now_);
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to, side::client);
  EXPECT_EQ(out[0].channel, client_a);
  EXPECT_EQ(out[0].message, j(R"({"jsonrpc":"2.0","method":"notifications/progress",
      "params":{"progressToken":"abc123","progress":50,"total":100,"message":"half"}})"));

  // Unknown tokens, tokens from the wrong upstream, and progress after completion are dropped.
  router_.handle_upstream_message(
      peer_x, make_notification("notifications/progress", {{"progressToken", "abc123"}, {"progress", 1}}), now_);
  router_.handle_upstream_message(
      peer_y, make_notification("notifications/progress", {{"progressToken", token}, {"progress", 1}}), now_);
  router_.handle_upstream_message(peer_x, make_result_response(sent["id"], json::object()), now_);
  drain();
  router_.handle_upstream_message(
      peer_x, make_notification("notifications/progress", {{"progressToken", token}, {"progress", 99}}), now_);
  EXPECT_TRUE(drain().empty());
  const auto logged = events();
  ASSERT_EQ(logged.size(), 3u);
  for (const auto& e : logged) EXPECT_EQ(e.type, event_type::unknown_progress);
}

TEST_F(router_test, requests_without_progress_token_get_no_progress) {
  const json sent = forward(client_a, tool_call(1, "t"), peer_x);
  EXPECT_FALSE(sent["params"].contains("_meta"));
  router_.handle_upstream_message(
      peer_x, make_notification("notifications/progress", {{"progressToken", sent["id"]}, {"progress", 1}}), now_);
  EXPECT_TRUE(drain().empty());
  EXPECT_EQ(events().at(0).type, event_type::unknown_progress);
}

TEST_F(router_test, cancellation_is_mapped_to_the_upstream_id) {
  const json sent = forward(client_a, tool_call("call-7", "t"), peer_x);
  forward(client_b, tool_call("call-7", "t"), peer_x);
  EXPECT_FALSE(router_.handle_client_message(
      client_a, make_cancelled("call-7", "User requested cancellation"), now_));
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to, side::upstream);
  EXPECT_EQ(out[0].channel, peer_x);
  EXPECT_EQ(out[0].message["method"], "notifications/cancelled");
  EXPECT_EQ(out[0].message["params"]["requestId"], sent["id"]);
  EXPECT_EQ(out[0].message["params"]["reason"], "User requested cancellation");
  EXPECT_EQ(router_.pending_from(side::client, client_a), 0u);
  EXPECT_EQ(router_.pending_from(side::client, client_b), 1u);

  // The spec lets the server answer anyway; the canceller ignores it.
  router_.handle_upstream_message(peer_x, make_result_response(sent["id"], {}), now_);
  EXPECT_TRUE(drain().empty());
  // Unknown, repeated or malformed cancellations are ignored.
  router_.handle_client_message(client_a, make_cancelled("call-7", ""), now_);
  router_.handle_client_message(client_a, make_cancelled("nope", ""), now_);
  router_.handle_client_message(client_a, make_notification("notifications/cancelled", {{"reason", "x"}}), now_);
  EXPECT_TRUE(drain().empty());
  const auto logged = events();
  ASSERT_EQ(logged.size(), 4u);
  EXPECT_EQ(logged[0].type, event_type::late_response);
  EXPECT_EQ(logged[1].type, event_type::unknown_cancel);
  EXPECT_EQ(logged[2].type, event_type::unknown_cancel);
  EXPECT_EQ(logged[3].type, event_type::invalid_message);
}

TEST_F(router_test, server_to_client_request_round_trip) {
  const json call = forward(client_a, tool_call(1, "needs-llm"), peer_x);
  // The server asks for sampling while the tool runs; the shell picks the client.
  json sampling = j(R"({"jsonrpc":"2.0","id":0,"method":"sampling/createMessage",
      "params":{"messages":[{"role":"user","content":{"type":"text","text":"hi"}}],
                "maxTokens":10,"_meta":{"progressToken":"s-tok"}}})");
  auto returned = router_.handle_upstream_message(peer_x, sampling, now_);
  ASSERT_TRUE(returned);
  EXPECT_EQ(*returned, sampling);
  EXPECT_EQ(router_.clients_waiting_on(peer_x), std::vector<channel_id>{client_a});
  router_.route_server_request(peer_x, *returned, client_a, now_);
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to, side::client);
  EXPECT_EQ(out[0].channel, client_a);
  const json downstream_id = out[0].message["id"];
  EXPECT_TRUE(downstream_id.is_number_integer());
  EXPECT_NE(downstream_id, call["id"]);
  EXPECT_EQ(out[0].message["params"]["maxTokens"], 10);
  const json downstream_token = out[0].message["params"]["_meta"]["progressToken"];
  EXPECT_EQ(router_.pending_from(side::upstream, peer_x), 1u);

  // Progress from the client on the server's request goes back with the server's token.
  router_.handle_client_message(
      client_a, make_notification("notifications/progress", {{"progressToken", downstream_token}, {"progress", 1}}), now_);
  out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to, side::upstream);
  EXPECT_EQ(out[0].message["params"]["progressToken"], "s-tok");

  // Another client cannot answer it.
  router_.handle_client_message(client_b, make_result_response(downstream_id, {{"role", "assistant"}}), now_);
  EXPECT_TRUE(drain().empty());
  EXPECT_EQ(events().at(0).type, event_type::unknown_response);

  router_.handle_client_message(
      client_a, make_result_response(downstream_id, {{"role", "assistant"}, {"model", "m"}}), now_);
  out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to, side::upstream);
  EXPECT_EQ(out[0].channel, peer_x);
  EXPECT_EQ(out[0].message, j(R"({"jsonrpc":"2.0","id":0,"result":{"role":"assistant","model":"m"}})"));
  EXPECT_EQ(router_.pending_from(side::upstream, peer_x), 0u);
  EXPECT_EQ(router_.pending_count(), 1u);  // the tool call itself
}

TEST_F(router_test, server_cancels_its_own_request_at_the_client) {
  router_.route_server_request(peer_x, make_request("e1", "elicitation/create", json::object()), client_a, now_);
  const json downstream_id = drain().at(0).message["id"];
  router_.handle_upstream_message(peer_x, make_cancelled("e1", "no longer needed"), now_);
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to, side::client);
  EXPECT_EQ(out[0].channel, client_a);
  EXPECT_EQ(out[0].message["params"]["requestId"], downstream_id);
  EXPECT_EQ(router_.pending_count(), 0u);
}

TEST_F(router_test, ids_of_both_directions_do_not_mix) {
  // A client request and a server request with the same original id on the same pair.
  const json call = forward(client_a, tool_call(0, "t"), peer_x);
  router_.route_server_request(peer_x, make_request(0, "roots/list"), client_a, now_);
  const json roots = drain().at(0).message;
  router_.handle_client_message(client_a, make_result_response(roots["id"], {{"roots", json::array()}}), now_);
  router_.handle_upstream_message(peer_x, make_result_response(call["id"], {{"content", json::array()}}), now_);
  const auto out = drain();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].to, side::upstream);
  EXPECT_EQ(out[0].message["id"], 0);
  EXPECT_TRUE(out[0].message["result"].contains("roots"));
  EXPECT_EQ(out[1].to, side::client);
  EXPECT_EQ(out[1].message["id"], 0);
  EXPECT_TRUE(out[1].message["result"].contains("content"));
}

TEST_F(router_test, timeout_answers_the_client_and_cancels_upstream) {
  const json sent = forward(client_a, tool_call("t1", "slow"), peer_x);
  ASSERT_TRUE(router_.poll_timeout());
  EXPECT_EQ(*router_.poll_timeout(), now_ + 60s);
  router_.handle_timeout(now_ + 59s);
  EXPECT_TRUE(drain().empty());
  router_.handle_timeout(now_ + 60s);
  const auto out = drain();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].to, side::client);
  EXPECT_EQ(out[0].channel, client_a);
  EXPECT_EQ(out[0].message["id"], "t1");
  EXPECT_EQ(out[0].message["error"]["code"], codes::request_timeout);
  EXPECT_EQ(out[0].message["error"]["message"],
            "request tools/call timed out after 60 s without a response");
  EXPECT_EQ(out[1].to, side::upstream);
  EXPECT_EQ(out[1].message["method"], "notifications/cancelled");
  EXPECT_EQ(out[1].message["params"]["requestId"], sent["id"]);
  EXPECT_FALSE(router_.poll_timeout());
  EXPECT_EQ(events().at(0).type, event_type::timed_out);
  // The answer arriving afterwards is dropped.
  router_.handle_upstream_message(peer_x, make_result_response(sent["id"], {}), now_ + 61s);
  EXPECT_TRUE(drain().empty());
  EXPECT_EQ(events().at(0).type, event_type::late_response);
}

TEST_F(router_test, initialize_is_never_cancelled) {
  forward(client_a, make_request(0, "initialize", {{"protocolVersion", "2025-06-18"}}), peer_x);
  router_.handle_timeout(now_ + 60s);
  const auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to, side::client);
  EXPECT_EQ(out[0].message["error"]["code"], codes::request_timeout);
}

TEST_F(router_test, progress_extends_the_deadline_up_to_the_maximum) {
  json request = tool_call(1, "long");
  request["params"]["_meta"] = {{"progressToken", 1}};
  const json sent = forward(client_a, request, peer_x);
  const json token = sent["params"]["_meta"]["progressToken"];
  auto progress = [&](time_point at) {
    router_.handle_timeout(at);
    router_.handle_upstream_message(
        peer_x, make_notification("notifications/progress", {{"progressToken", token}, {"progress", 1}}), at);
    EXPECT_EQ(drain().size(), 1u);
  };
  progress(now_ + 50s);
  EXPECT_EQ(*router_.poll_timeout(), now_ + 110s);
  progress(now_ + 100s);
  EXPECT_EQ(*router_.poll_timeout(), now_ + 160s);
  router_.handle_timeout(now_ + 159s);
  EXPECT_TRUE(drain().empty());
  router_.handle_timeout(now_ + 160s);
  auto out = drain();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].message["error"]["message"],
            "request tools/call timed out: no response or progress for 60 s");

  // However much progress, the maximum duration (10 min) ends it.
  const time_point start = now_;
  const json second = forward(client_a, request, peer_x);
  const json token2 = second["params"]["_meta"]["progressToken"];
  for (auto t = 30s; t < 600s; t += 30s) {
    router_.handle_timeout(start + t);
    router_.handle_upstream_message(
        peer_x, make_notification("notifications/progress", {{"progressToken", token2}, {"progress", 1}}), start + t);
  }
  EXPECT_EQ(drain().size(), 19u);  // all progress, no error yet
  EXPECT_EQ(*router_.poll_timeout(), start + 600s);
  router_.handle_timeout(start + 600s);
  out = drain();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].message["error"]["code"], codes::request_timeout);
  EXPECT_EQ(out[0].message["error"]["message"],
            "request tools/call did not complete within the maximum of 10 min");
}

TEST_F(router_test, per_request_timeouts_and_no_reset) {
  json request = tool_call(1, "t");
  request["params"]["_meta"] = {{"progressToken", "p"}};
  request_options options;
  options.timeout = 1500ms;
  options.reset_timeout_on_progress = false;
  const json sent = forward(client_a, request, peer_x, options);
  router_.handle_upstream_message(
      peer_x,
      make_notification("notifications/progress", {{"progressToken", sent["params"]["_meta"]["progressToken"]}, {"progress", 1}}),
      now_ + 1s);
  EXPECT_EQ(drain().size(), 1u);
  EXPECT_EQ(*router_.poll_timeout(), now_ + 1500ms);
  router_.handle_timeout(now_ + 1500ms);
  const auto out = drain();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].message["error"]["message"], "request tools/call timed out after 1.5 s without a response");
}

TEST_F(router_test, deadlines_fire_in_order_and_infinite_never_does) {
  request_options never;
  never.timeout = duration::max();
  never.max_duration = duration::max();
  forward(client_a, tool_call(1, "forever"), peer_x, never);
  request_options short_one;
  short_one.timeout = 5s;
  forward(client_a, tool_call(2, "short"), peer_x, short_one);
  forward(client_a, tool_call(3, "default"), peer_x);
  EXPECT_EQ(*router_.poll_timeout(), now_ + 5s);
  router_.handle_timeout(now_ + 100s);
  const auto out = drain();
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].message["id"], 2);
  EXPECT_EQ(out[2].message["id"], 3);
  EXPECT_EQ(router_.pending_count(), 1u);
  EXPECT_EQ(*router_.poll_timeout(), time_point::max());
}

TEST_F(router_test, server_requests_time_out_too) {
  router_.route_server_request(peer_x, make_request("s", "elicitation/create", json::object()), client_a, now_);
  const json downstream = drain().at(0).message;
  EXPECT_EQ(*router_.poll_timeout(), now_ + 10min);
  router_.handle_timeout(now_ + 10min);
  const auto out = drain();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].to, side::upstream);
  EXPECT_EQ(out[0].message["id"], "s");
  EXPECT_EQ(out[0].message["error"]["code"], codes::request_timeout);
  EXPECT_EQ(out[1].to, side::client);
  EXPECT_EQ(out[1].message["params"]["requestId"], downstream["id"]);
}

TEST_F(router_test, failed_upstream_answers_every_waiting_client) {
  forward(client_a, tool_call(1, "t"), peer_x);
  forward(client_b, tool_call("b", "t"), peer_x);
  forward(client_a, tool_call(2, "t"), peer_y);
  router_.route_server_request(peer_x, make_request(9, "sampling/createMessage", json::object()), client_b, now_);
  const json sampling = drain().at(0).message;

  router_.fail_upstream(peer_x, "peer 12D3KooWExample disconnected; try again when it is back");
  const auto out = drain();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].channel, client_a);
  EXPECT_EQ(out[0].message, j(R"({"jsonrpc":"2.0","id":1,"error":{"code":-32000,
      "message":"peer 12D3KooWExample disconnected; try again when it is back"}})"));
  EXPECT_EQ(out[1].channel, client_b);
  EXPECT_EQ(out[1].message["id"], "b");
  EXPECT_EQ(out[2].to, side::client);
  EXPECT_EQ(out[2].channel, client_b);
  EXPECT_EQ(out[2].message["method"], "notifications/cancelled");
  EXPECT_EQ(out[2].message["params"]["requestId"], sampling["id"]);
  EXPECT_EQ(router_.pending_count(), 1u);
  EXPECT_EQ(router_.clients_waiting_on(peer_y), std::vector<channel_id>{client_a});

  // A dial that failed: same path, with the shell's code and sentence.
  forward(client_b, tool_call(3, "t"), peer_x);
  router_.fail_upstream(peer_x, "peer unreachable", codes::connection_closed);
  EXPECT_EQ(drain().at(0).message["error"]["message"], "peer unreachable");
}

TEST_F(router_test, failed_client_cancels_its_requests_upstream) {
  const json sent = forward(client_a, tool_call(1, "t"), peer_x);
  forward(client_a, make_request(2, "initialize", json::object()), peer_y);
  forward(client_b, tool_call(1, "t"), peer_x);
  router_.route_server_request(peer_y, make_request("r", "roots/list"), client_a, now_);
  drain();
  router_.fail_client(client_a, "client disconnected");
  const auto out = drain();
  ASSERT_EQ(out.size(), 2u);  // no cancellation for initialize
  EXPECT_EQ(out[0].to, side::upstream);
  EXPECT_EQ(out[0].channel, peer_x);
  EXPECT_EQ(out[0].message["params"]["requestId"], sent["id"]);
  EXPECT_EQ(out[1].to, side::upstream);
  EXPECT_EQ(out[1].channel, peer_y);
  EXPECT_EQ(out[1].message["id"], "r");
  EXPECT_EQ(out[1].message["error"]["code"], codes::connection_closed);
  EXPECT_EQ(router_.pending_count(), 1u);
  EXPECT_EQ(router_.pending_from(side::client, client_b), 1u);
}

TEST_F(router_test, pending_limit_per_client) {
  config_.max_pending_per_client = 2;
  id_router router(config_);
  router.route_request(client_a, tool_call(1, "t"), peer_x, now_);
  router.route_request(client_a, tool_call(2, "t"), peer_x, now_);
  router.route_request(client_a, tool_call(3, "t"), peer_x, now_);
  router.route_request(client_b, tool_call(3, "t"), peer_x, now_);
  std::vector<outgoing> out;
  while (auto next = router.poll_output()) out.push_back(std::move(*next));
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[2].to, side::client);
  EXPECT_EQ(out[2].channel, client_a);
  EXPECT_EQ(out[2].message["id"], 3);
  EXPECT_EQ(out[2].message["error"]["code"], codes::too_many_requests);
  EXPECT_EQ(out[3].to, side::upstream);  // the other client is not limited
  EXPECT_EQ(router.poll_event()->type, event_type::rejected_request);
}

TEST_F(router_test, reused_pending_id_is_rejected) {
  forward(client_a, tool_call(1, "t"), peer_x);
  router_.route_request(client_a, tool_call(1, "again"), peer_y, now_);
  const auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to, side::client);
  EXPECT_EQ(out[0].message["error"]["code"], codes::invalid_request);
  EXPECT_EQ(router_.pending_count(), 1u);
  // 1 and 1 stored as unsigned and signed are the same id.
  router_.route_request(client_a, j(R"({"jsonrpc":"2.0","id":1,"method":"x"})"), peer_x, now_);
  EXPECT_EQ(drain().at(0).message["error"]["code"], codes::invalid_request);
}

TEST_F(router_test, returns_what_it_does_not_route) {
  const json initialized = make_notification("notifications/initialized");
  const json list_changed = make_notification("notifications/tools/list_changed");
  const json request = tool_call(1, "t");
  EXPECT_EQ(router_.handle_client_message(client_a, initialized, now_), initialized);
  EXPECT_EQ(router_.handle_client_message(client_a, request, now_), request);
  EXPECT_EQ(router_.handle_upstream_message(peer_x, list_changed, now_), list_changed);
  EXPECT_FALSE(router_.handle_client_message(client_a, j(R"({"jsonrpc":"2.0"})"), now_));
  router_.route_request(client_a, initialized, peer_x, now_);
  EXPECT_TRUE(drain().empty());
  const auto logged = events();
  ASSERT_EQ(logged.size(), 2u);
  EXPECT_EQ(logged[0].type, event_type::invalid_message);
  EXPECT_EQ(logged[1].type, event_type::invalid_message);
}

TEST_F(router_test, oversized_response_fails_the_request_it_answers) {
  const json sent = forward(client_a, tool_call("big", "dump"), peer_x);
  // The upstream's answer, TypeScript SDK member order (id last), over a 64-byte limit.
  line_framer framer(64);
  framer.feed("{\"result\":{\"text\":\"" + std::string(1000, 'x') + "\"},\"jsonrpc\":\"2.0\",\"id\":" +
              sent["id"].dump() + "}\n");
  auto oversized = framer.poll();
  ASSERT_TRUE(oversized && oversized->is_oversized());
  router_.handle_oversized(side::upstream, peer_x, *oversized, 64);
  const auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to, side::client);
  EXPECT_EQ(out[0].message["id"], "big");
  EXPECT_EQ(out[0].message["error"]["code"], codes::message_too_large);
  EXPECT_EQ(out[0].message["error"]["message"],
            "the response to tools/call was dropped: it is " + std::to_string(oversized->size) +
                " bytes, over the message size limit of 64 bytes");
  EXPECT_EQ(router_.pending_count(), 0u);
  EXPECT_EQ(events().at(0).type, event_type::oversized_message);
}

TEST_F(router_test, oversized_request_is_answered_to_its_sender) {
  line_framer framer(1024);
  framer.feed(R"({"jsonrpc":"2.0","id":"up","method":"tools/call","params":{"arguments":{"blob":")" +
              std::string(4000, 'b') + "\"}}}\n");
  const auto oversized = framer.poll();
  ASSERT_TRUE(oversized);
  router_.handle_oversized(side::client, client_a, *oversized, 1024);
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to, side::client);
  EXPECT_EQ(out[0].channel, client_a);
  EXPECT_EQ(out[0].message["id"], "up");
  EXPECT_EQ(out[0].message["error"]["code"], codes::message_too_large);
  EXPECT_EQ(router_.pending_count(), 0u);

  // Without a recoverable id there is nobody to answer.
  frame blind;
  blind.error = p2p::errc::message_too_large;
  blind.size = 5000;
  blind.head = std::string(512, '[');
  router_.handle_oversized(side::client, client_a, blind, 1024);
  EXPECT_TRUE(drain().empty());
  events();
}

TEST_F(router_test, events_are_bounded) {
  config_.max_events = 3;
  id_router router(config_);
  for (int i = 0; i < 10; ++i) router.handle_upstream_message(peer_x, make_result_response(1000 + i, {}), now_);
  int count = 0;
  json last;
  while (auto e = router.poll_event()) {
    ++count;
    last = e->id;
  }
  EXPECT_EQ(count, 3);
  EXPECT_EQ(last, 1009);  // the newest are kept
}

}  // namespace
}  // namespace mcp::jsonrpc
