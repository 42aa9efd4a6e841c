#include "p2p/protocols/perf/perf.hpp"

#include "memory_stream.hpp"
#include "run.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include "ticking_clock.hpp"

#include <gtest/gtest.h>

#include <array>
#include <limits>
#include <ostream>
#include <vector>

namespace p2p::perf {
namespace {

using namespace boost::asio::experimental::awaitable_operators;
using testing::make_memory_stream_pair;
using testing::memory_stream_options;
using testing::run;

using testing::ticking_clock;

bytes header_for(std::uint64_t value) {
  bytes out(8);
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(value >> (56 - 8 * i));
  return out;
}

struct exchange {
  std::uint64_t upload;
  std::uint64_t download;
  memory_stream_options stream;
};

void PrintTo(const exchange& e, std::ostream* os) {
  *os << "upload " << e.upload << ", download " << e.download << ", max_read " << e.stream.max_read
      << ", capacity " << e.stream.capacity;
}

class perf_exchanges : public ::testing::TestWithParam<exchange> {};

TEST_P(perf_exchanges, client_and_server_agree_on_every_byte) {
  run([param = GetParam()](boost::asio::any_io_executor ex) -> task<void> {
    auto [client_end, server_end] = make_memory_stream_pair(ex, param.stream);
    ticking_clock clock;
    auto client = [&]() -> task<void> {
      auto measured = co_await run_client(*client_end, clock,
                                          {.upload_bytes = param.upload, .download_bytes = param.download});
      EXPECT_TRUE(measured) << (measured ? "" : measured.error().message());
      if (!measured) co_return;
      EXPECT_EQ(measured->upload_bytes, param.upload);
      EXPECT_EQ(measured->download_bytes, param.download);
      EXPECT_GT(measured->upload_time.count(), 0);
      EXPECT_GT(measured->download_time.count(), 0);
    };
    auto server = [&]() -> task<void> {
      auto served = co_await serve(*server_end);
      EXPECT_TRUE(served) << (served ? "" : served.error().message());
    };
    co_await (client() && server());
    EXPECT_EQ(client_end->bytes_written(), 8 + param.upload);
    EXPECT_EQ(server_end->bytes_written(), param.download);
  });
}

INSTANTIATE_TEST_SUITE_P(
    sizes_and_shapes, perf_exchanges,
    ::testing::Values(exchange{0, 0, {}}, exchange{1, 0, {}}, exchange{0, 1, {}},
                      exchange{chunk_size - 8, chunk_size, {}},        // header and payload fill one chunk
                      exchange{chunk_size - 7, chunk_size + 1, {}},    // one byte over
                      exchange{3 * chunk_size + 5, 5 * chunk_size + 3, {}},
                      exchange{1000, 777, {.max_read = 1, .capacity = 1}},
                      exchange{5000, 4000, {.max_read = 1, .capacity = 64}},
                      exchange{200000, 300000, {.max_read = 1000, .capacity = 4096}}));

TEST(perf, progress_is_reported_at_most_once_per_interval) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    // Small reads so the client sees many read completions.
    auto [client_end, server_end] = make_memory_stream_pair(ex, {.max_read = 1024, .capacity = 4096});
    ticking_clock clock;  // 1 ms per reading
    std::vector<stats> reports;
    client_options options{.upload_bytes = 10 * chunk_size,
                           .download_bytes = 100 * 1024,
                           .on_progress = [&](const stats& s) { reports.push_back(s); },
                           .progress_interval = std::chrono::milliseconds(10)};
    auto client = [&]() -> task<void> {
      auto measured = co_await run_client(*client_end, clock, options);
      EXPECT_TRUE(measured);
    };
    auto server = [&]() -> task<void> { EXPECT_TRUE(co_await serve(*server_end)); };
    co_await (client() && server());
    // 10 upload writes and 100 reads of 1 KiB, each reading the clock about twice:
    // ~200 ms of ticks, so roughly 20 reports and certainly not one per operation.
    EXPECT_GE(reports.size(), 5u);
    EXPECT_LE(reports.size(), 40u);
    for (std::size_t i = 1; i < reports.size(); ++i) {
      EXPECT_GE(reports[i].upload_bytes, reports[i - 1].upload_bytes);
      EXPECT_GE(reports[i].download_bytes, reports[i - 1].download_bytes);
    }
    if (!reports.empty()) {
      EXPECT_LE(reports.back().download_bytes, 100u * 1024);
    }
  });
}

TEST(perf, short_download_is_truncated) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [client_end, server_end] = make_memory_stream_pair(ex);
    manual_clock clock;
    auto client = [&]() -> task<void> {
      auto measured = co_await run_client(*client_end, clock, {.upload_bytes = 10, .download_bytes = 100});
      EXPECT_EQ(measured.error(), errc::truncated);
    };
    auto lazy_server = [&]() -> task<void> {
      auto upload = co_await read_to_end(*server_end, 1024);
      EXPECT_TRUE(upload);
      if (upload) {
        EXPECT_EQ(upload->size(), 18u);
        EXPECT_EQ(bytes(upload->begin(), upload->begin() + 8), header_for(100));
      }
      const bytes some(99, 0);
      EXPECT_TRUE(co_await server_end->write(some));
      EXPECT_TRUE(co_await server_end->close_write());
    };
    co_await (client() && lazy_server());
  });
}

TEST(perf, extra_download_is_a_protocol_violation) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [client_end, server_end] = make_memory_stream_pair(ex, {.max_read = 1});
    manual_clock clock;
    auto client = [&]() -> task<void> {
      auto measured = co_await run_client(*client_end, clock, {.download_bytes = 3});
      EXPECT_EQ(measured.error(), errc::protocol_violation);
    };
    auto generous_server = [&]() -> task<void> {
      EXPECT_TRUE(co_await read_to_end(*server_end, 1024));
      const bytes four(4, 0);
      EXPECT_TRUE(co_await server_end->write(four));
      EXPECT_TRUE(co_await server_end->close_write());
    };
    co_await (client() && generous_server());
  });
}

TEST(perf, server_rejects_short_header) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [client_end, server_end] = make_memory_stream_pair(ex, {.max_read = 1});
    const bytes partial(7, 0);
    EXPECT_TRUE(co_await client_end->write(partial));
    EXPECT_TRUE(co_await client_end->close_write());
    auto served = co_await serve(*server_end);
    EXPECT_EQ(served.error(), errc::truncated);
  });
}

TEST(perf, server_waits_for_end_of_upload_before_sending) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [client_end, server_end] = make_memory_stream_pair(ex);
    auto raw_client = [&]() -> task<void> {
      const bytes request = header_for(5);
      EXPECT_TRUE(co_await client_end->write(request));
      const bytes payload(100, 7);
      EXPECT_TRUE(co_await client_end->write(payload));
      // Let the server run as long as it wants: it must not answer before our EOF.
      for (int i = 0; i < 20; ++i) co_await boost::asio::post(ex, boost::asio::use_awaitable);
      EXPECT_EQ(server_end->bytes_written(), 0u);
      EXPECT_TRUE(co_await client_end->close_write());
      auto answer = co_await read_to_end(*client_end, 1024);
      EXPECT_TRUE(answer);
      if (answer) {
        EXPECT_EQ(*answer, bytes(5, 0));
      }
    };
    auto server = [&]() -> task<void> { EXPECT_TRUE(co_await serve(*server_end)); };
    co_await (raw_client() && server());
  });
}

// A client asking for 2^64-1 bytes: the server streams from its one buffer until the
// client goes away, and never tries to allocate the requested amount.
TEST(perf, server_streams_huge_requests_from_one_buffer) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [client_end, server_end] = make_memory_stream_pair(ex, {.capacity = 64 * 1024});
    auto greedy_client = [&]() -> task<void> {
      const bytes request = header_for(std::numeric_limits<std::uint64_t>::max());
      EXPECT_TRUE(co_await client_end->write(request));
      EXPECT_TRUE(co_await client_end->close_write());
      bytes sink(chunk_size);
      std::uint64_t received = 0;
      while (received < 4 * 1024 * 1024) {
        auto n = co_await client_end->read_some(sink);
        EXPECT_TRUE(n);
        if (!n) co_return;
        received += *n;
      }
      client_end->reset();  // the timer-based download variant ends like this
    };
    auto server = [&]() -> task<void> {
      auto served = co_await serve(*server_end);
      EXPECT_EQ(served.error(), errc::stream_reset);
    };
    co_await (greedy_client() && server());
  });
}

TEST(perf, reset_during_upload_is_reported_by_both_sides) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [client_end, server_end] = make_memory_stream_pair(ex, {.capacity = 1024});
    manual_clock clock;
    auto client = [&]() -> task<void> {
      auto measured = co_await run_client(*client_end, clock, {.upload_bytes = 1 << 20});
      EXPECT_EQ(measured.error(), errc::stream_reset);
    };
    auto impatient_server = [&]() -> task<void> {
      std::array<std::uint8_t, 512> some{};
      EXPECT_TRUE(co_await read_exact(*server_end, some));
      server_end->reset();
    };
    co_await (client() && impatient_server());
  });
}

}  // namespace
}  // namespace p2p::perf
