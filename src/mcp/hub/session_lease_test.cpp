// Each client session's own upstream (server/upstream_source.hpp) through the hub, with a
// fake source handing out fake upstreams: what a leased upstream sends reaches only its
// session, listing costs no lease, acquire failures are answered and retried, a lease
// outlives every call into it, and removal and stop end every lease.
#include "mcp/hub/hub.hpp"

#include "mcp/jsonrpc/message.hpp"

#include "mcp_hub_fakes.hpp"
#include "run.hpp"

#include "p2p/core/signal.hpp"
#include "p2p/core/task_group.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace mcp::hub {
namespace {

namespace asio = boost::asio;
namespace codes = jsonrpc::codes;
using p2p::testing::run;
using namespace fakes;

// Hands out fake upstreams named "<name>#1", "<name>#2" ...; each is kept (and marked
// ended) after its lease is destroyed, so a call after that fails the test instead of
// touching freed memory.
class fake_source final : public server::upstream_source {
 public:
  fake_source(asio::any_io_executor ex, std::string name) : ex_(ex), name_(std::move(name)), changed(ex) {}

  class lease final : public server::upstream_lease {
   public:
    lease(fake_source& source, fake_upstream& up) : source_(source), up_(up) {}
    ~lease() override {
      up_.ended = true;
      ++source_.destroyed;
      source_.changed.notify();
    }
    upstream& get() noexcept override { return up_; }

   private:
    fake_source& source_;
    fake_upstream& up_;
  };

  rpc_result<std::unique_ptr<server::upstream_lease>> acquire(const std::string& who,
                                                              const server::client_hello& hello) override {
    asked_by.push_back(who);
    hellos.push_back(hello);
    if (fail_next || (cap > 0 && leased() >= cap)) {
      fail_next = false;
      return rpc_error(codes::too_many_requests,
                       "MCP server '" + name_ + "' already serves 1 client sessions, its limit (raise \"maxSessions\")");
    }
    upstreams.push_back(std::make_unique<fake_upstream>(ex_, name_ + "#" + std::to_string(upstreams.size() + 1)));
    fake_upstream& up = *upstreams.back();
    if (setup) setup(up);
    ++acquired;
    changed.notify();
    return std::unique_ptr<server::upstream_lease>(new lease(*this, up));
  }
  std::size_t leased() const noexcept override { return acquired - destroyed; }

  task<void> wait_destroyed(std::size_t n) {
    while (destroyed < n) co_await changed.wait();
  }

  std::function<void(fake_upstream&)> setup;  // scripts each new upstream
  bool fail_next = false;
  std::size_t cap = 0;  // > 0: acquire fails while this many leases are out
  std::vector<std::unique_ptr<fake_upstream>> upstreams;
  std::vector<std::string> asked_by;
  std::vector<server::client_hello> hellos;
  std::size_t acquired = 0;
  std::size_t destroyed = 0;

 private:
  asio::any_io_executor ex_;
  std::string name_;

 public:
  p2p::signal changed;
};

std::size_t count_method(const fake_upstream& up, const std::string& method) {
  return std::count_if(up.requests.begin(), up.requests.end(), [&](const json& r) { return r["method"] == method; });
}

// Lets every task that can run, run (no timers involved: this is not a sleep).
task<void> settle(asio::any_io_executor ex) {
  for (int i = 0; i < 20; ++i) co_await asio::post(ex, asio::use_awaitable);
}

json text_result(const std::string& text) {
  json result = J(R"({"content": [{"type": "text"}]})");
  result["content"][0]["text"] = text;
  return result;
}

json progress_of(const json& token) {
  json params = J(R"({"progress": 1})");
  params["progressToken"] = token;
  return jsonrpc::make_notification("notifications/progress", std::move(params));
}

json log_line(const std::string& data) {
  json params = J(R"({"level": "info", "logger": "w"})");
  params["data"] = data;
  return jsonrpc::make_notification("notifications/message", std::move(params));
}

json asking(int id, const char* method, const std::string& from) {
  json params = json::object();
  params["message"] = from;
  return jsonrpc::make_request(id, method, std::move(params));
}

TEST(session_lease, each_session_calling_one_tool_hears_only_its_own_upstream_while_both_calls_run) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    fake_upstream shared(ex, "everything");
    shared.set_tools({tool("work")});
    fake_source source(ex, "everything");
    int calls_in = 0;
    p2p::signal arrived(ex);
    bool both_in = false;
    // Each upstream: progress, a log line, a sampling request and, once that is answered,
    // an elicitation; the call ends when that is answered too. Every message names the
    // upstream, so a message reaching the wrong client shows.
    source.setup = [&](fake_upstream& up) {
      up.on_request = [&, &up = up](std::string method, json params) -> task<rpc_result<json>> {
        if (method != "tools/call") co_return json::object();
        ++calls_in;
        arrived.notify();
        while (!both_in) co_await arrived.wait();  // both calls are in flight from here on
        up.push(progress_of(params["_meta"]["progressToken"]));
        up.push(log_line(up.name()));
        up.push(asking(1, "sampling/createMessage", up.name()));
        co_await up.wait_for_responses(1);
        up.push(asking(2, "elicitation/create", up.name()));
        co_await up.wait_for_responses(2);
        co_return text_result(up.name());
      };
    };
    h.add_upstream(shared, "local_everything", false, &source);
    recording_client c1(ex), c2(ex);
    session_options o1, o2;
    o1.label = "gateway session 1";
    o2.label = "gateway session 2";
    auto s1 = h.open_session(c1, o1);
    auto s2 = h.open_session(c2, o2);
    CALL(init1, *s1, 1, "initialize", R"({"capabilities": {"sampling": {}, "elicitation": {}}})");
    CALL(init2, *s2, 1, "initialize", R"({"capabilities": {"sampling": {}, "elicitation": {}}})");

    recording_reply r1(ex), r2(ex);
    p2p::task_group calls(ex);
    // The same progress token in both sessions: each upstream sees the client's own.
    json m1 = request(5, "tools/call", J(R"({"name": "local_everything_work", "_meta": {"progressToken": "t"}})"));
    json m2 = request(5, "tools/call", J(R"({"name": "local_everything_work", "_meta": {"progressToken": "t"}})"));
    calls.spawn(s1->handle(std::move(m1), &r1), "s1 call");
    calls.spawn(s2->handle(std::move(m2), &r2), "s2 call");
    while (calls_in < 2) co_await arrived.wait();
    both_in = true;
    arrived.notify();
    EXPECT_EQ(source.acquired, 2u);
    EXPECT_EQ(source.asked_by, (std::vector<std::string>{"gateway session 1", "gateway session 2"}));
    EXPECT_EQ(count_method(shared, "tools/call"), 0u);  // the shared upstream only lists

    co_await r1.wait_related(3);
    co_await r2.wait_related(3);
    const std::string own1 = r1.related[2]["params"]["message"];
    const std::string own2 = r2.related[2]["params"]["message"];
    EXPECT_NE(own1, own2);
    for (auto* r : {&r1, &r2}) {
      const std::string own = r->related[2]["params"]["message"];
      EXPECT_EQ(r->related[0]["method"], "notifications/progress");
      EXPECT_EQ(r->related[0]["params"]["progressToken"], "t");
      EXPECT_EQ(r->related[1]["method"], "notifications/message");
      EXPECT_EQ(r->related[1]["params"]["data"], own);
      EXPECT_EQ(r->related[1]["params"]["logger"], "local_everything/w");
      EXPECT_EQ(r->related[2]["method"], "sampling/createMessage");
    }
    // Each client answers its own; the answer reaches the upstream that asked.
    json a1 = jsonrpc::make_result_response(r1.related[2]["id"], J(R"({"model": "c1"})"));
    json a2 = jsonrpc::make_result_response(r2.related[2]["id"], J(R"({"model": "c2"})"));
    co_await s1->handle(std::move(a1), nullptr);
    co_await s2->handle(std::move(a2), nullptr);
    co_await r1.wait_related(4);
    co_await r2.wait_related(4);
    EXPECT_EQ(r1.related[3]["method"], "elicitation/create");
    EXPECT_EQ(r1.related[3]["params"]["message"], own1);
    EXPECT_EQ(r2.related[3]["params"]["message"], own2);
    json e1 = jsonrpc::make_result_response(r1.related[3]["id"], J(R"({"action": "decline"})"));
    json e2 = jsonrpc::make_result_response(r2.related[3]["id"], J(R"({"action": "accept"})"));
    co_await s1->handle(std::move(e1), nullptr);
    co_await s2->handle(std::move(e2), nullptr);
    co_await calls.wait();

    EXPECT_EQ(r1.response["result"]["content"][0]["text"], own1);
    EXPECT_EQ(r2.response["result"]["content"][0]["text"], own2);
    for (auto& up : source.upstreams) {
      EXPECT_EQ(up->requests[0]["params"]["_meta"]["progressToken"], "t");
      const std::string expected_model = up->name() == own1 ? "c1" : "c2";
      EXPECT_EQ(up->responses[0]["result"]["model"], expected_model);
    }
    EXPECT_EQ(r1.related.size(), 4u);
    EXPECT_EQ(r2.related.size(), 4u);
    EXPECT_TRUE(c1.posted.empty());
    EXPECT_TRUE(c2.posted.empty());
    EXPECT_EQ(h.dropped_log_messages(), 0u);

    // With no request in flight, what a lease sends is still its session's alone.
    source.upstreams[0]->push(log_line("later"));
    source.upstreams[0]->push(asking(3, "sampling/createMessage", "later"));
    const bool first_is_s1 = source.upstreams[0]->name() == own1;
    recording_client& owner = first_is_s1 ? c1 : c2;
    recording_client& other = first_is_s1 ? c2 : c1;
    while (owner.posted.size() < 2) co_await owner.signal.wait();
    EXPECT_EQ(owner.posted[0]["params"]["data"], "later");
    EXPECT_EQ(owner.posted[1]["method"], "sampling/createMessage");
    EXPECT_TRUE(other.posted.empty());

    s1.reset();
    s2.reset();
    co_await source.wait_destroyed(2);
    co_await h.remove_upstream(shared);
  });
}

TEST(session_lease, a_session_that_only_lists_costs_no_upstream_of_its_own) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    fake_upstream shared(ex, "everything");
    shared.set_tools({tool("work")});
    shared.capabilities_["logging"] = json::object();
    fake_source source(ex, "everything");
    source.setup = [&](fake_upstream& up) { up.capabilities_["logging"] = json::object(); };
    h.add_upstream(shared, "local_everything", false, &source);
    recording_client client(ex);
    auto s = h.open_session(client, {});
    CALL(init, *s, 1, "initialize", R"({"capabilities": {}})");
    CALL(tools, *s, 2, "tools/list", "{}");
    CALL(resources, *s, 3, "resources/list", "{}");
    CALL(templates, *s, 4, "resources/templates/list", "{}");
    CALL(prompts, *s, 5, "prompts/list", "{}");
    CALL(level, *s, 6, "logging/setLevel", R"({"level": "debug"})");
    CALL(pong, *s, 7, "ping", "{}");
    EXPECT_EQ(tools["result"]["tools"].size(), 1u);
    EXPECT_TRUE(resources.contains("result"));
    EXPECT_TRUE(level.contains("result"));
    EXPECT_EQ(source.acquired, 0u);
    EXPECT_EQ(h.lease_count(), 0u);
    EXPECT_EQ(count_method(shared, "resources/list"), 1u);
    EXPECT_EQ(count_method(shared, "prompts/list"), 1u);
    // The shared upstream's log messages are not this session's: no level set there.
    EXPECT_EQ(count_method(shared, "logging/setLevel"), 0u);

    // The first call acquires; the level the client set reaches its upstream first, and
    // its lists go there from now on.
    CALL(called, *s, 8, "tools/call", R"({"name": "local_everything_work"})");
    EXPECT_TRUE(called.contains("result")) << called.dump();
    if (source.acquired != 1u) throw std::runtime_error("expected one upstream of its own");
    fake_upstream& own = *source.upstreams[0];
    if (own.requests.size() != 2u) throw std::runtime_error("expected logging/setLevel and tools/call at its upstream");
    EXPECT_EQ(own.requests[0]["method"], "logging/setLevel");
    EXPECT_EQ(own.requests[0]["params"]["level"], "debug");
    EXPECT_EQ(own.requests[1]["method"], "tools/call");
    CALL(resources2, *s, 9, "resources/list", "{}");
    EXPECT_EQ(count_method(own, "resources/list"), 1u);
    EXPECT_EQ(count_method(shared, "resources/list"), 1u);
    CALL(called2, *s, 10, "tools/call", R"({"name": "local_everything_work"})");
    EXPECT_EQ(source.acquired, 1u);  // kept for the session's life
    EXPECT_EQ(count_method(own, "logging/setLevel"), 1u);
    s.reset();
    co_await source.wait_destroyed(1);
    co_await h.remove_upstream(shared);
  });
}

TEST(session_lease, a_failed_acquire_answers_that_request_and_the_next_one_tries_again) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    fake_upstream shared(ex, "everything");
    shared.set_tools({tool("work")});
    fake_source source(ex, "everything");
    // Said before the hub asked anything: still this session's.
    source.setup = [&](fake_upstream& up) { up.push(log_line("hello")); };
    h.add_upstream(shared, "local_everything", false, &source);
    recording_client client(ex);
    auto s = h.open_session(client, {});
    CALL(init, *s, 0, "initialize", "{}");
    source.fail_next = true;
    CALL(refused, *s, 1, "tools/call", R"({"name": "local_everything_work"})");
    EXPECT_EQ(refused["id"], 1);
    EXPECT_EQ(refused["error"]["code"], codes::too_many_requests);
    EXPECT_EQ(refused["error"]["message"],
              "MCP server 'everything' already serves 1 client sessions, its limit (raise \"maxSessions\")");
    EXPECT_EQ(source.acquired, 0u);
    CALL(read, *s, 2, "resources/read", R"({"uri": "p2pmcp://local_everything/test://r"})");
    EXPECT_TRUE(read.contains("result")) << read.dump();
    EXPECT_EQ(source.acquired, 1u);
    EXPECT_EQ(count_method(*source.upstreams[0], "resources/read"), 1u);
    EXPECT_EQ(count_method(shared, "resources/read"), 0u);
    EXPECT_EQ(count_method(shared, "tools/call"), 0u);
    while (client.posted.empty()) co_await client.signal.wait();
    EXPECT_EQ(client.posted[0]["params"]["data"], "hello");
    s.reset();
    co_await h.remove_upstream(shared);
    EXPECT_EQ(source.destroyed, 1u);
  });
}

// At the source's cap, the session idle longest gives its upstream up for the new one
// (the MCP conformance suite opens ~32 sessions per run and never ends them); a lease its
// session still needs (a subscription) is never taken, and then the cap's error stands.
TEST(session_lease, at_the_cap_the_longest_idle_session_gives_its_lease_up) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    fake_upstream shared(ex, "everything");
    fake_source source(ex, "everything");
    source.cap = 1;
    h.add_upstream(shared, "local_everything", false, &source);
    recording_client client_a(ex), client_b(ex);
    auto a = h.open_session(client_a, {nullptr, std::nullopt, "session a"});
    auto b = h.open_session(client_b, {nullptr, std::nullopt, "session b"});
    CALL(init_a, *a, 0, "initialize", "{}");
    CALL(init_b, *b, 0, "initialize", "{}");
    CALL(read_a, *a, 1, "resources/read", R"({"uri": "p2pmcp://local_everything/test://a"})");
    EXPECT_TRUE(read_a.contains("result")) << read_a.dump();
    EXPECT_EQ(source.acquired, 1u);
    // b at the cap: a is idle, so a's upstream ends and b gets a new one.
    CALL(read_b, *b, 1, "resources/read", R"({"uri": "p2pmcp://local_everything/test://b"})");
    EXPECT_TRUE(read_b.contains("result")) << read_b.dump();
    EXPECT_EQ(source.destroyed, 1u);
    EXPECT_EQ(source.acquired, 2u);
    EXPECT_TRUE(source.upstreams[0]->ended);
    EXPECT_EQ(count_method(*source.upstreams[1], "resources/read"), 1u);
    // b subscribes: its lease is in use, and a cannot take it.
    CALL(sub_b, *b, 2, "resources/subscribe", R"({"uri": "p2pmcp://local_everything/test://b"})");
    EXPECT_TRUE(sub_b.contains("result")) << sub_b.dump();
    CALL(refused, *a, 2, "resources/read", R"({"uri": "p2pmcp://local_everything/test://a"})");
    EXPECT_EQ(refused["error"]["code"], codes::too_many_requests) << refused.dump();
    EXPECT_EQ(source.destroyed, 1u);
    EXPECT_FALSE(source.upstreams[1]->ended);
    a.reset();
    b.reset();
    co_await h.remove_upstream(shared);
    EXPECT_EQ(source.destroyed, 2u);
  });
}

TEST(session_lease, a_subscription_on_a_lease_is_its_sessions_own) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    fake_upstream shared(ex, "everything");
    fake_source source(ex, "everything");
    h.add_upstream(shared, "local_everything", false, &source);
    recording_client c1(ex), c2(ex);
    auto s1 = h.open_session(c1, {});
    auto s2 = h.open_session(c2, {});
    CALL(sub1, *s1, 1, "resources/subscribe", R"({"uri": "p2pmcp://local_everything/test://r"})");
    CALL(sub2, *s2, 1, "resources/subscribe", R"({"uri": "p2pmcp://local_everything/test://r"})");
    EXPECT_TRUE(sub1.contains("result"));
    EXPECT_TRUE(sub2.contains("result"));
    if (source.acquired != 2u) throw std::runtime_error("expected one upstream per session");
    fake_upstream& own1 = *source.upstreams[0];
    fake_upstream& own2 = *source.upstreams[1];
    EXPECT_EQ(count_method(own1, "resources/subscribe"), 1u);
    EXPECT_EQ(count_method(own2, "resources/subscribe"), 1u);
    EXPECT_EQ(own1.requests[0]["params"]["uri"], "test://r");
    EXPECT_TRUE(shared.requests.empty());
    auto updated = [](fake_upstream& up) {
      json n = jsonrpc::make_notification("notifications/resources/updated", J(R"({"uri": "test://r"})"));
      up.push(std::move(n));
    };

    updated(own1);
    while (c1.posted.empty()) co_await c1.signal.wait();
    EXPECT_EQ(c1.posted[0]["params"]["uri"], "p2pmcp://local_everything/test://r");
    EXPECT_TRUE(c2.posted.empty());

    // s2 unsubscribes: its own upstream hears it, s1's subscription stays as it was.
    CALL(unsub2, *s2, 2, "resources/unsubscribe", R"({"uri": "p2pmcp://local_everything/test://r"})");
    EXPECT_TRUE(unsub2.contains("result"));
    EXPECT_EQ(count_method(own2, "resources/unsubscribe"), 1u);
    EXPECT_EQ(count_method(own1, "resources/unsubscribe"), 0u);
    updated(own2);  // no longer subscribed: dropped
    updated(own1);
    while (c1.posted.size() < 2) co_await c1.signal.wait();
    co_await settle(ex);
    EXPECT_TRUE(c2.posted.empty());
    EXPECT_TRUE(shared.requests.empty());

    // s1 goes away without unsubscribing: nothing is sent on its behalf, its upstream ends.
    s1.reset();
    co_await source.wait_destroyed(1);
    EXPECT_EQ(count_method(own1, "resources/unsubscribe"), 0u);
    EXPECT_TRUE(own1.ended);
    EXPECT_FALSE(own2.ended);
    s2.reset();
    co_await h.remove_upstream(shared);
  });
}

TEST(session_lease, a_closed_sessions_lease_ends_only_after_its_request_finished) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    fake_upstream shared(ex, "everything");
    shared.set_tools({tool("slow")});
    fake_source source(ex, "everything");
    p2p::signal proceed(ex);
    bool go = false, in = false;
    // An upstream that takes its time to finish a call even once it was cancelled.
    source.setup = [&](fake_upstream& up) {
      up.on_request = [&, &up = up](std::string, json) -> task<rpc_result<json>> {
        co_await asio::this_coro::throw_if_cancelled(false);
        in = true;
        proceed.notify();
        while (!go) co_await proceed.wait();
        co_return text_result("late");
      };
    };
    h.add_upstream(shared, "local_everything", false, &source);
    recording_client client(ex);
    auto s = h.open_session(client, {});
    recording_reply reply(ex);
    p2p::task_group calls(ex);
    json m = request(1, "tools/call", J(R"({"name": "local_everything_slow"})"));
    calls.spawn(s->handle(std::move(m), &reply), "call");
    while (!in) co_await proceed.wait();

    s->close();
    co_await settle(ex);
    EXPECT_EQ(source.destroyed, 0u);  // the call into it still runs
    EXPECT_EQ(h.lease_count(), 1u);
    go = true;
    proceed.notify();
    co_await calls.wait();
    EXPECT_TRUE(reply.response.contains("error")) << reply.response.dump();
    co_await source.wait_destroyed(1);
    EXPECT_EQ(h.lease_count(), 0u);
    // A closed session acquires nothing new.
    CALL(after, *s, 2, "tools/call", R"({"name": "local_everything_slow"})");
    EXPECT_EQ(after["error"]["message"], "the session is closed");
    EXPECT_EQ(source.acquired, 1u);
    s.reset();
    co_await h.remove_upstream(shared);
  });
}

TEST(session_lease, at_the_cap_a_request_waits_for_a_lease_that_is_ending_instead_of_failing) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    fake_upstream shared(ex, "everything");
    shared.set_tools({tool("slow")});
    fake_source source(ex, "everything");
    source.cap = 1;
    p2p::signal proceed(ex);
    bool go = false, in = false;
    source.setup = [&](fake_upstream& up) {
      up.on_request = [&](std::string, json) -> task<rpc_result<json>> {
        co_await asio::this_coro::throw_if_cancelled(false);
        in = true;
        proceed.notify();
        while (!go) co_await proceed.wait();
        co_return text_result("done");
      };
    };
    h.add_upstream(shared, "local_everything", false, &source);
    recording_client client_a(ex), client_b(ex);
    auto a = h.open_session(client_a, {nullptr, std::nullopt, "session a"});
    auto b = h.open_session(client_b, {nullptr, std::nullopt, "session b"});
    recording_reply reply_a(ex), reply_b(ex);
    p2p::task_group calls(ex);
    json m = request(1, "tools/call", J(R"({"name": "local_everything_slow"})"));
    calls.spawn(a->handle(std::move(m), &reply_a), "a's call");
    while (!in) co_await proceed.wait();
    // a goes away while its call still runs in its upstream: that lease is ending, not idle.
    a->close();
    in = false;
    json mb = request(1, "tools/call", J(R"({"name": "local_everything_slow"})"));
    calls.spawn(b->handle(std::move(mb), &reply_b), "b's call");
    co_await settle(ex);
    EXPECT_EQ(source.acquired, 1u);  // b waits for the room a's lease frees
    EXPECT_FALSE(reply_b.response.contains("error")) << reply_b.response.dump();
    go = true;
    proceed.notify();
    co_await calls.wait();
    EXPECT_EQ(source.acquired, 2u);
    EXPECT_EQ(reply_b.response["result"]["content"][0]["text"], "done") << reply_b.response.dump();
    a.reset();
    b.reset();
    co_await h.remove_upstream(shared);
  });
}

TEST(session_lease, uris_in_a_sampling_request_are_the_clients_and_come_back_as_the_servers) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    fake_upstream shared(ex, "everything");
    shared.set_tools({tool("ask")});
    fake_source source(ex, "everything");
    source.setup = [&](fake_upstream& up) {
      up.on_request = [&, &up = up](std::string method, json) -> task<rpc_result<json>> {
        if (method != "tools/call") co_return json::object();
        up.push(jsonrpc::make_request(1, "sampling/createMessage", J(R"({"messages": [
          {"role": "user", "content": {"type": "resource_link", "uri": "test://doc", "name": "doc"}},
          {"role": "user", "content": [{"type": "text", "text": "test://doc stays text"},
                                       {"type": "resource", "resource": {"uri": "test://embedded", "text": "x"}}]}],
          "maxTokens": 10})")));
        co_await up.wait_for_responses(1);
        co_return text_result("asked");
      };
    };
    h.add_upstream(shared, "local_everything", false, &source);
    recording_client c(ex);
    auto s = h.open_session(c, session_options{});
    CALL(init, *s, 1, "initialize", R"({"capabilities": {"sampling": {}}})");
    recording_reply reply(ex);
    p2p::task_group calls(ex);
    json m = request(2, "tools/call", J(R"({"name": "local_everything_ask"})"));
    calls.spawn(s->handle(std::move(m), &reply), "call");
    co_await reply.wait_related(1);
    const json& asked = reply.related[0];
    EXPECT_EQ(asked["params"]["messages"][0]["content"]["uri"], "p2pmcp://local_everything/test://doc");
    EXPECT_EQ(asked["params"]["messages"][1]["content"][0]["text"], "test://doc stays text");
    EXPECT_EQ(asked["params"]["messages"][1]["content"][1]["resource"]["uri"], "p2pmcp://local_everything/test://embedded");
    // The client quotes the URI it was given: the server gets its own back.
    json answer = jsonrpc::make_result_response(asked["id"], J(R"({"role": "assistant", "model": "m",
      "content": {"type": "resource_link", "uri": "p2pmcp://local_everything/test://doc", "name": "doc"}})"));
    co_await s->handle(std::move(answer), nullptr);
    co_await calls.wait();
    EXPECT_EQ(source.upstreams.size(), 1u);
    if (!source.upstreams.empty()) {
      const auto& responses = source.upstreams[0]->responses;
      EXPECT_EQ(responses.size(), 1u);
      if (!responses.empty()) { EXPECT_EQ(responses[0]["result"]["content"]["uri"], "test://doc"); }
    }
    s.reset();
    co_await h.remove_upstream(shared);
  });
}

TEST(session_lease, removing_an_upstream_ends_every_lease_of_it_first) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    fake_upstream shared(ex, "everything");
    shared.set_tools({tool("work")});
    fake_source source(ex, "everything");
    p2p::signal arrived(ex);
    bool in = false;
    source.setup = [&](fake_upstream& up) {
      up.on_request = [&, &up = up](std::string method, json) -> task<rpc_result<json>> {
        if (method != "tools/call") co_return json::object();
        in = true;
        arrived.notify();
        for (;;) co_await arrived.wait();  // until cancelled
      };
    };
    h.add_upstream(shared, "local_everything", false, &source);
    recording_client c1(ex), c2(ex), c3(ex);
    auto s1 = h.open_session(c1, {});
    auto s2 = h.open_session(c2, {});
    session_options peer;
    peer.only = &shared;
    auto s3 = h.open_session(c3, peer);
    CALL(init1, *s1, 1, "initialize", "{}");
    CALL(init2, *s2, 1, "initialize", "{}");
    CALL(read2, *s2, 2, "resources/read", R"({"uri": "p2pmcp://local_everything/test://r"})");
    CALL(read3, *s3, 1, "resources/read", R"({"uri": "test://r"})");
    recording_reply reply(ex);
    p2p::task_group calls(ex);
    json m = request(3, "tools/call", J(R"({"name": "local_everything_work"})"));
    calls.spawn(s1->handle(std::move(m), &reply), "call");
    while (!in) co_await arrived.wait();
    EXPECT_EQ(source.acquired, 3u);
    EXPECT_EQ(source.leased(), 3u);

    co_await h.remove_upstream(shared);
    // Every lease was destroyed before remove_upstream completed.
    EXPECT_EQ(source.destroyed, 3u);
    EXPECT_EQ(h.lease_count(), 0u);
    co_await calls.wait();
    EXPECT_EQ(reply.response["error"]["code"], codes::connection_closed);
    // Sessions that saw it hear that the tools changed; the one showing only it is closed.
    while (c1.posted.empty() || c2.posted.empty()) co_await c1.signal.wait();
    EXPECT_EQ(c1.posted.back()["method"], "notifications/tools/list_changed");
    CALL(closed3, *s3, 2, "ping", "{}");
    EXPECT_EQ(closed3["error"]["message"], "the session is closed");
    s1.reset();
    s2.reset();
    s3.reset();
  });
}

TEST(session_lease, stopping_the_hub_ends_every_lease) {
  run([](asio::any_io_executor ex) -> task<void> {
    hub h(ex);
    p2p::task_group tasks(ex);
    tasks.spawn(h.run(), "hub");
    fake_upstream shared(ex, "everything");
    shared.set_tools({tool("work")});
    fake_source source(ex, "everything");
    h.add_upstream(shared, "local_everything", false, &source);
    recording_client client(ex);
    auto s = h.open_session(client, {});
    CALL(called, *s, 1, "tools/call", R"({"name": "local_everything_work"})");
    EXPECT_EQ(source.leased(), 1u);
    h.stop();
    co_await tasks.wait();
    EXPECT_EQ(source.destroyed, 1u);
    CALL(refused, *s, 2, "resources/read", R"({"uri": "p2pmcp://local_everything/test://r"})");
    EXPECT_EQ(refused["error"]["message"], "the p2pmcp node is stopping");
    s.reset();
  });
}

TEST(session_lease, each_peer_stream_to_a_server_with_a_source_gets_its_own_upstream) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    fake_upstream shared(ex, "everything");
    shared.set_tools({tool("echo")});
    fake_source source(ex, "everything");
    source.setup = [&](fake_upstream& up) {
      up.on_request = [&, &up = up](std::string method, json) -> task<rpc_result<json>> {
        if (method == "tools/call") {
          up.push(asking(9, "elicitation/create", up.name()));
          co_await up.wait_for_responses(1);
        }
        co_return text_result(method + " at " + up.name());
      };
    };
    h.add_upstream(shared, "local_everything", false, &source);
    recording_client c1(ex), c2(ex);
    session_options o1, o2;
    o1.only = o2.only = &shared;
    o1.label = "peer A";
    o2.label = "peer B";
    auto s1 = h.open_session(c1, o1);
    auto s2 = h.open_session(c2, o2);
    // initialize acquires each session's own upstream at once (with the client's hello);
    // tools/list is the shared upstream's cached list.
    CALL(init1, *s1, 1, "initialize", R"({"protocolVersion": "2025-06-18", "capabilities": {"elicitation": {}}})");
    CALL(init2, *s2, 1, "initialize", R"({"protocolVersion": "2025-06-18", "capabilities": {"elicitation": {}}})");
    EXPECT_EQ(init1["result"]["serverInfo"]["name"], "fake");
    EXPECT_EQ(source.acquired, 2u);
    CALL(listed, *s1, 2, "tools/list", "{}");
    EXPECT_EQ(listed["result"]["tools"][0]["name"], "echo");

    recording_reply r1(ex), r2(ex);
    p2p::task_group calls(ex);
    json m1 = request(3, "tools/call", J(R"({"name": "echo"})"));
    json m2 = request(3, "tools/call", J(R"({"name": "echo"})"));
    calls.spawn(s1->handle(std::move(m1), &r1), "peer A call");
    calls.spawn(s2->handle(std::move(m2), &r2), "peer B call");
    co_await r1.wait_related(1);
    co_await r2.wait_related(1);
    EXPECT_EQ(source.asked_by, (std::vector<std::string>{"peer A", "peer B"}));
    EXPECT_EQ(r1.related[0]["params"]["message"], "everything#1");
    EXPECT_EQ(r2.related[0]["params"]["message"], "everything#2");
    json a1 = jsonrpc::make_result_response(r1.related[0]["id"], J(R"({"action": "cancel"})"));
    json a2 = jsonrpc::make_result_response(r2.related[0]["id"], J(R"({"action": "cancel"})"));
    co_await s1->handle(std::move(a1), nullptr);
    co_await s2->handle(std::move(a2), nullptr);
    co_await calls.wait();
    EXPECT_EQ(r1.response["result"]["content"][0]["text"], "tools/call at everything#1");
    EXPECT_EQ(r2.response["result"]["content"][0]["text"], "tools/call at everything#2");
    // Methods the hub does not know reach the session's own upstream; lists too, now.
    CALL(custom, *s1, 4, "vendor/thing", "{}");
    EXPECT_EQ(custom["result"]["content"][0]["text"], "vendor/thing at everything#1");
    CALL(prompts1, *s1, 5, "prompts/list", "{}");
    EXPECT_EQ(prompts1["result"]["content"][0]["text"], "prompts/list at everything#1");
    EXPECT_EQ(source.acquired, 2u);
    EXPECT_EQ(count_method(shared, "prompts/list"), 0u);
    EXPECT_TRUE(c1.posted.empty());
    EXPECT_TRUE(c2.posted.empty());
    s1.reset();
    s2.reset();
    co_await h.remove_upstream(shared);
    EXPECT_EQ(source.destroyed, 2u);
  });
}

TEST(session_lease, a_single_server_session_negotiates_with_its_own_upstream_at_initialize) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    fake_upstream shared(ex, "everything");
    shared.set_negotiated("2025-11-25", J(R"({"name": "shared one", "version": "1"})"));
    fake_source source(ex, "everything");
    // The server answers the version it speaks, with its own serverInfo and instructions.
    source.setup = [&](fake_upstream& up) {
      up.set_negotiated("2025-03-26", J(R"({"name": "everything-server", "version": "2.0"})"), "read me");
      up.capabilities_ = J(R"({"prompts": {}, "logging": {}})");
    };
    h.add_upstream(shared, "local_everything", false, &source);
    recording_client c(ex);
    session_options o;
    o.only = &shared;
    o.label = "gateway session 1";
    auto s = h.open_session(c, o);
    CALL(init, *s, 1, "initialize",
         R"({"protocolVersion": "2025-06-18", "capabilities": {"elicitation": {"form": {}}, "x-vendor": {"b": 1, "a": 2}}})");
    EXPECT_EQ(source.acquired, 1u);
    // The client's hello reached the source unchanged ...
    EXPECT_EQ(source.hellos.size(), 1u);
    if (source.hellos.size() == 1) {
      EXPECT_EQ(source.hellos[0].protocol_version, "2025-06-18");
      EXPECT_EQ(source.hellos[0].capabilities.dump(), R"({"elicitation":{"form":{}},"x-vendor":{"b":1,"a":2}})");
    }
    // ... and the client got its own upstream's answer, not the shared one's.
    EXPECT_EQ(init["result"]["protocolVersion"], "2025-03-26");
    EXPECT_EQ(init["result"]["serverInfo"]["name"], "everything-server");
    EXPECT_EQ(init["result"]["instructions"], "read me");
    EXPECT_TRUE(init["result"]["capabilities"].contains("logging"));
    EXPECT_TRUE(init["result"]["capabilities"]["tools"]["listChanged"].get<bool>());
    EXPECT_TRUE(s->initialized());
    s.reset();
    co_await h.remove_upstream(shared);
    EXPECT_EQ(source.destroyed, 1u);
  });
}

TEST(session_lease, an_own_upstream_that_cannot_start_fails_initialize_and_is_given_up) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    fake_upstream shared(ex, "everything");
    fake_source source(ex, "everything");
    source.setup = [&](fake_upstream& up) { up.set_available(false); };  // "peer gone"
    h.add_upstream(shared, "local_everything", false, &source);
    recording_client c(ex);
    session_options o;
    o.only = &shared;
    auto s = h.open_session(c, o);
    CALL(init, *s, 1, "initialize", R"({"protocolVersion": "2025-06-18", "capabilities": {}})");
    EXPECT_EQ(init["error"]["code"], codes::connection_closed);
    EXPECT_EQ(init["error"]["message"], "peer gone");
    EXPECT_FALSE(s->initialized());
    co_await source.wait_destroyed(1);
    // Trying again starts afresh.
    source.setup = nullptr;
    CALL(again, *s, 2, "initialize", R"({"protocolVersion": "2025-06-18", "capabilities": {}})");
    EXPECT_EQ(again["result"]["protocolVersion"], "2025-06-18");
    EXPECT_EQ(source.acquired, 2u);
    s.reset();
    co_await h.remove_upstream(shared);
  });
}

TEST(session_lease, an_aggregated_session_gives_its_own_upstreams_the_clients_hello) {
  with_hub([](asio::any_io_executor ex, hub& h) -> task<void> {
    fake_upstream shared(ex, "everything");
    shared.set_tools({tool("echo")});
    fake_source source(ex, "everything");
    h.add_upstream(shared, "local_everything", false, &source);
    recording_client c(ex);
    auto s = h.open_session(c, session_options{});
    CALL(init, *s, 1, "initialize", R"({"protocolVersion": "2025-03-26", "capabilities": {"sampling": {}}})");
    EXPECT_EQ(init["result"]["protocolVersion"], "2025-03-26");
    EXPECT_EQ(source.acquired, 0u);  // the gateway answers for itself
    CALL(called, *s, 2, "tools/call", R"({"name": "local_everything_echo"})");
    EXPECT_EQ(source.acquired, 1u);
    if (source.hellos.size() == 1) {
      EXPECT_EQ(source.hellos[0].protocol_version, "2025-03-26");
      EXPECT_EQ(source.hellos[0].capabilities, J(R"({"sampling": {}})"));
    }
    s.reset();
    co_await h.remove_upstream(shared);
  });
}

}  // namespace
}  // namespace mcp::hub
