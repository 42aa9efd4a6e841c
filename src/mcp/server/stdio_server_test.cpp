// stdio_server against a real child: testdata/fake_mcp_server.cpp. Nothing sleeps; the
// tests wait on the server's own events (state, tools, queue, responses). Timeouts in
// tests are short only where a timeout is what is tested.
#include "mcp/server/stdio_server.hpp"

#include "mcp/jsonrpc/message.hpp"

#include "mcp_upstream_helpers.hpp"
#include "run.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <signal.h>

#include <cerrno>

namespace mcp::server {
namespace {

using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;
using mcp::testing::while_running;
using p2p::testing::run;

server_spec fake(std::vector<std::string> args = {}) {
  server_spec spec;
  spec.name = "fake";
  spec.command = MCP_FAKE_SERVER_PATH;
  spec.args = std::move(args);
  return spec;
}

stdio_server_options fast_options() {
  stdio_server_options options;
  options.backoff = {10ms, 40ms, 60s};
  options.stop_grace = 2s;
  return options;
}

// Runs `body(server)` with the server running (while_running); then checks its child
// is gone.
template <class Body>
void with_server(server_spec spec, stdio_server_options options, Body body) {
  run([&](asio::any_io_executor executor) -> task<void> {
    stdio_server server(executor, spec, options);
    co_await while_running(server, "stdio_server.run", [&] { return body(server); });
    EXPECT_EQ(server.state(), server_state::stopped);
    EXPECT_FALSE(server.pid());
  });
}

using mcp::testing::arg;
using mcp::testing::call_tool;
using mcp::testing::j;
using mcp::testing::starts_with;
using mcp::testing::text_of;
using mcp::testing::tool_names;
using mcp::testing::wait_for_tools;

// ---------------------------------------------------------------------------------

TEST(mcp_stdio_server, runs_the_lifecycle_and_lists_tools_across_pages) {
  stdio_server_options options = fast_options();
  options.capabilities = {{"roots", {{"listChanged", true}}}};
  with_server(fake(), options, [&](stdio_server& server) -> task<void> {
    EXPECT_TRUE(co_await server.wait_for_state(server_state::ready));
    EXPECT_EQ(server.protocol_version(), "2025-11-25");
    EXPECT_EQ(server.server_info()["name"], "fake-mcp-server");
    EXPECT_EQ(server.server_info()["version"], "1.2.3");
    EXPECT_EQ(server.server_capabilities()["tools"]["listChanged"], true);
    EXPECT_EQ(server.instructions(), "for tests only");
    EXPECT_EQ(server.session(), 1u);
    EXPECT_TRUE(server.pid());

    // 16 tools, two per page: eight tools/list calls following nextCursor.
    co_await wait_for_tools(server, 16);
    const std::vector<std::string> expected = {"echo", "crash", "slow", "change_tools", "hang", "cancellations",
                                               "sample", "ping_client", "big", "env", "cwd", "state", "log",
                                               "close_stdout", "params", "form"};
    EXPECT_EQ(tool_names(server), expected);

    // What the server saw: initialize with our clientInfo and capabilities, then
    // notifications/initialized before any other request.
    auto state = co_await call_tool(server, "state");
    EXPECT_TRUE(state);
    if (state) {
      const json& seen = (*state)["structuredContent"];
      EXPECT_EQ(seen["initialized"], true);
      EXPECT_EQ(seen["requestsBeforeInitialized"], 0);
      EXPECT_EQ(seen["protocolVersion"], "2025-11-25");
      EXPECT_EQ(seen["clientInfo"]["name"], "p2pmcp");
      EXPECT_EQ(seen["clientCapabilities"]["roots"]["listChanged"], true);
    }
    EXPECT_EQ(server.queued_messages(), 0u);
  });
}

TEST(mcp_stdio_server, keeps_recent_stderr_lines_cut_and_sanitized) {
  stdio_server_options options = fast_options();
  options.stderr_lines_kept = 3;
  options.max_stderr_line = 40;
  run([&](asio::any_io_executor executor) -> task<void> {
    stdio_server server(executor, fake(), options);
    p2p::task_group tasks(executor);
    tasks.spawn(server.run(), "run");
    EXPECT_TRUE(co_await server.wait_for_state(server_state::ready));
    EXPECT_EQ(text_of(co_await call_tool(server, "log", arg("text", "colour \x1b[31mred"))), "logged");
    EXPECT_EQ(text_of(co_await call_tool(server, "log", arg("text", std::string(100, 'y')))), "logged");
    server.stop();
    co_await tasks.wait();
    // After run() ended stderr has been read to its end: the last three lines.
    const auto& kept = server.recent_stderr();
    EXPECT_EQ(kept.size(), 3u);
    if (kept.size() != 3) co_return;
    EXPECT_EQ(kept[0], "fake_mcp_server: colour ?[31mred");
    EXPECT_EQ(kept[1], "fake_mcp_server: yyyyyyyyyyyyyyyyyyyyyyy [line cut]");
    EXPECT_EQ(kept[2], "fake_mcp_server: stdin closed, exiting");
  });
}

TEST(mcp_stdio_server, negotiates_an_older_version_the_server_prefers) {
  with_server(fake({"--versions=2025-06-18,2025-03-26"}), fast_options(), [](stdio_server& server) -> task<void> {
    EXPECT_TRUE(co_await server.wait_for_state(server_state::ready));
    EXPECT_EQ(server.protocol_version(), "2025-06-18");
    auto state = co_await call_tool(server, "state");
    EXPECT_EQ((*state)["structuredContent"]["protocolVersion"], "2025-06-18");
  });
  stdio_server_options options = fast_options();
  options.protocol_versions = {"2025-03-26"};
  with_server(fake(), options, [](stdio_server& server) -> task<void> {
    EXPECT_TRUE(co_await server.wait_for_state(server_state::ready));
    EXPECT_EQ(server.protocol_version(), "2025-03-26");
  });
}

TEST(mcp_stdio_server, refuses_a_version_it_does_not_speak) {
  stdio_server_options options = fast_options();
  options.backoff = {5s, 5s, 60s};  // stays in restarting while the test looks
  with_server(fake({"--versions=2024-11-05"}), options, [](stdio_server& server) -> task<void> {
    EXPECT_TRUE(co_await server.wait_for_state(server_state::restarting));
    EXPECT_EQ(server.last_error(),
              "MCP server 'fake' wants protocol version 2024-11-05, which p2pmcp does not support (it speaks "
              "2025-11-25, 2025-06-18, 2025-03-26)");
    // Callers are told at once, not kept waiting.
    auto answer = co_await call_tool(server, "echo", arg("text", "hi"));
    EXPECT_FALSE(answer);
    EXPECT_EQ(answer.error().code, jsonrpc::codes::connection_closed);
    EXPECT_TRUE(starts_with(answer.error().message, server.last_error() + "; restarting in ")) << answer.error().message;
    EXPECT_FALSE(server.pid());
  });
}

TEST(mcp_stdio_server, reports_an_initialize_error) {
  stdio_server_options options = fast_options();
  options.backoff = {5s, 5s, 60s};
  with_server(fake({"--init-error"}), options, [](stdio_server& server) -> task<void> {
    EXPECT_TRUE(co_await server.wait_for_state(server_state::restarting));
    EXPECT_EQ(server.last_error(), "MCP server 'fake' refused initialize: Unsupported protocol version (code -32602)");
  });
}

TEST(mcp_stdio_server, calls_tools_and_maps_errors) {
  with_server(fake(), fast_options(), [](stdio_server& server) -> task<void> {
    // A request made while starting waits for ready.
    EXPECT_EQ(server.state(), server_state::starting);
    EXPECT_EQ(text_of(co_await call_tool(server, "echo", arg("text", "hello"))), "hello");

    auto unknown_tool = co_await call_tool(server, "nope");
    EXPECT_FALSE(unknown_tool);
    EXPECT_TRUE(unknown_tool.error().from_server);
    EXPECT_EQ(unknown_tool.error().code, -32602);
    EXPECT_EQ(unknown_tool.error().message, "Unknown tool: nope");
    EXPECT_EQ(unknown_tool.error().to_json(), j(R"({"code":-32602,"message":"Unknown tool: nope"})"));

    auto unknown_method = co_await server.request("resources/list", json::object(), 10s);
    EXPECT_FALSE(unknown_method);
    EXPECT_EQ(unknown_method.error().code, -32601);

    json array_params = json::array();
    array_params.push_back(1);
    auto bad_params = co_await server.request("tools/call", std::move(array_params), 10s);
    EXPECT_FALSE(bad_params);
    EXPECT_FALSE(bad_params.error().from_server);
    EXPECT_EQ(bad_params.error().code, jsonrpc::codes::invalid_params);

    auto initialize = co_await server.request("initialize", json::object(), 10s);
    EXPECT_FALSE(initialize);
    EXPECT_EQ(initialize.error().code, jsonrpc::codes::invalid_request);

    // Many requests at once, answered in any order, each to its caller.
    auto [a, b] = co_await (call_tool(server, "echo", arg("text", "a")) && call_tool(server, "echo", arg("text", "b")));
    EXPECT_EQ(text_of(a), "a");
    EXPECT_EQ(text_of(b), "b");
    EXPECT_TRUE(server.notify("notifications/roots/list_changed"));
  });
}

TEST(mcp_stdio_server, passes_env_and_cwd) {
  auto spec = fake();
  spec.env = {{"FAKE_SETTING", "42"}, {"HOME", "/nowhere"}};
  spec.cwd = "/";
  with_server(spec, fast_options(), [](stdio_server& server) -> task<void> {
    EXPECT_EQ(text_of(co_await call_tool(server, "env", arg("name", "FAKE_SETTING"))), "42");
    EXPECT_EQ(text_of(co_await call_tool(server, "env", arg("name", "HOME"))), "/nowhere");
    // The node's own environment is passed on.
    EXPECT_EQ(text_of(co_await call_tool(server, "env", arg("name", "PATH"))), std::string(::getenv("PATH")));
    EXPECT_EQ(text_of(co_await call_tool(server, "cwd")), "/");
  });
}

TEST(mcp_stdio_server, delivers_progress_notifications) {
  with_server(fake(), fast_options(), [](stdio_server& server) -> task<void> {
    auto answer = co_await server.request(
        "tools/call", j(R"({"name":"slow","arguments":{"steps":3},"_meta":{"progressToken":"tok-1"}})"), 10s);
    EXPECT_EQ(text_of(answer), "done after 3 steps");
    // Written before the response on the same pipe, so queued by now, in order.
    for (int i = 1; i <= 3; ++i) {
      auto message = server.poll_message();
      EXPECT_TRUE(message);
      if (!message) break;
      EXPECT_FALSE(message->is_request());
      EXPECT_EQ(message->method(), "notifications/progress");
      EXPECT_EQ(message->message["params"]["progressToken"], "tok-1");
      EXPECT_EQ(message->message["params"]["progress"], i);
      EXPECT_EQ(message->session, 1u);
    }
    EXPECT_FALSE(server.poll_message());
  });
}

TEST(mcp_stdio_server, bounds_the_message_queue) {
  stdio_server_options options = fast_options();
  options.max_queued_messages = 2;
  with_server(fake(), options, [](stdio_server& server) -> task<void> {
    auto answer = co_await server.request(
        "tools/call", j(R"({"name":"slow","arguments":{"steps":5},"_meta":{"progressToken":7}})"), 10s);
    EXPECT_TRUE(answer);
    EXPECT_EQ(server.queued_messages(), 2u);
    EXPECT_EQ(server.dropped_messages(), 3u);
    auto first = co_await server.next_message();
    EXPECT_EQ(first->message["params"]["progress"], 1);
  });
}

TEST(mcp_stdio_server, times_out_and_cancels_at_the_server) {
  with_server(fake(), fast_options(), [](stdio_server& server) -> task<void> {
    auto answer = co_await call_tool(server, "hang", json::object(), 100ms);
    EXPECT_FALSE(answer);
    EXPECT_EQ(answer.error().code, jsonrpc::codes::request_timeout);
    EXPECT_EQ(answer.error().message, "request tools/call to MCP server 'fake' timed out after 100 ms without a response");

    // A caller that gives up (its coroutine is cancelled) also cancels at the server.
    asio::steady_timer give_up(co_await asio::this_coro::executor, 50ms);
    auto raced = co_await (call_tool(server, "hang") || give_up.async_wait(asio::use_awaitable));
    EXPECT_EQ(raced.index(), 1u);

    auto seen = co_await call_tool(server, "cancellations");
    EXPECT_TRUE(seen);
    const json cancelled = (*seen)["structuredContent"]["cancelled"];
    EXPECT_EQ(cancelled.size(), 2u);
    for (auto& id : cancelled) EXPECT_TRUE(id.is_number_integer());
    EXPECT_EQ(server.state(), server_state::ready);
  });
}

TEST(mcp_stdio_server, restarts_after_a_crash_with_a_clear_error) {
  stdio_server_options options = fast_options();
  options.backoff = {300ms, 1s, 60s};
  with_server(fake(), options, [](stdio_server& server) -> task<void> {
    EXPECT_TRUE(co_await server.wait_for_state(server_state::ready));
    const int first_pid = *server.pid();

    // The pending call fails at once with the reason and the restart delay.
    auto crashed = co_await call_tool(server, "crash", arg("status", 1));
    EXPECT_FALSE(crashed);
    EXPECT_EQ(crashed.error().code, jsonrpc::codes::connection_closed);
    EXPECT_EQ(crashed.error().message,
              "MCP server 'fake' exited with status 1 (last stderr line: \"fake_mcp_server: crashing on purpose\"); "
              "restarting in 300 ms");
    EXPECT_EQ(server.state(), server_state::restarting);
    EXPECT_EQ(server.last_error(),
              "MCP server 'fake' exited with status 1 (last stderr line: \"fake_mcp_server: crashing on purpose\")");

    // During the backoff: an immediate error, not a wait.
    auto during = co_await call_tool(server, "echo", arg("text", "x"));
    EXPECT_FALSE(during);
    EXPECT_TRUE(starts_with(during.error().message, server.last_error() + "; restarting in ")) << during.error().message;
    EXPECT_EQ(server.unavailable_reason(), during.error().message.substr(0, server.unavailable_reason().size()));

    // Then it comes back and works again.
    EXPECT_TRUE(co_await server.wait_for_state(server_state::ready));
    EXPECT_EQ(server.session(), 2u);
    EXPECT_NE(*server.pid(), first_pid);
    EXPECT_EQ(text_of(co_await call_tool(server, "echo", arg("text", "back"))), "back");
    EXPECT_TRUE(server.unavailable_reason().empty());
    EXPECT_FALSE(server.last_error().empty());  // kept for status displays
  });
}

TEST(mcp_stdio_server, backs_off_when_it_keeps_crashing) {
  stdio_server_options options = fast_options();
  options.backoff = {10ms, 20ms, 60s};
  with_server(fake(), options, [](stdio_server& server) -> task<void> {
    for (int round = 0; round < 3; ++round) {
      EXPECT_TRUE(co_await server.wait_for_state(server_state::ready));
      auto crashed = co_await call_tool(server, "crash", arg("status", 2 + round));
      EXPECT_FALSE(crashed);
      EXPECT_TRUE(starts_with(crashed.error().message, "MCP server 'fake' exited with status " + std::to_string(2 + round)))
          << crashed.error().message;
    }
    EXPECT_TRUE(co_await server.wait_for_state(server_state::ready));
    EXPECT_EQ(text_of(co_await call_tool(server, "echo", arg("text", "still here"))), "still here");
    EXPECT_EQ(server.session(), 4u);
  });
}

TEST(mcp_stdio_server, refreshes_tools_on_list_changed) {
  with_server(fake(), fast_options(), [](stdio_server& server) -> task<void> {
    co_await wait_for_tools(server, 16);
    const auto version = server.tools_version();
    EXPECT_EQ(text_of(co_await call_tool(server, "change_tools")), "added extra");
    co_await server.tools_changed(version);
    EXPECT_EQ(server.tools().size(), 17u);
    EXPECT_EQ(server.tools().back()["name"], "extra");
    // The notification is also passed on to the owner.
    auto message = server.poll_message();
    EXPECT_TRUE(message);
    if (message) {
      EXPECT_EQ(message->method(), "notifications/tools/list_changed");
    }

    const auto version2 = server.tools_version();
    EXPECT_EQ(text_of(co_await call_tool(server, "change_tools")), "removed extra");
    co_await server.tools_changed(version2);
    EXPECT_EQ(server.tools().size(), 16u);
  });
}

TEST(mcp_stdio_server, survives_an_oversized_response) {
  stdio_server_options options = fast_options();
  options.max_line_length = 64 * 1024;
  with_server(fake(), options, [](stdio_server& server) -> task<void> {
    auto big = co_await call_tool(server, "big", arg("size", 100000));
    EXPECT_FALSE(big);
    EXPECT_EQ(big.error().code, jsonrpc::codes::message_too_large);
    EXPECT_TRUE(starts_with(big.error().message, "the response to tools/call from MCP server 'fake' was dropped: it is 1"))
        << big.error().message;
    EXPECT_NE(big.error().message.find(" bytes, over the message size limit of 64 KiB"), std::string::npos);
    // The same run goes on.
    EXPECT_EQ(text_of(co_await call_tool(server, "big", arg("size", 1000))), std::string(1000, 'x'));
    EXPECT_EQ(server.session(), 1u);
  });
}

TEST(mcp_stdio_server, tolerates_stdout_noise) {
  with_server(fake({"--noise"}), fast_options(), [](stdio_server& server) -> task<void> {
    EXPECT_EQ(text_of(co_await call_tool(server, "echo", arg("text", "fine"))), "fine");
    EXPECT_EQ(server.session(), 1u);
  });
}

TEST(mcp_stdio_server, relays_server_to_client_requests) {
  with_server(fake(), fast_options(), [](stdio_server& server) -> task<void> {
    auto answer_sampling = [&]() -> task<void> {
      auto request = co_await server.next_message();
      EXPECT_TRUE(request);
      if (!request) co_return;
      EXPECT_TRUE(request->is_request());
      EXPECT_EQ(request->method(), "sampling/createMessage");
      EXPECT_EQ(request->message["id"], "sample-1");
      EXPECT_TRUE(server.respond(*request, j(R"({"role":"assistant","content":{"type":"text","text":"hi!"}})")));
    };
    auto result = co_await (call_tool(server, "sample") && answer_sampling());
    // The answer reaches the server as the client wrote it, member order included.
    EXPECT_EQ(text_of(result), R"({"role":"assistant","content":{"type":"text","text":"hi!"}})");

    // An error answer travels too.
    auto refuse_sampling = [&]() -> task<void> {
      auto request = co_await server.next_message();
      EXPECT_TRUE(request && server.respond_error(*request, -1, "User rejected sampling request"));
    };
    auto refused = co_await (call_tool(server, "sample") && refuse_sampling());
    EXPECT_EQ(text_of(refused), R"(error: {"code":-1,"message":"User rejected sampling request"})");

    // ping from the server is answered here, never queued.
    EXPECT_EQ(text_of(co_await call_tool(server, "ping_client")), "pong {}");
    EXPECT_EQ(server.queued_messages(), 0u);
  });
}

TEST(mcp_stdio_server, answers_to_a_previous_run_are_dropped) {
  stdio_server_options options = fast_options();
  with_server(fake(), options, [](stdio_server& server) -> task<void> {
    auto ask = [&]() -> task<void> { (void)co_await call_tool(server, "sample"); };
    auto take = [&]() -> task<std::optional<server_message>> { co_return co_await server.next_message(); };
    auto request = co_await (ask() || take());
    // The sample call is still pending at the server; crash that run.
    auto crashed = co_await call_tool(server, "crash");
    EXPECT_FALSE(crashed);
    EXPECT_TRUE(co_await server.wait_for_state(server_state::ready));
    EXPECT_EQ(request.index(), 1u);
    if (request.index() == 1 && std::get<1>(request)) {
      EXPECT_FALSE(server.respond(*std::get<1>(request), json::object()));
    } else {
      ADD_FAILURE() << "no sampling request was queued";
    }
  });
}

TEST(mcp_stdio_server, restarts_when_the_server_closes_its_output) {
  stdio_server_options options = fast_options();
  options.backoff = {5s, 5s, 60s};
  options.stop_grace = 100ms;
  // It keeps running with stdout closed and ignores stdin EOF and SIGTERM: SIGKILL.
  with_server(fake({"--ignore-stdin-eof", "--ignore-sigterm"}), options, [](stdio_server& server) -> task<void> {
    EXPECT_EQ(text_of(co_await call_tool(server, "close_stdout")), "closing stdout");
    EXPECT_TRUE(co_await server.wait_for_state(server_state::restarting));
    EXPECT_EQ(server.last_error(), "MCP server 'fake' closed its output and was terminated");
  });
}

TEST(mcp_stdio_server, stop_closes_stdin_and_fails_pending_requests) {
  int pid = -1;
  stdio_server_options options = fast_options();
  with_server(fake(), options, [&](stdio_server& server) -> task<void> {
    EXPECT_TRUE(co_await server.wait_for_state(server_state::ready));
    pid = *server.pid();
    auto stop_soon = [&]() -> task<void> {
      server.stop();
      co_return;
    };
    auto hung = co_await (call_tool(server, "hang") && stop_soon());
    EXPECT_FALSE(hung);
    EXPECT_EQ(hung.error().message, "MCP server 'fake' was stopped");
    auto after = co_await call_tool(server, "echo");
    EXPECT_EQ(after.error().message, "MCP server 'fake' is stopped");
    EXPECT_FALSE(server.notify("notifications/roots/list_changed"));
  });
  // Reaped: no longer our child.
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1);
}

TEST(mcp_stdio_server, stop_escalates_to_sigterm_and_sigkill) {
  for (auto args : {std::vector<std::string>{"--ignore-stdin-eof"},
                    std::vector<std::string>{"--ignore-stdin-eof", "--ignore-sigterm"}}) {
    stdio_server_options options = fast_options();
    options.stop_grace = 50ms;
    int pid = -1;
    with_server(fake(args), options, [&](stdio_server& server) -> task<void> {
      EXPECT_TRUE(co_await server.wait_for_state(server_state::ready));
      pid = *server.pid();
    });
    EXPECT_EQ(::kill(pid, 0), -1);
    EXPECT_EQ(errno, ESRCH);
  }
}

TEST(mcp_stdio_server, cancelling_run_stops_without_grace) {
  run([](asio::any_io_executor executor) -> task<void> {
    stdio_server_options options = fast_options();
    options.stop_grace = 1h;  // would hang the test if honoured
    stdio_server server(executor, fake({"--ignore-stdin-eof", "--ignore-sigterm"}), options);
    p2p::task_group tasks(executor);
    tasks.spawn(server.run(), "run");
    EXPECT_TRUE(co_await server.wait_for_state(server_state::ready));
    tasks.cancel_all();
    co_await tasks.wait();
    EXPECT_EQ(server.state(), server_state::stopped);
    EXPECT_FALSE(server.pid());
  });
}

TEST(mcp_stdio_server, a_missing_command_is_retried_with_a_clear_error) {
  server_spec spec;
  spec.name = "missing";
  spec.command = "no-such-mcp-server-binary";
  stdio_server_options options = fast_options();
  options.backoff = {5s, 5s, 60s};
  with_server(spec, options, [](stdio_server& server) -> task<void> {
    EXPECT_TRUE(co_await server.wait_for_state(server_state::restarting));
    EXPECT_TRUE(starts_with(server.last_error(),
                            "MCP server 'missing' could not be started: command \"no-such-mcp-server-binary\" was not "
                            "found in PATH ("))
        << server.last_error();
    auto answer = co_await call_tool(server, "echo");
    EXPECT_TRUE(starts_with(answer.error().message, server.last_error() + "; restarting in "));
  });
}

TEST(mcp_stdio_server, a_disabled_server_never_starts) {
  auto spec = fake();
  spec.disabled = true;
  with_server(spec, fast_options(), [](stdio_server& server) -> task<void> {
    EXPECT_FALSE(co_await server.wait_for_state(server_state::ready));
    auto answer = co_await call_tool(server, "echo");
    EXPECT_EQ(answer.error().message, "MCP server 'fake' is disabled in the config");
    EXPECT_EQ(server.session(), 0u);
  });
}

TEST(mcp_stdio_server, a_server_without_tools_has_an_empty_list) {
  with_server(fake({"--no-tools"}), fast_options(), [](stdio_server& server) -> task<void> {
    EXPECT_TRUE(co_await server.wait_for_state(server_state::ready));
    EXPECT_TRUE(server.tools().empty());
    EXPECT_EQ(text_of(co_await call_tool(server, "echo", arg("text", "x"))), "x");
  });
}

}  // namespace
}  // namespace mcp::server
