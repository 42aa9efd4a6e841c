// Attacks a node the way issue 9 describes, from 127.0.0.1, while an honest peer dials
// the node afresh and pings it again and again; exits 0 only if every honest ping got
// through.
//   attack_peer id                                  the honest peer's ID (to trust it first)
//   attack_peer run <node address> <silent> <keys>  the attacks, one after the other:
//     silent: <silent> TCP connections that send nothing, all held open;
//     keys:   <keys> connections that complete Noise with a throwaway key each, held open.
// Prints one line per phase: "<phase>: <n> attack connections, honest pings ok=<x> failed=<y>".
#include "p2p/core/log.hpp"
#include "p2p/core/system_limits.hpp"
#include "p2p/core/timeout.hpp"
#include "p2p/host/host.hpp"
#include "p2p/host/upgrader.hpp"
#include "p2p/protocols/ping/ping.hpp"
#include "p2p/transport/tcp/tcp_transport.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace {

using namespace boost::asio::experimental::awaitable_operators;
using namespace p2p;

crypto::private_key honest_key() { return crypto::private_key::ed25519_from_seed(bytes(32, 0x5a)).value(); }

struct tally {
  int ok = 0;
  int failed = 0;
};

// Dials the node afresh and pings it, again and again, until `done`, then three more.
task<void> ping_forever(host& honest, const multiaddr& node, const bool& done, tally& out) {
  system_random rng;
  system_clock clk;
  int after_done = 0;
  while (!done || after_done < 3) {
    if (done) ++after_done;
    if (auto old = honest.connection_to(*node.peer())) old->close();
    auto attempt = [&]() -> task<result<void>> {
      auto conn = co_await honest.connect(node);
      if (!conn) co_return conn.error();
      auto s = co_await honest.new_stream(*conn, ping::protocol_id);
      if (!s) co_return s.error();
      auto rtt = co_await ping::ping_once(*s->s, rng, clk);
      if (!rtt) co_return rtt.error();
      co_return co_await ping::finish(*s->s);
    };
    auto outcome = co_await with_timeout(attempt(), std::chrono::seconds(10));
    if (outcome) {
      ++out.ok;
    } else {
      ++out.failed;
      std::fprintf(stderr, "honest ping failed: %s\n", outcome.error().message().c_str());
    }
  }
}

task<void> silent_sockets(const multiaddr& node, int count, std::vector<asio::ip::tcp::socket>& held, bool& done) {
  const auto target = tcp::to_endpoint(node).value();
  auto ex = co_await asio::this_coro::executor;
  for (int i = 0; i < count; ++i) {
    asio::ip::tcp::socket s(ex);
    auto [ec] = co_await s.async_connect(target, asio::as_tuple(asio::use_awaitable));
    if (!ec) held.push_back(std::move(s));
  }
  done = true;
}

task<void> throwaway_keys(const multiaddr& node, int count, std::vector<std::shared_ptr<muxed_connection>>& held,
                          int& next, bool& done, int& workers) {
  system_random rng;
  system_clock clk;
  while (next < count) {
    const int i = next++;
    bytes seed(32, 0);
    for (int b = 0; b < 4; ++b) seed[b] = static_cast<std::uint8_t>(i >> (8 * b));
    seed[31] = 0xee;
    const auto key = crypto::private_key::ed25519_from_seed(seed).value();
    auto raw = co_await with_timeout(tcp::dial(node), std::chrono::seconds(10));
    if (!raw) continue;
    auto local = (*raw)->local_address();
    auto remote = (*raw)->remote_address();
    upgrade_context context{key, rng, clk, yamux::config{}};
    auto up = co_await with_timeout(upgrade_outbound(std::move(*raw), local, remote, context, node.peer()),
                                    std::chrono::seconds(10));
    if (up) held.push_back(std::move(up->muxer));
  }
  if (--workers == 0) done = true;
}

int run(const multiaddr& node, int silent, int keys) {
  if (auto raised = raise_file_descriptor_limit(); !raised || raised->soft < static_cast<std::uint64_t>(silent + keys + 256)) {
    std::fprintf(stderr, "attack_peer needs %d descriptors\n", silent + keys + 256);
    return 2;
  }
  asio::io_context io(1);
  system_clock clk;
  system_random rng;
  host_config config;
  config.identity = honest_key();
  host honest(io.get_executor(), std::move(config), clk, rng);
  bool all_passed = true;
  auto body = [&]() -> task<void> {
    {
      tally pings;
      bool done = false;
      std::vector<asio::ip::tcp::socket> held;
      co_await (silent_sockets(node, silent, held, done) && ping_forever(honest, node, done, pings));
      std::printf("silent: %zu attack connections, honest pings ok=%d failed=%d\n", held.size(), pings.ok,
                  pings.failed);
      all_passed = all_passed && pings.failed == 0 && pings.ok >= 3;
    }
    {
      tally pings;
      bool done = false;
      int next = 0, workers = 8;  // eight dialers at a time
      std::vector<std::shared_ptr<muxed_connection>> held;
      auto attackers = [&]() -> task<void> {
        co_await (throwaway_keys(node, keys, held, next, done, workers) &&
                  throwaway_keys(node, keys, held, next, done, workers) &&
                  throwaway_keys(node, keys, held, next, done, workers) &&
                  throwaway_keys(node, keys, held, next, done, workers) &&
                  throwaway_keys(node, keys, held, next, done, workers) &&
                  throwaway_keys(node, keys, held, next, done, workers) &&
                  throwaway_keys(node, keys, held, next, done, workers) &&
                  throwaway_keys(node, keys, held, next, done, workers));
      };
      co_await (attackers() && ping_forever(honest, node, done, pings));
      std::printf("keys: %zu attack connections, honest pings ok=%d failed=%d\n", held.size(), pings.ok,
                  pings.failed);
      all_passed = all_passed && pings.failed == 0 && pings.ok >= 3;
      for (auto& m : held) m->close();
    }
    std::fflush(stdout);
    honest.stop(std::chrono::milliseconds(100));
  };
  asio::co_spawn(io, (honest.run() && body()), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
  return all_passed ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  p2p::log::set_level(p2p::log::level::warn);
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "id" && argc == 2) {
    std::printf("%s\n", p2p::peer_id::from_public_key(honest_key().public_key()).to_string().c_str());
    return 0;
  }
  if (mode == "run" && argc == 5) {
    auto node = p2p::multiaddr::parse(argv[2]);
    if (!node || !node->peer()) {
      std::fprintf(stderr, "not a node address with /p2p/<id>: %s\n", argv[2]);
      return 2;
    }
    return run(*node, std::stoi(argv[3]), std::stoi(argv[4]));
  }
  std::fprintf(stderr, "usage: attack_peer id | attack_peer run <node address> <silent> <keys>\n");
  return 2;
}
