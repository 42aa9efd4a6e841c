// The initiator's side of multistream-select 1.0 as a sans-IO state machine.
//
// Wire flow (spec "Implementation Recommendations"):
//   > /multistream/1.0.0\n<first proposal>\n       one write, queued at creation
//   < /multistream/1.0.0\n                          the listener's header
//   < <first proposal>\n   -> selected
//   < na\n                 -> next proposal is queued, repeat; none left -> failure
//
// The dialer never sends "ls". Drive it by writing poll_output() and feeding at most
// wanted() bytes of input at a time; it never consumes a byte past the listener's
// final answer, so the stream can be handed to the selected protocol afterwards.
#pragma once

#include "p2p/negotiation/message.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace p2p::multistream {

class dialer {
 public:
  // Proposes `protocols` in order. Errors: invalid_argument when the list is empty or
  // holds an id that is_valid_protocol_id rejects.
  static result<dialer> create(std::vector<std::string> protocols);

  // Bytes to send to the listener, taken out of the dialer (empty when there is none).
  bytes poll_output();

  // Consumes a prefix of `input` and returns its length; stops at the end of the
  // negotiation (input after that is left untouched). Errors, after which the dialer is
  // failed and returns the same error again:
  //   protocol_not_supported  the listener answered "na" to every proposal
  //   protocol_violation      anything else: a bad header, an unexpected answer, or a
  //                           malformed message (bad length prefix, over 1024 bytes,
  //                           no trailing newline)
  result<std::size_t> handle_data(bytes_view input);

  // Most bytes handle_data may consume right now without reading past the negotiation;
  // 0 once done.
  std::size_t wanted() const noexcept;

  bool is_done() const noexcept { return state_ == state::selected || state_ == state::failed; }
  // The protocol the listener accepted, once selected.
  std::optional<std::string_view> selected() const noexcept;
  // The failure, once failed; empty otherwise.
  error_code error() const noexcept { return error_; }

 private:
  enum class state { await_header, await_answer, selected, failed };

  explicit dialer(std::vector<std::string> protocols);
  // Errors: protocol_violation, protocol_not_supported.
  result<void> on_message(const std::string& message);
  result<std::size_t> fail(error_code e);

  std::vector<std::string> protocols_;
  std::size_t current_ = 0;  // index of the proposal awaiting an answer
  state state_ = state::await_header;
  message_decoder decoder_;
  bytes output_;
  error_code error_;
};

}  // namespace p2p::multistream
