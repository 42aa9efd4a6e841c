// remote_source against a fake peer on in-memory stream pairs (peer_test_support.hpp):
// each stream the opener makes is served by a small scripted MCP server that names its
// stream in every answer, so a test sees which stream a request went over. Nothing sleeps:
// the tests wait on the fake peer's and the upstreams' own signals.
#include "mcp/peer/remote_source.hpp"

#include "mcp/jsonrpc/message.hpp"
#include "mcp/peer/peer_test_support.hpp"

#include "mcp_upstream_helpers.hpp"
#include "run.hpp"

#include "p2p/core/signal.hpp"
#include "p2p/core/task_group.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace mcp::peer {
namespace {

using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;
using fakes::fake_peer;
using fakes::server_end;
using fakes::text_result;
using mcp::server::server_state;
using mcp::testing::call_tool;
using mcp::testing::text_of;
using mcp::testing::while_running;
using p2p::testing::memory_stream;
using p2p::testing::run;
namespace codes = jsonrpc::codes;

// Answers built outside coroutines (g++ 12 and braced json lists next to co_await).
json initialize_result() {
  return {{"protocolVersion", "2025-11-25"},
          {"capabilities", {{"tools", json::object()}}},
          {"serverInfo", {{"name", "fake-peer"}, {"version", "1"}}}};
}
json no_tools() { return {{"tools", json::array()}}; }

// The peer: serves every stream opened to it, counting opens and ends.
struct serving_peer {
  explicit serving_peer(asio::any_io_executor executor) : peer(executor, {}), changed(peer.changed), tasks(executor) {
    peer.serve_each = [this](std::unique_ptr<memory_stream> s) {
      tasks.spawn(serve(server_end(std::move(s)), peer.opens), "fake peer stream");
    };
  }

  stream_opener opener() { return peer.opener(); }
  int opened() const { return peer.opens; }

  task<void> serve(server_end end, int number) {
    while (auto message = co_await end.read()) {
      if (!message->contains("id") || !message->contains("method")) continue;
      const std::string method = (*message)["method"];
      json result;
      if (method == "initialize") result = initialize_result();
      else if (method == "tools/list") result = no_tools();
      else result = text_result("stream " + std::to_string(number));
      if (!co_await end.answer(*message, std::move(result))) break;
    }
    ++ended;
    changed.notify();
  }

  task<void> wait_until_ended(int count) {
    while (ended < count) co_await changed.wait();
  }

  fake_peer peer;
  int ended = 0;
  p2p::signal& changed;
  p2p::task_group tasks;
};

remote_server_options fast_options() {
  remote_server_options options;
  options.backoff = {10ms, 40ms, 60s};
  options.close_grace = 200ms;
  return options;
}

// Runs `body(source, peer)` with the source running (while_running); then checks every
// lease and stream ended.
template <class Body>
void with_source(remote_source_options options, Body body) {
  run([&](asio::any_io_executor executor) -> task<void> {
    serving_peer peer(executor);
    remote_source source(executor, "files", "peer k3Xq9a", peer.opener(), fast_options(), options);
    co_await while_running(source, "remote_source.run", [&] { return body(source, peer); });
    EXPECT_EQ(source.running(), 0u);
    EXPECT_EQ(source.leased(), 0u);
    // Every stream was closed, so the peer's side ended.
    co_await peer.wait_until_ended(peer.opened());
    co_await peer.tasks.wait();
  });
}

mcp::server::rpc_upstream& upstream_of(mcp::server::upstream_lease& lease) {
  return dynamic_cast<mcp::server::rpc_upstream&>(lease.get());
}

TEST(mcp_remote_source, each_session_gets_a_stream_of_its_own) {
  with_source({}, [](remote_source& source, serving_peer& peer) -> task<void> {
    auto first = source.acquire("gateway session 1", {});
    auto second = source.acquire("gateway session 2", {});
    EXPECT_TRUE(first && second);
    if (!first || !second) co_return;
    EXPECT_EQ(source.leased(), 2u);
    auto& a = upstream_of(**first);
    auto& b = upstream_of(**second);
    EXPECT_EQ(a.name(), "files");
    // Requests made while connecting wait for the session.
    const std::string from_a = text_of(co_await call_tool(a, "echo"));
    const std::string from_b = text_of(co_await call_tool(b, "echo"));
    EXPECT_EQ(peer.opened(), 2);
    EXPECT_NE(from_a, from_b);
    EXPECT_TRUE(from_a == "stream 1" || from_a == "stream 2") << from_a;
    EXPECT_TRUE(from_b == "stream 1" || from_b == "stream 2") << from_b;
    EXPECT_EQ(text_of(co_await call_tool(a, "echo")), from_a);
  });
}

TEST(mcp_remote_source, ending_a_session_closes_its_stream) {
  with_source({}, [](remote_source& source, serving_peer& peer) -> task<void> {
    auto lease = source.acquire("gateway session 1", {});
    EXPECT_TRUE(lease);
    if (!lease) co_return;
    auto& up = upstream_of(**lease);
    EXPECT_TRUE(co_await up.wait_for_state(server_state::ready));
    EXPECT_EQ(peer.ended, 0);
    lease = mcp::server::rpc_error(codes::connection_closed, "session closed");
    EXPECT_EQ(source.leased(), 0u);
    co_await peer.wait_until_ended(1);  // the peer saw its stream end
    EXPECT_EQ(peer.opened(), 1);
  });
}

TEST(mcp_remote_source, refuses_past_the_cap_with_a_sentence) {
  remote_source_options options;
  options.max_sessions = 2;
  with_source(options, [](remote_source& source, serving_peer&) -> task<void> {
    auto first = source.acquire("gateway session 1", {});
    auto second = source.acquire("gateway session 2", {});
    EXPECT_TRUE(first && second);
    auto third = source.acquire("gateway session 3", {});
    EXPECT_FALSE(third);
    if (!third) {
      EXPECT_EQ(third.error().code, codes::too_many_requests);
      EXPECT_EQ(third.error().message,
                "server 'files' on peer k3Xq9a already has 2 sessions of this node's clients, each on a stream of "
                "its own, which is the cap per server of a peer: close a session and try again");
    }
    first = mcp::server::rpc_error(codes::connection_closed, "session closed");
    auto fourth = source.acquire("gateway session 4", {});
    EXPECT_TRUE(fourth);
    co_return;
  });
}

TEST(mcp_remote_source, stopping_the_source_stops_leased_streams_too) {
  run([](asio::any_io_executor executor) -> task<void> {
    serving_peer peer(executor);
    remote_source source(executor, "files", "peer k3Xq9a", peer.opener(), fast_options());
    p2p::task_group tasks(executor);
    tasks.spawn(source.run(), "remote_source.run");
    auto lease = source.acquire("gateway session 1", {});
    EXPECT_TRUE(lease);
    if (!lease) co_return;
    auto& up = upstream_of(**lease);
    EXPECT_TRUE(co_await up.wait_for_state(server_state::ready));
    source.stop();
    co_await tasks.wait();
    EXPECT_EQ(source.running(), 0u);
    EXPECT_EQ(up.state(), server_state::stopped);
    auto late = source.acquire("gateway session 2", {});
    EXPECT_FALSE(late);
    if (!late) {
      EXPECT_EQ(late.error().message, "server 'files' on peer k3Xq9a is stopped");
    }
    lease = mcp::server::rpc_error(codes::connection_closed, "session closed");
    EXPECT_EQ(source.leased(), 0u);
    co_await peer.wait_until_ended(1);
    co_await peer.tasks.wait();
  });
}

}  // namespace
}  // namespace mcp::peer
