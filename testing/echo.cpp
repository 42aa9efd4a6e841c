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

task<result<void>> run_echo(stream& s, std::uint64_t size) {
  auto writer = [&]() -> task<result<void>> {
    std::vector<std::uint8_t> chunk(64 * 1024);
    for (std::uint64_t sent = 0; sent < size;) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), size - sent));
      for (std::size_t i = 0; i < n; ++i) chunk[i] = echo_pattern(sent + i);
      if (auto r = co_await s.write(bytes_view(chunk.data(), n)); !r) co_return r.error();
      sent += n;
    }
    co_return co_await s.close_write();
  };
  auto reader = [&]() -> task<result<void>> {
    std::vector<std::uint8_t> buffer(64 * 1024);
    std::uint64_t received = 0;
    for (;;) {
      auto n = co_await s.read_some(buffer);
      if (!n) {
        if (n.error() != errc::closed) co_return n.error();
        break;
      }
      for (std::size_t i = 0; i < *n; ++i)
        if (buffer[i] != echo_pattern(received + i)) co_return errc::protocol_violation;
      received += *n;
      if (received > size) co_return errc::protocol_violation;
    }
    if (received != size) co_return errc::protocol_violation;
    co_return result<void>{};
  };
  auto [wrote, read] = co_await (writer() && reader());
  if (!wrote) co_return wrote.error();
  co_return read;
}

}  // namespace p2p::testing
