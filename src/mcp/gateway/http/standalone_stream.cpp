// GET requests: a session's standalone SSE stream, carrying what the handler posts
// (client_session::post_to_client) and keep-alive comments until the client goes away.
#include "mcp/gateway/http/server_state.hpp"

#include "p2p/core/log.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/serializer.hpp>

#include <array>

namespace mcp::gateway::detail {

using namespace asio::experimental::awaitable_operators;

task<bool> server_state::serve_get(connection& conn, const checked_head& checked,
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
    server_state& server;
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

}  // namespace mcp::gateway::detail
