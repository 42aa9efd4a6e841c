// The Beast/Asio shell of the MCP Streamable HTTP server: the public http_server, the
// accept loop, one coroutine per connection reading requests, and the routing of a request
// to the POST (post_exchange.cpp), GET (standalone_stream.cpp) or DELETE handling. The
// session table is in session_table.cpp.
#include "mcp/gateway/http/http_server.hpp"

#include "mcp/gateway/http/server_state.hpp"

#include "p2p/core/log.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>

#include <array>

namespace mcp::gateway {
namespace detail {
namespace {

using namespace asio::experimental::awaitable_operators;

constexpr std::string_view allowed_request_headers =
    "Content-Type, Accept, Authorization, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID";

}  // namespace
}  // namespace detail

using detail::component;
using detail::errc;
using detail::server_state;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

p2p::result<std::unique_ptr<http_server>> http_server::open(asio::any_io_executor executor,
                                                            http_server_config config,
                                                            handler_factory factory,
                                                            p2p::clock& clock, p2p::random& random) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(config.address, ec);
  if (ec) return errc::invalid_argument;
  auto state = std::make_unique<server_state>(executor, std::move(config), std::move(factory), clock, random);
  const tcp::endpoint endpoint{address, state->config.port};
  state->acceptor.open(endpoint.protocol(), ec);
  if (ec) return ec;
  state->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return ec;
  state->acceptor.bind(endpoint, ec);
  if (ec) return ec;
  state->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return ec;
  state->port = state->acceptor.local_endpoint(ec).port();
  if (ec) return ec;
  if (!address.is_loopback()) {
    p2p::log::warn(component,
                   "MCP endpoint bound to {}, not loopback: anyone who can reach it can use this "
                   "node's tools (the MCP specification asks to bind to 127.0.0.1 locally)",
                   state->config.address);
  }
  return std::unique_ptr<http_server>(new http_server(std::move(state)));
}

http_server::http_server(std::unique_ptr<server_state> state) : impl_(std::move(state)) {}
http_server::~http_server() = default;

std::uint16_t http_server::port() const noexcept { return impl_->port; }
task<void> http_server::run() { return impl_->run(); }
void http_server::stop() { impl_->stop(); }
std::size_t http_server::expire_idle_sessions() { return impl_->expire_idle_sessions(); }
std::size_t http_server::session_count() const noexcept { return impl_->sessions.size(); }
std::size_t http_server::open_sse_streams() const noexcept { return impl_->sse_streams; }
std::size_t http_server::connection_count() const noexcept { return impl_->connections.size(); }

namespace detail {

task<void> server_state::run() {
  running = true;
  p2p::log::info(component, "MCP endpoint listening on http://{}:{}{}", config.address, port,
                 config.path);
  tasks.spawn(sweep_loop(), "mcp-http session sweeper");
  co_await accept_loop();
  stop();
  // Grace period for in-flight replies (their sessions were just closed, so handlers
  // are winding down), then cancel whatever still runs.
  asio::steady_timer grace(executor, config.shutdown_grace);
  co_await (tasks.wait() || grace.async_wait(use_tuple));
  if (tasks.size() > 0) {
    p2p::log::debug(component, "cancelling {} tasks after the shutdown grace period", tasks.size());
    tasks.cancel_all();
    for (connection* conn : connections) conn->close();
    co_await tasks.wait();
  }
}

void server_state::stop() {
  if (stopping) return;
  stopping = true;
  beast::error_code ignored;
  acceptor.close(ignored);
  sweep_timer.cancel();
  while (!sessions.empty()) close_session(*sessions.begin()->second, close_reason::shutdown);
  for (connection* conn : connections) {
    if (conn->idle) conn->close();
  }
}

task<void> server_state::accept_loop() {
  while (!stopping) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (ec) {
      if (stopping || ec == asio::error::operation_aborted) break;
      // Out of descriptors and the like: log, breathe, keep serving.
      p2p::log::warn(component, "accepting a connection failed: {}", ec.message());
      asio::steady_timer pause(executor, std::chrono::milliseconds(100));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    tasks.spawn(serve_connection(std::move(socket)), "mcp-http connection");
  }
}

task<void> server_state::sweep_loop() {
  while (!stopping) {
    sweep_timer.expires_after(config.expiry_check_interval);
    co_await sweep_timer.async_wait(use_tuple);
    if (stopping) break;
    expire_idle_sessions();
  }
}

task<bool> server_state::write_error(connection& conn, const http_error& error,
                                     const checked_head* head, unsigned version, bool keep_alive,
                                     const session_state* session) {
  http::response<http::string_body> response{static_cast<http::status>(error.status), version};
  add_common_headers(response, head);
  if (!error.allow.empty()) response.set(http::field::allow, error.allow);
  if (session && !session->closed_) response.set("Mcp-Session-Id", session->id_);
  response.set(http::field::content_type, "application/json");
  response.body() = error_body(error).dump(-1, ' ', false, json::error_handler_t::replace);
  response.keep_alive(keep_alive);
  response.prepare_payload();
  p2p::log::debug(component, "answered {}: {}", error.status, error.message);
  const bool written = co_await write(conn, response);
  co_return written && keep_alive;
}

task<void> server_state::serve_connection(tcp::socket socket) {
  connection conn(std::move(socket));
  connections.insert(&conn);
  struct unregister {
    server_state& server;
    connection& conn;
    ~unregister() { server.connections.erase(&conn); }
  } guard{*this, conn};

  if (connections.size() > config.max_connections) {
    http_error error;
    error.status = 503;
    error.code = jsonrpc::codes::too_many_requests;
    error.message = "Service Unavailable: too many open connections to the MCP gateway (limit " +
                    std::to_string(config.max_connections) + "); close unused ones and retry";
    co_await write_error(conn, error, nullptr, 11, false);
    conn.close();
    co_return;
  }

  beast::flat_buffer buffer;
  while (!stopping) {
    request_parser parser;
    parser.header_limit(static_cast<std::uint32_t>(config.max_header_size));
    parser.body_limit(config.max_body_size);
    conn.idle = true;
    conn.stream.expires_after(config.read_timeout);
    auto [ec, n] = co_await http::async_read_header(conn.stream, buffer, parser, use_tuple);
    conn.idle = false;
    if (ec) {
      http_error error;
      if (ec == http::error::header_limit) {
        error.status = 431;
        error.message = "Request Header Fields Too Large: the header is over the limit of " +
                        std::to_string(config.max_header_size) + " bytes";
      } else if (ec == http::error::body_limit) {
        // Beast compares Content-Length with the body limit as soon as the header is in.
        error.status = 413;
        error.code = jsonrpc::codes::message_too_large;
        const auto declared = parser.get()[http::field::content_length];
        error.message = "Payload Too Large: the body is " +
                        std::string(declared.data(), declared.size()) +
                        " bytes, over the limit of " + std::to_string(config.max_body_size) +
                        " bytes for one message";
      } else if (is_malformed_request(ec)) {
        error.message = "Bad Request: malformed HTTP request (" + ec.message() + ")";
      } else {
        break;  // closed, reset, timed out, or stopping
      }
      conn.drain_before_close = true;
      co_await write_error(conn, error, nullptr, 11, false);
      break;
    }
    bool keep_alive = false;
    try {
      keep_alive = co_await serve_request(conn, buffer, parser);
    } catch (const std::exception& e) {
      p2p::log::error(component, "serving a request failed: {}", e.what());
    }
    if (!keep_alive) break;
  }
  if (conn.drain_before_close && !stopping) co_await drain(conn);
  conn.close();
}

task<void> server_state::drain(connection& conn) {
  beast::error_code ignored;
  conn.stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  conn.stream.expires_after(std::chrono::seconds(2));
  const std::size_t limit = 2 * config.max_body_size + 1024 * 1024;
  std::array<char, 16 * 1024> scratch;
  for (std::size_t total = 0; total < limit;) {
    auto [ec, n] = co_await conn.stream.async_read_some(asio::buffer(scratch), use_tuple);
    if (ec) break;
    total += n;
  }
}

task<bool> server_state::serve_request(connection& conn, beast::flat_buffer& buffer,
                                       request_parser& parser) {
  const request_head head = detail::head_of(parser);
  const unsigned version = head.version;
  const bool body_follows = (head.content_length && *head.content_length > 0) || head.chunked;
  // After an early refusal the body is still unread: the connection cannot be reused.
  const bool reusable = parser.get().keep_alive() && !body_follows;
  conn.drain_before_close = body_follows;  // cleared once the body has been read
  head_outcome outcome = check_head(head, checks);
  if (outcome.error) co_return co_await write_error(conn, *outcome.error, nullptr, version, reusable);
  const checked_head& checked = outcome.head;

  if (checked.kind == request_kind::preflight) {
    http::response<http::empty_body> response{http::status::no_content, version};
    add_common_headers(response, &checked);
    response.set(http::field::access_control_allow_methods,
                 config.enable_get_stream ? "GET, POST, DELETE, OPTIONS" : "POST, DELETE, OPTIONS");
    response.set(http::field::access_control_allow_headers, allowed_request_headers);
    response.set(http::field::access_control_max_age, "600");
    response.keep_alive(reusable);
    co_return co_await write(conn, response) && reusable;
  }

  if (!checked.endpoint.empty()) {
    if (auto missing = config.endpoint_check(checked.endpoint)) {
      // A session of an endpoint that went away has nothing left to do.
      if (const auto it = sessions.find(checked.session_id);
          it != sessions.end() && it->second->endpoint_ == checked.endpoint) {
        close_session(*it->second, close_reason::closed_by_server);
      }
      http_error error;
      error.status = 404;
      error.message = std::move(*missing);
      co_return co_await write_error(conn, error, &checked, version, reusable);
    }
  }

  std::shared_ptr<session_state> session;
  if (!checked.session_id.empty()) {
    if (const auto it = sessions.find(checked.session_id); it != sessions.end()) session = it->second;
    if (!session || session->endpoint_ != checked.endpoint) {
      http_error error;
      error.status = 404;
      error.message = session ? "Not Found: this Mcp-Session-Id belongs to another MCP endpoint of the "
                                "gateway; send its requests to the URL it was started on"
                              : "Not Found: no MCP session with this Mcp-Session-Id (it ended or never "
                                "existed); start a new one with initialize, without Mcp-Session-Id";
      co_return co_await write_error(conn, error, &checked, version, reusable);
    }
  }

  switch (checked.kind) {
    case request_kind::get:
      co_return co_await serve_get(conn, checked, std::move(session), version);
    case request_kind::delete_: {
      close_session(*session, close_reason::deleted);
      p2p::log::info(component, "session {} ended by the client", session->short_id());
      http::response<http::empty_body> response{http::status::ok, version};
      add_common_headers(response, &checked);
      response.keep_alive(reusable);
      response.prepare_payload();
      co_return co_await write(conn, response) && reusable;
    }
    case request_kind::post:
      co_return co_await serve_post(conn, buffer, parser, checked, std::move(session));
    case request_kind::preflight:
      break;
  }
  co_return false;
}

}  // namespace detail
}  // namespace mcp::gateway
