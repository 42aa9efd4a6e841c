#include "p2p/security/noise/noise.hpp"

#include "p2p/security/noise/handshake.hpp"
#include "memory_stream.hpp"
#include "run.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <gtest/gtest.h>

namespace p2p::noise {
namespace {

using namespace boost::asio::experimental::awaitable_operators;
using testing::make_memory_stream_pair;
using testing::memory_stream_options;
using testing::run;

crypto::private_key identity(std::uint8_t seed) {
  auto key = crypto::private_key::ed25519_from_seed(bytes(32, seed));
  EXPECT_TRUE(key);
  return *key;
}

bytes pattern(std::size_t size, std::uint8_t salt) {
  bytes out(size);
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::uint8_t>((i * 131) ^ (i >> 9) ^ salt);
  return out;
}

// GoogleTest's ASSERT_* macros `return`, which a coroutine cannot; this one co_returns.
#define CO_ASSERT(condition)                                        \
  do {                                                              \
    if (!(condition)) {                                             \
      ADD_FAILURE() << "assertion failed: " #condition;             \
      co_return;                                                    \
    }                                                               \
  } while (0)

using connection_ptr = std::unique_ptr<secured_connection>;

struct secured_pair {
  result<connection_ptr> client = errc::cancelled;
  result<connection_ptr> server = errc::cancelled;
};

struct pair_options {
  memory_stream_options streams{};
  std::vector<std::string> client_muxers{};
  std::vector<std::string> server_muxers{};
  std::optional<peer_id> expected{};
};

// Options are taken by reference and coroutine arguments are named values: g++ 12 may
// destroy class prvalues passed to a coroutine inside a co_await expression twice.
task<secured_pair> handshake_pair(boost::asio::any_io_executor ex, const crypto::private_key& client_key,
                                  const crypto::private_key& server_key, const pair_options& options) {
  auto streams = make_memory_stream_pair(ex, options.streams);
  auto& a = streams.first;
  auto& b = streams.second;
  seeded_random rng_client(11), rng_server(22);
  secured_pair out;
  auto client = [&]() -> task<void> {
    auto expected = options.expected;
    auto muxers = options.client_muxers;
    out.client = co_await secure_outbound(std::move(a), client_key, std::move(expected), std::move(muxers),
                                          rng_client);
  };
  auto server = [&]() -> task<void> {
    auto muxers = options.server_muxers;
    out.server = co_await secure_inbound(std::move(b), server_key, std::move(muxers), rng_server);
  };
  co_await (client() && server());
  co_return out;
}

// Sends `data` from `from` (then closes its write side) while `to` reads to the end.
task<void> transfer(secured_connection& from, secured_connection& to, const bytes& data, std::size_t write_chunk) {
  auto writer = [&]() -> task<void> {
    for (std::size_t offset = 0; offset < data.size(); offset += write_chunk) {
      auto w = co_await from.write(bytes_view(data).subspan(offset, std::min(write_chunk, data.size() - offset)));
      EXPECT_TRUE(w);
      if (!w) co_return;
    }
    EXPECT_TRUE(co_await from.close_write());
  };
  auto reader = [&]() -> task<void> {
    auto got = co_await read_to_end(to, data.size() + 1);
    CO_ASSERT(got);
    EXPECT_EQ(got->size(), data.size());
    EXPECT_TRUE(*got == data);
  };
  co_await (writer() && reader());
}

TEST(noise_connection, handshake_and_data_byte_by_byte_with_tiny_buffers) {
  const auto alice = identity(1), bob = identity(2);
  run([&](boost::asio::any_io_executor ex) -> task<void> {
    const pair_options options{.streams = {.max_read = 1, .capacity = 3},
                                         .expected = peer_id::from_public_key(bob.public_key())};
    auto pair = co_await handshake_pair(ex, alice, bob, options);
    EXPECT_TRUE(pair.client) << pair.client.error().message();
    EXPECT_TRUE(pair.server) << pair.server.error().message();
    if (!pair.client || !pair.server) co_return;
    auto& client = **pair.client;
    auto& server = **pair.server;
    EXPECT_EQ(client.remote_peer(), peer_id::from_public_key(bob.public_key()));
    EXPECT_EQ(client.local_peer(), peer_id::from_public_key(alice.public_key()));
    EXPECT_EQ(server.remote_peer(), peer_id::from_public_key(alice.public_key()));
    EXPECT_EQ(server.remote_public_key(), alice.public_key());
    EXPECT_EQ(client.early_muxer(), std::nullopt);

    const bytes up = pattern(70'000, 1), down = pattern(1000, 2);
    co_await (transfer(client, server, up, 30'000) && transfer(server, client, down, 7));
  });
}

TEST(noise_connection, large_transfers_both_ways_are_intact) {
  const auto alice = identity(1), bob = identity(2);
  run([&](boost::asio::any_io_executor ex) -> task<void> {
    const pair_options options{};
    auto pair = co_await handshake_pair(ex, alice, bob, options);
    if (!pair.client || !pair.server) {
      ADD_FAILURE() << "handshake failed";
      co_return;
    }
    const bytes up = pattern(8 << 20, 3), down = pattern((8 << 20) + 12345, 4);
    co_await (transfer(**pair.client, **pair.server, up, up.size()) &&
              transfer(**pair.server, **pair.client, down, 1 << 20));
  });
}

TEST(noise_connection, many_small_writes_and_small_reads) {
  const auto alice = identity(1), bob = identity(2);
  run([&](boost::asio::any_io_executor ex) -> task<void> {
    const pair_options options{.streams = {.max_read = 5000, .capacity = 20000}};
    auto pair = co_await handshake_pair(ex, alice, bob, options);
    if (!pair.client || !pair.server) CO_ASSERT(false);
    const bytes data = pattern(200'000, 9);
    co_await transfer(**pair.client, **pair.server, data, 333);
  });
}

TEST(noise_connection, gather_write_reads_its_parts_before_it_suspends) {
  const auto alice = identity(1), bob = identity(2);
  run([&](boost::asio::any_io_executor ex) -> task<void> {
    // A small pipe makes the raw write suspend; the parts are overwritten meanwhile.
    const pair_options options{.streams = {.max_read = 4096, .capacity = 8192}};
    auto pair = co_await handshake_pair(ex, alice, bob, options);
    if (!pair.client || !pair.server) {
      ADD_FAILURE() << "handshake failed";
      co_return;
    }
    auto& client = **pair.client;
    auto& server = **pair.server;
    bytes source = pattern(200'000, 5);
    const bytes expected = source;
    const bytes_view all(source);
    const std::vector<bytes_view> parts{all.first(12), all.subspan(12, 70'000), all.subspan(70'012, 0),
                                        all.subspan(70'012)};
    auto writer = [&]() -> task<void> {
      EXPECT_TRUE(co_await client.write_gather(parts));
      EXPECT_TRUE(co_await client.close_write());
    };
    auto scribbler = [&]() -> task<void> {
      std::fill(source.begin(), source.end(), std::uint8_t{0});
      co_return;
    };
    auto reader = [&]() -> task<void> {
      auto got = co_await read_to_end(server, expected.size() + 1);
      CO_ASSERT(got);
      EXPECT_TRUE(*got == expected);
    };
    co_await (writer() && scribbler() && reader());
  });
}

TEST(noise_connection, inlined_muxer_negotiation) {
  using list = std::vector<std::string>;
  struct test_case {
    list client, server;
    std::optional<std::string> expected;
  };
  const test_case cases[] = {
      {{"/yamux/1.0.0", "/mplex/6.7.0"}, {"/mplex/6.7.0", "/yamux/1.0.0"}, "/yamux/1.0.0"},  // both offer
      {{"/mplex/6.7.0"}, {"/yamux/1.0.0"}, std::nullopt},                                    // none common
      {{}, {"/yamux/1.0.0"}, std::nullopt},                                                  // client offers none
      {{"/yamux/1.0.0"}, {}, std::nullopt},                                                  // server offers none
  };
  const auto alice = identity(1), bob = identity(2);
  for (const auto& c : cases) {
    run([&](boost::asio::any_io_executor ex) -> task<void> {
      const pair_options options{.client_muxers = c.client, .server_muxers = c.server};
      auto pair = co_await handshake_pair(ex, alice, bob, options);
      if (!pair.client || !pair.server) CO_ASSERT(false);
      EXPECT_EQ((*pair.client)->early_muxer(), c.expected);
      EXPECT_EQ((*pair.server)->early_muxer(), c.expected);
    });
  }
}

TEST(noise_connection, wrong_expected_peer_fails_both_sides) {
  const auto alice = identity(1), bob = identity(2);
  run([&](boost::asio::any_io_executor ex) -> task<void> {
    const pair_options options{.expected = peer_id::from_public_key(identity(3).public_key())};
    auto pair = co_await handshake_pair(ex, alice, bob, options);
    CO_ASSERT(!pair.client);
    EXPECT_EQ(pair.client.error(), errc::peer_id_mismatch);
    CO_ASSERT(!pair.server);  // the client reset the raw stream instead of sending message 3
    EXPECT_EQ(pair.server.error(), errc::stream_reset);
  });
}

// A man in the middle that flips one bit of the byte at `offset` of the client's
// output stream.
TEST(noise_connection, tampered_transport_frame_fails_the_connection) {
  const auto alice = identity(1), bob = identity(2);
  run([&](boost::asio::any_io_executor ex) -> task<void> {
    auto left = make_memory_stream_pair(ex);
    auto right = make_memory_stream_pair(ex);
    auto& client_raw = left.first;
    auto& middle_in = left.second;
    auto& middle_out = right.first;
    auto& server_raw = right.second;
    seeded_random rng_client(1), rng_server(2);
    result<connection_ptr> client = errc::cancelled, server = errc::cancelled;
    bool tamper = false;
    auto relay = [&](stream& from, stream& to, bool flips) -> task<void> {
      std::uint8_t buffer[4096];
      for (;;) {
        auto n = co_await from.read_some(buffer);
        if (!n) {
          if (n.error() == errc::closed) (void)co_await to.close_write();
          else to.reset();
          co_return;
        }
        if (flips && tamper) {
          buffer[*n - 1] ^= 0x40;  // the last byte of the frame: its tag
          tamper = false;
        }
        if (!co_await to.write(bytes_view(buffer, *n))) co_return;
      }
    };
    auto handshake = [&]() -> task<void> {
      auto c = [&]() -> task<void> {
        std::vector<std::string> none;
        client = co_await secure_outbound(std::move(client_raw), alice, std::nullopt, std::move(none), rng_client);
      };
      auto s = [&]() -> task<void> {
        std::vector<std::string> none;
        server = co_await secure_inbound(std::move(server_raw), bob, std::move(none), rng_server);
      };
      co_await (c() && s());
    };
    auto test = [&]() -> task<void> {
      co_await handshake();
      if (!client || !server) CO_ASSERT(false);
      EXPECT_TRUE(co_await (*client)->write(as_bytes("good")));
      std::uint8_t buffer[100];
      auto n = co_await (*server)->read_some(buffer);
      EXPECT_TRUE(n);
      tamper = true;
      EXPECT_TRUE(co_await (*client)->write(as_bytes("evil")));
      auto bad = co_await (*server)->read_some(buffer);
      CO_ASSERT(!bad);
      EXPECT_EQ(bad.error(), errc::decrypt_failed);
      auto again = co_await (*server)->read_some(buffer);
      CO_ASSERT(!again);
      EXPECT_EQ(again.error(), errc::decrypt_failed);
      EXPECT_EQ((co_await (*server)->write(as_bytes("x"))).error(), errc::decrypt_failed);
      // The server reset its raw stream: the client learns the connection is gone.
      auto client_read = co_await (*client)->read_some(buffer);
      EXPECT_FALSE(client_read);
    };
    co_await (test() && relay(*middle_in, *middle_out, true) && relay(*middle_out, *middle_in, false));
  });
}

TEST(noise_connection, truncated_handshake_and_truncated_frame) {
  const auto bob = identity(2);
  run([&](boost::asio::any_io_executor ex) -> task<void> {
    // The initiator's first message cut short, then EOF.
    auto streams = make_memory_stream_pair(ex);
    auto& a = streams.first;
    auto& b = streams.second;
    seeded_random rng(1);
    auto responder = [&]() -> task<void> {
      std::vector<std::string> none;
      auto r = co_await secure_inbound(std::move(b), bob, std::move(none), rng);
      CO_ASSERT(!r);
      EXPECT_EQ(r.error(), errc::closed);
    };
    auto bad_initiator = [&]() -> task<void> {
      const std::uint8_t partial[] = {0x00, 0x20, 1, 2, 3};
      EXPECT_TRUE(co_await a->write(partial));
      EXPECT_TRUE(co_await a->close_write());
    };
    co_await (responder() && bad_initiator());
  });
  run([&](boost::asio::any_io_executor ex) -> task<void> {
    // A garbage first message: 32 zero bytes (a low-order point) is refused.
    auto streams = make_memory_stream_pair(ex);
    auto& a = streams.first;
    auto& b = streams.second;
    seeded_random rng(1);
    auto responder = [&]() -> task<void> {
      std::vector<std::string> none;
      auto r = co_await secure_inbound(std::move(b), bob, std::move(none), rng);
      CO_ASSERT(!r);
      EXPECT_EQ(r.error(), errc::handshake_failed);
    };
    auto bad_initiator = [&]() -> task<void> {
      bytes message(34, 0);
      message[1] = 32;
      EXPECT_TRUE(co_await a->write(message));
    };
    co_await (responder() && bad_initiator());
  });
}

TEST(noise_connection, stream_ending_inside_a_frame_is_truncated) {
  const auto alice = identity(1), bob = identity(2);
  run([&](boost::asio::any_io_executor ex) -> task<void> {
    // Drive the client by hand (scripted core) so it can send half a frame.
    auto streams = make_memory_stream_pair(ex);
    auto& a = streams.first;
    auto& b = streams.second;
    seeded_random rng_client(1), rng_server(2);
    auto hs = handshake::initiator(alice, std::nullopt, {}, rng_client);
    auto server_task = [&]() -> task<void> {
      std::vector<std::string> none;
      auto server = co_await secure_inbound(std::move(b), bob, std::move(none), rng_server);
      if (!server) CO_ASSERT(false);
      std::uint8_t buffer[100];
      auto n = co_await (*server)->read_some(buffer);
      CO_ASSERT(!n);
      EXPECT_EQ(n.error(), errc::truncated);
    };
    auto client_task = [&]() -> task<void> {
      auto send = [&](const bytes& m) -> task<void> {
        bytes framed = {static_cast<std::uint8_t>(m.size() >> 8), static_cast<std::uint8_t>(m.size())};
        append(framed, m);
        EXPECT_TRUE(co_await a->write(framed));
      };
      co_await send(*hs->poll_message());
      std::uint8_t prefix[2];
      EXPECT_TRUE(co_await read_exact(*a, prefix));
      bytes second(std::size_t{prefix[0]} << 8 | prefix[1]);
      EXPECT_TRUE(co_await read_exact(*a, second));
      EXPECT_TRUE(hs->handle_message(second));
      co_await send(*hs->poll_message());
      const std::uint8_t half_frame[] = {0x00, 0x40, 1, 2, 3};
      EXPECT_TRUE(co_await a->write(half_frame));
      EXPECT_TRUE(co_await a->close_write());
    };
    co_await (server_task() && client_task());
  });
}

TEST(noise_connection, close_write_is_forwarded_and_reads_still_work) {
  const auto alice = identity(1), bob = identity(2);
  run([&](boost::asio::any_io_executor ex) -> task<void> {
    const pair_options options{};
    auto pair = co_await handshake_pair(ex, alice, bob, options);
    if (!pair.client || !pair.server) CO_ASSERT(false);
    auto& client = **pair.client;
    auto& server = **pair.server;
    EXPECT_TRUE(co_await client.write(as_bytes("request")));
    EXPECT_TRUE(co_await client.close_write());
    auto request = co_await read_to_end(server, 100);
    CO_ASSERT(request);
    EXPECT_EQ(*request, to_bytes("request"));
    EXPECT_TRUE(co_await server.write(as_bytes("response")));
    EXPECT_TRUE(co_await server.close_write());
    auto response = co_await read_to_end(client, 100);
    CO_ASSERT(response);
    EXPECT_EQ(*response, to_bytes("response"));
  });
}

TEST(noise_connection, reset_is_forwarded) {
  const auto alice = identity(1), bob = identity(2);
  run([&](boost::asio::any_io_executor ex) -> task<void> {
    const pair_options options{};
    auto pair = co_await handshake_pair(ex, alice, bob, options);
    if (!pair.client || !pair.server) CO_ASSERT(false);
    (*pair.client)->reset();
    std::uint8_t buffer[10];
    auto n = co_await (*pair.server)->read_some(buffer);
    CO_ASSERT(!n);
    EXPECT_EQ(n.error(), errc::stream_reset);
  });
}

}  // namespace
}  // namespace p2p::noise
