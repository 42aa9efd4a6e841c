#include "mcp/gateway/client/sse_parser.hpp"

#include <algorithm>
#include <limits>

namespace mcp::gateway::client {
namespace {

// Event types longer than this are cut: MCP only uses "message", and a cut type still
// differs from it.
constexpr std::size_t max_type_length = 256;
// Room on a line for "data: " around a value of max_event_size.
constexpr std::size_t line_overhead = 64;
// A line buffer that grew this large is released once the line is done.
constexpr std::size_t keep_capacity = 64 * 1024;

constexpr std::string_view byte_order_mark = "\xEF\xBB\xBF";

// The first `n` bytes of a + b.
std::string head_of(std::string_view a, std::string_view b, std::size_t n) {
  std::string out(a.substr(0, n));
  if (out.size() < n) out.append(b.substr(0, n - out.size()));
  return out;
}

// The last `n` bytes of a + b.
std::string tail_of(std::string_view a, std::string_view b, std::size_t n) {
  if (b.size() >= n) return std::string(b.substr(b.size() - n));
  const std::size_t from_a = std::min(a.size(), n - b.size());
  std::string out(a.substr(a.size() - from_a));
  out.append(b);
  return out;
}

bool is_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

sse_parser::sse_parser(std::size_t max_event_size) noexcept
    : max_event_size_(max_event_size),
      max_line_length_(max_event_size > std::numeric_limits<std::size_t>::max() - line_overhead
                           ? std::numeric_limits<std::size_t>::max()
                           : max_event_size + line_overhead) {}

void sse_parser::feed(std::string_view bytes) {
  // A byte order mark is skipped only as the stream's first bytes; it may arrive split.
  while (!bom_done_ && !bytes.empty()) {
    if (bytes.front() == byte_order_mark[bom_matched_]) {
      bytes.remove_prefix(1);
      if (++bom_matched_ == byte_order_mark.size()) bom_done_ = true;
    } else {
      bom_done_ = true;
      scan(byte_order_mark.substr(0, bom_matched_));  // not a mark after all: content
    }
  }
  scan(bytes);
}

void sse_parser::scan(std::string_view bytes) {
  while (!bytes.empty()) {
    if (after_cr_) {
      after_cr_ = false;
      if (bytes.front() == '\n') {  // the LF of a CRLF whose CR ended the last line
        bytes.remove_prefix(1);
        continue;
      }
    }
    const std::size_t end = bytes.find_first_of("\r\n");
    if (end == std::string_view::npos) {
      append_to_line(bytes);
      return;
    }
    append_to_line(bytes.substr(0, end));
    after_cr_ = bytes[end] == '\r';
    bytes.remove_prefix(end + 1);
    end_line();
  }
}

void sse_parser::append_to_line(std::string_view piece) {
  if (piece.empty()) return;
  if (line_overflow_) {
    line_size_ += piece.size();
    const std::size_t head_room = oversized_event_head + line_overhead - std::min(line_head_.size(), oversized_event_head + line_overhead);
    line_head_.append(piece.substr(0, head_room));
    keep_tail(piece, line_tail_);
    return;
  }
  if (line_.size() + piece.size() <= max_line_length_) {
    line_.append(piece);
    return;
  }
  // Too long to keep: remember only what identifies it (its field name and the start of
  // a data value) and its end.
  line_overflow_ = true;
  line_size_ = line_.size() + piece.size();
  line_head_ = head_of(line_, piece, oversized_event_head + line_overhead);
  line_tail_ = tail_of(line_, piece, oversized_event_tail);
  line_.clear();
  line_.shrink_to_fit();
}

void sse_parser::keep_tail(std::string_view piece, std::string& tail) {
  tail = tail_of(tail, piece, oversized_event_tail);
}

void sse_parser::end_line() {
  if (line_overflow_) {
    line_overflow_ = false;
    const std::string_view head = line_head_;
    const std::size_t colon = head.find(':');
    if (colon != std::string_view::npos && head.substr(0, colon) == "data") {
      std::size_t prefix = colon + 1;
      if (prefix < head.size() && head[prefix] == ' ') ++prefix;
      const std::size_t value_size = line_size_ - prefix;
      if (oversized_) {
        oversized_size_ += 1 + value_size;
      } else {
        mark_oversized(data_.size() + value_size, head_of(data_, head.substr(prefix), oversized_event_head));
      }
      oversized_tail_ = line_tail_;
    }
    // Any other over-long line (comment, id, event, retry, unknown field) is ignored.
    line_head_.clear();
    line_tail_.clear();
    line_size_ = 0;
    return;
  }
  if (line_.empty()) {
    dispatch();
    return;
  }
  if (line_.front() != ':') {  // a comment otherwise
    const std::size_t colon = line_.find(':');
    if (colon == std::string::npos) {
      process_field(line_, {});
    } else {
      std::size_t value_start = colon + 1;
      if (value_start < line_.size() && line_[value_start] == ' ') ++value_start;
      const std::string_view name = std::string_view(line_).substr(0, colon);
      if (name == "data" && !oversized_ && data_.empty() &&
          line_.size() - value_start <= max_event_size_) {
        // The usual single data line: move it instead of copying up to 16 MiB.
        line_.erase(0, value_start);
        data_.swap(line_);
        data_.push_back('\n');
      } else {
        process_field(name, std::string_view(line_).substr(value_start));
      }
    }
  }
  line_.clear();
  if (line_.capacity() > keep_capacity) line_.shrink_to_fit();
}

void sse_parser::process_field(std::string_view name, std::string_view value) {
  if (name == "data") {
    add_data(value);
  } else if (name == "event") {
    type_ = value.substr(0, max_type_length);
  } else if (name == "id") {
    if (value.find('\0') == std::string_view::npos && value.size() <= max_id_length) id_buffer_ = value;
  } else if (name == "retry") {
    if (is_digits(value)) {
      std::uint64_t ms = 0;
      for (char c : value) {
        const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
        if (ms > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
          ms = std::numeric_limits<std::uint64_t>::max();  // saturate: "wait very long"
          break;
        }
        ms = ms * 10 + digit;
      }
      retry_ = ms;
    }
  }
}

void sse_parser::add_data(std::string_view value) {
  if (oversized_) {
    oversized_size_ += 1 + value.size();
    keep_tail("\n", oversized_tail_);
    keep_tail(value, oversized_tail_);
    return;
  }
  // data_ holds the earlier lines, each with its LF; the event's data would end up
  // data_.size() + value.size() bytes long (the final LF is removed at dispatch).
  if (data_.size() + value.size() > max_event_size_) {
    std::string tail = tail_of(data_, value, oversized_event_tail);
    mark_oversized(data_.size() + value.size(), head_of(data_, value, oversized_event_head));
    oversized_tail_ = std::move(tail);
    return;
  }
  data_.append(value);
  data_.push_back('\n');
}

void sse_parser::mark_oversized(std::size_t size, std::string_view head_source) {
  oversized_ = true;
  oversized_size_ = size;
  oversized_head_ = std::string(head_source.substr(0, oversized_event_head));
  data_.clear();
  data_.shrink_to_fit();
}

void sse_parser::dispatch() {
  last_event_id_ = id_buffer_;
  if (oversized_) {
    sse_event event;
    event.type = type_.empty() ? "message" : type_;
    event.id = last_event_id_;
    event.oversized = true;
    event.size = oversized_size_;
    event.head = std::move(oversized_head_);
    event.tail = std::move(oversized_tail_);
    events_.push_back(std::move(event));
    reset_event();
    return;
  }
  if (data_.empty()) {  // no data line: nothing is dispatched
    type_.clear();
    return;
  }
  data_.pop_back();
  sse_event event;
  event.type = type_.empty() ? "message" : type_;
  event.data = std::move(data_);
  event.size = event.data.size();
  event.id = last_event_id_;
  events_.push_back(std::move(event));
  reset_event();
}

void sse_parser::reset_event() {
  data_ = std::string();
  type_.clear();
  oversized_ = false;
  oversized_size_ = 0;
  oversized_head_.clear();
  oversized_tail_.clear();
}

bool sse_parser::finish() {
  const bool discarded = !line_.empty() || line_overflow_ || !data_.empty() || oversized_ ||
                         !type_.empty() || (!bom_done_ && bom_matched_ > 0);
  line_.clear();
  line_.shrink_to_fit();
  line_overflow_ = false;
  line_size_ = 0;
  line_head_.clear();
  line_tail_.clear();
  reset_event();
  id_buffer_ = last_event_id_;  // an id of the discarded event never took effect
  after_cr_ = false;
  bom_done_ = false;
  bom_matched_ = 0;
  return discarded;
}

std::optional<sse_event> sse_parser::poll() {
  if (events_.empty()) return std::nullopt;
  sse_event event = std::move(events_.front());
  events_.pop_front();
  return event;
}

}  // namespace mcp::gateway::client
