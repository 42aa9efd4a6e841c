#include "echo.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

#include <algorithm>
#include <vector>

namespace p2p::testing {

using namespace boost::asio::experimental::awaitable_operators;

std::uint8_t echo_pattern(std::uint64_t index) noexcept { return static_cast<std::uint8_t>(index * 31 + 7); }

task<void> serve_echo(std::unique_ptr<stream> s) {
  std::vector<std::uint8_t> buffer(64 * 1024);
  for (;;) {
    auto n = co_await s->read_some(buffer);
    if (!n) break;
    if (!co_await s->write(bytes_view(buffer.data(), *n))) {
      s->reset();
      co_return;
    }
  }
  co_await s->close_write();
}

namespace {
constexpr std::size_t echo_chunk = 64 * 1024;

// The pattern has period 256, so one table of chunk + 256 bytes serves every offset:
// bytes [offset, offset + n) of the stream are table[offset % 256 ...].
const std::vector<std::uint8_t>& pattern_table() {
  static const std::vector<std::uint8_t> table = [] {
    std::vector<std::uint8_t> t(echo_chunk + 256);
    for (std::size_t i = 0; i < t.size(); ++i) t[i] = echo_pattern(i);
    return t;
  }();
  return table;
}
}  // namespace

task<result<void>> run_echo(stream& s, std::uint64_t size) {
  const auto& table = pattern_table();
  auto writer = [&]() -> task<result<void>> {
    for (std::uint64_t sent = 0; sent < size;) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(echo_chunk, size - sent));
      if (auto r = co_await s.write(bytes_view(table.data() + sent % 256, n)); !r) co_return r.error();
      sent += n;
    }
    co_return co_await s.close_write();
  };
  auto reader = [&]() -> task<result<void>> {
    std::vector<std::uint8_t> buffer(echo_chunk);
    std::uint64_t received = 0;
    for (;;) {
      auto n = co_await s.read_some(buffer);
      if (!n) {
        if (n.error() != errc::closed) co_return n.error();
        break;
      }
      if (received + *n > size) co_return errc::protocol_violation;
      if (!std::equal(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(*n),
                      table.begin() + static_cast<std::ptrdiff_t>(received % 256)))
        co_return errc::protocol_violation;
      received += *n;
    }
    if (received != size) co_return errc::protocol_violation;
    co_return result<void>{};
  };
  auto [wrote, read] = co_await (writer() && reader());
  if (!wrote) co_return wrote.error();
  co_return read;
}

}  // namespace p2p::testing
