#include "muxer_conformance.hpp"

#include "p2p/core/signal.hpp"
#include "run.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <exception>

namespace p2p::testing::muxer_conformance {

namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using executor = asio::any_io_executor;

// Generous: the 200-stream case moves 50 MiB through memory pipes under sanitizers.
constexpr auto watchdog_limit = std::chrono::minutes(4);

// Deterministic bytes; the first four carry `seed` so a receiver can tell streams apart.
bytes make_payload(std::size_t size, std::uint32_t seed) {
  bytes out(size);
  std::uint32_t x = seed * 2654435761u + 12345u;
  for (auto& b : out) {
    x = x * 1664525u + 1013904223u;
    b = static_cast<std::uint8_t>(x >> 24);
  }
  for (std::size_t i = 0; i < 4 && i < size; ++i) out[i] = static_cast<std::uint8_t>(seed >> (8 * (3 - i)));
  return out;
}

std::uint32_t payload_seed(const bytes& data) {
  std::uint32_t seed = 0;
  for (std::size_t i = 0; i < 4 && i < data.size(); ++i) seed = seed << 8 | data[i];
  return seed;
}

template <class T>
bool ok(const result<T>& r, const char* what) {
  if (!r) ADD_FAILURE() << what << " failed: " << describe(r.error());
  return static_cast<bool>(r);
}

// An error that ends a stream because its connection went away.
bool is_stream_ending_error(const error_code& ec) {
  return ec == errc::connection_closed || ec == errc::stream_reset;
}

// Child coroutines of a test case; wait() returns when all finished and rethrows the
// first exception. The case owns the group and always waits for it.
class task_group {
 public:
  explicit task_group(executor ex) : executor_(ex), changed_(ex) {}

  void spawn(task<void> child) {
    ++pending_;
    asio::co_spawn(executor_, std::move(child), [this](std::exception_ptr e) {
      if (e && !failure_) failure_ = e;
      --pending_;
      changed_.notify();
    });
  }

  task<void> wait() {
    while (pending_ > 0) co_await changed_.wait();
    if (failure_) std::rethrow_exception(failure_);
  }

 private:
  executor executor_;
  p2p::signal changed_;
  std::size_t pending_ = 0;
  std::exception_ptr failure_;
};

// Fails the case and stops its io_context if the case has not finished in time.
task<void> watchdog(executor ex) {
  asio::steady_timer timer(ex, watchdog_limit);
  auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (ec) co_return;  // the case finished first
  ADD_FAILURE() << "muxer conformance case did not finish (deadlock or a run() that never returns)";
  static_cast<asio::io_context&>(asio::query(ex, asio::execution::context)).stop();
}

struct context {
  executor ex;
  muxed_connection& client;
  muxed_connection& server;
  memory_stream& client_transport;  // valid while the connections run
};

// Opens a client stream, sends one byte and reads it on the accepted server end, so
// the stream exists on both sides. nullopt after a failure (already reported).
struct stream_pair {
  std::unique_ptr<stream> client;
  std::unique_ptr<stream> server;
};

task<std::optional<stream_pair>> open_established(context& c) {
  auto client_stream = co_await c.client.open_stream();
  if (!ok(client_stream, "open_stream")) co_return std::nullopt;
  ok(co_await (*client_stream)->write(as_bytes("x")), "write");
  auto server_stream = co_await c.server.accept_stream();
  if (!ok(server_stream, "accept_stream")) co_return std::nullopt;
  std::uint8_t byte[1];
  ok(co_await (*server_stream)->read_some(byte), "read first byte");
  co_return stream_pair{std::move(*client_stream), std::move(*server_stream)};
}

// Runs `body` while both connections run, then closes both and waits for run().
template <class Body>
void run_case(const muxer_factory& factory, const memory_stream_options& options, Body body) {
  run([&](executor ex) -> task<void> {
    auto pipes = make_memory_stream_pair(ex, options);
    memory_stream& client_transport = *pipes.first;
    muxer_pair pair = factory(ex, std::move(pipes.first), std::move(pipes.second));
    if (!pair.client || !pair.server) {
      ADD_FAILURE() << "the muxer factory returned no connection";
      co_return;
    }
    context ctx{ex, *pair.client, *pair.server, client_transport};
    auto drive = [&]() -> task<void> { co_await (pair.client->run() && pair.server->run()); };
    auto exercise = [&]() -> task<void> {
      co_await body(ctx);
      pair.client->close();
      pair.server->close();
    };
    co_await ((drive() && exercise()) || watchdog(ex));
  });
}

task<void> write_and_close(stream& s, bytes data) {
  ok(co_await s.write(data), "write");
  ok(co_await s.close_write(), "close_write");
}

}  // namespace

void open_accept(const muxer_factory& factory, const memory_stream_options& options) {
  run_case(factory, options, [](context& c) -> task<void> {
    for (int direction = 0; direction < 2; ++direction) {
      muxed_connection& opener = direction == 0 ? c.client : c.server;
      muxed_connection& acceptor = direction == 0 ? c.server : c.client;
      const bytes hello = to_bytes(direction == 0 ? "hello from the client" : "hello from the server");

      auto opened = co_await opener.open_stream();
      if (!ok(opened, "open_stream")) co_return;
      ok(co_await (*opened)->write(hello), "write");
      auto accepted = co_await acceptor.accept_stream();
      if (!ok(accepted, "accept_stream")) co_return;
      bytes got(hello.size());
      ok(co_await read_exact(**accepted, got), "read_exact");
      EXPECT_EQ(as_string(got), as_string(hello));

      // The accepting side answers on the same stream.
      ok(co_await (*accepted)->write(as_bytes("ok")), "write answer");
      bytes answer(2);
      ok(co_await read_exact(**opened, answer), "read answer");
      EXPECT_EQ(as_string(answer), "ok");
    }
  });
}

void echo_both_directions(const muxer_factory& factory, const memory_stream_options& options) {
  run_case(factory, options, [](context& c) -> task<void> {
    for (int direction = 0; direction < 2; ++direction) {
      muxed_connection& opener = direction == 0 ? c.client : c.server;
      muxed_connection& acceptor = direction == 0 ? c.server : c.client;
      const bytes message = make_payload(100 * 1024, 11 + direction);

      auto requester = [&]() -> task<void> {
        auto s = co_await opener.open_stream();
        if (!ok(s, "open_stream")) co_return;
        co_await write_and_close(**s, message);
        auto echoed = co_await read_to_end(**s, 1 << 20);
        if (!ok(echoed, "read echo")) co_return;
        EXPECT_TRUE(*echoed == message) << "echo differs: " << echoed->size() << " bytes back";
      };
      auto echoer = [&]() -> task<void> {
        auto s = co_await acceptor.accept_stream();
        if (!ok(s, "accept_stream")) co_return;
        auto request = co_await read_to_end(**s, 1 << 20);
        if (!ok(request, "read request")) co_return;
        co_await write_and_close(**s, *request);
      };
      co_await (requester() && echoer());
    }
  });
}

void half_close(const muxer_factory& factory, const memory_stream_options& options) {
  run_case(factory, options, [](context& c) -> task<void> {
    auto client_stream = co_await c.client.open_stream();
    if (!ok(client_stream, "open_stream")) co_return;
    stream& cs = **client_stream;
    co_await write_and_close(cs, to_bytes("request"));
    auto late = co_await cs.write(as_bytes("too late"));
    EXPECT_EQ(late.error(), errc::closed) << "write after close_write must fail with errc::closed";

    auto server_stream = co_await c.server.accept_stream();
    if (!ok(server_stream, "accept_stream")) co_return;
    stream& ss = **server_stream;
    auto request = co_await read_to_end(ss, 1024);
    if (ok(request, "read request")) {
      EXPECT_EQ(as_string(*request), "request");
    }
    std::uint8_t byte[1];
    auto again = co_await ss.read_some(byte);
    EXPECT_EQ(again.error(), errc::closed) << "reads after EOF keep returning errc::closed";

    // The half-closed stream still carries data the other way.
    co_await write_and_close(ss, to_bytes("response"));
    auto response = co_await read_to_end(cs, 1024);
    if (ok(response, "read response")) {
      EXPECT_EQ(as_string(*response), "response");
    }
  });
}

void reset_propagates(const muxer_factory& factory, const memory_stream_options& options) {
  run_case(factory, options, [](context& c) -> task<void> {
    auto client_stream = co_await c.client.open_stream();
    if (!ok(client_stream, "open_stream")) co_return;
    stream& cs = **client_stream;
    ok(co_await cs.write(as_bytes("x")), "write");
    auto server_stream = co_await c.server.accept_stream();
    if (!ok(server_stream, "accept_stream")) co_return;
    stream& ss = **server_stream;
    std::uint8_t byte[1];
    ok(co_await ss.read_some(byte), "read first byte");

    auto pending_read = [&]() -> task<void> {
      std::uint8_t buffer[16];
      auto r = co_await ss.read_some(buffer);
      EXPECT_EQ(r.error(), errc::stream_reset) << "a pending read ends with stream_reset";
    };
    auto resetter = [&]() -> task<void> {
      cs.reset();
      co_return;
    };
    co_await (pending_read() && resetter());

    EXPECT_EQ((co_await ss.write(as_bytes("y"))).error(), errc::stream_reset);
    EXPECT_EQ((co_await cs.write(as_bytes("y"))).error(), errc::stream_reset);
    EXPECT_EQ((co_await cs.read_some(byte)).error(), errc::stream_reset);
  });
}

void dropped_stream_resets(const muxer_factory& factory, const memory_stream_options& options) {
  run_case(factory, options, [](context& c) -> task<void> {
    auto pair = co_await open_established(c);
    if (!pair) co_return;
    auto& client_stream = pair->client;
    auto& server_stream = pair->server;
    std::uint8_t byte[1];

    client_stream.reset();  // destroys the open stream
    auto r = co_await server_stream->read_some(byte);
    EXPECT_EQ(r.error(), errc::stream_reset) << "destroying an open stream resets it";

    // The connection itself is unaffected.
    auto next = co_await c.client.open_stream();
    if (!ok(next, "open_stream after drop")) co_return;
    co_await write_and_close(**next, to_bytes("still fine"));
    auto accepted = co_await c.server.accept_stream();
    if (!ok(accepted, "accept_stream after drop")) co_return;
    auto data = co_await read_to_end(**accepted, 1024);
    if (ok(data, "read after drop")) {
      EXPECT_EQ(as_string(*data), "still fine");
    }
  });
}

namespace {
task<void> verify_and_answer(std::unique_ptr<stream> s, std::size_t size, std::size_t& verified) {
  auto data = co_await read_to_end(*s, size + 1);
  if (!ok(data, "read stream")) co_return;
  const bytes expected = make_payload(size, payload_seed(*data));
  if (*data == expected) {
    ++verified;
  } else {
    ADD_FAILURE() << "stream " << payload_seed(*data) << " arrived damaged (" << data->size() << " bytes)";
  }
  co_await write_and_close(*s, to_bytes("ok"));
}

task<void> send_and_expect_answer(std::unique_ptr<stream> s, std::size_t size, std::uint32_t seed,
                                  std::size_t& answered) {
  co_await write_and_close(*s, make_payload(size, seed));
  auto answer = co_await read_to_end(*s, 16);
  if (ok(answer, "read answer") && as_string(*answer) == "ok") ++answered;
}
}  // namespace

void many_concurrent_streams(const muxer_factory& factory, const memory_stream_options& options,
                             std::size_t streams, std::size_t bytes_per_stream) {
  run_case(factory, options, [=](context& c) -> task<void> {
    task_group group(c.ex);
    std::size_t verified = 0;
    std::size_t answered = 0;
    auto acceptor = [&]() -> task<void> {
      for (std::size_t i = 0; i < streams; ++i) {
        auto s = co_await c.server.accept_stream();
        if (!ok(s, "accept_stream")) co_return;
        group.spawn(verify_and_answer(std::move(*s), bytes_per_stream, verified));
      }
    };
    auto opener = [&]() -> task<void> {
      for (std::size_t i = 0; i < streams; ++i) {
        auto s = co_await c.client.open_stream();
        if (!ok(s, "open_stream")) co_return;
        group.spawn(send_and_expect_answer(std::move(*s), bytes_per_stream, static_cast<std::uint32_t>(i), answered));
      }
    };
    co_await (acceptor() && opener());
    co_await group.wait();
    EXPECT_EQ(verified, streams);
    EXPECT_EQ(answered, streams);
  });
}

void large_transfer(const muxer_factory& factory, const memory_stream_options& options, std::size_t size) {
  run_case(factory, options, [=](context& c) -> task<void> {
    const bytes payload = make_payload(size, 7);
    auto sender = [&]() -> task<void> {
      auto s = co_await c.client.open_stream();
      if (!ok(s, "open_stream")) co_return;
      co_await write_and_close(**s, payload);
      auto answer = co_await read_to_end(**s, 16);
      if (ok(answer, "read answer")) {
        EXPECT_EQ(as_string(*answer), "ok");
      }
    };
    auto receiver = [&]() -> task<void> {
      auto s = co_await c.server.accept_stream();
      if (!ok(s, "accept_stream")) co_return;
      auto data = co_await read_to_end(**s, size + 1);
      if (!ok(data, "read_to_end")) co_return;
      EXPECT_EQ(data->size(), payload.size());
      EXPECT_TRUE(*data == payload) << "the transfer arrived damaged";
      co_await write_and_close(**s, to_bytes("ok"));
    };
    co_await (sender() && receiver());
  });
}

void sequential_streams(const muxer_factory& factory, const memory_stream_options& options, std::size_t count) {
  run_case(factory, options, [=](context& c) -> task<void> {
    for (std::size_t i = 0; i < count; ++i) {
      auto opened = co_await c.client.open_stream();
      if (!ok(opened, "open_stream")) co_return;
      co_await write_and_close(**opened, to_bytes("ping"));
      auto accepted = co_await c.server.accept_stream();
      if (!ok(accepted, "accept_stream")) co_return;
      auto request = co_await read_to_end(**accepted, 16);
      if (!ok(request, "read request")) co_return;
      co_await write_and_close(**accepted, to_bytes("pong"));
      auto response = co_await read_to_end(**opened, 16);
      if (!ok(response, "read response")) co_return;
      if (as_string(*response) != "pong") {
        ADD_FAILURE() << "stream " << i << " answered '" << as_string(*response) << "'";
        co_return;
      }
    }
  });
}

void backpressure_isolated(const muxer_factory& factory, const memory_stream_options& options) {
  run_case(factory, options, [&options](context& c) -> task<void> {
    task_group group(c.ex);
    auto blocked = co_await c.client.open_stream();
    auto free = co_await c.client.open_stream();
    if (!ok(blocked, "open_stream") || !ok(free, "open_stream")) co_return;
    auto blocked_in = co_await c.server.accept_stream();
    auto free_in = co_await c.server.accept_stream();
    if (!ok(blocked_in, "accept_stream") || !ok(free_in, "accept_stream")) co_return;

    // More than any initial window (yamux: 256 KiB): the writer must stall until the
    // server reads. Smaller over byte-by-byte pipes, which are slow to drain.
    const bytes big = make_payload(options.max_read < 1024 ? 1024 * 1024 : 4 * 1024 * 1024, 1);
    bool big_written = false;
    group.spawn([](stream& s, const bytes& data, bool& done) -> task<void> {
      co_await write_and_close(s, data);
      done = true;
    }(**blocked, big, big_written));

    // Meanwhile another stream moves more than a window each way.
    const bytes message = make_payload(600 * 1024, 2);
    auto requester = [&]() -> task<void> {
      co_await write_and_close(**free, message);
      auto echoed = co_await read_to_end(**free, 1 << 21);
      if (ok(echoed, "read echo")) {
        EXPECT_TRUE(*echoed == message) << "echo on the free stream differs";
      }
    };
    auto echoer = [&]() -> task<void> {
      auto request = co_await read_to_end(**free_in, 1 << 21);
      if (!ok(request, "read request")) co_return;
      co_await write_and_close(**free_in, *request);
    };
    co_await (requester() && echoer());
    EXPECT_FALSE(big_written) << "a large write finished although nobody read the stream";

    auto data = co_await read_to_end(**blocked_in, big.size() + 1);
    if (ok(data, "read stalled stream")) {
      EXPECT_TRUE(*data == big) << "the stalled stream arrived damaged";
    }
    co_await group.wait();
    EXPECT_TRUE(big_written);
  });
}

void close_ends_streams_and_accept(const muxer_factory& factory, const memory_stream_options& options) {
  run_case(factory, options, [](context& c) -> task<void> {
    auto pair = co_await open_established(c);
    if (!pair) co_return;
    auto& client_stream = pair->client;
    auto& server_stream = pair->server;
    std::uint8_t byte[1];

    auto pending_accept = [&]() -> task<void> {
      auto r = co_await c.server.accept_stream();
      EXPECT_EQ(r.error(), errc::connection_closed) << "a pending accept ends with connection_closed";
    };
    auto pending_read = [&]() -> task<void> {
      auto r = co_await server_stream->read_some(byte);
      EXPECT_FALSE(r) << "a pending read on the peer ends with an error";
      if (!r) {
        EXPECT_TRUE(is_stream_ending_error(r.error())) << describe(r.error());
      }
    };
    auto closer = [&]() -> task<void> {
      c.client.close();
      co_return;
    };
    co_await (pending_accept() && pending_read() && closer());

    EXPECT_TRUE(c.client.is_closed());
    EXPECT_TRUE(c.server.is_closed());
    // The closing side's own streams and calls fail too.
    auto r = co_await client_stream->read_some(byte);
    EXPECT_TRUE(!r && is_stream_ending_error(r.error()));
    auto w = co_await client_stream->write(as_bytes("b"));
    EXPECT_TRUE(!w && is_stream_ending_error(w.error()));
    EXPECT_EQ((co_await c.client.open_stream()).error(), errc::connection_closed);
    EXPECT_EQ((co_await c.client.accept_stream()).error(), errc::connection_closed);
    EXPECT_EQ((co_await c.server.open_stream()).error(), errc::connection_closed);
    c.client.close();  // a second close is harmless
  });
}

void transport_failure_ends_everything(const muxer_factory& factory, const memory_stream_options& options) {
  run_case(factory, options, [](context& c) -> task<void> {
    auto pair = co_await open_established(c);
    if (!pair) co_return;
    auto& client_stream = pair->client;
    auto& server_stream = pair->server;

    auto expect_stream_error = [&](stream& s) -> task<void> {
      std::uint8_t buffer[8];
      auto r = co_await s.read_some(buffer);
      EXPECT_TRUE(!r && is_stream_ending_error(r.error())) << (r ? "read returned data" : describe(r.error()));
    };
    auto expect_accept_error = [&](muxed_connection& m) -> task<void> {
      auto r = co_await m.accept_stream();
      EXPECT_EQ(r.error(), errc::connection_closed);
    };
    auto breaker = [&]() -> task<void> {
      c.client_transport.break_connection();
      co_return;
    };
    co_await (expect_stream_error(*client_stream) && expect_stream_error(*server_stream) &&
              expect_accept_error(c.client) && expect_accept_error(c.server) && breaker());
    EXPECT_TRUE(c.client.is_closed());
    EXPECT_TRUE(c.server.is_closed());
  });
}

void streams_outlive_connection(const muxer_factory& factory, const memory_stream_options& options) {
  run([&](executor ex) -> task<void> {
    auto pipes = make_memory_stream_pair(ex, options);
    muxer_pair pair = factory(ex, std::move(pipes.first), std::move(pipes.second));
    if (!pair.client || !pair.server) {
      ADD_FAILURE() << "the muxer factory returned no connection";
      co_return;
    }
    std::unique_ptr<stream> client_stream;
    std::unique_ptr<stream> server_stream;
    auto drive = [&]() -> task<void> { co_await (pair.client->run() && pair.server->run()); };
    auto exercise = [&]() -> task<void> {
      auto opened = co_await pair.client->open_stream();
      if (ok(opened, "open_stream")) client_stream = std::move(*opened);
      if (client_stream) ok(co_await client_stream->write(as_bytes("x")), "write");
      auto accepted = co_await pair.server->accept_stream();
      if (ok(accepted, "accept_stream")) server_stream = std::move(*accepted);
      pair.client->close();
    };
    co_await ((drive() && exercise()) || watchdog(ex));
    // Both run() calls returned; now the owners let go of the connections.
    pair.client.reset();
    pair.server.reset();
    if (!client_stream || !server_stream) co_return;

    auto use_dead_streams = [&]() -> task<void> {
      std::uint8_t buffer[8];
      auto r = co_await client_stream->read_some(buffer);
      EXPECT_TRUE(!r && is_stream_ending_error(r.error()));
      auto w = co_await client_stream->write(as_bytes("y"));
      EXPECT_TRUE(!w && is_stream_ending_error(w.error()));
      // The server may still hold the byte that arrived before the close.
      for (;;) {
        auto n = co_await server_stream->read_some(buffer);
        if (n) continue;
        EXPECT_TRUE(is_stream_ending_error(n.error())) << describe(n.error());
        break;
      }
      (void)co_await server_stream->close_write();
      server_stream->reset();
      client_stream.reset();
      server_stream.reset();
    };
    co_await (use_dead_streams() || watchdog(ex));
  });
}

}  // namespace p2p::testing::muxer_conformance
