// The memory network against the transport conformance suite, over roomy pipes and over
// pipes that return one byte per read with 512 bytes of buffer; and what only it does.
#include "memory_network.hpp"

#include "run.hpp"
#include "transport_conformance.hpp"

#include <boost/asio/error.hpp>

#include <gtest/gtest.h>

namespace p2p::testing {
namespace {

transport_fixture memory_fixture(boost::asio::any_io_executor executor, memory_network_options options) {
  auto network = std::make_shared<memory_network>(executor, options);
  transport_fixture f;
  f.dialer = network->make_transport();
  f.listener = network->make_transport();
  f.keep = network;
  f.listen_address = multiaddr::parse("/memory/0").value();
  f.foreign_address = multiaddr::parse("/ip4/127.0.0.1/tcp/4001").value();
  return f;
}

transport_fixture roomy(boost::asio::any_io_executor executor) { return memory_fixture(executor, {}); }

transport_fixture tiny(boost::asio::any_io_executor executor) {
  memory_network_options options;
  options.pipes = {.max_read = 1, .capacity = 512};
  return memory_fixture(executor, options);
}

P2P_TRANSPORT_CONFORMANCE_TESTS(memory_transport_conformance, roomy)
P2P_TRANSPORT_CONFORMANCE_TESTS_SIZED(memory_transport_conformance_tiny_pipes, tiny, 256 * 1024, 20)

TEST(memory_network, addresses_are_memory_numbers) {
  EXPECT_EQ(memory_port(multiaddr::parse("/memory/42").value()), 42u);
  EXPECT_EQ(memory_port(multiaddr::parse("/memory/42/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA").value()),
            42u);
  EXPECT_FALSE(memory_port(multiaddr::parse("/ip4/127.0.0.1/tcp/42").value()));
  EXPECT_FALSE(memory_port(multiaddr::parse("/memory/42/ws").value()));
  EXPECT_EQ(memory_address(7).to_string(), "/memory/7");
}

TEST(memory_network, a_taken_number_is_in_use_and_a_full_backlog_refuses) {
  run([](boost::asio::any_io_executor executor) -> task<void> {
    memory_network_options options;
    options.backlog = 2;
    memory_network network(executor, options);
    auto t = network.make_transport();
    auto first = t->listen(multiaddr::parse("/memory/9").value());
    EXPECT_TRUE(first);
    if (!first) co_return;
    EXPECT_EQ((*first)->address().to_string(), "/memory/9");
    auto again = t->listen(multiaddr::parse("/memory/9").value());
    EXPECT_FALSE(again);
    if (!again) { EXPECT_EQ(again.error(), boost::asio::error::address_in_use); }
    EXPECT_EQ(network.listeners(), 1u);
    // Two connections wait for accept(); the third is refused, as a full TCP backlog.
    auto a = co_await t->dial((*first)->address());
    auto b = co_await t->dial((*first)->address());
    auto c = co_await t->dial((*first)->address());
    EXPECT_TRUE(a && b);
    EXPECT_FALSE(c);
    if (!c) { EXPECT_EQ(c.error(), boost::asio::error::connection_refused); }
    EXPECT_EQ(network.connections(), 2u);
    // Closing the listener resets what it had not accepted.
    (*first)->close();
    EXPECT_EQ(network.listeners(), 0u);
    if (a) {
      std::uint8_t byte = 0;
      auto read = co_await a->raw->read_some(mutable_bytes_view(&byte, 1));
      EXPECT_FALSE(read);
      if (!read) { EXPECT_EQ(read.error(), errc::stream_reset); }
    }
    // The number is free again.
    auto reused = t->listen(multiaddr::parse("/memory/9").value());
    EXPECT_TRUE(reused);
  });
}

}  // namespace
}  // namespace p2p::testing
