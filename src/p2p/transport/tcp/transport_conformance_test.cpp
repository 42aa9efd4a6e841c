// tcp::transport against the transport conformance suite (loopback, port 0), and what
// only TCP has: dialing from the listen port.
#include "p2p/transport/tcp/tcp_transport.hpp"

#include "run.hpp"
#include "transport_conformance.hpp"

#include <gtest/gtest.h>

namespace p2p::tcp {
namespace {

testing::transport_fixture tcp_fixture(asio::any_io_executor executor) {
  testing::transport_fixture f;
  f.dialer = std::make_unique<transport>(executor);
  f.listener = std::make_unique<transport>(executor);
  f.listen_address = multiaddr::parse("/ip4/127.0.0.1/tcp/0").value();
  f.foreign_address = multiaddr::parse("/memory/5").value();
  return f;
}

P2P_TRANSPORT_CONFORMANCE_TESTS(tcp_transport_conformance, tcp_fixture)

TEST(tcp_transport_seam, dials_from_its_listen_port_when_asked) {
  testing::run([](asio::any_io_executor executor) -> task<void> {
    transport a(executor);
    transport b(executor);
    auto la = a.listen(multiaddr::parse("/ip4/127.0.0.1/tcp/0").value());
    auto lb = b.listen(multiaddr::parse("/ip4/127.0.0.1/tcp/0").value());
    EXPECT_TRUE(la && lb);
    if (!la || !lb) co_return;
    transport_dial_options from_listen_port;
    from_listen_port.from_listen_port = true;
    auto dialed = co_await a.dial((*lb)->address(), from_listen_port);
    EXPECT_TRUE(dialed) << (dialed ? "" : describe(dialed.error()));
    if (!dialed) co_return;
    // The connection leaves from a's listen port: what b sees as remote is a's address.
    EXPECT_EQ(dialed->local_address, (*la)->address());
    auto accepted = co_await (*lb)->accept();
    EXPECT_TRUE(accepted);
    if (accepted) { EXPECT_EQ(accepted->remote_address, (*la)->address()); }
    // Without the option, an ephemeral port.
    auto plain = co_await a.dial((*lb)->address());
    EXPECT_TRUE(plain);
    if (plain) { EXPECT_NE(plain->local_address, (*la)->address()); }
  });
}

}  // namespace
}  // namespace p2p::tcp
