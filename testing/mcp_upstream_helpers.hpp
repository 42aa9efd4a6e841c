// Small helpers for tests of MCP upstreams and their sources (stdio_server, stdio_pool,
// remote_server, remote_source): running one under a watchdog, a tools/call, the text of its
// first content item, the cached tool names, waiting for a tool count, building json.
#pragma once

#include "mcp/server/rpc_upstream.hpp"

#include "p2p/core/task_group.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace mcp::testing {

using mcp::server::json;
using mcp::server::rpc_result;

// Runs `body()` while `unit.run()` runs; then stops the unit and waits for run() to end.
// Watchdogs turn a hang into a failure instead of a stuck test binary: 60 s for the body,
// 30 s for run() to return after stop() (then it is cancelled).
template <class Unit, class Body>
p2p::task<void> while_running(Unit& unit, const char* name, Body body) {
  using namespace boost::asio::experimental::awaitable_operators;
  namespace asio = boost::asio;
  auto executor = co_await asio::this_coro::executor;
  p2p::task_group tasks(executor);
  tasks.spawn(unit.run(), name);
  asio::steady_timer watchdog(executor, std::chrono::seconds(60));
  auto outcome = co_await (body() || watchdog.async_wait(asio::use_awaitable));
  if (outcome.index() == 1) ADD_FAILURE() << "the test body did not finish within 60 s";
  unit.stop();
  asio::steady_timer stop_watchdog(executor, std::chrono::seconds(30));
  auto stopped = co_await (tasks.wait() || stop_watchdog.async_wait(asio::use_awaitable));
  if (stopped.index() == 1) {
    ADD_FAILURE() << name << " did not return within 30 s of stop()";
    tasks.cancel_all();
    co_await tasks.wait();
  }
}

// Braced json lists in a statement with co_await trip g++ 12 ("array used as
// initializer"), so tests build their json with these.
inline json j(std::string_view text) { return json::parse(text); }
inline json arg(std::string key, json value) {
  json object = json::object();
  object[std::move(key)] = std::move(value);
  return object;
}

inline bool starts_with(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

inline p2p::task<rpc_result<json>> call_tool(mcp::server::rpc_upstream& server, std::string name,
                                             json arguments = json::object(),
                                             p2p::duration timeout = std::chrono::seconds(10)) {
  // Built before the co_await: g++ 12 miscompiles braced json lists inside it.
  json params = json::object();
  params["name"] = std::move(name);
  params["arguments"] = std::move(arguments);
  co_return co_await server.request("tools/call", std::move(params), timeout);
}

inline std::string text_of(const rpc_result<json>& result) {
  if (!result) return "error: " + result.error().message;
  return (*result)["content"][0]["text"].get<std::string>();
}

inline std::vector<std::string> tool_names(const mcp::server::rpc_upstream& server) {
  std::vector<std::string> names;
  for (auto& tool : server.tools()) names.push_back(tool["name"]);
  return names;
}

inline p2p::task<void> wait_for_tools(mcp::server::rpc_upstream& server, std::size_t count) {
  while (server.tools().size() != count && server.state() != mcp::server::server_state::stopped)
    co_await server.tools_changed(server.tools_version());
}

}  // namespace mcp::testing
