// POST requests: the body's messages go to the session's handler, and the reply is one
// application/json response or an SSE stream (post_exchange); initialize starts a session.
#include "mcp/gateway/http/post_exchange.hpp"

#include "p2p/core/log.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>

namespace mcp::gateway::detail {
namespace {

using namespace asio::experimental::awaitable_operators;

// Refuses everything: the channel for notifications and responses from the client.
class refusing_channel final : public response_channel {
 public:
  bool can_stream() const noexcept override { return false; }
  task<result<void>> send(json) override { co_return errc::closed; }
  task<result<void>> respond(json) override { co_return errc::closed; }
};

}  // namespace

post_exchange::post_exchange(server_state& server, connection& conn,
                             std::shared_ptr<session_state> session, const checked_head& head,
                             const checked_body& body, unsigned version, bool keep_alive)
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

task<void> post_exchange::run_handlers(std::vector<json> messages) {
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

task<void> post_exchange::run_writer() {
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

void post_exchange::on_session_closed(close_reason reason) {
  session_closed_ = true;
  reason_ = reason;
  for (auto& channel : channels_) {
    if (channel) channel->answer_with_error(jsonrpc::codes::connection_closed, closed_message());
  }
  space_.notify();
  wake_.notify();
}

bool post_exchange::start_stream() {
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

void post_exchange::release_stream() {
  if (!holds_slot_) return;
  holds_slot_ = false;
  --server_.sse_streams;
  --session_->sse_streams_;
}

task<result<void>> post_exchange::send(json message) {
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

bool post_exchange::deliver(json response, bool is_initialize) {
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

void post_exchange::prepare_headers(http::fields& fields) const {
  add_common_headers(fields, &head_);
  if (!session_->closed_) fields.set("Mcp-Session-Id", session_->id_);
}

task<void> post_exchange::write_json() {
  http::response<http::string_body> response{http::status::ok, version_};
  prepare_headers(response);
  response.set(http::field::content_type, "application/json");
  json body = batch_ ? json(std::move(responses_)) : std::move(responses_.front());
  response.body() = body.dump(-1, ' ', false, json::error_handler_t::replace);
  response.keep_alive(keep_alive_);
  response.prepare_payload();
  if (!co_await server_.write(conn_, response)) broken_ = true;
}

task<bool> post_exchange::write_sse_header() {
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

task<bool> post_exchange::write_chunk(std::string_view text) {
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

task<void> post_exchange::finish_stream() {
  if (version_ >= 11) {
    conn_.stream.expires_after(server_.config.write_timeout);
    auto [ec, n] = co_await asio::async_write(conn_.stream, http::make_chunk_last(), use_tuple);
    conn_.stream.expires_never();
    if (ec) broken_ = true;
  }
  release_stream();
}

void post_exchange::fail() {
  if (!broken_) {
    p2p::log::debug(component, "session {}: SSE reply broken off by the client",
                    session_->short_id());
  }
  broken_ = true;
  events_.clear();
  release_stream();
  space_.notify();
}

task<bool> server_state::serve_post(connection& conn, beast::flat_buffer& buffer,
                                    request_parser& parser, const checked_head& checked,
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

}  // namespace mcp::gateway::detail
