#include "mcp/gateway/http/http_server.hpp"

#include "mcp/gateway/http/beast_request.hpp"

#include "p2p/core/log.hpp"
#include "p2p/core/signal.hpp"
#include "p2p/core/task_group.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include <deque>
#include <map>
#include <set>

namespace mcp::gateway {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using p2p::errc;
using p2p::result;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view component = "mcp-http";
constexpr std::string_view allowed_request_headers =
    "Content-Type, Accept, Authorization, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID";

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

// Refuses everything: the channel for notifications and responses from the client.
class refusing_channel final : public response_channel {
 public:
  bool can_stream() const noexcept override { return false; }
  task<result<void>> send(json) override { co_return errc::closed; }
  task<result<void>> respond(json) override { co_return errc::closed; }
};

// A parse error of Beast's (as opposed to the connection ending or timing out).
bool is_malformed_request(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

std::string method_of(const json& message) {
  const auto it = message.find("method");
  return it != message.end() && it->is_string() ? it->get<std::string>() : std::string("request");
}

}  // namespace

std::string_view to_string(close_reason reason) noexcept {
  switch (reason) {
    case close_reason::deleted: return "ended by the client (HTTP DELETE)";
    case close_reason::expired: return "expired after being idle";
    case close_reason::evicted: return "closed to make room for a new session (least recently used)";
    case close_reason::closed_by_server: return "closed by the gateway";
    case close_reason::initialize_failed: return "initialize failed";
    case close_reason::shutdown: return "the gateway is shutting down";
  }
  return "closed";
}

// The server's internals; in a named namespace because server_state is declared in the
// header.
namespace detail {

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

  task<void> run();
  void stop();
  task<void> accept_loop();
  task<void> sweep_loop();
  task<void> serve_connection(tcp::socket socket);
  task<void> drain(connection& conn);
  // Serves one request whose header is in `parser`; false: close the connection.
  task<bool> serve_request(connection& conn, beast::flat_buffer& buffer,
                           detail::request_parser& parser);
  task<bool> serve_post(connection& conn, beast::flat_buffer& buffer,
                        detail::request_parser& parser, const checked_head& head,
                        std::shared_ptr<session_state> session);
  task<bool> serve_get(connection& conn, const checked_head& head,
                       std::shared_ptr<session_state> session, unsigned version);
  std::shared_ptr<session_state> create_session(std::string protocol_version, std::string endpoint);
  void close_session(session_state& session, close_reason reason);
  std::size_t expire_idle_sessions();
  bool evict_least_recently_used();

  // Writes a complete response; false on a write error.
  template <class Body>
  task<bool> write(connection& conn, http::response<Body>& response);
  task<bool> write_error(connection& conn, const http_error& error, const checked_head* head,
                         unsigned version, bool keep_alive, const session_state* session = nullptr);

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

using server_impl = server_state;

class session_state final : public client_session {
 public:
  session_state(server_impl& server, std::string id, std::string version, std::string endpoint)
      : server_(server), id_(std::move(id)), version_(std::move(version)), endpoint_(std::move(endpoint)),
        last_active_(server.clock.now()) {}

  const std::string& id() const noexcept override { return id_; }
  const std::string& protocol_version() const noexcept override { return version_; }
  const std::string& endpoint() const noexcept override { return endpoint_; }

  bool post_to_client(json message) override {
    if (closed_ || !server_.config.enable_get_stream) return false;
    // The spec allows responses on the GET stream only when resuming, which we do not do.
    const auto kind = jsonrpc::classify(message);
    if (kind != jsonrpc::message_kind::request && kind != jsonrpc::message_kind::notification) {
      p2p::log::warn(component, "session {}: refused to post a {} to the client's standalone stream",
                     short_id(), kind == jsonrpc::message_kind::response ? "response" : "invalid message");
      return false;
    }
    if (backlog_.size() >= server_.config.max_queued_messages) {
      p2p::log::warn(component, "session {}: standalone stream queue full ({} messages), dropped {}",
                     short_id(), backlog_.size(), method_of(message));
      return false;
    }
    backlog_.push_back(std::move(message));
    if (standalone_) standalone_->wake.notify();
    return true;
  }
  bool has_standalone_stream() const noexcept override { return standalone_ != nullptr; }
  void close() override { server_.close_session(*this, close_reason::closed_by_server); }

  std::string short_id() const { return id_.substr(0, 8); }
  std::string next_event_id(std::uint64_t stream, std::uint64_t& sequence) {
    return std::to_string(stream) + "-" + std::to_string(++sequence);
  }

  server_impl& server_;
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

namespace {

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

void add_common_headers(http::fields& fields, const checked_head* head) {
  fields.set(http::field::cache_control, "no-cache");
  if (head && !head->cors_origin.empty()) {
    fields.set(http::field::access_control_allow_origin, head->cors_origin);
    fields.set(http::field::vary, "Origin");
    fields.set(http::field::access_control_expose_headers, "Mcp-Session-Id");
  }
}

}  // namespace

// One POST carrying at least one request: collects the handler's messages and answers
// with application/json or an SSE stream.
class post_exchange {
 public:
  class request_channel final : public response_channel {
   public:
    request_channel(post_exchange& exchange, json id, bool is_initialize)
        : exchange_(exchange), id_(std::move(id)), is_initialize_(is_initialize) {}

    bool can_stream() const noexcept override { return !answered_ && exchange_.can_stream(); }
    task<result<void>> send(json message) override {
      if (answered_) co_return errc::closed;
      co_return co_await exchange_.send(std::move(message));
    }
    task<result<void>> respond(json response) override {
      if (answered_) co_return errc::closed;
      const auto id = response.is_object() ? response.find("id") : response.end();
      if (jsonrpc::classify(response) != jsonrpc::message_kind::response || id == response.end() ||
          *id != id_) {
        co_return errc::invalid_argument;
      }
      answered_ = true;
      if (!exchange_.deliver(std::move(response), is_initialize_)) co_return errc::closed;
      co_return result<void>{};
    }

    // For the transport's own answers (handler failed, session closed).
    void answer_with_error(int code, std::string message) {
      if (answered_) return;
      answered_ = true;
      exchange_.deliver(jsonrpc::make_error_response(id_, code, std::move(message)), false);
    }
    bool answered() const noexcept { return answered_; }

   private:
    post_exchange& exchange_;
    json id_;
    bool is_initialize_;
    bool answered_ = false;
  };

  post_exchange(server_impl& server, connection& conn, std::shared_ptr<session_state> session,
                const checked_head& head, const checked_body& body, unsigned version,
                bool keep_alive)
      : server_(server), conn_(conn), session_(std::move(session)), head_(head),
        batch_(body.was_batch), version_(version), keep_alive_(keep_alive),
        wake_(server.executor), space_(server.executor) {
    for (const json& message : body.messages) {
      if (jsonrpc::classify(message) == jsonrpc::message_kind::request) {
        channels_.push_back(std::make_unique<request_channel>(*this, message["id"],
                                                              body.is_initialize));
      } else {
        channels_.push_back(nullptr);
      }
    }
    outstanding_ = body.request_count;
    session_->exchanges_.insert(this);
    // A client that does not take application/json gets a stream even for one response.
    if (!head_.accepts_json) start_stream();
    if (session_->closed_) on_session_closed(close_reason::closed_by_server);
  }
  ~post_exchange() {
    session_->exchanges_.erase(this);
    release_stream();
  }
  post_exchange(const post_exchange&) = delete;
  post_exchange& operator=(const post_exchange&) = delete;

  // Feeds the messages to the handler one after another (a batch in order).
  task<void> run_handlers(std::vector<json> messages) {
    refusing_channel refusing;
    for (std::size_t i = 0; i < messages.size(); ++i) {
      request_channel* channel = channels_[i].get();
      const std::string method = method_of(messages[i]);
      if (channel && channel->answered()) continue;  // session closed meanwhile
      if (session_->closed_) {
        if (channel) channel->answer_with_error(jsonrpc::codes::connection_closed, closed_message());
        continue;
      }
      std::string failure;
      try {
        co_await session_->handler_->on_message(std::move(messages[i]),
                                                channel ? static_cast<response_channel&>(*channel)
                                                        : refusing);
      } catch (const std::exception& e) {
        failure = e.what();
      }
      if (!failure.empty()) {
        p2p::log::error(component, "session {}: handler failed on {}: {}", session_->short_id(),
                        method, failure);
      }
      if (channel && !channel->answered()) {
        channel->answer_with_error(
            jsonrpc::codes::internal_error,
            failure.empty() ? "Internal error: the gateway returned no response to " + method
                            : "Internal error: the gateway failed while handling " + method);
      }
    }
  }

  // Writes the reply: waits for the responses (JSON) or streams (SSE).
  task<void> run_writer() {
    for (;;) {
      if (mode_ == mode::undecided) {
        if (outstanding_ > 0) {
          co_await wake_.wait(duration::max());
          continue;
        }
        mode_ = mode::json;
      }
      if (mode_ == mode::json) {
        co_await write_json();
        co_return;
      }
      if (!header_written_) {
        header_written_ = true;
        if (!co_await write_sse_header()) { fail(); co_return; }
      }
      while (!events_.empty()) {
        std::string event = std::move(events_.front());
        events_.pop_front();
        space_.notify();
        if (!co_await write_chunk(event)) { fail(); co_return; }
      }
      if (outstanding_ == 0) {
        release_stream();  // before the last chunk: the client may act on the end at once
        co_await finish_stream();
        co_return;
      }
      if (!co_await wake_.wait(server_.config.sse_keepalive_interval)) {
        if (!co_await write_chunk(sse_keepalive_comment)) { fail(); co_return; }
      }
    }
  }

  bool keep_alive() const noexcept { return keep_alive_ && !broken_; }

  void on_session_closed(close_reason reason) {
    session_closed_ = true;
    reason_ = reason;
    for (auto& channel : channels_) {
      if (channel) channel->answer_with_error(jsonrpc::codes::connection_closed, closed_message());
    }
    space_.notify();
    wake_.notify();
  }

 private:
  enum class mode { undecided, json, sse };

  std::string closed_message() const {
    return "the MCP session was closed (" + std::string(to_string(reason_)) + ")";
  }

  bool can_stream() const noexcept {
    if (broken_ || session_closed_ || outstanding_ == 0) return false;
    if (mode_ == mode::sse) return true;
    return mode_ == mode::undecided && head_.accepts_sse && stream_slot_free();
  }
  bool stream_slot_free() const noexcept {
    return server_.sse_streams < server_.config.max_sse_streams &&
           session_->sse_streams_ < server_.config.max_sse_streams_per_session;
  }
  bool start_stream() {
    if (!head_.accepts_sse || session_closed_ || !stream_slot_free()) return false;
    mode_ = mode::sse;
    holds_slot_ = true;
    ++server_.sse_streams;
    ++session_->sse_streams_;
    stream_number_ = session_->next_stream_++;
    // Responses already given (earlier requests of a batch) go first on the stream.
    for (const json& response : responses_) {
      events_.push_back(encode_sse_event(session_->next_event_id(stream_number_, sequence_), response));
    }
    responses_.clear();
    wake_.notify();
    return true;
  }
  void release_stream() {
    if (!holds_slot_) return;
    holds_slot_ = false;
    --server_.sse_streams;
    --session_->sse_streams_;
  }

  task<result<void>> send(json message) {
    if (broken_ || session_closed_ || outstanding_ == 0) co_return errc::closed;
    if (mode_ == mode::undecided && !start_stream()) co_return errc::closed;
    if (mode_ != mode::sse) co_return errc::closed;
    while (events_.size() >= server_.config.max_queued_messages && !broken_ && !session_closed_) {
      co_await space_.wait();
    }
    if (broken_ || session_closed_) co_return errc::closed;
    events_.push_back(encode_sse_event(session_->next_event_id(stream_number_, sequence_), message));
    wake_.notify();
    co_return result<void>{};
  }

  // A final response; false when it cannot reach the client any more.
  bool deliver(json response, bool is_initialize) {
    --outstanding_;
    if (is_initialize) {
      const auto outcome = response.find("result");
      if (outcome != response.end()) {
        const auto version = outcome->is_object() ? outcome->find("protocolVersion") : outcome->end();
        if (outcome->is_object() && version != outcome->end() && version->is_string()) {
          session_->version_ = version->get<std::string>();
        }
        session_->established_ = true;
      } else {
        server_.close_session(*session_, close_reason::initialize_failed);
      }
    }
    wake_.notify();
    if (broken_) return false;
    if (mode_ == mode::sse) {
      events_.push_back(encode_sse_event(session_->next_event_id(stream_number_, sequence_), response));
    } else {
      responses_.push_back(std::move(response));
    }
    return true;
  }

  void prepare_headers(http::fields& fields) const {
    add_common_headers(fields, &head_);
    if (!session_->closed_) fields.set("Mcp-Session-Id", session_->id_);
  }

  task<void> write_json() {
    http::response<http::string_body> response{http::status::ok, version_};
    prepare_headers(response);
    response.set(http::field::content_type, "application/json");
    json body = batch_ ? json(std::move(responses_)) : std::move(responses_.front());
    response.body() = body.dump(-1, ' ', false, json::error_handler_t::replace);
    response.keep_alive(keep_alive_);
    response.prepare_payload();
    if (!co_await server_.write(conn_, response)) broken_ = true;
  }

  task<bool> write_sse_header() {
    http::response<http::empty_body> response{http::status::ok, version_};
    prepare_headers(response);
    response.set(http::field::content_type, "text/event-stream");
    if (version_ >= 11) {
      response.chunked(true);
      response.keep_alive(keep_alive_);
    } else {
      keep_alive_ = false;  // HTTP/1.0: the stream ends when the connection closes
      response.keep_alive(false);
    }
    http::response_serializer<http::empty_body> serializer{response};
    conn_.stream.expires_after(server_.config.write_timeout);
    auto [ec, n] = co_await http::async_write_header(conn_.stream, serializer, use_tuple);
    conn_.stream.expires_never();
    co_return !ec;
  }

  task<bool> write_chunk(std::string_view text) {
    conn_.stream.expires_after(server_.config.write_timeout);
    beast::error_code ec;
    if (version_ >= 11) {
      std::tie(ec, std::ignore) = co_await asio::async_write(
          conn_.stream, http::make_chunk(asio::buffer(text.data(), text.size())), use_tuple);
    } else {
      std::tie(ec, std::ignore) =
          co_await asio::async_write(conn_.stream, asio::buffer(text.data(), text.size()), use_tuple);
    }
    conn_.stream.expires_never();
    co_return !ec;
  }

  task<void> finish_stream() {
    if (version_ >= 11) {
      conn_.stream.expires_after(server_.config.write_timeout);
      auto [ec, n] = co_await asio::async_write(conn_.stream, http::make_chunk_last(), use_tuple);
      conn_.stream.expires_never();
      if (ec) broken_ = true;
    }
    release_stream();
  }

  void fail() {
    if (!broken_) {
      p2p::log::debug(component, "session {}: SSE reply broken off by the client",
                      session_->short_id());
    }
    broken_ = true;
    events_.clear();
    release_stream();
    space_.notify();
  }

  server_impl& server_;
  connection& conn_;
  std::shared_ptr<session_state> session_;
  const checked_head& head_;
  bool batch_;
  unsigned version_;
  bool keep_alive_;
  std::vector<std::unique_ptr<request_channel>> channels_;  // per message; null: not a request
  std::size_t outstanding_ = 0;  // responses still owed
  mode mode_ = mode::undecided;
  std::vector<json> responses_;  // JSON mode
  std::deque<std::string> events_;  // SSE mode, encoded, not yet written
  bool header_written_ = false;
  bool holds_slot_ = false;
  bool broken_ = false;
  bool session_closed_ = false;
  close_reason reason_ = close_reason::closed_by_server;
  std::uint64_t stream_number_ = 0;
  std::uint64_t sequence_ = 0;
  waker wake_;         // the writer waits here
  p2p::signal space_;  // senders wait here for queue space
};

}  // namespace detail

using server_impl = detail::server_state;
using detail::connection;
using detail::post_exchange;
using detail::session_state;

// ---------------------------------------------------------------------------------------

p2p::result<std::unique_ptr<http_server>> http_server::open(asio::any_io_executor executor,
                                                            http_server_config config,
                                                            handler_factory factory,
                                                            p2p::clock& clock, p2p::random& random) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(config.address, ec);
  if (ec) return errc::invalid_argument;
  auto state = std::make_unique<server_impl>(executor, std::move(config), std::move(factory), clock, random);
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

http_server::http_server(std::unique_ptr<server_impl> state) : impl_(std::move(state)) {}
http_server::~http_server() = default;

std::uint16_t http_server::port() const noexcept { return impl_->port; }
task<void> http_server::run() { return impl_->run(); }
void http_server::stop() { impl_->stop(); }
std::size_t http_server::expire_idle_sessions() { return impl_->expire_idle_sessions(); }
std::size_t http_server::session_count() const noexcept { return impl_->sessions.size(); }
std::size_t http_server::open_sse_streams() const noexcept { return impl_->sse_streams; }
std::size_t http_server::connection_count() const noexcept { return impl_->connections.size(); }

task<void> server_impl::run() {
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

void server_impl::stop() {
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

task<void> server_impl::accept_loop() {
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

task<void> server_impl::sweep_loop() {
  while (!stopping) {
    sweep_timer.expires_after(config.expiry_check_interval);
    co_await sweep_timer.async_wait(use_tuple);
    if (stopping) break;
    expire_idle_sessions();
  }
}

std::size_t server_impl::expire_idle_sessions() {
  const auto now = clock.now();
  std::vector<std::shared_ptr<session_state>> idle;
  for (const auto& [id, session] : sessions) {
    if (session->in_flight_ == 0 && now - session->last_active_ >= config.session_idle_timeout) {
      idle.push_back(session);
    }
  }
  for (const auto& session : idle) {
    p2p::log::info(component, "session {} expired after being idle", session->short_id());
    close_session(*session, close_reason::expired);
  }
  return idle.size();
}

// Closes the least recently used session that is idle (no request in flight, no open
// stream); false when every session is busy.
bool server_impl::evict_least_recently_used() {
  std::shared_ptr<session_state> oldest;
  for (const auto& [id, session] : sessions)
    if (session->in_flight_ == 0 && (!oldest || session->last_active_ < oldest->last_active_)) oldest = session;
  if (!oldest) return false;
  p2p::log::info(component, "session {} closed to make room for a new one (limit {}; it was the least recently used)",
                 oldest->short_id(), config.max_sessions);
  close_session(*oldest, close_reason::evicted);
  return true;
}

std::shared_ptr<session_state> server_impl::create_session(std::string protocol_version, std::string endpoint) {
  std::string id;
  do {
    id = make_session_id(random);
  } while (sessions.count(id) > 0);
  auto session = std::make_shared<session_state>(*this, id, std::move(protocol_version), std::move(endpoint));
  session->handler_ = factory(*session);
  if (!session->handler_) return nullptr;
  sessions.emplace(std::move(id), session);
  return session;
}

void server_impl::close_session(session_state& session, close_reason reason) {
  if (session.closed_) return;
  session.closed_ = true;
  std::shared_ptr<session_state> keep;  // the map may hold the last reference
  if (const auto it = sessions.find(session.id_); it != sessions.end()) {
    keep = it->second;
    sessions.erase(it);
  }
  session.backlog_.clear();
  for (post_exchange* exchange : std::vector<post_exchange*>(session.exchanges_.begin(),
                                                             session.exchanges_.end())) {
    exchange->on_session_closed(reason);
  }
  if (session.standalone_) session.standalone_->wake.notify();
  p2p::log::debug(component, "session {} closed: {}", session.short_id(), to_string(reason));
  if (session.handler_) session.handler_->on_close(reason);
}

template <class Body>
task<bool> server_impl::write(connection& conn, http::response<Body>& response) {
  conn.stream.expires_after(config.write_timeout);
  auto [ec, n] = co_await http::async_write(conn.stream, response, use_tuple);
  conn.stream.expires_never();
  co_return !ec;
}

task<bool> server_impl::write_error(connection& conn, const http_error& error,
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

task<void> server_impl::serve_connection(tcp::socket socket) {
  connection conn(std::move(socket));
  connections.insert(&conn);
  struct unregister {
    server_impl& server;
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
    detail::request_parser parser;
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

task<void> server_impl::drain(connection& conn) {
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

task<bool> server_impl::serve_request(connection& conn, beast::flat_buffer& buffer,
                                      detail::request_parser& parser) {
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

task<bool> server_impl::serve_post(connection& conn, beast::flat_buffer& buffer,
                                   detail::request_parser& parser, const checked_head& checked,
                                   std::shared_ptr<session_state> session) {
  const unsigned version = parser.get().version();
  session_use use(session);
  conn.stream.expires_after(config.read_timeout);
  auto [ec, n] = co_await http::async_read(conn.stream, buffer, parser, use_tuple);
  conn.stream.expires_never();
  if (!ec) conn.drain_before_close = false;
  if (ec) {
    http_error error;
    if (ec == http::error::body_limit) {
      error.status = 413;
      error.code = jsonrpc::codes::message_too_large;
      error.message = "Payload Too Large: the body is over the limit of " +
                      std::to_string(config.max_body_size) + " bytes for one message";
    } else if (is_malformed_request(ec)) {
      error.message = "Bad Request: malformed HTTP request body (" + ec.message() + ")";
    } else {
      co_return false;
    }
    co_await write_error(conn, error, &checked, version, false);
    co_return false;
  }
  const bool keep_alive = parser.get().keep_alive();

  body_context context;
  context.has_session_header = session != nullptr;
  if (session) context.negotiated_version = session->version_;
  body_outcome body = check_body(parser.get().body(), checked, context, checks);
  if (body.error) co_return co_await write_error(conn, *body.error, &checked, version, keep_alive);

  if (body.body.is_initialize) {
    http_error error;
    error.id = body.body.messages.front()["id"];
    while (sessions.size() >= config.max_sessions && evict_least_recently_used()) {
    }
    if (sessions.size() >= config.max_sessions) {
      error.status = 503;
      error.code = jsonrpc::codes::too_many_requests;
      error.message = "Service Unavailable: all " + std::to_string(sessions.size()) +
                      " MCP sessions of this gateway are busy (a request in flight or a stream open); "
                      "try again when one is done, or raise p2pmcp.gateway.maxSessions";
      co_return co_await write_error(conn, error, &checked, version, keep_alive);
    }
    // Until initialize is answered the session's version is the one the client asks for.
    std::string requested = body.body.protocol_version;
    const json& params = body.body.messages.front().value("params", json::object());
    if (params.is_object() && params.contains("protocolVersion") &&
        params["protocolVersion"].is_string()) {
      requested = params["protocolVersion"].get<std::string>();
    }
    try {
      session = create_session(std::move(requested), checked.endpoint);
    } catch (const std::exception& e) {
      p2p::log::error(component, "creating a session handler failed: {}", e.what());
      session = nullptr;
    }
    if (!session && !checked.endpoint.empty()) {
      // The endpoint went away while the body was read.
      if (auto missing = config.endpoint_check(checked.endpoint)) {
        error.status = 404;
        error.message = std::move(*missing);
        co_return co_await write_error(conn, error, &checked, version, keep_alive);
      }
    }
    if (!session) {
      error.status = 500;
      error.code = jsonrpc::codes::internal_error;
      error.message = "Internal error: the gateway could not start an MCP session";
      co_return co_await write_error(conn, error, &checked, version, keep_alive);
    }
    p2p::log::info(component, "session {} started (protocol {}{}{})", session->short_id(), session->version_,
                   checked.endpoint.empty() ? "" : ", endpoint ", checked.endpoint);
  }
  session_use use_new(body.body.is_initialize ? session : nullptr);

  if (session->closed_) {  // ended while the body was being read
    http_error error;
    error.status = 404;
    error.message = "Not Found: the MCP session ended; start a new one with initialize";
    co_return co_await write_error(conn, error, &checked, version, keep_alive);
  }

  if (body.body.request_count == 0) {
    // Notifications and responses: hand them over in order, then 202 (no body).
    refusing_channel refusing;
    for (json& message : body.body.messages) {
      if (session->closed_) break;
      const std::string method = method_of(message);
      try {
        co_await session->handler_->on_message(std::move(message), refusing);
      } catch (const std::exception& e) {
        p2p::log::error(component, "session {}: handler failed on {}: {}", session->short_id(),
                        method, e.what());
      }
    }
    http::response<http::empty_body> response{http::status::accepted, version};
    add_common_headers(response, &checked);
    response.keep_alive(keep_alive);
    response.prepare_payload();
    co_return co_await write(conn, response) && keep_alive;
  }

  post_exchange exchange(*this, conn, session, checked, body.body, version, keep_alive);
  co_await (exchange.run_handlers(std::move(body.body.messages)) && exchange.run_writer());
  co_return exchange.keep_alive() && !stopping;
}

task<bool> server_impl::serve_get(connection& conn, const checked_head& checked,
                                  std::shared_ptr<session_state> session, unsigned version) {
  std::optional<http_error> refusal;
  if (session->standalone_) {
    http_error& error = refusal.emplace();
    error.status = 409;
    error.message = "Conflict: this session already has an open SSE stream (GET); only one is "
                    "allowed per session";
  } else if (sse_streams >= config.max_sse_streams ||
             session->sse_streams_ >= config.max_sse_streams_per_session) {
    http_error& error = refusal.emplace();
    error.status = 503;
    error.code = jsonrpc::codes::too_many_requests;
    error.message = "Service Unavailable: too many open SSE streams (limit " +
                    std::to_string(config.max_sse_streams) + " in all, " +
                    std::to_string(config.max_sse_streams_per_session) +
                    " per session); close some and retry";
  }
  if (refusal) co_return co_await write_error(conn, *refusal, &checked, version, true);
  if (checked.has_last_event_id) {
    p2p::log::debug(component, "session {}: Last-Event-ID ignored, events are not replayed",
                    session->short_id());
  }

  session_use use(session);
  standalone_stream stream(executor);
  session->standalone_ = &stream;
  ++session->sse_streams_;
  ++sse_streams;
  struct unregister {
    server_impl& server;
    session_state& session;
    ~unregister() {
      session.standalone_ = nullptr;
      --session.sse_streams_;
      --server.sse_streams;
    }
  } guard{*this, *session};

  http::response<http::empty_body> response{http::status::ok, version};
  add_common_headers(response, &checked);
  response.set("Mcp-Session-Id", session->id_);
  response.set(http::field::content_type, "text/event-stream");
  const bool chunked = version >= 11;
  if (chunked) response.chunked(true);
  response.keep_alive(false);  // the stream ends only with the connection
  http::response_serializer<http::empty_body> serializer{response};
  conn.stream.expires_after(config.write_timeout);
  auto [ec, n] = co_await http::async_write_header(conn.stream, serializer, use_tuple);
  conn.stream.expires_never();
  if (ec) co_return false;

  const std::uint64_t stream_number = session->next_stream_++;
  std::uint64_t sequence = 0;
  auto write_text = [&](std::string_view text) -> task<bool> {
    conn.stream.expires_after(config.write_timeout);
    beast::error_code write_ec;
    if (chunked) {
      std::tie(write_ec, std::ignore) = co_await asio::async_write(
          conn.stream, http::make_chunk(asio::buffer(text.data(), text.size())), use_tuple);
    } else {
      std::tie(write_ec, std::ignore) = co_await asio::async_write(
          conn.stream, asio::buffer(text.data(), text.size()), use_tuple);
    }
    conn.stream.expires_never();
    co_return !write_ec;
  };
  auto writer = [&]() -> task<void> {
    for (;;) {
      if (session->closed_ || stopping) {
        if (chunked) {
          conn.stream.expires_after(config.write_timeout);
          co_await asio::async_write(conn.stream, http::make_chunk_last(), use_tuple);
          conn.stream.expires_never();
        }
        co_return;
      }
      if (!session->backlog_.empty()) {
        json message = std::move(session->backlog_.front());
        session->backlog_.pop_front();
        if (!co_await write_text(encode_sse_event(session->next_event_id(stream_number, sequence),
                                                  message))) {
          p2p::log::debug(component, "session {}: standalone stream broken, {} lost",
                          session->short_id(), method_of(message));
          co_return;
        }
        continue;
      }
      if (!co_await stream.wake.wait(config.sse_keepalive_interval)) {
        if (!co_await write_text(sse_keepalive_comment)) co_return;
      }
    }
  };
  // The client sends nothing on this connection; a read completing means it went away.
  auto watch_close = [&]() -> task<void> {
    std::array<char, 64> scratch;
    co_await conn.stream.socket().async_read_some(asio::buffer(scratch), use_tuple);
  };
  co_await (writer() || watch_close());
  co_return false;
}

}  // namespace mcp::gateway
