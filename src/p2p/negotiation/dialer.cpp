#include "p2p/negotiation/dialer.hpp"

#include <utility>

namespace p2p::multistream {

result<dialer> dialer::create(std::vector<std::string> protocols) {
  if (protocols.empty()) return errc::invalid_argument;
  for (const auto& protocol : protocols) {
    if (!is_valid_protocol_id(protocol)) return errc::invalid_argument;
  }
  return dialer(std::move(protocols));
}

dialer::dialer(std::vector<std::string> protocols) : protocols_(std::move(protocols)) {
  // Header and first proposal go out together, saving a round trip; go, js and rust
  // dialers all do this and every listener reads them as two messages.
  encode_message(protocol_id, output_);
  encode_message(protocols_.front(), output_);
}

bytes dialer::poll_output() { return std::exchange(output_, {}); }

result<std::size_t> dialer::fail(error_code e) {
  state_ = state::failed;
  error_ = e;
  output_.clear();
  return error_;
}

result<std::size_t> dialer::handle_data(bytes_view input) {
  if (state_ == state::failed) return error_;
  const std::size_t total = input.size();
  while (!input.empty() && !is_done()) {
    auto message = decoder_.feed(input);
    // The decoder's specific reason is not actionable for the caller: whatever the
    // framing error, the peer does not speak multistream-select correctly.
    if (!message) return fail(errc::protocol_violation);
    if (!*message) break;
    if (auto handled = on_message(**message); !handled) return fail(handled.error());
  }
  return total - input.size();
}

result<void> dialer::on_message(const std::string& message) {
  switch (state_) {
    case state::await_header:
      if (message != protocol_id) return errc::protocol_violation;
      state_ = state::await_answer;
      return {};
    case state::await_answer:
      if (message == protocols_[current_]) {
        state_ = state::selected;
        return {};
      }
      if (message != not_available) return errc::protocol_violation;
      if (++current_ == protocols_.size()) return errc::protocol_not_supported;
      encode_message(protocols_[current_], output_);
      return {};
    case state::selected:
    case state::failed:
      break;
  }
  return errc::protocol_violation;
}

std::size_t dialer::wanted() const noexcept { return is_done() ? 0 : decoder_.wanted(); }

std::optional<std::string_view> dialer::selected() const noexcept {
  if (state_ != state::selected) return std::nullopt;
  return protocols_[current_];
}

}  // namespace p2p::multistream
