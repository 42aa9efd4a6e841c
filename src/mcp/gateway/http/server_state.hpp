// Internal: the state of an http_server shared by its source files (http_server.cpp:
// listener, connections, request routing; session_table.cpp: sessions; post_exchange.cpp:
// POST replies; standalone_stream.cpp: GET streams). Pulls in Beast; not part of the API.
#pragma once

#include "mcp/gateway/http/beast_request.hpp"
#include "mcp/gateway/http/http_server.hpp"

#include "p2p/core/task_group.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/write.hpp>

#include <deque>
#include <map>
#include <set>

namespace mcp::gateway::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using p2p::errc;
using p2p::result;

inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
inline constexpr std::string_view component = "mcp-http";

// Wakes one waiting coroutine, or lets it time out. Only one coroutine may wait: a second
// one's expires_* would cancel the first (use p2p::signal for many waiters). A notify
// while nobody waits is lost, so the waiter re-checks its condition before waiting.
class waker {
 public:
  explicit waker(asio::any_io_executor executor) : timer_(std::move(executor)) {}
  // True when notified (or cancelled), false when `timeout` passed.
  task<bool> wait(duration timeout) {
    if (timeout <= duration::zero() || timeout == duration::max()) {
      timer_.expires_at(asio::steady_timer::time_point::max());
    } else {
      timer_.expires_after(timeout);
    }
    auto [ec] = co_await timer_.async_wait(use_tuple);
    co_return ec == asio::error::operation_aborted;
  }
  void notify() noexcept { timer_.cancel(); }

 private:
  asio::steady_timer timer_;
};

// A parse error of Beast's (as opposed to the connection ending or timing out).
inline bool is_malformed_request(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

inline std::string method_of(const json& message) {
  const auto it = message.find("method");
  return it != message.end() && it->is_string() ? it->get<std::string>() : std::string("request");
}

class session_state;
class post_exchange;

// One accepted TCP connection; lives in its serve_connection coroutine.
struct connection {
  explicit connection(tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  bool idle = true;  // waiting for the next request's header (stop() may close it)
  // A request was refused before its body was read: read and drop what the client still
  // sends before closing, so it can read our answer (closing a socket with unread data
  // makes the kernel send RST, which can destroy the answer in flight).
  bool drain_before_close = false;

  void close() noexcept {
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
  }
};

// A GET stream, registered in its session while open.
struct standalone_stream {
  explicit standalone_stream(asio::any_io_executor executor) : wake(std::move(executor)) {}
  waker wake;
};

// The server: listener, limits, the session table and the open connections.
struct server_state {
  server_state(asio::any_io_executor executor_, http_server_config config_, handler_factory factory_,
       p2p::clock& clock_, p2p::random& random_)
      : executor(executor_),
        config(std::move(config_)),
        factory(std::move(factory_)),
        clock(clock_),
        random(random_),
        acceptor(executor_),
        tasks(executor_),
        sweep_timer(executor_) {
    checks.path = config.path;
    checks.sub_endpoints = static_cast<bool>(config.endpoint_check);
    checks.max_body_size = config.max_body_size;
    checks.enable_get_stream = config.enable_get_stream;
    checks.extra_allowed_hosts = config.extra_allowed_hosts;
    checks.protocol_versions = config.protocol_versions;
  }

  // http_server.cpp: the listener, connections, routing a request to its handler.
  task<void> run();
  void stop();
  task<void> accept_loop();
  task<void> sweep_loop();
  task<void> serve_connection(tcp::socket socket);
  task<void> drain(connection& conn);
  // Serves one request whose header is in `parser`; false: close the connection.
  task<bool> serve_request(connection& conn, beast::flat_buffer& buffer,
                           request_parser& parser);
  // Writes a complete response; false on a write error.
  template <class Body>
  task<bool> write(connection& conn, http::response<Body>& response);
  task<bool> write_error(connection& conn, const http_error& error, const checked_head* head,
                         unsigned version, bool keep_alive, const session_state* session = nullptr);

  // post_exchange.cpp: a POST (reads the body, starts sessions on initialize).
  task<bool> serve_post(connection& conn, beast::flat_buffer& buffer,
                        request_parser& parser, const checked_head& head,
                        std::shared_ptr<session_state> session);
  // standalone_stream.cpp: a GET, the session's standalone SSE stream.
  task<bool> serve_get(connection& conn, const checked_head& head,
                       std::shared_ptr<session_state> session, unsigned version);

  // session_table.cpp: the sessions' life.
  std::shared_ptr<session_state> create_session(std::string protocol_version, std::string endpoint);
  void close_session(session_state& session, close_reason reason);
  std::size_t expire_idle_sessions();
  bool evict_least_recently_used();

  asio::any_io_executor executor;
  http_server_config config;
  check_config checks;
  handler_factory factory;
  p2p::clock& clock;
  p2p::random& random;
  tcp::acceptor acceptor;
  p2p::task_group tasks;
  asio::steady_timer sweep_timer;
  std::uint16_t port = 0;
  bool stopping = false;
  bool running = false;
  std::map<std::string, std::shared_ptr<session_state>, std::less<>> sessions;
  std::set<connection*> connections;
  std::size_t sse_streams = 0;
};

class session_state final : public client_session {
 public:
  session_state(server_state& server, std::string id, std::string version, std::string endpoint)
      : server_(server), id_(std::move(id)), version_(std::move(version)), endpoint_(std::move(endpoint)),
        last_active_(server.clock.now()) {}

  const std::string& id() const noexcept override { return id_; }
  const std::string& protocol_version() const noexcept override { return version_; }
  const std::string& endpoint() const noexcept override { return endpoint_; }

  // Queues for the standalone stream (session_table.cpp).
  bool post_to_client(json message) override;
  bool has_standalone_stream() const noexcept override { return standalone_ != nullptr; }
  void close() override { server_.close_session(*this, close_reason::closed_by_server); }

  std::string short_id() const { return id_.substr(0, 8); }
  std::string next_event_id(std::uint64_t stream, std::uint64_t& sequence) {
    return std::to_string(stream) + "-" + std::to_string(++sequence);
  }

  server_state& server_;
  std::string id_;
  std::string version_;
  std::string endpoint_;
  std::unique_ptr<session_handler> handler_;
  bool closed_ = false;
  bool established_ = false;  // initialize answered with a result
  std::size_t in_flight_ = 0;  // HTTP requests being served (open streams included)
  std::size_t sse_streams_ = 0;
  p2p::time_point last_active_;
  std::uint64_t next_stream_ = 1;
  std::deque<json> backlog_;  // for the standalone stream
  standalone_stream* standalone_ = nullptr;
  std::set<post_exchange*> exchanges_;
};

// Marks a session busy for the duration of one HTTP request.
class session_use {
 public:
  explicit session_use(std::shared_ptr<session_state> session) : session_(std::move(session)) {
    if (!session_) return;
    ++session_->in_flight_;
    session_->last_active_ = session_->server_.clock.now();
  }
  ~session_use() {
    if (!session_) return;
    --session_->in_flight_;
    session_->last_active_ = session_->server_.clock.now();
  }
  session_use(const session_use&) = delete;
  session_use& operator=(const session_use&) = delete;

 private:
  std::shared_ptr<session_state> session_;
};

// Headers of every answer: no caching, and the CORS ones for an allowed Origin.
inline void add_common_headers(http::fields& fields, const checked_head* head) {
  fields.set(http::field::cache_control, "no-cache");
  if (head && !head->cors_origin.empty()) {
    fields.set(http::field::access_control_allow_origin, head->cors_origin);
    fields.set(http::field::vary, "Origin");
    fields.set(http::field::access_control_expose_headers, "Mcp-Session-Id");
  }
}

template <class Body>
task<bool> server_state::write(connection& conn, http::response<Body>& response) {
  conn.stream.expires_after(config.write_timeout);
  auto [ec, n] = co_await http::async_write(conn.stream, response, use_tuple);
  conn.stream.expires_never();
  co_return !ec;
}

}  // namespace mcp::gateway::detail
