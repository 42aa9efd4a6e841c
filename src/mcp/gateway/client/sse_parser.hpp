// Decoder of a text/event-stream body (WHATWG HTML "Server-sent events", section
// "Parsing an event stream" and "Interpreting an event stream"), as MCP's Streamable HTTP
// transport uses it to carry JSON-RPC messages (MCP specification 2025-11-25,
// basic/transports): one message per event, in the event's data.
//
// Sans-IO: no Asio, no clock. The shell feeds the body bytes it read, in any split down to
// one byte, and polls dispatched events. Never throws on input and never holds more than
// about twice max_event_size, whatever the server sends; the fuzz target
// fuzz/fuzz_mcp_sse.cpp checks both.
//
// What the standard says and this follows:
// - lines end with CRLF, LF or CR (a CRLF split across two feeds is one line end);
// - one UTF-8 byte order mark at the very start of the stream is skipped;
// - a line starting with ':' is a comment; "name:value" is a field (one space after the
//   colon is removed); a line without a colon is a field with an empty value;
// - "event" sets the type, "data" appends the value plus LF, "id" sets the last event id
//   (unless it contains NUL; it persists across events), "retry" (ASCII digits only) sets
//   the reconnection time; other fields are ignored;
// - an empty line dispatches: nothing when no data line was seen, else the data without
//   its final LF and the type ("message" when none was given);
// - an event still incomplete when the stream ends is discarded (finish()).
// Deviations, all limits: data over max_event_size is not kept (the event is reported as
// oversized, with its first and last bytes), an over-long line that is not a data line is
// ignored, and an id longer than max_id_length is ignored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

namespace mcp::gateway::client {

// The largest message the client accepts by default: 16 MiB.
inline constexpr std::size_t default_max_message_size = 16 * 1024 * 1024;
// Ids longer than this are ignored (the spec sets no limit; we never send them back).
inline constexpr std::size_t max_id_length = 1024;
// How much of an oversized event's data is kept, for jsonrpc::sniff_message.
inline constexpr std::size_t oversized_event_head = 512;
inline constexpr std::size_t oversized_event_tail = 128;

struct sse_event {
  std::string type;  // the "event" field, "message" when the event had none
  std::string data;  // the data lines joined with LF; empty when oversized
  std::string id;    // the last event id at dispatch (ids persist across events)
  // The data was over max_event_size: it was dropped; `size` is how many bytes it had
  // (counting the LFs joining data lines), `head`/`tail` its first and last bytes.
  bool oversized = false;
  std::size_t size = 0;
  std::string head;
  std::string tail;
};

class sse_parser {
 public:
  explicit sse_parser(std::size_t max_event_size = default_max_message_size) noexcept;

  // Consumes all of `bytes`; dispatched events queue for poll().
  void feed(std::string_view bytes);
  // End of the stream: an incomplete line or event is discarded, as the standard says.
  // Returns true when something was discarded (the stream ended mid-event). The parser
  // can then be fed a new stream (the last event id and retry are kept).
  bool finish();

  // The next dispatched event in stream order, or nullopt.
  std::optional<sse_event> poll();
  bool has_event() const noexcept { return !events_.empty(); }

  // The reconnection time from the last valid "retry" field, in milliseconds.
  std::optional<std::uint64_t> retry() const noexcept { return retry_; }
  const std::string& last_event_id() const noexcept { return last_event_id_; }
  // Bytes held for the event and line in progress (not counting queued events).
  std::size_t buffered() const noexcept { return line_.size() + data_.size() + type_.size(); }
  std::size_t max_event_size() const noexcept { return max_event_size_; }

 private:
  void scan(std::string_view bytes);
  void append_to_line(std::string_view piece);
  void end_line();
  void process_field(std::string_view name, std::string_view value);
  void add_data(std::string_view value);
  void mark_oversized(std::size_t size, std::string_view head_source);
  void keep_tail(std::string_view piece, std::string& tail);
  void dispatch();
  void reset_event();

  std::size_t max_event_size_;
  std::size_t max_line_length_;  // a data line carrying max_event_size, plus "data: "

  // Byte order mark at the start of the stream.
  bool bom_done_ = false;
  std::size_t bom_matched_ = 0;
  bool after_cr_ = false;  // the last line ended with CR: a following LF belongs to it

  // The current line; once over max_line_length_ only its head and tail are kept.
  std::string line_;
  bool line_overflow_ = false;
  std::size_t line_size_ = 0;
  std::string line_head_;
  std::string line_tail_;

  // The event in progress.
  std::string data_;
  std::string type_;
  bool oversized_ = false;
  std::size_t oversized_size_ = 0;
  std::string oversized_head_;
  std::string oversized_tail_;

  std::string id_buffer_;
  std::string last_event_id_;
  std::optional<std::uint64_t> retry_;
  std::deque<sse_event> events_;
};

}  // namespace mcp::gateway::client
