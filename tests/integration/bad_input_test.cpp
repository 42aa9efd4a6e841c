// A live node fed truncated, oversized and garbage input at every layer drops only
// the offending connection and keeps serving its other peers.
#include "echo.hpp"
#include "run.hpp"

#include "p2p/core/timeout.hpp"
#include "p2p/host/host.hpp"
#include "p2p/negotiation/multistream.hpp"
#include "p2p/security/noise/noise.hpp"
#include "p2p/transport/tcp/tcp_transport.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <gtest/gtest.h>

namespace p2p {
namespace {

using namespace boost::asio::experimental::awaitable_operators;

host_config config_for(bool listen) {
  host_config c;
  c.identity = crypto::private_key::generate_ed25519();
  if (listen) c.listen_addresses = {multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()};
  c.upgrade_timeout = std::chrono::seconds(5);
  return c;
}

// What an attacker does after opening a raw TCP connection to the node.
using attack = std::function<task<void>(std::unique_ptr<stream>& raw, const host& target)>;

// Byte strings live at namespace scope: GCC 12 miscompiles initializer lists inside
// coroutines ("array used as initializer").
const bytes oversized_multistream_length{0xff, 0xff, 0xff, 0x0f};
const bytes noise_length_65535{0xff, 0xff};
const bytes noise_length_32{0x00, 0x20};
const bytes noise_length_256{0x01, 0x00};
// yamux: version 0, type 0 (data), flags SYN, stream 1, length 16 MiB
const bytes yamux_huge_data_header{0, 0, 0, 1, 0, 0, 0, 1, 0x01, 0x00, 0x00, 0x00};
const bytes yamux_truncated_header{0, 1, 0};
const std::vector<std::string> noise_only{"/noise"};

bytes garbage(std::size_t n, std::uint8_t seed) {
  bytes out(n);
  seeded_random rng(seed);
  rng.fill(out);
  return out;
}

// Brings a raw connection up to an established Noise session with the node.
task<std::unique_ptr<secured_connection>> secure(std::unique_ptr<stream> raw, random& rng) {
  EXPECT_TRUE(co_await multistream::select_one_of(*raw, noise_only));
  auto key = crypto::private_key::generate_ed25519();
  auto secured = co_await noise::secure_outbound(std::move(raw), key, std::nullopt, {}, rng);
  EXPECT_TRUE(secured);
  co_return secured ? std::move(*secured) : nullptr;
}

// Reads until the node drops the connection; true if it did within the time limit.
task<bool> dropped(stream& s) {
  std::uint8_t buffer[4096];
  for (;;) {
    auto n = co_await with_timeout(s.read_some(buffer), std::chrono::seconds(10));
    if (!n) co_return n.error() != errc::timeout;
  }
}

struct bad_input : ::testing::TestWithParam<std::pair<const char*, int>> {};

TEST_P(bad_input, only_the_offending_connection_is_dropped) {
  const int which = GetParam().second;
  testing::run([which](asio::any_io_executor ex) -> task<void> {
    system_clock clk;
    seeded_random rng(which);
    host node(ex, config_for(true), clk, rng);
    host good_peer(ex, config_for(false), clk, rng);
    node.set_handler(std::string(testing::echo_protocol), [](std::unique_ptr<stream> s, stream_info) {
      return testing::serve_echo(std::move(s));
    });
    EXPECT_TRUE(node.listen());
    const auto address = node.listen_addresses().front().with_peer(node.id());

    auto body = [&]() -> task<void> {
      auto good = co_await good_peer.connect(address);
      EXPECT_TRUE(good);

      auto raw = co_await tcp::dial(node.listen_addresses().front());
      EXPECT_TRUE(raw);
      std::unique_ptr<stream> attacker = std::move(*raw);
      switch (which) {
        case 0:  // garbage instead of multistream-select
          co_await attacker->write(garbage(4096, 1));
          break;
        case 1:  // oversized multistream message length
          co_await attacker->write(oversized_multistream_length);
          break;
        case 2: {  // truncated Noise message: announces 65535 bytes, sends 10, half-closes
          EXPECT_TRUE(co_await multistream::select_one_of(*attacker, noise_only));
          bytes frame = noise_length_65535;
          append(frame, garbage(10, 2));
          co_await attacker->write(frame);
          co_await attacker->close_write();
          break;
        }
        case 3: {  // garbage Noise handshake message of plausible size
          EXPECT_TRUE(co_await multistream::select_one_of(*attacker, noise_only));
          bytes frame = noise_length_32;
          append(frame, garbage(32, 3));
          co_await attacker->write(frame);
          bytes second = noise_length_256;
          append(second, garbage(256, 4));
          co_await attacker->write(second);
          break;
        }
        case 4: {  // valid Noise, then garbage where yamux frames belong
          auto secured = co_await secure(std::move(attacker), rng);
          if (secured) {
            co_await secured->write(garbage(1000, 5));
            attacker = std::move(secured);
          }
          break;
        }
        case 5: {  // valid Noise, then a yamux data frame far beyond the stream window
          auto secured = co_await secure(std::move(attacker), rng);
          if (secured) {
            co_await secured->write(yamux_huge_data_header);
            co_await secured->write(garbage(512 * 1024, 6));
            attacker = std::move(secured);
          }
          break;
        }
        case 6: {  // valid Noise, then a truncated yamux header and EOF
          auto secured = co_await secure(std::move(attacker), rng);
          if (secured) {
            co_await secured->write(yamux_truncated_header);
            co_await secured->close_write();
            attacker = std::move(secured);
          }
          break;
        }
      }
      if (attacker) EXPECT_TRUE(co_await dropped(*attacker)) << "the node kept the bad connection open";

      // The good peer's connection survived and still works.
      EXPECT_TRUE(good && !(*good)->is_closed());
      auto s = co_await good_peer.new_stream(node.id(), testing::echo_protocol);
      EXPECT_TRUE(s);
      if (s) EXPECT_TRUE(co_await testing::run_echo(*s->s, 256 * 1024));
      EXPECT_EQ(node.connections().size(), 1u);
      node.stop();
      good_peer.stop();
    };
    co_await (node.run() && good_peer.run() && body());
  });
}

INSTANTIATE_TEST_SUITE_P(all_layers, bad_input,
                         ::testing::Values(std::pair{"garbage_multistream", 0}, std::pair{"oversized_multistream", 1},
                                           std::pair{"truncated_noise", 2}, std::pair{"garbage_noise", 3},
                                           std::pair{"garbage_yamux", 4}, std::pair{"yamux_beyond_window", 5},
                                           std::pair{"truncated_yamux", 6}),
                         [](const auto& info) { return std::string(info.param.first); });

}  // namespace
}  // namespace p2p
