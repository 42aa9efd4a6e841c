#include "p2p/protocols/identify/identify.hpp"

#include "p2p/core/varint.hpp"

namespace p2p::identify {

namespace {

error_code fail(stream& s, error_code ec) {
  s.reset();
  return ec;
}

// Outcome of reading one part's length prefix.
struct prefix {
  bool end_of_stream = false;  // the remote closed cleanly before a new part began
  std::uint64_t length = 0;
};

// Reads a varint prefix one byte at a time so no byte of the next part is consumed.
// A clean EOF before the first byte ends the message; EOF inside the prefix is an error.
task<result<prefix>> read_prefix(stream& s) {
  std::uint8_t buffer[varint::max_length];
  std::size_t used = 0;
  for (;;) {
    if (used == varint::max_length) co_return errc::varint_overflow;
    auto n = co_await s.read_some(mutable_bytes_view(buffer + used, 1));
    if (!n) {
      if (n.error() != errc::closed) co_return n.error();
      if (used == 0) co_return prefix{.end_of_stream = true};
      co_return errc::truncated;
    }
    ++used;
    if ((buffer[used - 1] & 0x80) == 0) break;
  }
  auto decoded = varint::decode(bytes_view(buffer, used));
  if (!decoded) co_return decoded.error();
  co_return prefix{.length = decoded->value};
}

}  // namespace

task<result<void>> write_message(stream& s, const message& m) {
  const bytes encoded = encode(m);
  if (auto w = co_await write_length_prefixed(s, encoded); !w) co_return fail(s, w.error());
  if (auto c = co_await s.close_write(); !c) co_return fail(s, c.error());
  co_return result<void>{};
}

task<result<message>> read_message(stream& s, std::size_t limit) {
  // Concatenated parts decode as their protobuf merge, so collect them in one buffer.
  bytes combined;
  std::size_t parts = 0;
  for (;;) {
    auto next = co_await read_prefix(s);
    if (!next) co_return fail(s, next.error());
    if (next->end_of_stream) break;
    if (++parts > max_parts) co_return fail(s, errc::protocol_violation);
    if (next->length > limit - combined.size()) co_return fail(s, errc::message_too_large);
    const std::size_t offset = combined.size();
    combined.resize(offset + static_cast<std::size_t>(next->length));
    auto body = co_await read_exact(s, mutable_bytes_view(combined).subspan(offset));
    if (!body) co_return fail(s, body.error() == errc::closed ? error_code(errc::truncated) : body.error());
  }
  if (parts == 0) co_return fail(s, errc::protocol_violation);  // closed without an Identify
  auto decoded = decode(combined);
  if (!decoded) co_return fail(s, decoded.error());
  (void)co_await s.close_write();
  co_return std::move(*decoded);
}

}  // namespace p2p::identify
