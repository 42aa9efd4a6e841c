// Fakes for tests of the hub (mcp/hub): an upstream scripted in process, a client and a
// reply stream that record what the hub sends them, and a few helpers to run a hub and
// send it requests. Header-only; used by the hub's test files.
#pragma once

#include "mcp/hub/hub.hpp"
#include "mcp/jsonrpc/message.hpp"

#include "run.hpp"

#include "p2p/core/signal.hpp"
#include "p2p/core/task_group.hpp"

#include <boost/asio/this_coro.hpp>

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <string>
#include <vector>

namespace mcp::hub::fakes {

namespace asio = boost::asio;
using p2p::testing::run;

// An upstream whose requests are answered by a test-supplied coroutine.
class fake_upstream final : public upstream {
 public:
  using handler = std::function<task<rpc_result<json>>(std::string method, json params)>;

  fake_upstream(asio::any_io_executor ex, std::string name) : name_(std::move(name)), signal_(ex) {
    capabilities_ = {{"tools", json::object()}, {"resources", json::object()}, {"prompts", json::object()}};
  }

  const std::string& name() const noexcept override { return name_; }
  bool available() const noexcept override { return available_; }
  std::string unavailable_reason() const override { return available_ || starting_ ? "" : "peer gone"; }
  std::uint64_t state_version() const noexcept override { return state_version_; }
  task<void> state_changed(std::uint64_t seen) override {
    while (state_version_ == seen && !stopped_) {
      co_await signal_.wait();
      const asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
      if (state.cancelled() != asio::cancellation_type::none) co_return;
    }
  }
  const std::string& protocol_version() const noexcept override { return version_; }
  const json& server_info() const noexcept override { return info_; }
  const json& server_capabilities() const noexcept override { return capabilities_; }
  const std::string& instructions() const noexcept override { return instructions_; }

  task<rpc_result<json>> request(std::string method, json params, duration, const std::string* reason) override {
    EXPECT_FALSE(ended) << name_ << ": " << method << " after its lease ended";
    record(method, params);
    cancel_reason = reason;
    if (!available_) co_return rpc_error(-32000, unavailable_reason());
    if (!on_request) co_return json::object();
    co_return co_await on_request(std::move(method), std::move(params));
  }
  bool notify(std::string method, json) override {
    EXPECT_FALSE(ended) << name_ << ": " << method << " after its lease ended";
    notifications.push_back(method);
    return true;
  }
  task<std::optional<server_message>> next_message() override {
    EXPECT_FALSE(ended) << name_ << ": read after its lease ended";
    while (queue_.empty() && !stopped_) {
      co_await signal_.wait();
      const asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
      if (state.cancelled() != asio::cancellation_type::none) co_return std::nullopt;
    }
    if (queue_.empty()) co_return std::nullopt;
    server_message m = std::move(queue_.front());
    queue_.pop_front();
    co_return m;
  }
  bool respond(const server_message& request, json result) override {
    EXPECT_FALSE(ended) << name_ << ": respond after its lease ended";
    responses.push_back({{"id", request.message["id"]}, {"result", result}});
    signal_.notify();
    return true;
  }
  bool respond_error(const server_message& request, int code, std::string message, json) override {
    EXPECT_FALSE(ended) << name_ << ": respond_error after its lease ended";
    responses.push_back({{"id", request.message["id"]}, {"error", {{"code", code}, {"message", message}}}});
    signal_.notify();
    return true;
  }
  const std::vector<json>& tools() const noexcept override { return tools_; }
  std::uint64_t tools_version() const noexcept override { return tools_version_; }
  task<void> tools_changed(std::uint64_t seen) override {
    while (tools_version_ == seen && !stopped_) {
      co_await signal_.wait();
      const asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
      if (state.cancelled() != asio::cancellation_type::none) co_return;
    }
  }

  void record(const std::string& method, const json& params) {
    requests.push_back({{"method", method}, {"params", params}});
  }

  // ---- test controls ----
  void set_tools(std::vector<json> tools) {
    tools_ = std::move(tools);
    ++tools_version_;
    signal_.notify();
  }
  void set_starting() {
    available_ = false;
    starting_ = true;
  }
  void set_ready(json capabilities) {
    capabilities_ = std::move(capabilities);
    set_available(true);
  }
  void set_available(bool a) {
    starting_ = false;
    available_ = a;
    ++state_version_;
    signal_.notify();
  }
  // What initialize would have negotiated.
  void set_negotiated(std::string version, json info, std::string instructions = "") {
    version_ = std::move(version);
    info_ = std::move(info);
    instructions_ = std::move(instructions);
  }
  void push(json message) {
    server_message m;
    m.message = std::move(message);
    queue_.push_back(std::move(m));
    signal_.notify();
  }
  task<void> wait_for_responses(std::size_t n) {
    while (responses.size() < n) co_await signal_.wait();
  }
  void stop() {
    stopped_ = true;
    signal_.notify();
  }

  handler on_request;
  bool ended = false;  // set by a test's lease when it is destroyed: no call may follow
  const std::string* cancel_reason = nullptr;  // of the latest request, while it runs
  std::vector<json> requests;
  std::vector<std::string> notifications;
  std::vector<json> responses;
  json capabilities_;

 private:
  std::string name_;
  bool available_ = true;
  bool starting_ = false;
  bool stopped_ = false;
  std::uint64_t state_version_ = 0;
  std::string version_ = "2025-06-18";
  json info_ = {{"name", "fake"}, {"version", "1"}};
  std::string instructions_;
  std::vector<json> tools_;
  std::uint64_t tools_version_ = 0;
  std::deque<server_message> queue_;
  p2p::signal signal_;
};

// A client that records what the hub sends it.
struct recording_client final : client_link {
  explicit recording_client(asio::any_io_executor ex) : signal(ex) {}
  bool post(json message) override {
    posted.push_back(std::move(message));
    signal.notify();
    return true;
  }
  std::vector<json> posted;
  p2p::signal signal;
};

struct recording_reply final : reply_sink {
  explicit recording_reply(asio::any_io_executor ex) : signal(ex) {}
  task<bool> send_related(json message) override {
    related.push_back(std::move(message));
    signal.notify();
    co_return streams;
  }
  task<void> respond(json r) override {
    response = std::move(r);
    signal.notify();
    co_return;
  }
  task<void> wait_related(std::size_t n) {
    while (related.size() < n) co_await signal.wait();
  }
  bool streams = true;
  std::vector<json> related;
  json response;
  p2p::signal signal;
};

inline json request(int id, std::string method, json params = json::object()) {
  return jsonrpc::make_request(id, std::move(method), std::move(params));
}

inline json J(const char* text) { return json::parse(text); }

inline json tool(std::string name) { return {{"name", std::move(name)}, {"inputSchema", {{"type", "object"}}}}; }

// Runs `body` with a running hub; stops it afterwards.
template <class Body>
void with_hub(Body body) {
  run([&](asio::any_io_executor ex) -> task<void> {
    hub h(ex);
    p2p::task_group tasks(ex);
    tasks.spawn(h.run(), "hub");
    co_await body(ex, h);
    h.stop();
    co_await tasks.wait();
  });
}

inline task<json> call(session& s, json message, asio::any_io_executor ex) {
  recording_reply reply(ex);
  co_await s.handle(std::move(message), &reply);
  co_return reply.response;
}

// g++ 12: no braced json and no class temporaries inside co_await statements, so tests
// build each message first.
#define CALL(result, s, id, method, params_text) \
  json result;                                     \
  {                                                \
    json message_ = request(id, method, J(params_text)); \
    result = co_await call(s, std::move(message_), ex);   \
  }

}  // namespace mcp::hub::fakes
