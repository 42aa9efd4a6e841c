#include "transport_conformance.hpp"

#include "p2p/core/keys.hpp"
#include "p2p/core/peer_id.hpp"
#include "p2p/core/signal.hpp"
#include "run.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <exception>
#include <vector>

namespace p2p::testing::transport_conformance {

namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using executor = asio::any_io_executor;

// Generous: 16 MiB each way through one core under sanitizers.
constexpr auto watchdog_limit = std::chrono::minutes(3);

bytes make_payload(std::size_t size, std::uint32_t seed) {
  bytes out(size);
  std::uint32_t x = seed * 2654435761u + 12345u;
  for (auto& b : out) {
    x = x * 1664525u + 1013904223u;
    b = static_cast<std::uint8_t>(x >> 24);
  }
  return out;
}

template <class T>
bool ok(const result<T>& r, const char* what) {
  if (!r) ADD_FAILURE() << what << " failed: " << describe(r.error());
  return static_cast<bool>(r);
}

// Child coroutines of a case; wait() returns when all finished and rethrows the first
// exception.
class children {
 public:
  explicit children(executor ex) : executor_(ex), changed_(ex) {}
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

// Runs `body(fixture)` on a fresh io_context with a watchdog.
template <class Body>
void with_fixture(const transport_factory& factory, Body body) {
  run([&](executor ex) -> task<void> {
    transport_fixture f = factory(ex);
    if (!f.dialer || !f.listener) {
      ADD_FAILURE() << "the factory made no transports";
      co_return;
    }
    asio::steady_timer watchdog(ex, watchdog_limit);
    auto outcome = co_await (body(f) || watchdog.async_wait(asio::use_awaitable));
    if (outcome.index() == 1) ADD_FAILURE() << "the case did not finish within the watchdog's limit";
  });
}

// A listener on the fixture's listen address.
std::unique_ptr<transport_listener> listen(transport_fixture& f) {
  auto l = f.listener->listen(f.listen_address);
  if (!ok(l, "listen")) return nullptr;
  return std::move(*l);
}

// Reads until EOF; the error if the stream ends otherwise.
task<result<bytes>> read_all(stream& s) {
  bytes out;
  std::uint8_t buffer[64 * 1024];
  for (;;) {
    auto n = co_await s.read_some(mutable_bytes_view(buffer, sizeof buffer));
    if (!n) {
      if (n.error() == errc::closed) co_return out;
      co_return n.error();
    }
    out.insert(out.end(), buffer, buffer + *n);
  }
}

// Child coroutines take what they use as parameters: a lambda's captures would dangle
// once the temporary closure is gone.
task<void> accept_into(transport_listener& l, result<raw_connection>& out) { out = co_await l.accept(); }

task<void> read_one_into(stream& s, result<std::size_t>& out) {
  std::uint8_t byte = 0;
  out = co_await s.read_some(mutable_bytes_view(&byte, 1));
}

task<void> write_and_close(stream& s, const bytes& data) {
  EXPECT_TRUE(co_await s.write(data));
  EXPECT_TRUE(co_await s.close_write());
}

// One side of a transfer both ways: writes `out` while it reads `expected`.
task<void> transfer_side(stream& s, const bytes& out, const bytes& expected) {
  children writer(co_await asio::this_coro::executor);
  writer.spawn(write_and_close(s, out));
  auto got = co_await read_all(s);
  if (ok(got, "reading the transfer")) {
    EXPECT_EQ(got->size(), expected.size());
    EXPECT_TRUE(*got == expected) << "the bytes differ";
  }
  co_await writer.wait();
}

// Sends back what a connection sent, once its dialer closed.
task<void> echo_one(raw_connection conn) {
  auto data = co_await read_all(*conn.raw);
  if (!ok(data, "reading a connection's bytes")) co_return;
  EXPECT_TRUE(co_await conn.raw->write(*data));
  EXPECT_TRUE(co_await conn.raw->close_write());
}

task<void> echo_connections(transport_listener& l, std::size_t count, std::size_t& accepted) {
  children echoes(co_await asio::this_coro::executor);
  for (std::size_t i = 0; i < count; ++i) {
    auto c = co_await l.accept();
    if (!ok(c, "accept")) break;
    ++accepted;
    echoes.spawn(echo_one(std::move(*c)));
  }
  co_await echoes.wait();
}

task<void> dial_and_check_echo(transport& t, multiaddr address, std::size_t i, std::size_t& echoed) {
  auto c = co_await t.dial(address);
  if (!ok(c, "dial")) co_return;
  const bytes mine = make_payload(1000 + i, static_cast<std::uint32_t>(100 + i));
  EXPECT_TRUE(co_await c->raw->write(mine));
  EXPECT_TRUE(co_await c->raw->close_write());
  auto back = co_await read_all(*c->raw);
  if (ok(back, "reading the echo") && *back == mine) ++echoed;
}

// A dialed and an accepted connection to the same listener.
struct pair_of_ends {
  raw_connection dialed;
  raw_connection accepted;
};

task<std::optional<pair_of_ends>> connect(transport_fixture& f, transport_listener& l, const multiaddr& target) {
  pair_of_ends out;
  result<raw_connection> accepted = errc::closed;
  result<raw_connection> dialed = errc::closed;
  auto ex = co_await asio::this_coro::executor;
  children group(ex);
  group.spawn(accept_into(l, accepted));
  dialed = co_await f.dialer->dial(target);
  if (!dialed) l.close();  // nothing will arrive: end the accept
  co_await group.wait();
  if (!ok(dialed, "dial") || !ok(accepted, "accept")) co_return std::nullopt;
  out.dialed = std::move(*dialed);
  out.accepted = std::move(*accepted);
  co_return out;
}

}  // namespace

void listen_gives_a_dialable_address(const transport_factory& factory) {
  with_fixture(factory, [](transport_fixture& f) -> task<void> {
    EXPECT_TRUE(f.listener->can_listen(f.listen_address)) << f.listen_address.to_string();
    auto l = listen(f);
    if (!l) co_return;
    const multiaddr bound = l->address();
    EXPECT_NE(bound, f.listen_address) << "the bound address names the port picked, not 0";
    EXPECT_TRUE(f.dialer->can_dial(bound)) << bound.to_string();
    EXPECT_TRUE(f.listener->can_listen(bound)) << bound.to_string();
    // A second listener on a free port gets another address.
    auto other = listen(f);
    if (other) { EXPECT_NE(other->address(), bound); }
    l->close();
    if (other) other->close();
  });
}

void dial_accept_and_exchange(const transport_factory& factory) {
  with_fixture(factory, [](transport_fixture& f) -> task<void> {
    auto l = listen(f);
    if (!l) co_return;
    auto ends = co_await connect(f, *l, l->address());
    if (!ends) co_return;
    EXPECT_EQ(ends->dialed.remote_address, l->address());
    EXPECT_EQ(ends->accepted.local_address, l->address());
    EXPECT_EQ(ends->accepted.remote_address, ends->dialed.local_address);
    const bytes hello = to_bytes("hello from the dialer");
    const bytes answer = to_bytes("and back from the listener");
    EXPECT_TRUE(co_await ends->dialed.raw->write(hello));
    bytes got(hello.size());
    EXPECT_TRUE(co_await read_exact(*ends->accepted.raw, got));
    EXPECT_EQ(got, hello);
    EXPECT_TRUE(co_await ends->accepted.raw->write(answer));
    bytes back(answer.size());
    EXPECT_TRUE(co_await read_exact(*ends->dialed.raw, back));
    EXPECT_EQ(back, answer);
    l->close();
  });
}

void half_close(const transport_factory& factory) {
  with_fixture(factory, [](transport_fixture& f) -> task<void> {
    auto l = listen(f);
    if (!l) co_return;
    auto ends = co_await connect(f, *l, l->address());
    if (!ends) co_return;
    const bytes request = make_payload(100000, 1);
    // Written while the other side reads: a transport may buffer less than that.
    children writer(co_await asio::this_coro::executor);
    writer.spawn(write_and_close(*ends->dialed.raw, request));
    auto received = co_await read_all(*ends->accepted.raw);
    co_await writer.wait();
    if (ok(received, "reading up to EOF")) { EXPECT_EQ(*received, request); }
    // The half-closed side still reads.
    const bytes reply = to_bytes("reply after EOF");
    EXPECT_TRUE(co_await ends->accepted.raw->write(reply));
    EXPECT_TRUE(co_await ends->accepted.raw->close_write());
    auto replied = co_await read_all(*ends->dialed.raw);
    if (ok(replied, "reading the reply")) { EXPECT_EQ(*replied, reply); }
    l->close();
  });
}

void reset_ends_the_peers_read(const transport_factory& factory) {
  with_fixture(factory, [](transport_fixture& f) -> task<void> {
    auto l = listen(f);
    if (!l) co_return;
    // reset() by the dialer, while the listener's side waits in a read.
    {
      auto ends = co_await connect(f, *l, l->address());
      if (!ends) co_return;
      result<std::size_t> read = std::size_t{0};
      auto ex = co_await asio::this_coro::executor;
      children group(ex);
      group.spawn(read_one_into(*ends->accepted.raw, read));
      co_await asio::post(ex, asio::use_awaitable);  // the read is pending
      ends->dialed.raw->reset();
      co_await group.wait();
      EXPECT_FALSE(read) << "a read on a reset connection must fail";
    }
    // Destroying the accepted end (without close_write): the dialer's read ends too.
    {
      auto ends = co_await connect(f, *l, l->address());
      if (!ends) co_return;
      ends->accepted.raw.reset();
      std::uint8_t byte = 0;
      auto read = co_await ends->dialed.raw->read_some(mutable_bytes_view(&byte, 1));
      EXPECT_FALSE(read) << "a read on a dropped connection must end (EOF or reset)";
    }
    l->close();
  });
}

void large_transfer_both_ways(const transport_factory& factory, std::size_t size) {
  with_fixture(factory, [size](transport_fixture& f) -> task<void> {
    auto l = listen(f);
    if (!l) co_return;
    auto ends = co_await connect(f, *l, l->address());
    if (!ends) co_return;
    const bytes up = make_payload(size, 2);
    const bytes down = make_payload(size, 3);
    auto ex = co_await asio::this_coro::executor;
    children group(ex);
    // Each side writes and reads at once: neither may wait for the other to read first.
    group.spawn(transfer_side(*ends->dialed.raw, up, down));
    group.spawn(transfer_side(*ends->accepted.raw, down, up));
    co_await group.wait();
    l->close();
  });
}

void many_concurrent_connections(const transport_factory& factory, std::size_t count) {
  with_fixture(factory, [count](transport_fixture& f) -> task<void> {
    auto l = listen(f);
    if (!l) co_return;
    auto ex = co_await asio::this_coro::executor;
    children group(ex);
    std::size_t echoed = 0;
    std::size_t accepted = 0;
    // The listener echoes every connection once its dialer closed.
    group.spawn(echo_connections(*l, count, accepted));
    for (std::size_t i = 0; i < count; ++i) group.spawn(dial_and_check_echo(*f.dialer, l->address(), i, echoed));
    co_await group.wait();
    EXPECT_EQ(accepted, count);
    EXPECT_EQ(echoed, count) << "every connection gets its own bytes back";
    l->close();
  });
}

void closed_listener_ends_accept_and_refuses(const transport_factory& factory) {
  with_fixture(factory, [](transport_fixture& f) -> task<void> {
    auto l = listen(f);
    if (!l) co_return;
    const multiaddr address = l->address();
    auto ex = co_await asio::this_coro::executor;
    result<raw_connection> accepted = errc::io_error;
    children group(ex);
    group.spawn(accept_into(*l, accepted));
    co_await asio::post(ex, asio::use_awaitable);  // the accept is pending
    l->close();
    co_await group.wait();
    EXPECT_FALSE(accepted);
    if (!accepted) { EXPECT_EQ(accepted.error(), errc::closed) << describe(accepted.error()); }
    l.reset();
    auto refused = co_await f.dialer->dial(address);
    EXPECT_FALSE(refused) << "dialing a closed listener must fail";
  });
}

void dial_with_peer_id(const transport_factory& factory) {
  with_fixture(factory, [](transport_fixture& f) -> task<void> {
    auto l = listen(f);
    if (!l) co_return;
    const peer_id someone = peer_id::from_public_key(crypto::private_key::generate_ed25519().public_key());
    const multiaddr target = l->address().with_peer(someone);
    EXPECT_TRUE(f.dialer->can_dial(target)) << target.to_string();
    auto ends = co_await connect(f, *l, target);
    if (!ends) co_return;
    EXPECT_TRUE(co_await ends->dialed.raw->write(to_bytes("x")));
    std::uint8_t byte = 0;
    auto n = co_await ends->accepted.raw->read_some(mutable_bytes_view(&byte, 1));
    EXPECT_TRUE(n && byte == 'x');
    l->close();
  });
}

void foreign_addresses(const transport_factory& factory) {
  with_fixture(factory, [](transport_fixture& f) -> task<void> {
    EXPECT_FALSE(f.dialer->can_dial(f.foreign_address)) << f.foreign_address.to_string();
    EXPECT_FALSE(f.listener->can_listen(f.foreign_address)) << f.foreign_address.to_string();
    auto l = f.listener->listen(f.foreign_address);
    EXPECT_FALSE(l) << "listening on another transport's address must fail";
    auto c = co_await f.dialer->dial(f.foreign_address);
    EXPECT_FALSE(c) << "dialing another transport's address must fail";
    EXPECT_FALSE(f.dialer->name().empty());
  });
}

}  // namespace p2p::testing::transport_conformance
