// stdio_pool against real children: testdata/fake_mcp_server.cpp. Nothing sleeps to
// synchronise: the tests wait on the children's own state events, or poll what the
// pool reports (and whether a pid still exists) with a bounded wait.
#include "mcp/server/stdio_pool.hpp"

#include "mcp/jsonrpc/message.hpp"

#include "mcp_upstream_helpers.hpp"
#include "run.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <signal.h>

#include <cerrno>
#include <functional>
#include <optional>

namespace mcp::server {
namespace {

using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;
using mcp::testing::call_tool;
using mcp::testing::text_of;
using mcp::testing::while_running;
using p2p::testing::run;
namespace codes = jsonrpc::codes;

server_spec fake(std::size_t max_sessions = 16, std::size_t warm_sessions = 1, std::vector<std::string> args = {}) {
  server_spec spec;
  spec.name = "fake";
  spec.command = MCP_FAKE_SERVER_PATH;
  spec.args = std::move(args);
  spec.max_sessions = max_sessions;
  spec.warm_sessions = warm_sessions;
  return spec;
}

stdio_pool_options fast_options() {
  stdio_pool_options options;
  options.server.backoff = {10ms, 40ms, 60s};
  options.server.stop_grace = 2s;
  return options;
}

// Runs `body(pool)` with the pool running (while_running); then checks it let every
// child go.
template <class Body>
void with_pool(server_spec spec, stdio_pool_options options, Body body) {
  run([&](asio::any_io_executor executor) -> task<void> {
    stdio_pool pool(executor, spec, options);
    co_await while_running(pool, "stdio_pool.run", [&] { return body(pool); });
    EXPECT_EQ(pool.children(), 0u);
    EXPECT_EQ(pool.leased(), 0u);
  });
}

// Polls `done` every few milliseconds for at most `limit`: for what the pool reports
// without an event of its own (a warm child became ready, a process is gone).
task<bool> eventually(std::function<bool()> done, duration limit = 20s) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) co_return false;
    timer.expires_after(5ms);
    co_await timer.async_wait(asio::use_awaitable);
  }
  co_return true;
}

bool process_exists(int pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

stdio_server& server_of(upstream_lease& lease) { return dynamic_cast<stdio_server&>(lease.get()); }

// ---------------------------------------------------------------------------------

TEST(mcp_stdio_pool, each_session_gets_a_process_of_its_own) {
  with_pool(fake(), fast_options(), [](stdio_pool& pool) -> task<void> {
    auto first = pool.acquire("session 1", {});
    auto second = pool.acquire("session 2", {});
    EXPECT_TRUE(first && second);
    if (!first || !second) co_return;
    EXPECT_EQ(pool.leased(), 2u);
    stdio_server& a = server_of(**first);
    stdio_server& b = server_of(**second);
    EXPECT_NE(&a, &b);
    EXPECT_TRUE(co_await a.wait_for_state(server_state::ready));
    EXPECT_TRUE(co_await b.wait_for_state(server_state::ready));
    EXPECT_TRUE(a.pid() && b.pid());
    if (a.pid() && b.pid()) { EXPECT_NE(*a.pid(), *b.pid()); }
    EXPECT_EQ(text_of(co_await call_tool(a, "echo", json::parse(R"({"text": "to a"})"))), "to a");
    EXPECT_EQ(text_of(co_await call_tool(b, "echo", json::parse(R"({"text": "to b"})"))), "to b");
    // Both children answered as themselves: the name, spec and subject are the server's.
    EXPECT_EQ(a.name(), "fake");
    EXPECT_EQ(pool.spec().name, "fake");
  });
}

TEST(mcp_stdio_pool, a_warm_process_initializes_with_the_hello_of_the_session_that_takes_it) {
  with_pool(fake(16, 1), fast_options(), [](stdio_pool& pool) -> task<void> {
    // run() fills the pool: one process started ahead of need, waiting for its client.
    EXPECT_TRUE(co_await eventually([&] { return pool.warm_ready() == 1; }));
    EXPECT_EQ(pool.children(), 1u);
    client_hello hello;
    hello.protocol_version = "2025-06-18";
    hello.capabilities = json::parse(R"({"elicitation": {"form": {}}, "x-vendor": {"b": 1, "a": 2}})");
    auto lease = pool.acquire("session 1", hello);
    EXPECT_TRUE(lease);
    if (!lease) co_return;
    stdio_server& server = server_of(**lease);
    const auto pid = server.pid();
    EXPECT_TRUE(pid.has_value());
    // The pool refills in the background: another one is starting already.
    EXPECT_EQ(pool.warm(), 1u);
    EXPECT_EQ(pool.children(), 2u);
    EXPECT_TRUE(co_await server.wait_for_state(server_state::ready));
    EXPECT_EQ(server.pid(), pid);  // the warm process, not a new one
    // The server negotiated with the client's version and saw its capabilities as sent.
    EXPECT_EQ(server.protocol_version(), "2025-06-18");
    auto state = co_await call_tool(server, "state");
    EXPECT_TRUE(state);
    if (state) {
      const json& seen = (*state)["structuredContent"];
      EXPECT_EQ(seen["protocolVersion"], "2025-06-18");
      EXPECT_EQ(seen["clientCapabilities"].dump(), R"({"elicitation":{"form":{}},"x-vendor":{"b":1,"a":2}})");
      EXPECT_EQ(seen["clientInfo"]["name"], "p2pmcp");
    }
    // A session's own child lists no tools (the node serves the catalogue child's list):
    // by now a tools/list sent after initialize would have been answered.
    EXPECT_TRUE(server.tools().empty());
    // A version p2pmcp does not speak: the server is asked for our newest.
    EXPECT_TRUE(co_await eventually([&] { return pool.warm_ready() == 1; }));
    client_hello odd;
    odd.protocol_version = "1999-01-01";
    auto next = pool.acquire("session 2", odd);
    EXPECT_TRUE(next);
    if (!next) co_return;
    EXPECT_TRUE(co_await server_of(**next).wait_for_state(server_state::ready));
    EXPECT_EQ(server_of(**next).protocol_version(), "2025-11-25");
  });
}

TEST(mcp_stdio_pool, without_warm_processes_a_session_waits_for_its_start) {
  with_pool(fake(16, 0), fast_options(), [](stdio_pool& pool) -> task<void> {
    EXPECT_EQ(pool.children(), 0u);
    auto lease = pool.acquire("session 1", {});
    EXPECT_TRUE(lease);
    if (!lease) co_return;
    EXPECT_EQ(pool.children(), 1u);
    EXPECT_EQ(pool.warm(), 0u);
    // A request made while it starts waits for it.
    EXPECT_EQ(text_of(co_await call_tool(server_of(**lease), "echo", json::parse(R"({"text": "hi"})"))), "hi");
  });
}

TEST(mcp_stdio_pool, refuses_past_the_cap_with_a_sentence) {
  with_pool(fake(2, 0), fast_options(), [](stdio_pool& pool) -> task<void> {
    auto first = pool.acquire("session 1", {});
    auto second = pool.acquire("session 2", {});
    EXPECT_TRUE(first && second);
    auto third = pool.acquire("session 3", {});
    EXPECT_FALSE(third);
    if (!third) {
      EXPECT_EQ(third.error().code, codes::too_many_requests);
      EXPECT_EQ(third.error().message,
                "MCP server 'fake' already serves 2 client sessions, each with a process of its own, which is its "
                "cap: close a session, or raise \"maxSessions\" in its mcpServers entry (at most 1024), or set "
                "\"shared\": true if the server keeps no state per client");
      EXPECT_FALSE(third.error().from_server);
    }
    EXPECT_EQ(pool.leased(), 2u);
    // A session that ends makes room.
    first = rpc_error(codes::connection_closed, "gone");
    EXPECT_EQ(pool.leased(), 1u);
    auto again = pool.acquire("session 4", {});
    EXPECT_TRUE(again);
    co_return;
  });
}

TEST(mcp_stdio_pool, ending_a_session_stops_its_process) {
  with_pool(fake(16, 0), fast_options(), [](stdio_pool& pool) -> task<void> {
    auto lease = pool.acquire("session 1", {});
    EXPECT_TRUE(lease);
    if (!lease) co_return;
    stdio_server& server = server_of(**lease);
    EXPECT_TRUE(co_await server.wait_for_state(server_state::ready));
    const auto pid = server.pid();
    EXPECT_TRUE(pid);
    if (!pid) co_return;
    EXPECT_TRUE(process_exists(*pid));
    lease = rpc_error(codes::connection_closed, "session closed");  // destroys the lease
    EXPECT_EQ(pool.leased(), 0u);
    EXPECT_TRUE(co_await eventually([&] { return !process_exists(*pid); })) << "pid " << *pid << " still exists";
    EXPECT_TRUE(co_await eventually([&] { return pool.children() == 0; }));
  });
}

TEST(mcp_stdio_pool, a_process_that_ignores_stdin_close_and_sigterm_is_killed) {
  stdio_pool_options options = fast_options();
  options.server.stop_grace = 50ms;
  with_pool(fake(16, 0, {"--ignore-stdin-eof", "--ignore-sigterm"}), options, [](stdio_pool& pool) -> task<void> {
    auto lease = pool.acquire("session 1", {});
    EXPECT_TRUE(lease);
    if (!lease) co_return;
    EXPECT_TRUE(co_await server_of(**lease).wait_for_state(server_state::ready));
    const auto pid = server_of(**lease).pid();
    EXPECT_TRUE(pid);
    if (!pid) co_return;
    lease = rpc_error(codes::connection_closed, "session closed");
    EXPECT_TRUE(co_await eventually([&] { return !process_exists(*pid); })) << "pid " << *pid << " still exists";
  });
}

TEST(mcp_stdio_pool, warm_processes_left_unused_are_stopped_and_come_back_on_demand) {
  stdio_pool_options options = fast_options();
  options.idle = 1s;
  with_pool(fake(16, 2), options, [](stdio_pool& pool) -> task<void> {
    EXPECT_TRUE(co_await eventually([&] { return pool.warm_ready() == 2; }));
    // Reaped after the idle time, and not started again by themselves.
    EXPECT_TRUE(co_await eventually([&] { return pool.children() == 0; }));
    EXPECT_EQ(pool.warm(), 0u);
    // The next session: a process started for it, and the pool fills up again.
    auto lease = pool.acquire("session 1", {});
    EXPECT_TRUE(lease);
    EXPECT_EQ(pool.warm(), 2u);
    EXPECT_EQ(pool.children(), 3u);
    if (lease) { EXPECT_TRUE(co_await server_of(**lease).wait_for_state(server_state::ready)); }
    // A leased process is never reaped for being idle: only the warm ones go again.
    EXPECT_TRUE(co_await eventually([&] { return pool.children() == 1; }));
    if (lease) { EXPECT_TRUE((*lease)->get().available()); }
  });
}

TEST(mcp_stdio_pool, stopping_the_pool_stops_leased_processes_too) {
  run([](asio::any_io_executor executor) -> task<void> {
    stdio_pool pool(executor, fake(16, 1), fast_options());
    p2p::task_group tasks(executor);
    tasks.spawn(pool.run(), "stdio_pool.run");
    auto lease = pool.acquire("session 1", {});
    EXPECT_TRUE(lease);
    if (!lease) co_return;
    stdio_server& server = server_of(**lease);
    EXPECT_TRUE(co_await server.wait_for_state(server_state::ready));
    pool.stop();
    co_await tasks.wait();
    EXPECT_EQ(pool.children(), 0u);
    // The holder may still look at its (stopped) process until it lets go.
    EXPECT_EQ(server.state(), server_state::stopped);
    EXPECT_FALSE(server.available());
    EXPECT_EQ(pool.leased(), 1u);
    auto late = pool.acquire("session 2", {});
    EXPECT_FALSE(late);
    if (!late) { EXPECT_EQ(late.error().message, "MCP server 'fake' is stopped"); }
    lease = rpc_error(codes::connection_closed, "session closed");
    EXPECT_EQ(pool.leased(), 0u);
  });
}

TEST(mcp_stdio_pool, cancelling_run_kills_the_processes_without_grace) {
  stdio_pool_options options = fast_options();
  options.server.stop_grace = 60s;  // waited out, this test would hit its watchdog
  run([&](asio::any_io_executor executor) -> task<void> {
    stdio_pool pool(executor, fake(16, 1, {"--ignore-stdin-eof", "--ignore-sigterm"}), options);
    p2p::task_group tasks(executor);
    tasks.spawn(pool.run(), "stdio_pool.run");
    auto lease = pool.acquire("session 1", {});
    EXPECT_TRUE(lease);
    if (!lease) co_return;
    EXPECT_TRUE(co_await server_of(**lease).wait_for_state(server_state::ready));
    tasks.cancel_all();
    asio::steady_timer watchdog(executor, 30s);
    auto outcome = co_await (tasks.wait() || watchdog.async_wait(asio::use_awaitable));
    EXPECT_EQ(outcome.index(), 0u) << "run() did not end within 30 s of its cancellation";
    if (outcome.index() != 0) {
      pool.stop();
      co_await tasks.wait();
    }
    EXPECT_EQ(pool.children(), 0u);
  });
}

TEST(mcp_stdio_pool, a_disabled_server_has_no_processes) {
  server_spec spec = fake();
  spec.disabled = true;
  with_pool(spec, fast_options(), [](stdio_pool& pool) -> task<void> {
    EXPECT_EQ(pool.children(), 0u);
    auto lease = pool.acquire("session 1", {});
    EXPECT_FALSE(lease);
    if (!lease) { EXPECT_EQ(lease.error().message, "MCP server 'fake' is disabled in the config"); }
    co_return;
  });
}

TEST(mcp_stdio_pool, shared_and_disabled_servers_need_no_pool) {
  server_spec spec = fake();
  EXPECT_TRUE(uses_pool(spec));
  spec.shared = true;
  EXPECT_FALSE(uses_pool(spec));
  spec.shared = false;
  spec.disabled = true;
  EXPECT_FALSE(uses_pool(spec));
}

}  // namespace
}  // namespace mcp::server
