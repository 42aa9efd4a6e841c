#include "p2p/protocols/ping/ping.hpp"

#include <algorithm>
#include <array>

namespace p2p::ping {

namespace {

using payload = std::array<std::uint8_t, payload_size>;

// Fills `buffer` like read_exact, but tells a clean end before the first byte
// (errc::closed) apart from an end inside the payload (errc::truncated): the first is
// how a ping exchange normally finishes, the second is a broken peer.
task<result<void>> read_payload(stream& s, payload& buffer) {
  std::size_t filled = 0;
  while (filled < buffer.size()) {
    auto n = co_await s.read_some(mutable_bytes_view(buffer).subspan(filled));
    if (!n) {
      if (n.error() == errc::closed && filled > 0) co_return errc::truncated;
      co_return n.error();
    }
    filled += *n;
  }
  co_return result<void>{};
}

// Resets the stream and passes the error on (see the error rule in ping.hpp).
error_code fail(stream& s, error_code ec) {
  s.reset();
  return ec;
}

}  // namespace

task<result<duration>> ping_once(stream& s, random& rng, clock& now) {
  payload sent;
  rng.fill(sent);
  const time_point start = now.now();
  if (auto w = co_await s.write(sent); !w) co_return fail(s, w.error());
  payload echoed;
  if (auto r = co_await read_payload(s, echoed); !r) co_return fail(s, r.error());
  const duration rtt = now.now() - start;
  if (echoed != sent) co_return fail(s, errc::protocol_violation);
  co_return rtt;
}

task<result<void>> finish(stream& s) {
  if (auto c = co_await s.close_write(); !c) co_return fail(s, c.error());
  std::uint8_t extra[1];
  auto n = co_await s.read_some(extra);
  if (n) co_return fail(s, errc::protocol_violation);  // an echo nobody asked for
  if (n.error() != errc::closed) co_return fail(s, n.error());
  co_return result<void>{};
}

task<result<void>> serve(stream& s) {
  payload buffer;
  for (;;) {
    auto r = co_await read_payload(s, buffer);
    if (!r) {
      if (r.error() == errc::closed) break;  // the dialer is done
      co_return fail(s, r.error());
    }
    if (auto w = co_await s.write(buffer); !w) co_return fail(s, w.error());
  }
  if (auto c = co_await s.close_write(); !c) co_return fail(s, c.error());
  co_return result<void>{};
}

}  // namespace p2p::ping
