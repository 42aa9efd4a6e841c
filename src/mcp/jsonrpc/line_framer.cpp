#include "mcp/jsonrpc/line_framer.hpp"

#include "mcp/jsonrpc/json.hpp"

#include <limits>

namespace mcp::jsonrpc {
namespace {

bool is_blank(std::string_view line) noexcept {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

}  // namespace

void line_framer::feed(std::string_view data) {
  // A line may hold one byte more than the limit while its "\r\n" is still split.
  const std::size_t held_limit = max_line_length_ == std::numeric_limits<std::size_t>::max()
                                     ? max_line_length_
                                     : max_line_length_ + 1;
  while (!data.empty()) {
    const std::size_t newline = data.find('\n');
    if (discarding_) {
      if (newline == std::string_view::npos) {
        discard(data);
        return;
      }
      discard(data.substr(0, newline));
      finish_discarding();
      data.remove_prefix(newline + 1);
      continue;
    }
    if (newline == std::string_view::npos) {
      if (data.size() > held_limit - partial_.size()) {
        start_discarding(data);
      } else {
        partial_.append(data);
      }
      return;
    }
    const std::string_view rest = data.substr(0, newline);
    if (rest.size() > held_limit - partial_.size()) {
      start_discarding(rest);
      finish_discarding();
    } else {
      complete_line(rest);
    }
    data.remove_prefix(newline + 1);
  }
}

void line_framer::finish() {
  if (discarding_) {
    finish_discarding();
  } else if (!partial_.empty()) {
    complete_line({});
  }
}

std::optional<frame> line_framer::poll() {
  if (frames_.empty()) return std::nullopt;
  frame next = std::move(frames_.front());
  frames_.pop_front();
  return next;
}

void line_framer::complete_line(std::string_view rest) {
  std::string line;
  if (partial_.empty()) {
    line.assign(rest);
  } else {
    partial_.append(rest);
    line = std::move(partial_);  // hands the buffer's storage to the frame
    partial_.clear();
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (is_blank(line)) return;
  if (line.size() > max_line_length_) {
    // Only reachable when the whole line fit in the one-byte "\r" allowance.
    frame report;
    report.error = p2p::errc::message_too_large;
    report.size = line.size();
    report.head = line.substr(0, oversized_head_length);
    report.tail = line.substr(line.size() - std::min(line.size(), oversized_tail_length));
    frames_.push_back(std::move(report));
    return;
  }
  frame complete;
  complete.size = line.size();
  complete.line = std::move(line);
  frames_.push_back(std::move(complete));
}

void line_framer::start_discarding(std::string_view rest) {
  discarding_ = true;
  discarded_ = 0;
  head_.clear();
  tail_.clear();
  discard(partial_);
  std::string().swap(partial_);  // give the up-to-limit buffer back
  discard(rest);
}

void line_framer::discard(std::string_view chunk) {
  if (head_.size() < oversized_head_length) {
    head_.append(chunk.substr(0, oversized_head_length - head_.size()));
  }
  keep_tail(chunk);
  discarded_ += chunk.size();
}

void line_framer::keep_tail(std::string_view chunk) {
  if (chunk.size() >= oversized_tail_length) {
    tail_.assign(chunk.substr(chunk.size() - oversized_tail_length));
    return;
  }
  tail_.append(chunk);
  if (tail_.size() > oversized_tail_length) tail_.erase(0, tail_.size() - oversized_tail_length);
}

void line_framer::finish_discarding() {
  frame report;
  report.error = p2p::errc::message_too_large;
  report.size = discarded_;
  report.head = std::move(head_);
  report.tail = std::move(tail_);
  frames_.push_back(std::move(report));
  discarding_ = false;
  discarded_ = 0;
  head_.clear();
  tail_.clear();
}

std::string encode_line(const json& message) {
  std::string out;
  append_line(out, message);
  return out;
}

void append_line(std::string& out, const json& message) {
  out += message.dump(-1, ' ', false, json::error_handler_t::replace);
  out += '\n';
}

}  // namespace mcp::jsonrpc
