// Newline-delimited JSON-RPC framing, as MCP's stdio transport defines it (MCP
// specification 2025-06-18 and 2025-11-25, basic/transports "stdio"): every message is
// one line of UTF-8 JSON, "delimited by newlines, and MUST NOT contain embedded newlines".
// p2pmcp uses the same framing on libp2p streams.
//
// Sans-IO: no Asio, no clock. The shell feeds the bytes it read (any split, down to one
// byte) and polls complete frames. Never throws on peer input.
#pragma once

#include "p2p/core/bytes.hpp"
#include "p2p/core/error.hpp"

#include "mcp/jsonrpc/json.hpp"

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

namespace mcp::jsonrpc {

using json = mcp::json;

// Default largest message (line without its terminator): 4 MiB.
inline constexpr std::size_t default_max_line_length = 4 * 1024 * 1024;
// How much of an oversized line is kept for sniff_message (message.hpp).
inline constexpr std::size_t oversized_head_length = 512;
inline constexpr std::size_t oversized_tail_length = 128;

// One result of framing: a complete line, or the report of a line over the limit.
struct frame {
  // The message text without "\n" and without a "\r" just before it. Empty on error.
  std::string line;
  // errc::message_too_large when the line was over the limit; the line's bytes were
  // dropped and framing resumed after its newline.
  p2p::error_code error;
  // Length of the line without terminator (for an oversized line: bytes dropped, which
  // may include a final "\r").
  std::size_t size = 0;
  // Oversized only: the first oversized_head_length and last oversized_tail_length bytes
  // of the line, so the shell can still recover its id (sniff_message) and answer.
  std::string head;
  std::string tail;

  bool is_oversized() const noexcept { return static_cast<bool>(error); }
};

// Incremental splitter of a byte stream into lines.
//
// - "\n" ends a line; one "\r" just before it is removed (CRLF tolerated on input).
// - Lines that are empty or only spaces/tabs are skipped (harmless keep-alives).
// - A line longer than max_line_length produces one oversized frame and is dropped; the
//   stream stays usable: framing resumes at the byte after its newline. Memory stays
//   within max_line_length + 1 plus the frames not yet polled, whatever the peer sends.
class line_framer {
 public:
  explicit line_framer(std::size_t max_line_length = default_max_line_length) noexcept
      : max_line_length_(max_line_length) {}

  // Consumes all of `data`. Completed frames are queued for poll().
  void feed(std::string_view data);
  void feed(p2p::bytes_view data) { feed(p2p::as_string(data)); }

  // End of input. A final line without "\n" is queued as a line (lenient: a server that
  // exits after its last message without a newline still delivers it); an oversized line
  // in progress is reported. The framer is reset and may be fed again.
  void finish();

  // The next frame in input order, or nullopt when none is complete.
  std::optional<frame> poll();
  bool has_frame() const noexcept { return !frames_.empty(); }

  // Bytes of the current incomplete line held in memory.
  std::size_t buffered() const noexcept { return partial_.size(); }
  std::size_t max_line_length() const noexcept { return max_line_length_; }

 private:
  void complete_line(std::string_view rest);
  void start_discarding(std::string_view rest);
  void discard(std::string_view chunk);
  void finish_discarding();
  void keep_tail(std::string_view chunk);

  std::size_t max_line_length_;
  std::string partial_;  // bytes of the current line so far
  std::deque<frame> frames_;

  // Dropping an oversized line until its newline.
  bool discarding_ = false;
  std::size_t discarded_ = 0;
  std::string head_;
  std::string tail_;
};

// Serializes one message as one line: compact JSON + "\n". nlohmann's dump escapes
// control characters in strings, so the text never contains a raw newline. Invalid
// UTF-8 in strings is replaced by U+FFFD rather than throwing.
std::string encode_line(const json& message);
// Appends the line to `out` (for writing several messages at once).
void append_line(std::string& out, const json& message);

}  // namespace mcp::jsonrpc
