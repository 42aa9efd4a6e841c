// The responder's side of multistream-select 1.0 as a sans-IO state machine.
//
// Wire flow:
//   < /multistream/1.0.0\n          queued at creation (sent eagerly, as go-multistream
//                                   does, so dialers that wait for it still progress)
//   > /multistream/1.0.0\n          required first message, anything else is a violation
//   > <proposal>\n  -> supported: echoed back, selected
//                  -> otherwise:   na\n, wait for the next proposal
//   > ls\n          -> the protocol list when listing is enabled, else na\n
//
// Drive it by writing poll_output() and feeding at most wanted() bytes at a time; it
// never consumes a byte past the accepted proposal.
#pragma once

#include "p2p/negotiation/message.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace p2p::multistream {

class listener {
 public:
  // Answers whether a proposed protocol id is served. Called synchronously from
  // handle_data; a pure query that must not touch the listener. Only called for ids that
  // pass is_valid_protocol_id; the rest (reserved words, empty) are always refused.
  using predicate = std::function<bool(std::string_view)>;

  // `listed`: the answer to "ls"; nullopt refuses "ls" with "na" (go-multistream's
  // behaviour). An empty list is answered with an empty list.
  explicit listener(predicate is_supported, std::optional<std::vector<std::string>> listed = std::nullopt);

  // Bytes to send to the dialer, taken out of the listener (empty when there is none).
  bytes poll_output();

  // Consumes a prefix of `input` and returns its length; stops right after the accepted
  // proposal. Errors (the listener is then failed and returns the same error again):
  //   protocol_violation  the first message is not the multistream header, or a message
  //                       is malformed (bad length prefix, over 1024 bytes, no newline)
  result<std::size_t> handle_data(bytes_view input);

  // Most bytes handle_data may consume right now without reading past the negotiation;
  // 0 once done.
  std::size_t wanted() const noexcept;

  bool is_done() const noexcept { return state_ == state::selected || state_ == state::failed; }
  // The accepted protocol id, once selected.
  std::optional<std::string_view> selected() const noexcept;
  error_code error() const noexcept { return error_; }

 private:
  enum class state { await_header, await_proposal, selected, failed };

  // Errors: protocol_violation.
  result<void> on_message(std::string message);
  result<std::size_t> fail();

  predicate is_supported_;
  std::optional<std::vector<std::string>> listed_;
  state state_ = state::await_header;
  message_decoder decoder_;
  bytes output_;
  std::string selected_;
  error_code error_;
};

}  // namespace p2p::multistream
