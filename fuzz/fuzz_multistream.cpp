// multistream-select on arbitrary input: the message decoder (any split must decode the
// same as byte-by-byte), the listener and the dialer state machines (never consume more
// than wanted(), never past the end of the negotiation, answers well formed).
// Input: byte 0 picks the chunk size, the rest is what the peer sends.
#include "p2p/negotiation/dialer.hpp"
#include "fuzz_support.hpp"
#include "p2p/negotiation/listener.hpp"
#include "p2p/negotiation/message.hpp"

#include <algorithm>
#include <cstdlib>

namespace {

using namespace p2p;
using namespace p2p::multistream;

using fuzz::check;

struct decoded_stream {
  std::vector<std::string> messages;
  error_code error;
  bool operator==(const decoded_stream&) const = default;
};

decoded_stream decode(bytes_view input, std::size_t chunk) {
  decoded_stream out;
  message_decoder decoder;
  while (!input.empty()) {
    bytes_view piece = input.first(std::min(chunk, input.size()));
    const std::size_t before = piece.size();
    auto message = decoder.feed(piece);
    if (!message) {
      out.error = message.error();
      check(decoder.wanted() == 0);
      break;
    }
    if (*message) {
      check((*message)->size() + 1 <= max_message_length);
      out.messages.push_back(std::move(**message));
    } else {
      check(piece.empty());  // without a message, the whole piece was buffered
    }
    input = input.subspan(before - piece.size());
  }
  return out;
}

// Feeds `input` to a core in pieces of at most `chunk` bytes, capped at wanted().
// Returns the number of bytes consumed.
template <class Core>
std::size_t drive(Core& core, bytes_view input, std::size_t chunk, std::size_t& output_size) {
  std::size_t used = 0;
  output_size += core.poll_output().size();
  while (used < input.size() && !core.is_done()) {
    const std::size_t wanted = core.wanted();
    check(wanted > 0);
    const std::size_t take = std::min({chunk, wanted, input.size() - used});
    auto n = core.handle_data(input.subspan(used, take));
    if (!n) {
      check(core.is_done() && core.error());
      check(core.poll_output().empty());
      break;
    }
    check(*n == take);  // a core consumes everything it asked for
    used += *n;
    output_size += core.poll_output().size();
  }
  if (core.is_done()) check(core.wanted() == 0);
  return used;
}

bool accepts(std::string_view id) { return id.size() >= 3 && id.substr(0, 3) == "/ok"; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = (data[0] % 16) + 1;
  const bytes_view input(data + 1, size - 1);

  // Decoder: any chunking agrees with byte-by-byte.
  const auto whole = decode(input, input.size() + 1);
  // Lengths are minimal varints, so re-encoding the messages gives back the input's prefix.
  bytes again;
  for (const auto& message : whole.messages) encode_message(message, again);
  check(again.size() <= input.size() && std::equal(again.begin(), again.end(), input.begin()));
  check(decode(input, 1) == whole);
  check(decode(input, chunk) == whole);

  // Listener: byte-by-byte and chunked runs agree and stop at the same place.
  const std::vector<std::string> listed{"/ok/1.0.0", "/ok/2.0.0"};
  listener bytewise(accepts, listed);
  listener chunked(accepts, listed);
  std::size_t out1 = 0, out2 = 0;
  const std::size_t used1 = drive(bytewise, input, 1, out1);
  const std::size_t used2 = drive(chunked, input, chunk, out2);
  check(bytewise.selected() == chunked.selected() && bytewise.error() == chunked.error());
  check(out1 == out2);
  // Consumption agrees unless it failed (a failing chunk is not counted as consumed).
  if (!bytewise.error()) check(used1 == used2);
  if (auto selected = bytewise.selected()) check(accepts(*selected) && is_valid_protocol_id(*selected));

  // Dialer against the same bytes as the listener's answers.
  auto d = dialer::create({"/a", "/b", "/ok/1.0.0"});
  check(static_cast<bool>(d));
  std::size_t out3 = 0;
  drive(*d, input, chunk, out3);
  if (auto selected = d->selected()) check(*selected == "/a" || *selected == "/b" || *selected == "/ok/1.0.0");
  if (d->error()) check(d->error() == errc::protocol_violation || d->error() == errc::protocol_not_supported);

  // An "ls" answer body never crashes the list parser.
  for (const auto& message : whole.messages) (void)decode_list(message);
  return 0;
}
