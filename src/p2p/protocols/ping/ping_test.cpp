#include "p2p/protocols/ping/ping.hpp"

#include "memory_stream.hpp"
#include "run.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include "ticking_clock.hpp"

#include <gtest/gtest.h>

#include <array>
#include <chrono>

namespace p2p::ping {
namespace {

using namespace boost::asio::experimental::awaitable_operators;
using testing::make_memory_stream_pair;
using testing::memory_stream_options;
using testing::run;

using testing::ticking_clock;

class ping_pairs : public ::testing::TestWithParam<memory_stream_options> {};

TEST_P(ping_pairs, several_pings_on_one_stream_then_clean_close) {
  run([options = GetParam()](boost::asio::any_io_executor ex) -> task<void> {
    auto [dialer, listener] = make_memory_stream_pair(ex, options);
    seeded_random rng(7);
    ticking_clock ticks(std::chrono::milliseconds(5));  // a round trip reads 5 ms
    auto client = [&]() -> task<void> {
      for (int i = 0; i < 5; ++i) {
        auto rtt = co_await ping_once(*dialer, rng, ticks);
        EXPECT_TRUE(rtt) << (rtt ? "" : rtt.error().message());
        if (rtt) {
          EXPECT_EQ(*rtt, std::chrono::milliseconds(5));
        }
      }
      EXPECT_TRUE(co_await finish(*dialer));
    };
    auto server = [&]() -> task<void> { EXPECT_TRUE(co_await serve(*listener)); };
    co_await (client() && server());
    EXPECT_EQ(dialer->bytes_written(), 5 * payload_size);
    EXPECT_EQ(listener->bytes_written(), 5 * payload_size);
  });
}

INSTANTIATE_TEST_SUITE_P(stream_shapes, ping_pairs,
                         ::testing::Values(memory_stream_options{},
                                           memory_stream_options{.max_read = 1, .capacity = 1},
                                           memory_stream_options{.max_read = 1, .capacity = 7},
                                           memory_stream_options{.max_read = 5, .capacity = 33}));

// A peer that sends back something else than it received.
TEST(ping, mismatched_echo_is_a_protocol_violation_and_resets) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [dialer, listener] = make_memory_stream_pair(ex, {.max_read = 1});
    seeded_random rng(1);
    manual_clock clock;
    auto client = [&]() -> task<void> {
      auto rtt = co_await ping_once(*dialer, rng, clock);
      EXPECT_EQ(rtt.error(), errc::protocol_violation);
    };
    auto bad_server = [&]() -> task<void> {
      std::uint8_t buffer[payload_size];
      EXPECT_TRUE(co_await read_exact(*listener, buffer));
      buffer[31] ^= 1;
      EXPECT_TRUE(co_await listener->write(buffer));
      // The dialer reset the stream after seeing the mismatch.
      std::uint8_t more[1];
      auto r = co_await listener->read_some(more);
      EXPECT_EQ(r.error(), errc::stream_reset);
    };
    co_await (client() && bad_server());
  });
}

TEST(ping, short_echo_is_truncated) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [dialer, listener] = make_memory_stream_pair(ex);
    seeded_random rng(2);
    manual_clock clock;
    auto client = [&]() -> task<void> {
      auto rtt = co_await ping_once(*dialer, rng, clock);
      EXPECT_EQ(rtt.error(), errc::truncated);
    };
    auto bad_server = [&]() -> task<void> {
      std::uint8_t buffer[payload_size];
      EXPECT_TRUE(co_await read_exact(*listener, buffer));
      EXPECT_TRUE(co_await listener->write(bytes_view(buffer, 31)));
      EXPECT_TRUE(co_await listener->close_write());
    };
    co_await (client() && bad_server());
  });
}

TEST(ping, remote_closing_without_echo_is_closed) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [dialer, listener] = make_memory_stream_pair(ex);
    seeded_random rng(3);
    manual_clock clock;
    EXPECT_TRUE(co_await listener->close_write());
    auto rtt = co_await ping_once(*dialer, rng, clock);
    EXPECT_EQ(rtt.error(), errc::closed);
  });
}

TEST(ping, reset_during_ping_is_reported) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [dialer, listener] = make_memory_stream_pair(ex);
    seeded_random rng(4);
    manual_clock clock;
    listener->reset();
    auto rtt = co_await ping_once(*dialer, rng, clock);
    EXPECT_EQ(rtt.error(), errc::stream_reset);
  });
}

TEST(ping, server_rejects_partial_payload) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [dialer, listener] = make_memory_stream_pair(ex, {.max_read = 1});
    EXPECT_TRUE(co_await dialer->write(bytes(40, 0xab)));  // one ping and 8 stray bytes
    EXPECT_TRUE(co_await dialer->close_write());
    auto served = co_await serve(*listener);
    EXPECT_EQ(served.error(), errc::truncated);
  });
}

TEST(ping, server_echoes_exact_bytes_and_closes) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [dialer, listener] = make_memory_stream_pair(ex, {.max_read = 3});
    bytes sent(2 * payload_size);
    for (std::size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<std::uint8_t>(i);
    EXPECT_TRUE(co_await dialer->write(sent));
    EXPECT_TRUE(co_await dialer->close_write());
    EXPECT_TRUE(co_await serve(*listener));
    auto echoed = co_await read_to_end(*dialer, 1024);
    EXPECT_TRUE(echoed);
    if (echoed) {
      EXPECT_EQ(*echoed, sent);
    }
  });
}

TEST(ping, server_on_immediately_closed_stream_just_closes) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [dialer, listener] = make_memory_stream_pair(ex);
    EXPECT_TRUE(co_await dialer->close_write());
    EXPECT_TRUE(co_await serve(*listener));
    EXPECT_TRUE(co_await finish(*dialer));
  });
}

TEST(ping, finish_rejects_unexpected_bytes) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [dialer, listener] = make_memory_stream_pair(ex);
    const bytes stray(3, 0x42);  // (g++ 12 cannot keep a braced list across co_await)
    EXPECT_TRUE(co_await listener->write(stray));
    auto r = co_await finish(*dialer);
    EXPECT_EQ(r.error(), errc::protocol_violation);
  });
}

TEST(ping, payloads_are_random) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [dialer, listener] = make_memory_stream_pair(ex);
    seeded_random rng(9);
    manual_clock clock;
    auto client = [&]() -> task<void> {
      EXPECT_TRUE(co_await ping_once(*dialer, rng, clock));
      EXPECT_TRUE(co_await ping_once(*dialer, rng, clock));
      EXPECT_TRUE(co_await finish(*dialer));
    };
    auto capture = [&]() -> task<void> {
      std::array<std::uint8_t, payload_size> first{};
      std::array<std::uint8_t, payload_size> second{};
      EXPECT_TRUE(co_await read_exact(*listener, first));
      EXPECT_TRUE(co_await listener->write(first));
      EXPECT_TRUE(co_await read_exact(*listener, second));
      EXPECT_TRUE(co_await listener->write(second));
      EXPECT_NE(first, second);
      EXPECT_NE(first, (std::array<std::uint8_t, payload_size>{}));
      EXPECT_TRUE(co_await listener->close_write());
    };
    co_await (client() && capture());
  });
}

}  // namespace
}  // namespace p2p::ping
