#include "mcp/gateway/client/http_client.hpp"

#include "mcp/jsonrpc/message.hpp"

#include "p2p/core/log.hpp"
#include "p2p/core/signal.hpp"
#include "p2p/core/task_group.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <deque>
#include <map>
#include <set>

namespace mcp::gateway::client {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using p2p::errc;
using p2p::result;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view component = "mcp-client";
constexpr std::string_view accept_post = "application/json, text/event-stream";

// Ids are compared by their compact JSON text: 1 and "1"
// are different ids, 1 stored signed or unsigned is one.
std::string id_key(const json& id) { return id.dump(); }

std::string method_of(const json& message) {
  const auto it = message.find("method");
  return it != message.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string to_string(beast::string_view text) { return std::string(text.data(), text.size()); }

// "application/json; charset=utf-8" -> "application/json".
std::string media_type(beast::string_view header) {
  std::string type = to_string(header.substr(0, header.find(';')));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.pop_back();
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.erase(0, 1);
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return type;
}

// The MCP spec: session ids are visible ASCII (0x21 to 0x7E).
bool is_valid_session_id(std::string_view id) {
  if (id.empty() || id.size() > 1024) return false;
  for (char c : id) {
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) return false;
  }
  return true;
}

std::string describe_size(std::size_t bytes) {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0) return std::to_string(bytes / (1024 * 1024)) + " MiB";
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes / 1024) + " KiB";
  return std::to_string(bytes) + " bytes";
}

// The JSON-RPC error in the body of an HTTP refusal, if the body is one.
std::optional<rpc_error> error_in_body(std::string_view body) {
  const json parsed = json::parse(body.begin(), body.end(), nullptr, false);
  if (!parsed.is_object()) return std::nullopt;
  const auto error = parsed.find("error");
  if (error == parsed.end() || !error->is_object()) return std::nullopt;
  const auto code = error->find("code");
  const auto message = error->find("message");
  if (code == error->end() || !code->is_number_integer() || message == error->end() || !message->is_string()) {
    return std::nullopt;
  }
  return rpc_error{code->get<int>(), message->get<std::string>(), json()};
}

rpc_reply reply_of(const json& response) {
  rpc_reply reply;
  const auto error = response.find("error");
  if (error != response.end() && error->is_object()) {
    rpc_error e;
    e.code = error->value("code", 0);
    e.message = error->value("message", std::string());
    if (const auto data = error->find("data"); data != error->end()) e.data = *data;
    reply.error = std::move(e);
  } else if (const auto outcome = response.find("result"); outcome != response.end()) {
    reply.result = *outcome;
  }
  return reply;
}

// Built outside coroutines: GCC 12 miscompiles braced json initializers in coroutines.
json make_initialize(json id, const client_config& config) {
  return jsonrpc::make_request(std::move(id), "initialize",
                               {{"protocolVersion", config.protocol_version},
                                {"capabilities", json::object()},
                                {"clientInfo", {{"name", config.client_name}, {"version", config.client_version}}}});
}

json answer_to_server_request(const json& request) {
  const std::string method = method_of(request);
  if (method == "ping") return jsonrpc::make_result_response(request["id"], json::object());
  return jsonrpc::make_error_response(request["id"], jsonrpc::codes::method_not_found,
                                      "the p2pmcp command line does not support " + method);
}

}  // namespace

namespace detail {

// One HTTP/1.1 connection to the gateway.
struct connection {
  explicit connection(asio::any_io_executor executor) : stream(std::move(executor)) {}
  beast::tcp_stream stream;
  beast::flat_buffer buffer;

  void close() noexcept {
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
  }
  // A kept connection the gateway has not closed meanwhile (its idle timeout, a
  // restart): nothing to read and no end of stream. Checked before reuse so a POST is
  // never written into a connection that is already gone.
  bool is_reusable() noexcept {
    if (!stream.socket().is_open() || buffer.size() != 0) return false;
    char byte;
    const ssize_t n = ::recv(stream.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
};

struct pending_request {
  json id;
  std::string method;
};

// How a reply or stream ended.
enum class stream_end { complete, broken, stopped };
struct events_outcome {
  stream_end end = stream_end::broken;
  bool keep_alive = false;  // complete, and the connection may carry another request
};

class client_state {
 public:
  client_state(asio::any_io_executor executor, gateway_url url, client_config config)
      : executor_(executor),
        url_(std::move(url)),
        config_(std::move(config)),
        tasks_(executor),
        inbox_changed_(executor),
        initialize_done_(executor),
        reconnect_timer_(executor) {}

  ~client_state() {
    if (tasks_.size() > 0) {
      p2p::log::error(component, "MCP client destroyed with {} tasks running (close() was not awaited)",
                      tasks_.size());
    }
  }

  // A connection in use, registered so fail() and close() can break it off.
  class lease {
   public:
    lease(client_state& owner, std::unique_ptr<connection> conn) : owner_(&owner), conn_(std::move(conn)) {
      owner_->active_.insert(conn_.get());
    }
    lease(lease&& other) noexcept : owner_(other.owner_), conn_(std::move(other.conn_)) {}
    lease& operator=(lease&&) = delete;
    ~lease() {
      if (conn_) owner_->active_.erase(conn_.get());
    }
    connection* operator->() const noexcept { return conn_.get(); }
    connection& operator*() const noexcept { return *conn_; }
    // Back to the pool when the exchange ended cleanly and the connection stays open.
    void recycle(bool keep_alive) {
      if (!conn_) return;
      owner_->active_.erase(conn_.get());
      if (keep_alive && !owner_->closing_ && !owner_->failed_ &&
          owner_->idle_.size() < owner_->config_.max_idle_connections && conn_->buffer.size() == 0) {
        owner_->idle_.push_back(std::move(conn_));
      }
      conn_.reset();
    }

   private:
    client_state* owner_;
    std::unique_ptr<connection> conn_;
  };

  task<result<void>> send(json message);
  task<std::optional<json>> next_message();
  task<result<json>> initialize();
  task<result<rpc_reply>> call(std::string method, json params);
  task<void> close();

  const gateway_url& url() const noexcept { return url_; }
  bool is_initialized() const noexcept { return established_; }
  const std::string& session_id() const noexcept { return session_id_; }
  const std::string& protocol_version() const noexcept { return protocol_version_; }
  std::size_t pending_requests() const noexcept { return pending_.size(); }
  bool is_listening() const noexcept { return listening_; }
  bool has_failed() const noexcept { return failed_; }
  const std::string& last_error() const noexcept { return last_error_; }

 private:
  p2p::error_code set_error(errc code, std::string sentence) {
    last_error_ = std::move(sentence);
    return code;
  }
  p2p::error_code refuse_when_down() {
    if (failed_) {
      last_error_ = failure_;
      return failure_code_;
    }
    return set_error(errc::closed, "the MCP client was closed");
  }

  // Ends the client: every pending request gets `sentence` as a -32000 error, the queue
  // ends after them, every connection is closed.
  void fail(p2p::error_code code, std::string sentence) {
    if (failed_ || closing_) return;
    p2p::log::debug(component, "{}", sentence);  // the caller reports it (last_error())
    failed_ = true;
    failure_code_ = code;
    failure_ = sentence;
    last_error_ = std::move(sentence);
    for (auto& [key, request] : pending_) {
      inbox_.push_back(jsonrpc::make_error_response(request.id, jsonrpc::codes::connection_closed, failure_));
    }
    pending_.clear();
    inbox_closed_ = true;
    initializing_ = false;
    close_connections();
    reconnect_timer_.cancel();
    inbox_changed_.notify();
    initialize_done_.notify();
  }

  void fail_unreachable(const beast::error_code& ec) {
    if (ec == asio::error::connection_refused) {
      if (!ever_connected_) {
        fail(errc::unreachable, "no p2pmcp node answers at " + url_.text);
      } else {
        fail(errc::connection_closed, "the p2pmcp node stopped: nothing answers at " + url_.text + " any more");
      }
    } else if (ec == beast::error::timeout) {
      fail(ever_connected_ ? errc::connection_closed : errc::unreachable,
           "the p2pmcp node at " + url_.text + " did not accept a connection within " +
               jsonrpc::describe_duration_ms(
                   std::chrono::duration_cast<std::chrono::milliseconds>(config_.connect_timeout).count()));
    } else {
      fail(ever_connected_ ? errc::connection_closed : errc::unreachable,
           "cannot connect to the p2pmcp node at " + url_.text + ": " + ec.message());
    }
  }

  void fail_session_gone() {
    fail(errc::closed, "the p2pmcp node ended the MCP session (the node restarted or the session "
                       "expired); start a new session");
  }

  void close_connections() {
    for (auto& conn : idle_) conn->close();
    idle_.clear();
    for (connection* conn : active_) conn->close();
  }

  // Answers a pending request with an error the client makes up.
  void answer_pending(const std::string& key, int code, const std::string& message) {
    const auto it = pending_.find(key);
    if (it == pending_.end() || closing_) return;
    inbox_.push_back(jsonrpc::make_error_response(it->second.id, code, message));
    if (it->second.method == "initialize") {
      session_id_.clear();
      initialize_finished();
    }
    pending_.erase(it);
    inbox_changed_.notify();
  }

  // Lets messages waiting for the session go (with it, or without after a failure).
  void initialize_finished() {
    initializing_ = false;
    initialize_done_.notify();
  }

  task<void> push(json message) {
    while (inbox_.size() >= config_.max_queued_messages && !closing_ && !inbox_closed_) {
      co_await inbox_changed_.wait();
    }
    if (closing_ || inbox_closed_) co_return;
    inbox_.push_back(std::move(message));
    inbox_changed_.notify();
  }

  // A connection: a kept one that is still open, else a new one (`fresh`: always new).
  task<result<lease>> acquire(bool fresh = false);
  // After a reply broke off: is the node still there? If nothing answers any more, the
  // client fails ("the p2pmcp node stopped"), which answers every pending request.
  task<void> check_gateway();
  template <class Body>
  void prepare(http::request<Body>& request, bool with_session) const;
  task<void> read_reply(lease conn, std::string key, bool is_initialize);
  task<result<void>> read_acknowledgement(lease conn, std::string what);
  task<events_outcome> read_events(connection& conn, http::response_parser<http::empty_body>& head,
                                   const std::string* reply_key, bool& delivered);
  task<void> handle_event(sse_event event, const std::string* reply_key);
  task<void> handle_body(std::string_view body, const std::string* reply_key);
  task<void> deliver(json message, const std::string* reply_key);
  void on_initialize_response(const json& response);
  task<void> listen_loop();
  enum class listen_outcome { ended, retry, stop };
  task<listen_outcome> listen_once(bool& delivered);
  task<void> send_delete();
  task<result<rpc_reply>> wait_for_response(const json& id);

  asio::any_io_executor executor_;
  gateway_url url_;
  client_config config_;
  p2p::task_group tasks_;

  std::vector<std::unique_ptr<connection>> idle_;
  std::set<connection*> active_;

  std::map<std::string, pending_request> pending_;
  std::deque<json> inbox_;
  bool inbox_closed_ = false;
  p2p::signal inbox_changed_;  // messages added (consumers) or taken (readers waiting for room)

  std::string session_id_;
  std::string protocol_version_;
  bool initializing_ = false;  // an initialize is in flight
  bool established_ = false;
  p2p::signal initialize_done_;
  json initialize_result_;
  std::int64_t next_id_ = 1;

  bool ever_connected_ = false;
  bool listening_ = false;
  std::optional<std::uint64_t> retry_ms_;
  asio::steady_timer reconnect_timer_;

  bool closing_ = false;
  bool closed_ = false;
  bool failed_ = false;
  p2p::error_code failure_code_;
  std::string failure_;
  std::string last_error_;
};

task<result<client_state::lease>> client_state::acquire(bool fresh) {
  while (!fresh && !idle_.empty()) {
    std::unique_ptr<connection> conn = std::move(idle_.back());
    idle_.pop_back();
    if (conn->is_reusable()) co_return lease(*this, std::move(conn));
  }
  beast::error_code ec;
  const auto address = asio::ip::make_address(url_.address, ec);
  if (ec) co_return ec;
  lease conn(*this, std::make_unique<connection>(executor_));
  conn->stream.expires_after(config_.connect_timeout);
  std::tie(ec) = co_await conn->stream.async_connect(tcp::endpoint(address, url_.port), use_tuple);
  conn->stream.expires_never();
  if (ec) co_return ec;
  ever_connected_ = true;
  co_return std::move(conn);
}

task<void> client_state::check_gateway() {
  if (closing_ || failed_) co_return;
  auto conn = co_await acquire(true);
  if (closing_ || failed_) co_return;
  if (!conn) {
    fail_unreachable(conn.error());
    co_return;
  }
  (*conn)->close();
}

template <class Body>
void client_state::prepare(http::request<Body>& request, bool with_session) const {
  request.set(http::field::host, url_.host_header);
  request.set(http::field::user_agent, config_.user_agent);
  if (with_session && !session_id_.empty()) request.set("Mcp-Session-Id", session_id_);
  if (with_session && !protocol_version_.empty()) request.set("MCP-Protocol-Version", protocol_version_);
  request.keep_alive(true);
}

task<result<void>> client_state::send(json message) {
  if (closing_ || failed_) co_return refuse_when_down();
  const jsonrpc::message_kind kind = jsonrpc::classify(message);
  if (kind == jsonrpc::message_kind::invalid) {
    co_return set_error(errc::invalid_argument, "not a valid JSON-RPC message");
  }
  std::string body = message.dump(-1, ' ', false, json::error_handler_t::replace);
  if (body.size() > config_.max_message_size) {
    co_return set_error(errc::message_too_large,
                        "the message is " + std::to_string(body.size()) + " bytes, over the limit of " +
                            describe_size(config_.max_message_size) + " for one message");
  }
  const bool is_request = kind == jsonrpc::message_kind::request;
  const std::string method = method_of(message);
  const bool is_initialize = is_request && method == "initialize";
  if (is_initialize) {
    if (initializing_ || established_) {
      co_return set_error(errc::invalid_argument,
                          "the MCP session is already initialized (or being initialized); initialize "
                          "is sent once per session");
    }
  } else {
    // The session id comes with initialize's reply: wait for it.
    while (initializing_ && !failed_ && !closing_) co_await initialize_done_.wait();
    if (closing_ || failed_) co_return refuse_when_down();
  }

  std::string key;
  if (is_request) {
    key = id_key(message["id"]);
    if (pending_.count(key) > 0) {
      co_return set_error(errc::invalid_argument,
                          "request id " + key + " is still in use by a request in progress");
    }
    pending_.emplace(key, pending_request{message["id"], method});
  }
  if (is_initialize) initializing_ = true;
  auto undo = [&] {
    if (is_request) pending_.erase(key);
    if (is_initialize) {
      initializing_ = false;
      initialize_done_.notify();
    }
  };

  auto conn = co_await acquire();
  if (!conn) {
    undo();
    if (closing_ || failed_) co_return refuse_when_down();
    fail_unreachable(conn.error());
    co_return refuse_when_down();
  }
  http::request<http::string_body> request{http::verb::post, url_.target, 11};
  prepare(request, !is_initialize);
  request.set(http::field::accept, accept_post);
  request.set(http::field::content_type, "application/json");
  request.body() = std::move(body);
  request.prepare_payload();
  auto [ec, written] = co_await http::async_write((*conn)->stream, request, use_tuple);
  if (ec) {
    undo();
    if (closing_ || failed_) co_return refuse_when_down();
    co_return set_error(errc::connection_closed, "the connection to the p2pmcp node at " + url_.text +
                                                     " broke while sending " +
                                                     (method.empty() ? std::string("a response") : method));
  }
  if (is_request) {
    tasks_.spawn(read_reply(std::move(*conn), key, is_initialize), "mcp-client reply");
    co_return result<void>{};
  }
  // Named first: GCC 12 destroys temporaries of a co_await operand twice.
  std::string what = method.empty() ? std::string("a response") : method;
  auto accepted = co_await read_acknowledgement(std::move(*conn), std::move(what));
  co_return accepted;
}

task<result<void>> client_state::read_acknowledgement(lease conn, std::string what) {
  http::response_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(config_.max_header_size));
  parser.body_limit(config_.max_message_size);
  auto [ec, n] = co_await http::async_read(conn->stream, conn->buffer, parser, use_tuple);
  if (closing_ || failed_) co_return refuse_when_down();
  if (ec) {
    co_return set_error(errc::connection_closed,
                        "the p2pmcp node at " + url_.text + " closed the connection before accepting " + what);
  }
  const auto& response = parser.get();
  const unsigned status = response.result_int();
  if (status == 202 || status == 200 || status == 204) {
    conn.recycle(parser.keep_alive());
    co_return result<void>{};
  }
  if (status == 404 && !session_id_.empty()) {
    fail_session_gone();
    co_return refuse_when_down();
  }
  const auto error = error_in_body(response.body());
  co_return set_error(errc::protocol_violation,
                      "the p2pmcp node refused " + what + ": " +
                          (error ? error->message
                                 : "HTTP " + std::to_string(status) + " " + to_string(response.reason())));
}

task<void> client_state::read_reply(lease conn, std::string key, bool is_initialize) {
  // Whatever happens to the reply, messages waiting for the session must not wait forever.
  struct initialize_guard {
    client_state& state;
    bool active;
    ~initialize_guard() {
      if (active) state.initialize_finished();
    }
  } guard{*this, is_initialize};
  const std::string method = pending_.count(key) ? pending_[key].method : std::string("the request");

  http::response_parser<http::empty_body> head;
  head.header_limit(static_cast<std::uint32_t>(config_.max_header_size));
  head.body_limit(config_.max_message_size);  // a Content-Length over it fails at once
  auto [ec, n] = co_await http::async_read_header(conn->stream, conn->buffer, head, use_tuple);
  if (closing_ || failed_) co_return;
  if (ec == http::error::body_limit) {
    answer_pending(key, jsonrpc::codes::message_too_large,
                   "the response to " + method + " is " + to_string(head.get()[http::field::content_length]) +
                       " bytes, over the limit of " + describe_size(config_.max_message_size) + " for one message");
    co_return;
  }
  if (ec) {
    co_await check_gateway();
    answer_pending(key, jsonrpc::codes::connection_closed,
                   "the p2pmcp node closed the connection before answering " + method);
    co_return;
  }
  const unsigned status = head.get().result_int();
  if (status == 200 && is_initialize) {
    const std::string id = to_string(head.get()["Mcp-Session-Id"]);
    if (is_valid_session_id(id)) {
      session_id_ = id;
    } else if (!id.empty()) {
      p2p::log::warn(component, "ignoring an invalid Mcp-Session-Id from the node");
    }
  }
  if (status == 404 && !is_initialize && !session_id_.empty()) {
    fail_session_gone();
    co_return;
  }
  if (status != 200) {
    // A refusal: the body is a JSON-RPC error saying why (request_check.hpp's wording).
    http::response_parser<http::string_body> parser{std::move(head)};
    std::tie(ec, n) = co_await http::async_read(conn->stream, conn->buffer, parser, use_tuple);
    if (closing_ || failed_) co_return;
    std::optional<rpc_error> error;
    if (!ec) error = error_in_body(parser.get().body());
    if (error) {
      answer_pending(key, error->code, error->message);
    } else {
      answer_pending(key, jsonrpc::codes::connection_closed,
                     "the p2pmcp node answered " + method + " with HTTP " + std::to_string(status) + " " +
                         to_string(parser.get().reason()));
    }
    if (!ec) conn.recycle(parser.keep_alive());
    co_return;
  }

  const std::string type = media_type(head.get()[http::field::content_type]);
  bool keep_alive = false;
  if (type == "text/event-stream") {
    bool delivered = false;
    const events_outcome outcome = co_await read_events(*conn, head, &key, delivered);
    if (outcome.end == stream_end::stopped) co_return;
    keep_alive = outcome.keep_alive;
    if (outcome.end == stream_end::broken && pending_.count(key) > 0) co_await check_gateway();
    if (pending_.count(key) > 0) {
      answer_pending(key, jsonrpc::codes::connection_closed,
                     outcome.end == stream_end::complete
                         ? "the p2pmcp node ended its reply to " + method + " without a response"
                         : "the connection to the p2pmcp node broke before it answered " + method);
    }
  } else if (type == "application/json") {
    http::response_parser<http::string_body> parser{std::move(head)};
    std::tie(ec, n) = co_await http::async_read(conn->stream, conn->buffer, parser, use_tuple);
    if (closing_ || failed_) co_return;
    if (ec == http::error::body_limit) {
      answer_pending(key, jsonrpc::codes::message_too_large,
                     "the response to " + method + " is over the limit of " +
                         describe_size(config_.max_message_size) + " for one message");
      co_return;
    }
    if (ec) {
      co_await check_gateway();
      answer_pending(key, jsonrpc::codes::connection_closed,
                     "the connection to the p2pmcp node broke before it answered " + method);
      co_return;
    }
    co_await handle_body(parser.get().body(), &key);
    if (closing_ || failed_) co_return;
    keep_alive = parser.keep_alive();
    if (pending_.count(key) > 0) {
      answer_pending(key, jsonrpc::codes::connection_closed,
                     "the p2pmcp node's reply to " + method + " held no response to it");
    }
  } else {
    answer_pending(key, jsonrpc::codes::connection_closed,
                   "the p2pmcp node answered " + method + " with unexpected content (" +
                       (type.empty() ? std::string("no Content-Type") : type) + ")");
    co_return;
  }
  conn.recycle(keep_alive);
}

task<events_outcome> client_state::read_events(connection& conn, http::response_parser<http::empty_body>& head,
                                               const std::string* reply_key, bool& delivered) {
  http::response_parser<http::buffer_body> parser{std::move(head)};
  parser.body_limit(boost::none);  // a stream has no total size; each event is limited
  sse_parser events(config_.max_message_size);
  std::array<char, 16 * 1024> chunk;
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    auto [ec, n] = co_await http::async_read_some(conn.stream, conn.buffer, parser, use_tuple);
    if (ec == http::error::need_buffer) ec = {};
    const std::size_t got = chunk.size() - parser.get().body().size;
    if (closing_ || failed_) co_return events_outcome{stream_end::stopped};
    if (got > 0) {
      events.feed(std::string_view(chunk.data(), got));
      while (auto event = events.poll()) {
        delivered = true;
        co_await handle_event(std::move(*event), reply_key);
        if (closing_ || failed_) co_return events_outcome{stream_end::stopped};
      }
    }
    if (ec) {
      if (events.retry()) retry_ms_ = events.retry();
      co_return events_outcome{stream_end::broken};
    }
  }
  if (events.finish()) p2p::log::debug(component, "an SSE stream ended in the middle of an event");
  if (events.retry()) retry_ms_ = events.retry();
  co_return events_outcome{stream_end::complete, parser.keep_alive()};
}

task<void> client_state::handle_event(sse_event event, const std::string* reply_key) {
  if (event.oversized) {
    const jsonrpc::message_hint hint = jsonrpc::sniff_message(event.head, event.tail);
    const std::string sentence = "the p2pmcp node sent a message of " + std::to_string(event.size) +
                                 " bytes, over the limit of " + describe_size(config_.max_message_size) +
                                 " for one message";
    if (hint.id && hint.has_outcome && pending_.count(id_key(*hint.id)) > 0) {
      const std::string key = id_key(*hint.id);
      answer_pending(key, jsonrpc::codes::message_too_large,
                     "the response to " + pending_[key].method + " is " + std::to_string(event.size) +
                         " bytes, over the limit of " + describe_size(config_.max_message_size) +
                         " for one message");
    } else {
      p2p::log::warn(component, "{}; it was dropped", sentence);
    }
    co_return;
  }
  if (event.type != "message") {
    p2p::log::debug(component, "ignoring an SSE event of type '{}'", event.type);
    co_return;
  }
  if (event.data.find_first_not_of(" \t\r\n") == std::string::npos) co_return;  // priming event
  co_await handle_body(event.data, reply_key);
}

task<void> client_state::handle_body(std::string_view body, const std::string* reply_key) {
  jsonrpc::parsed_line parsed = jsonrpc::parse_line(body);
  if (!parsed.errors.empty()) {
    p2p::log::warn(component, "the p2pmcp node sent something that is not JSON-RPC; it was dropped");
  }
  for (json& message : parsed.messages) {
    co_await deliver(std::move(message), reply_key);
    if (closing_ || failed_) co_return;
  }
}

task<void> client_state::deliver(json message, const std::string* reply_key) {
  const jsonrpc::message_kind kind = jsonrpc::classify(message);
  if (kind == jsonrpc::message_kind::response) {
    const json& id = message["id"];
    if (id.is_null()) {
      // An error about the request as a whole (it could not be read): it answers the
      // request this reply belongs to.
      if (reply_key) {
        const rpc_reply reply = reply_of(message);
        answer_pending(*reply_key, reply.error->code, reply.error->message);
      }
      co_return;
    }
    const auto it = pending_.find(id_key(id));
    if (it == pending_.end()) {
      p2p::log::debug(component, "dropping a response to unknown request id {}", id_key(id));
      co_return;
    }
    if (it->second.method == "initialize") on_initialize_response(message);
    pending_.erase(it);
    // Queued even when the queue is full: it ends a request, and nothing waits for room.
    inbox_.push_back(std::move(message));
    inbox_changed_.notify();
    co_return;
  }
  co_await push(std::move(message));  // the node's request or notification
}

void client_state::on_initialize_response(const json& response) {
  const auto outcome = response.find("result");
  if (outcome == response.end() || !outcome->is_object()) {
    session_id_.clear();  // the node closes a session whose initialize failed
    initialize_finished();
    return;
  }
  const auto version = outcome->find("protocolVersion");
  if (version != outcome->end() && version->is_string()) protocol_version_ = version->get<std::string>();
  established_ = true;
  initialize_finished();
  if (config_.listen && !session_id_.empty()) tasks_.spawn(listen_loop(), "mcp-client GET stream");
}

task<void> client_state::listen_loop() {
  bool reopen_at_once = true;
  while (!closing_ && !failed_) {
    bool delivered = false;
    const listen_outcome outcome = co_await listen_once(delivered);
    if (outcome == listen_outcome::stop || closing_ || failed_) break;
    if (delivered) reopen_at_once = true;
    if (!reopen_at_once || outcome == listen_outcome::retry) {
      const auto delay = retry_ms_ ? std::chrono::milliseconds(std::min<std::uint64_t>(*retry_ms_, 3'600'000))
                                   : std::chrono::duration_cast<std::chrono::milliseconds>(config_.reconnect_delay);
      reconnect_timer_.expires_after(delay);
      co_await reconnect_timer_.async_wait(use_tuple);
    }
    reopen_at_once = false;
  }
  listening_ = false;
}

task<client_state::listen_outcome> client_state::listen_once(bool& delivered) {
  auto conn = co_await acquire();
  if (closing_ || failed_) co_return listen_outcome::stop;
  if (!conn) {
    fail_unreachable(conn.error());
    co_return listen_outcome::stop;
  }
  http::request<http::empty_body> request{http::verb::get, url_.target, 11};
  prepare(request, true);
  request.set(http::field::accept, "text/event-stream");
  auto [ec, n] = co_await http::async_write((*conn)->stream, request, use_tuple);
  if (closing_ || failed_) co_return listen_outcome::stop;
  if (ec) {
    p2p::log::debug(component, "GET stream: sending failed: {}", ec.message());
    co_return listen_outcome::retry;
  }
  http::response_parser<http::empty_body> head;
  head.header_limit(static_cast<std::uint32_t>(config_.max_header_size));
  std::tie(ec, n) = co_await http::async_read_header((*conn)->stream, (*conn)->buffer, head, use_tuple);
  if (closing_ || failed_) co_return listen_outcome::stop;
  if (ec) {
    p2p::log::debug(component, "GET stream: no answer: {}", ec.message());
    co_return listen_outcome::retry;
  }
  const unsigned status = head.get().result_int();
  if (status == 405) {
    p2p::log::debug(component, "the node offers no stream for messages of its own (GET answered 405)");
    co_return listen_outcome::stop;
  }
  if (status == 404) {
    fail_session_gone();
    co_return listen_outcome::stop;
  }
  if (status != 200 || media_type(head.get()[http::field::content_type]) != "text/event-stream") {
    p2p::log::debug(component, "the node refused the GET stream (HTTP {}); retrying later", status);
    co_return listen_outcome::retry;
  }
  listening_ = true;
  p2p::log::debug(component, "GET stream open");
  const events_outcome outcome = co_await read_events(**conn, head, nullptr, delivered);
  listening_ = false;
  p2p::log::debug(component, "GET stream ended ({})",
                  outcome.end == stream_end::complete ? "by the node" : "connection lost");
  co_return outcome.end == stream_end::stopped ? listen_outcome::stop : listen_outcome::ended;
}

task<void> client_state::send_delete() {
  auto conn = co_await acquire();
  if (!conn) co_return;
  http::request<http::empty_body> request{http::verb::delete_, url_.target, 11};
  prepare(request, true);
  request.keep_alive(false);
  (*conn)->stream.expires_after(config_.delete_timeout);
  auto [ec, n] = co_await http::async_write((*conn)->stream, request, use_tuple);
  if (!ec) {
    http::response_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(config_.max_header_size));
    std::tie(ec, n) = co_await http::async_read((*conn)->stream, (*conn)->buffer, parser, use_tuple);
    if (!ec && parser.get().result_int() != 200 && parser.get().result_int() != 204 &&
        parser.get().result_int() != 405 && parser.get().result_int() != 404) {
      p2p::log::debug(component, "DELETE of the MCP session answered HTTP {}", parser.get().result_int());
    }
  }
  if (ec) p2p::log::debug(component, "ending the MCP session failed: {}", ec.message());
  (*conn)->close();
}

task<std::optional<json>> client_state::next_message() {
  while (inbox_.empty() && !inbox_closed_) co_await inbox_changed_.wait();
  if (inbox_.empty()) co_return std::nullopt;
  json message = std::move(inbox_.front());
  inbox_.pop_front();
  inbox_changed_.notify();  // room for a reader that waits
  co_return message;
}

task<result<rpc_reply>> client_state::wait_for_response(const json& id) {
  const std::string key = id_key(id);
  while (auto message = co_await next_message()) {
    const jsonrpc::message_kind kind = jsonrpc::classify(*message);
    if (kind == jsonrpc::message_kind::response && id_key((*message)["id"]) == key) {
      co_return reply_of(*message);
    }
    if (kind == jsonrpc::message_kind::request) {
      // After a failure this fails too; the loop then drains the made-up errors.
      json answer = answer_to_server_request(*message);
      co_await send(std::move(answer));
    }
  }
  co_return refuse_when_down();
}

task<result<json>> client_state::initialize() {
  if (established_) co_return initialize_result_;
  const json id = next_id_++;
  json request = make_initialize(id, config_);
  auto sent = co_await send(std::move(request));
  if (!sent) co_return sent.error();
  auto reply = co_await wait_for_response(id);
  if (!reply) co_return reply.error();
  if (reply->error) {
    co_return set_error(errc::protocol_violation,
                        "the p2pmcp node refused to start an MCP session: " + reply->error->message);
  }
  const json& outcome = reply->result;
  const std::string version = outcome.is_object() ? outcome.value("protocolVersion", std::string()) : std::string();
  bool supported = false;
  for (const auto& known : config_.protocol_versions) supported = supported || known == version;
  if (!supported) {
    std::string list;
    for (const auto& known : config_.protocol_versions) list += (list.empty() ? "" : ", ") + known;
    co_return set_error(errc::protocol_not_supported, "the p2pmcp node speaks MCP version '" + version +
                                                          "', which this client does not (it speaks " + list + ")");
  }
  json notification = jsonrpc::make_notification("notifications/initialized");
  auto initialized = co_await send(std::move(notification));
  if (!initialized) co_return initialized.error();
  initialize_result_ = outcome;
  co_return outcome;
}

task<result<rpc_reply>> client_state::call(std::string method, json params) {
  if (!established_) {
    auto started = co_await initialize();
    if (!started) co_return started.error();
  }
  const json id = next_id_++;
  json request = jsonrpc::make_request(id, std::move(method), std::move(params));
  auto sent = co_await send(std::move(request));
  if (!sent) co_return sent.error();
  co_return co_await wait_for_response(id);
}

task<void> client_state::close() {
  if (closed_ || closing_) {
    while (!closed_) co_await inbox_changed_.wait();
    co_return;
  }
  closing_ = true;
  reconnect_timer_.cancel();
  for (connection* conn : active_) conn->close();  // the GET stream and replies in progress
  if (!session_id_.empty() && !failed_) co_await send_delete();
  for (auto& conn : idle_) conn->close();
  idle_.clear();
  co_await tasks_.wait();
  pending_.clear();
  inbox_closed_ = true;
  initializing_ = false;
  closed_ = true;
  inbox_changed_.notify();
  initialize_done_.notify();
}

}  // namespace detail

http_client::http_client(asio::any_io_executor executor, gateway_url url, client_config config)
    : impl_(std::make_unique<detail::client_state>(std::move(executor), std::move(url), std::move(config))) {}
http_client::~http_client() = default;

task<result<void>> http_client::send(json message) { return impl_->send(std::move(message)); }
task<std::optional<json>> http_client::next_message() { return impl_->next_message(); }
task<result<json>> http_client::initialize() { return impl_->initialize(); }
task<result<rpc_reply>> http_client::call(std::string method, json params) {
  return impl_->call(std::move(method), std::move(params));
}
task<void> http_client::close() { return impl_->close(); }

const gateway_url& http_client::url() const noexcept { return impl_->url(); }
bool http_client::is_initialized() const noexcept { return impl_->is_initialized(); }
const std::string& http_client::session_id() const noexcept { return impl_->session_id(); }
const std::string& http_client::protocol_version() const noexcept { return impl_->protocol_version(); }
std::size_t http_client::pending_requests() const noexcept { return impl_->pending_requests(); }
bool http_client::is_listening() const noexcept { return impl_->is_listening(); }
bool http_client::has_failed() const noexcept { return impl_->has_failed(); }
const std::string& http_client::last_error() const noexcept { return impl_->last_error(); }

}  // namespace mcp::gateway::client
