#include "p2p/core/stream.hpp"

#include "p2p/core/varint.hpp"

namespace p2p {

task<result<void>> read_exact(stream& s, mutable_bytes_view buffer) {
  std::size_t filled = 0;
  while (filled < buffer.size()) {
    auto n = co_await s.read_some(buffer.subspan(filled));
    if (!n) co_return n.error();
    filled += *n;
  }
  co_return result<void>{};
}

task<result<bytes>> read_to_end(stream& s, std::size_t limit) {
  bytes out;
  std::uint8_t chunk[16 * 1024];
  for (;;) {
    auto n = co_await s.read_some(chunk);
    if (!n) {
      if (n.error() == errc::closed) co_return out;
      co_return n.error();
    }
    if (out.size() + *n > limit) co_return errc::message_too_large;
    out.insert(out.end(), chunk, chunk + *n);
  }
}

task<result<bytes>> read_length_prefixed(stream& s, std::size_t limit) {
  std::uint8_t prefix[varint::max_length];
  std::size_t used = 0;
  std::uint64_t length = 0;
  for (;;) {
    if (used == sizeof prefix) co_return errc::varint_overflow;
    auto n = co_await s.read_some(mutable_bytes_view(prefix + used, 1));
    if (!n) co_return n.error();
    ++used;
    if ((prefix[used - 1] & 0x80) == 0) {
      auto decoded = varint::decode(bytes_view(prefix, used));
      if (!decoded) co_return decoded.error();
      length = decoded->value;
      break;
    }
  }
  if (length > limit) co_return errc::message_too_large;
  bytes message(static_cast<std::size_t>(length));
  if (auto r = co_await read_exact(s, message); !r) co_return r.error();
  co_return message;
}

task<result<void>> write_length_prefixed(stream& s, bytes_view message) {
  bytes framed;
  framed.reserve(message.size() + varint::max_length);
  varint::encode(message.size(), framed);
  append(framed, message);
  co_return co_await s.write(framed);
}

}  // namespace p2p
