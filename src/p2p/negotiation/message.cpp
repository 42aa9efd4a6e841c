#include "p2p/negotiation/message.hpp"

#include "p2p/core/varint.hpp"

#include <algorithm>

namespace p2p::multistream {

bool is_valid_protocol_id(std::string_view id) noexcept {
  if (id.empty() || id.size() + 1 > max_message_length) return false;
  if (id.find('\n') != std::string_view::npos) return false;
  // Reserved words would make the listener's answer ambiguous ("na" echoed back reads
  // as a refusal) or start a different exchange ("ls", a second header).
  return id != protocol_id && id != not_available && id != list_request;
}

void encode_message(std::string_view text, bytes& out) {
  varint::encode(text.size() + 1, out);
  append(out, as_bytes(text));
  out.push_back('\n');
}

bytes encode_message(std::string_view text) {
  bytes out;
  out.reserve(text.size() + 1 + varint::max_length);
  encode_message(text, out);
  return out;
}

void encode_list(std::span<const std::string> protocols, bytes& out) {
  bytes inner;
  for (const auto& protocol : protocols) encode_message(protocol, inner);
  inner.push_back('\n');
  varint::encode(inner.size(), out);
  append(out, inner);
}

result<std::vector<std::string>> decode_list(std::string_view text) {
  std::vector<std::string> protocols;
  bytes_view input = as_bytes(text);
  message_decoder decoder;
  while (!input.empty()) {
    auto message = decoder.feed(input);
    if (!message) return message.error();
    if (!*message) return errc::truncated;  // the text ended inside an entry
    protocols.push_back(std::move(**message));
  }
  return protocols;
}

result<std::optional<std::string>> message_decoder::fail(errc e) noexcept {
  error_ = e;
  return error_;
}

result<std::optional<std::string>> message_decoder::feed(bytes_view& input) {
  if (error_) return error_;
  while (!input.empty()) {
    if (!in_body_) {
      // The prefix is read a byte at a time so that wanted() stays exact.
      const std::uint8_t byte = input.front();
      input = input.subspan(1);
      prefix_value_ |= static_cast<std::uint64_t>(byte & 0x7f) << (7 * prefix_length_);
      ++prefix_length_;
      if (byte & 0x80) {
        if (prefix_length_ >= varint::max_length) return fail(errc::varint_overflow);
        // Later groups only add to the value, so a prefix already above the limit can be
        // rejected before the peer sends the rest of it.
        if (prefix_value_ > max_length_) return fail(errc::message_too_large);
        continue;
      }
      if (byte == 0 && prefix_length_ > 1) return fail(errc::varint_not_minimal);
      if (prefix_value_ > max_length_) return fail(errc::message_too_large);
      // Every message carries at least its newline.
      if (prefix_value_ == 0) return fail(errc::malformed);
      body_length_ = static_cast<std::size_t>(prefix_value_);
      prefix_value_ = 0;
      prefix_length_ = 0;
      in_body_ = true;
      body_.clear();
      body_.reserve(body_length_);
      continue;
    }
    const std::size_t take = std::min(input.size(), body_length_ - body_.size());
    const auto chunk = as_string(input.first(take));
    body_.append(chunk.data(), chunk.size());
    input = input.subspan(take);
    if (body_.size() < body_length_) break;
    if (body_.back() != '\n') return fail(errc::malformed);
    body_.pop_back();
    in_body_ = false;
    std::string message = std::move(body_);
    body_ = {};
    return std::optional<std::string>(std::move(message));
  }
  return std::optional<std::string>();
}

std::size_t message_decoder::wanted() const noexcept {
  if (error_) return 0;
  if (!in_body_) return 1;
  return body_length_ - body_.size();
}

}  // namespace p2p::multistream
