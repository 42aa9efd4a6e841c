// multistream-select 1.0 messages (multiformats/multistream-select, libp2p/specs
// connections/README.md "Protocol Negotiation"): every message is
//   uvarint(length) || UTF-8 text || '\n'
// where `length` counts the text and the newline. Sans-IO: no Asio, no allocation
// beyond the decoded strings, never throws on peer input.
#pragma once

#include "p2p/core/bytes.hpp"
#include "p2p/core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace p2p::multistream {

// The protocol id of multistream-select itself, sent as the first message by both sides.
inline constexpr std::string_view protocol_id = "/multistream/1.0.0";
// "Not available": the listener's answer to a proposal it does not support.
inline constexpr std::string_view not_available = "na";
// A request for the listener's protocol list (optional in the spec).
inline constexpr std::string_view list_request = "ls";

// Largest accepted length prefix (text + newline), as go-multistream and
// @libp2p/multistream-select enforce; a protocol id is therefore at most 1023 bytes.
inline constexpr std::size_t max_message_length = 1024;

// True when `id` can be proposed or served: non-empty, at most max_message_length - 1
// bytes, no '\n', and not one of the reserved words (protocol_id, "na", "ls").
bool is_valid_protocol_id(std::string_view id) noexcept;

// Appends one framed message carrying `text` (the newline is added here).
void encode_message(std::string_view text, bytes& out);
bytes encode_message(std::string_view text);

// The listener's answer to "ls": one framed message whose text is the concatenation of
// each protocol framed as a message, followed by the closing '\n'
//   uvarint(total) || { uvarint(len(p)+1) || p || '\n' }* || '\n'
void encode_list(std::span<const std::string> protocols, bytes& out);
// Parses the text of an "ls" answer (the decoded message, final newline removed) into
// protocol ids. Errors: malformed, message_too_large and the varint errors.
result<std::vector<std::string>> decode_list(std::string_view text);

// Incremental decoder for framed messages. Feed it bytes in any split; it returns one
// complete message at a time and never consumes bytes past the end of that message, so
// a caller can stop exactly at the end of the negotiation.
//
// Errors (sticky: once failed, every later call returns the same error):
//   varint_overflow, varint_not_minimal   bad length prefix
//   message_too_large                     length prefix above the limit
//   malformed                             zero length, or the last byte is not '\n'
class message_decoder {
 public:
  explicit message_decoder(std::size_t max_length = max_message_length) noexcept
      : max_length_(max_length) {}

  // Consumes bytes from the front of `input` (advancing it) up to the end of one
  // message. Returns the message text without its newline once complete, or nullopt
  // when `input` ran out first (the partial message is kept for the next call).
  result<std::optional<std::string>> feed(bytes_view& input);

  // How many bytes the next feed may consume without passing the end of the current
  // message: 1 while reading the length prefix, then the rest of the body. 0 after a
  // failure. Shells read at most this many bytes so nothing after the negotiation is
  // taken from the stream.
  std::size_t wanted() const noexcept;

  // True when no partial message is buffered.
  bool is_idle() const noexcept { return prefix_length_ == 0 && !in_body_; }

 private:
  result<std::optional<std::string>> fail(errc e) noexcept;

  std::size_t max_length_;
  // Length prefix being decoded.
  std::uint64_t prefix_value_ = 0;
  std::size_t prefix_length_ = 0;
  // Body being collected once the prefix is complete.
  bool in_body_ = false;
  std::size_t body_length_ = 0;
  std::string body_;
  error_code error_;
};

}  // namespace p2p::multistream
