#include "mcp/hub/http_front.hpp"

#include "mcp/jsonrpc/message.hpp"

#include <boost/asio/this_coro.hpp>

namespace mcp::hub {

namespace {

class http_reply final : public reply_sink {
 public:
  explicit http_reply(gateway::response_channel& channel) : channel_(channel) {}
  task<bool> send_related(json message) override {
    if (!channel_.can_stream()) co_return false;
    auto sent = co_await channel_.send(std::move(message));
    co_return static_cast<bool>(sent);
  }
  task<void> respond(json response) override { co_await channel_.respond(std::move(response)); }

 private:
  gateway::response_channel& channel_;
};

class http_link final : public client_link {
 public:
  explicit http_link(gateway::client_session& session) : session_(session) {}
  bool post(json message) override { return session_.post_to_client(std::move(message)); }

 private:
  gateway::client_session& session_;
};

class http_handler final : public gateway::session_handler {
 public:
  http_handler(hub& h, gateway::client_session& client) : link_(client) {
    session_options options;
    options.label = "gateway session " + client.id().substr(0, 6);
    session_ = h.open_session(link_, std::move(options));
  }

  task<void> on_message(json message, gateway::response_channel& channel) override {
    co_await boost::asio::this_coro::throw_if_cancelled(false);
    const bool is_request = jsonrpc::classify(message) == jsonrpc::message_kind::request;
    http_reply reply(channel);
    co_await session_->handle(std::move(message), is_request ? &reply : nullptr);
  }

  void on_close(gateway::close_reason) noexcept override { session_->close(); }

 private:
  http_link link_;
  std::unique_ptr<session> session_;
};

}  // namespace

gateway::handler_factory make_http_front(hub& h) {
  return [&h](gateway::client_session& client) -> std::unique_ptr<gateway::session_handler> {
    return std::make_unique<http_handler>(h, client);
  };
}

}  // namespace mcp::hub
