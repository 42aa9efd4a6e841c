#include "p2p/negotiation/listener.hpp"

#include <utility>

namespace p2p::multistream {

listener::listener(predicate is_supported, std::optional<std::vector<std::string>> listed)
    : is_supported_(std::move(is_supported)), listed_(std::move(listed)) {
  encode_message(protocol_id, output_);
}

bytes listener::poll_output() { return std::exchange(output_, {}); }

result<std::size_t> listener::handle_data(bytes_view input) {
  if (state_ == state::failed) return error_;
  const std::size_t total = input.size();
  while (!input.empty() && !is_done()) {
    auto message = decoder_.feed(input);
    // Framing errors all mean the same to the caller: the peer broke the protocol.
    if (!message) return fail();
    if (!*message) break;
    if (!on_message(std::move(**message))) return fail();
  }
  return total - input.size();
}

result<std::size_t> listener::fail() {
  state_ = state::failed;
  error_ = errc::protocol_violation;
  output_.clear();
  return error_;
}

result<void> listener::on_message(std::string message) {
  if (state_ == state::await_header) {
    if (message != protocol_id) return errc::protocol_violation;
    state_ = state::await_proposal;
    return {};
  }
  if (message == list_request && listed_) {
    encode_list(*listed_, output_);
    return {};
  }
  // A repeated header, "na", "ls" (listing off) or an empty id is never a protocol we
  // serve; go-multistream also answers them with "na", and the dialer may go on proposing.
  if (!is_valid_protocol_id(message) || !is_supported_ || !is_supported_(message)) {
    encode_message(not_available, output_);
    return {};
  }
  encode_message(message, output_);
  selected_ = std::move(message);
  state_ = state::selected;
  return {};
}

std::size_t listener::wanted() const noexcept { return is_done() ? 0 : decoder_.wanted(); }

std::optional<std::string_view> listener::selected() const noexcept {
  if (state_ != state::selected) return std::nullopt;
  return selected_;
}

}  // namespace p2p::multistream
