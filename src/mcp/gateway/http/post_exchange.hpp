// Internal: one POST carrying at least one request, from the handler's messages to the
// HTTP reply (application/json, or an SSE stream). Not part of the API.
#pragma once

#include "mcp/gateway/http/server_state.hpp"

#include "p2p/core/signal.hpp"

#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace mcp::gateway::detail {

// One POST carrying at least one request: collects the handler's messages and answers
// with application/json or an SSE stream. Lives in server_state::serve_post, registered in
// its session (session_state::exchanges_) so that closing the session answers its requests.
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

  post_exchange(server_state& server, connection& conn, std::shared_ptr<session_state> session,
                const checked_head& head, const checked_body& body, unsigned version,
                bool keep_alive);
  ~post_exchange() {
    session_->exchanges_.erase(this);
    release_stream();
  }
  post_exchange(const post_exchange&) = delete;
  post_exchange& operator=(const post_exchange&) = delete;

  // Feeds the messages to the handler one after another (a batch in order).
  task<void> run_handlers(std::vector<json> messages);

  // Writes the reply: waits for the responses (JSON) or streams (SSE).
  task<void> run_writer();

  bool keep_alive() const noexcept { return keep_alive_ && !broken_; }

  void on_session_closed(close_reason reason);

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
  // Switches to an SSE reply if the client takes one and a stream slot is free.
  bool start_stream();
  void release_stream();

  task<result<void>> send(json message);
  // A final response; false when it cannot reach the client any more.
  bool deliver(json response, bool is_initialize);

  void prepare_headers(http::fields& fields) const;
  task<void> write_json();
  task<bool> write_sse_header();
  task<bool> write_chunk(std::string_view text);
  task<void> finish_stream();
  void fail();

  server_state& server_;
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

}  // namespace mcp::gateway::detail
