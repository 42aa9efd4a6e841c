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
  // `only`: the upstream of a single-server endpoint, nullptr for the aggregated one.
  http_handler(hub& h, gateway::client_session& client, upstream* only) : link_(client) {
    session_options options;
    options.only = only;
    options.label = "gateway session " + client.id().substr(0, 6);
    if (only) options.label += " (endpoint " + client.endpoint() + ")";
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
    upstream* only = nullptr;
    if (!client.endpoint().empty()) {
      const hub::entry* e = h.find_prefix(client.endpoint());
      if (!e) return nullptr;  // gone since endpoint_check: the transport answers 404
      only = e->up;
    }
    return std::make_unique<http_handler>(h, client, only);
  };
}

std::optional<std::string> check_endpoint(const hub& h, std::string_view name, std::string_view base_path) {
  if (h.find_prefix(name)) return std::nullopt;
  // Say what there is, within reason: a node can reach many servers.
  constexpr std::size_t max_listed = 20;
  std::string listed;
  std::size_t count = 0;
  for (const auto& e : h.upstreams()) {
    if (count++ == max_listed) {
      listed += ", ...";
      break;
    }
    listed += (listed.empty() ? "" : ", ") + std::string(base_path) + "/" + e.prefix;
  }
  std::string shown;
  for (char c : name.substr(0, 100)) shown += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  return "Not Found: this gateway reaches no MCP server named '" + shown + "'; " + std::string(base_path) +
         "/<alias>_<server> shows one server (<alias>: local, or the peer's alias as `p2pmcp peers` "
         "shows it)" + (listed.empty() ? std::string(", and there is none now") : "; there are: " + listed) +
         "; " + std::string(base_path) + " shows them all";
}

void route_endpoints(gateway::http_server_config& config, const hub& h) {
  config.endpoint_check = [&h, base = config.path](std::string_view name) { return check_endpoint(h, name, base); };
}

}  // namespace mcp::hub
