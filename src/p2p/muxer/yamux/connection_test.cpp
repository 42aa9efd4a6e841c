// The yamux shell: the muxer conformance suite over memory pipes, plus yamux-specific
// behaviour checked against a scripted raw peer.
#include "p2p/muxer/yamux/connection.hpp"

#include "memory_stream.hpp"
#include "muxer_conformance.hpp"
#include "run.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <span>
#include <vector>

namespace p2p::yamux {
namespace {

using namespace boost::asio::experimental::awaitable_operators;
using namespace std::chrono_literals;
using executor = boost::asio::any_io_executor;

// Time never moves: no keepalive fires, and every window update counts as "fast", so
// windows auto-tune to their maximum (exercising large windows end to end).
manual_clock test_clock;

testing::muxer_pair make_yamux_pair(executor ex, std::unique_ptr<stream> client_transport,
                                    std::unique_ptr<stream> server_transport) {
  return {make_connection(ex, std::move(client_transport), role::client, {}, test_clock),
          make_connection(ex, std::move(server_transport), role::server, {}, test_clock)};
}

P2P_MUXER_CONFORMANCE_TESTS(yamux_conformance, make_yamux_pair)

// Small windows and no auto-tuning: many window-update round trips.
testing::muxer_pair make_fixed_window_pair(executor ex, std::unique_ptr<stream> client_transport,
                                           std::unique_ptr<stream> server_transport) {
  config cfg;
  cfg.max_window = default_window;
  cfg.max_frame_payload = 1000;
  return {make_connection(ex, std::move(client_transport), role::client, cfg, test_clock),
          make_connection(ex, std::move(server_transport), role::server, cfg, test_clock)};
}

TEST(yamux_connection, fixed_window_large_transfer) {
  testing::muxer_conformance::large_transfer(make_fixed_window_pair, {}, 4 * 1024 * 1024);
}

TEST(yamux_connection, fixed_window_many_streams) {
  testing::muxer_conformance::many_concurrent_streams(make_fixed_window_pair, {.max_read = 100, .capacity = 4096},
                                                      50, 300 * 1024);
}

config quiet() {
  config cfg;
  cfg.measure_rtt = false;
  cfg.keepalive_interval = duration::zero();
  return cfg;
}

bytes encode(frame_type type, std::uint16_t flags, stream_id id, std::uint32_t length, bytes_view payload = {}) {
  bytes out;
  append_header(out, {protocol_version, type, flags, id, length});
  append(out, payload);
  return out;
}

std::vector<frame_header> headers_in(bytes_view wire) {
  std::vector<frame_header> out;
  while (wire.size() >= header_size) {
    auto header = decode_header(wire);
    if (!header) break;
    out.push_back(*header);
    std::size_t skip = header_size + (header->type == frame_type::data ? header->length : 0);
    wire = wire.subspan(std::min(skip, wire.size()));
  }
  return out;
}

TEST(yamux_connection, answers_pings) {
  testing::run([](executor ex) -> task<void> {
    auto pipes = testing::make_memory_stream_pair(ex, {.max_read = 1, .capacity = 64});
    auto conn = make_connection(ex, std::move(pipes.first), role::server, quiet(), test_clock);
    stream& peer = *pipes.second;
    auto raw_peer = [&]() -> task<void> {
      EXPECT_TRUE(co_await peer.write(encode(frame_type::ping, flag::syn, 0, 42)));
      bytes pong(header_size);
      EXPECT_TRUE(co_await read_exact(peer, pong));
      auto header = decode_header(pong);
      EXPECT_TRUE(header && *header == (frame_header{0, frame_type::ping, flag::ack, 0, 42}));
      EXPECT_TRUE(co_await peer.close_write());  // the connection ends on EOF
      auto rest = co_await read_to_end(peer, 1024);
      EXPECT_TRUE(rest);
    };
    co_await (conn->run() && raw_peer());
    EXPECT_TRUE(conn->is_closed());
  });
}

TEST(yamux_connection, protocol_violation_sends_go_away_and_ends) {
  testing::run([](executor ex) -> task<void> {
    auto pipes = testing::make_memory_stream_pair(ex);
    auto conn = make_connection(ex, std::move(pipes.first), role::server, quiet(), test_clock);
    stream& peer = *pipes.second;
    auto raw_peer = [&]() -> task<void> {
      // Stream 2 has the server's parity: a client may not open it.
      EXPECT_TRUE(co_await peer.write(encode(frame_type::window_update, flag::syn, 2, 0)));
      auto answer = co_await read_to_end(peer, 1024);  // GoAway, then the connection's FIN
      EXPECT_TRUE(answer);
      if (answer) {
        auto headers = headers_in(*answer);
        EXPECT_FALSE(headers.empty());
        if (!headers.empty()) {
          EXPECT_EQ(headers.back(), (frame_header{0, frame_type::go_away, 0, 0, 1}));
        }
      }
      EXPECT_TRUE(co_await peer.close_write());
    };
    auto accept_ends = [&]() -> task<void> {
      auto r = co_await conn->accept_stream();
      EXPECT_EQ(r.error(), errc::connection_closed);
    };
    co_await (conn->run() && raw_peer() && accept_ends());
    EXPECT_EQ(conn->core().termination_reason(), errc::protocol_violation);
  });
}

TEST(yamux_connection, close_resets_a_peer_that_never_closes) {
  testing::run([](executor ex) -> task<void> {
    auto pipes = testing::make_memory_stream_pair(ex);
    config cfg = quiet();
    cfg.close_timeout = 20ms;
    auto conn = make_connection(ex, std::move(pipes.first), role::client, cfg, test_clock);
    auto closer = [&]() -> task<void> {
      conn->close();
      co_return;
    };
    // The raw peer never reads or closes: run() must still return.
    co_await (conn->run() && closer());
    EXPECT_TRUE(conn->is_closed());
    std::uint8_t buffer[64];
    auto r = co_await pipes.second->read_some(buffer);  // the GoAway was delivered
    EXPECT_TRUE(r);
    if (!r) co_return;
    auto header = decode_header(bytes_view(buffer, *r));
    EXPECT_TRUE(header && header->type == frame_type::go_away);
  });
}

// Counts write calls on the way to the transport.
class counting_stream final : public stream {
 public:
  counting_stream(std::unique_ptr<stream> inner, std::size_t& writes) : inner_(std::move(inner)), writes_(writes) {}
  task<result<std::size_t>> read_some(mutable_bytes_view buffer) override { return inner_->read_some(buffer); }
  task<result<void>> write(bytes_view data) override {
    ++writes_;
    return inner_->write(data);
  }
  task<result<void>> close_write() override { return inner_->close_write(); }
  void reset() override { inner_->reset(); }

 private:
  std::unique_ptr<stream> inner_;
  std::size_t& writes_;
};

TEST(yamux_connection, coalesces_frames_into_one_transport_write) {
  testing::run([](executor ex) -> task<void> {
    auto pipes = testing::make_memory_stream_pair(ex);
    std::size_t writes = 0;
    auto client = make_connection(ex, std::make_unique<counting_stream>(std::move(pipes.first), writes),
                                  role::client, quiet(), test_clock);
    auto server = make_connection(ex, std::move(pipes.second), role::server, quiet(), test_clock);
    constexpr int stream_count = 50;
    auto exercise = [&]() -> task<void> {
      // Fifty SYNs, fifty data frames and fifty FINs without yielding in between.
      std::vector<std::unique_ptr<stream>> opened;
      for (int i = 0; i < stream_count; ++i) {
        auto s = co_await client->open_stream();
        EXPECT_TRUE(s);
        if (!s) co_return;
        EXPECT_TRUE(co_await (*s)->write(as_bytes("0123456789")));
        EXPECT_TRUE(co_await (*s)->close_write());
        opened.push_back(std::move(*s));
      }
      for (int i = 0; i < stream_count; ++i) {
        auto s = co_await server->accept_stream();
        EXPECT_TRUE(s);
        if (!s) co_return;
        auto data = co_await read_to_end(**s, 64);
        EXPECT_TRUE(data && as_string(*data) == "0123456789");
      }
      EXPECT_EQ(writes, 1u) << "all pending frames go out in one write";
      client->close();
      server->close();
    };
    co_await (client->run() && server->run() && exercise());
  });
}

TEST(yamux_connection, open_waits_for_the_ack_backlog) {
  testing::run([](executor ex) -> task<void> {
    auto pipes = testing::make_memory_stream_pair(ex);
    config cfg = quiet();
    cfg.max_ack_backlog = 2;
    auto client = make_connection(ex, std::move(pipes.first), role::client, cfg, test_clock);
    auto server = make_connection(ex, std::move(pipes.second), role::server, cfg, test_clock);
    auto exercise = [&]() -> task<void> {
      auto first = co_await client->open_stream();
      auto second = co_await client->open_stream();
      EXPECT_TRUE(first && second);
      EXPECT_FALSE(client->core().can_open_stream());
      bool third_opened = false;
      auto third = [&]() -> task<void> {
        auto s = co_await client->open_stream();
        EXPECT_TRUE(s);
        third_opened = true;
      };
      auto accept_one = [&]() -> task<void> {
        EXPECT_FALSE(third_opened) << "the third open must wait for an ACK";
        auto s = co_await server->accept_stream();  // sends the ACK
        EXPECT_TRUE(s);
      };
      co_await (third() && accept_one());
      EXPECT_TRUE(third_opened);
      client->close();
      server->close();
    };
    co_await (client->run() && server->run() && exercise());
  });
}

TEST(yamux_connection, window_grows_for_a_fast_reader) {
  testing::run([](executor ex) -> task<void> {
    auto pipes = testing::make_memory_stream_pair(ex);
    auto client = make_connection(ex, std::move(pipes.first), role::client, quiet(), test_clock);
    auto server = make_connection(ex, std::move(pipes.second), role::server, quiet(), test_clock);
    auto exercise = [&]() -> task<void> {
      auto out = co_await client->open_stream();
      if (!out) co_return;
      std::unique_ptr<stream> inbound;
      const bytes payload(8 * 1024 * 1024, 0x42);
      auto sender = [&]() -> task<void> {
        EXPECT_TRUE(co_await (*out)->write(payload));
        EXPECT_TRUE(co_await (*out)->close_write());
      };
      auto receiver = [&]() -> task<void> {
        auto in = co_await server->accept_stream();
        if (!in) co_return;
        inbound = std::move(*in);
        auto data = co_await read_to_end(*inbound, payload.size());
        EXPECT_TRUE(data && data->size() == payload.size());
      };
      co_await (sender() && receiver());
      // The manual clock never advances, so every update looked fast: the receiver
      // doubled its window (256 KiB, 512 KiB, ... 8 MiB by the end of 8 MiB).
      EXPECT_GE(server->core().receive_window(1), 4u * 1024 * 1024);
      EXPECT_LE(server->core().receive_window(1), config{}.max_window);
      client->close();
      server->close();
    };
    co_await (client->run() && server->run() && exercise());
  });
}

// Forwards to a memory stream and records which gather parts point into `watched`.
class gather_recording_stream final : public stream {
 public:
  gather_recording_stream(std::unique_ptr<stream> inner, bytes_view watched, std::size_t& parts_inside)
      : inner_(std::move(inner)), watched_(watched), parts_inside_(parts_inside) {}
  task<result<std::size_t>> read_some(mutable_bytes_view buffer) override { return inner_->read_some(buffer); }
  task<result<void>> write(bytes_view data) override { return inner_->write(data); }
  task<result<void>> write_gather(std::span<const bytes_view> parts) override {
    for (const bytes_view part : parts) {
      if (!part.empty() && part.data() >= watched_.data() && part.data() < watched_.data() + watched_.size())
        ++parts_inside_;
    }
    return inner_->write_gather(parts);
  }
  task<result<void>> close_write() override { return inner_->close_write(); }
  void reset() override { inner_->reset(); }

 private:
  std::unique_ptr<stream> inner_;
  bytes_view watched_;
  std::size_t& parts_inside_;
};

TEST(yamux_connection, large_writes_reach_the_transport_without_a_copy) {
  testing::run([](executor ex) -> task<void> {
    auto pipes = testing::make_memory_stream_pair(ex, {.max_read = 1000, .capacity = 64 * 1024});
    bytes payload(1024 * 1024);
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::uint8_t>(i * 7 + (i >> 12));
    const bytes expected = payload;
    std::size_t parts_inside = 0;
    auto client = make_connection(
        ex, std::make_unique<gather_recording_stream>(std::move(pipes.first), payload, parts_inside), role::client,
        quiet(), test_clock);
    auto server = make_connection(ex, std::move(pipes.second), role::server, quiet(), test_clock);
    auto exercise = [&]() -> task<void> {
      auto out = co_await client->open_stream();
      if (!out) co_return;
      auto sender = [&]() -> task<void> {
        EXPECT_TRUE(co_await (*out)->write(payload));
        // The transport has read every byte by now: the caller may reuse its buffer.
        std::fill(payload.begin(), payload.end(), std::uint8_t{0});
        EXPECT_TRUE(co_await (*out)->write(as_bytes("small tail")));
        EXPECT_TRUE(co_await (*out)->close_write());
      };
      auto receiver = [&]() -> task<void> {
        auto in = co_await server->accept_stream();
        if (!in) co_return;
        auto data = co_await read_to_end(**in, expected.size() + 100);
        EXPECT_TRUE(data);
        if (!data) co_return;
        bytes want = expected;
        append(want, as_bytes("small tail"));
        EXPECT_TRUE(*data == want);
      };
      co_await (sender() && receiver());
      EXPECT_GT(parts_inside, 0u) << "payload went to the transport as views of the caller's bytes";
      client->close();
      server->close();
    };
    co_await (client->run() && server->run() && exercise());
  });
}

TEST(yamux_connection, cancelled_large_write_keeps_its_queued_bytes) {
  testing::run([](executor ex) -> task<void> {
    // A tiny pipe that nobody reads yet: the writer loop blocks on the first batch.
    auto pipes = testing::make_memory_stream_pair(ex, {.max_read = 4096, .capacity = 4096});
    auto conn = make_connection(ex, std::move(pipes.first), role::client, quiet(), test_clock);
    stream& peer = *pipes.second;
    // Large enough to be lent rather than copied; together exactly the 256 KiB window.
    bytes first(128 * 1024, 0x11), second(128 * 1024, 0x22);
    auto exercise = [&]() -> task<void> {
      auto s = co_await conn->open_stream();
      EXPECT_TRUE(s);
      if (!s) co_return;
      EXPECT_TRUE(co_await (*s)->write(first));  // taken by the (now blocked) writer loop
      auto give_up = []() -> task<void> { co_return; };
      auto raced = co_await ((*s)->write(second) || give_up());
      EXPECT_EQ(raced.index(), 1u) << "the second write was still waiting for the writer loop";
      std::fill(second.begin(), second.end(), std::uint8_t{0});  // the caller reuses its buffer
      // The peer now reads: SYN, then both payloads, the second one as it was queued.
      bytes wire, payload;
      std::uint8_t chunk[4096];
      while (payload.size() < 2 * 128 * 1024) {
        auto n = co_await peer.read_some(chunk);
        EXPECT_TRUE(n);
        if (!n) co_return;
        wire.insert(wire.end(), chunk, chunk + *n);
        for (;;) {
          auto header = decode_header(wire);
          if (!header) break;
          const std::size_t body = header->type == frame_type::data ? header->length : 0;
          if (wire.size() < header_size + body) break;
          if (header->type == frame_type::data && header->id == 1)
            payload.insert(payload.end(), wire.begin() + header_size, wire.begin() + header_size + body);
          wire.erase(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(header_size + body));
        }
      }
      bytes want(128 * 1024, 0x11);
      want.resize(2 * 128 * 1024, 0x22);
      EXPECT_TRUE(payload == want);
      conn->close();
      EXPECT_TRUE(co_await peer.close_write());
      (void)co_await read_to_end(peer, 1 << 20);
    };
    co_await (conn->run() && exercise());
  });
}

}  // namespace
}  // namespace p2p::yamux
