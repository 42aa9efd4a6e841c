#include "memory_stream.hpp"
#include "run.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <gtest/gtest.h>

namespace p2p::testing {
namespace {

using namespace boost::asio::experimental::awaitable_operators;

TEST(memory_stream, byte_by_byte_with_backpressure) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [a, b] = make_memory_stream_pair(ex, {.max_read = 1, .capacity = 7});
    bytes sent(1000);
    for (std::size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<std::uint8_t>(i * 7);
    auto writer = [&]() -> task<void> {
      EXPECT_TRUE(co_await a->write(sent));
      EXPECT_TRUE(co_await a->close_write());
    };
    auto reader = [&]() -> task<void> {
      auto got = co_await read_to_end(*b, 1 << 20);
      EXPECT_TRUE(got);
      if (got) EXPECT_EQ(*got, sent);
    };
    co_await (writer() && reader());
  });
}

TEST(memory_stream, reset_ends_reads) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [a, b] = make_memory_stream_pair(ex);
    a->reset();
    std::uint8_t buf[4];
    auto r = co_await b->read_some(buf);
    EXPECT_EQ(r.error(), errc::stream_reset);
  });
}

}  // namespace
}  // namespace p2p::testing
