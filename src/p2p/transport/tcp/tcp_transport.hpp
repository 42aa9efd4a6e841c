// TCP transport: dial and listen on /ip4|/ip6/<addr>/tcp/<port> multiaddrs; dial also
// /dns|/dns4|/dns6/<name>/tcp/<port>.
//
// This is the raw-connection layer below security: a tcp_stream is a p2p::stream over
// an Asio socket so the security handshake can run over it, and it exposes the socket
// for options. Listeners set SO_REUSEADDR and SO_REUSEPORT, and dials can bind to the
// listen port (reuse_port) so the NAT mapping of outbound connections matches the
// listen address — what hole punching needs later.
#pragma once

#include "p2p/core/multiaddr.hpp"
#include "p2p/core/stream.hpp"
#include "p2p/transport/transport.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <optional>

namespace p2p::tcp {

// Converts /ip4|ip6/.../tcp/<port>[/p2p/..] to an endpoint; invalid_multiaddr otherwise
// (including DNS names: see can_dial).
result<asio::ip::tcp::endpoint> to_endpoint(const multiaddr& address);
multiaddr to_multiaddr(const asio::ip::tcp::endpoint& endpoint);
// True when this transport can listen on the address (an IP address).
bool can_handle(const multiaddr& address);
// True when this transport can dial the address: an IP address, or a DNS name
// (/dns|dns4|dns6/<name>/tcp/<port>[/p2p/..]) that dial() resolves first.
// /dnsaddr (TXT records) is not resolved.
bool can_dial(const multiaddr& address);
// For an address bound to 0.0.0.0 or ::, the same port on every up interface's address
// of that family (loopback included); any other address is returned as it is.
std::vector<multiaddr> expand_wildcard(const multiaddr& bound);

class tcp_stream final : public stream {
 public:
  explicit tcp_stream(asio::ip::tcp::socket socket);
  ~tcp_stream() override;

  task<result<std::size_t>> read_some(mutable_bytes_view buffer) override;
  task<result<void>> write(bytes_view data) override;
  task<result<void>> close_write() override;
  void reset() override;

  const multiaddr& local_address() const noexcept { return local_; }
  const multiaddr& remote_address() const noexcept { return remote_; }
  asio::ip::tcp::socket& socket() noexcept { return socket_; }

 private:
  asio::ip::tcp::socket socket_;
  multiaddr local_;
  multiaddr remote_;
};

struct dial_options {
  // Bind the outgoing socket to this local endpoint first (with SO_REUSEPORT).
  std::optional<asio::ip::tcp::endpoint> bind;
};

// Connects to `address`. A DNS name is resolved with the system's resolver (getaddrinfo:
// /etc/hosts, then DNS); its addresses of the allowed family (dns4: IPv4, dns6: IPv6,
// dns: both) are tried in the resolver's order until one connects. Errors are the
// system's (connection refused, unreachable, host not found...), or invalid_multiaddr.
// The caller applies the dial timeout (cancellation closes it).
task<result<std::unique_ptr<tcp_stream>>> dial(const multiaddr& address, dial_options options = {});

class listener {
 public:
  // Binds and listens. Errors: invalid_multiaddr or the system's (address in use...).
  static result<std::unique_ptr<listener>> open(asio::any_io_executor executor, const multiaddr& address);

  // Waits for the next connection; ends only with a connection or, after close(),
  // errc::closed. Nothing else ends the listener:
  // - out of descriptors or kernel memory (EMFILE, ENFILE, ENOBUFS, ENOMEM): the
  //   connection stays in the kernel's backlog; accepting pauses 100 ms, doubling
  //   to 1 s, and retries, with one warning when such an episode starts and one
  //   line when it ends ("N accepts paused");
  // - a connection that died in the backlog or a network error the accept man
  //   page lists as transient (ECONNABORTED, EPROTO, ENETDOWN...): retried at once;
  // - any other error: logged and retried after the same pause.
  task<result<std::unique_ptr<tcp_stream>>> accept();
  void close();
  // Accepts that failed and were paused since open() (for tests and status).
  std::uint64_t paused_accepts() const noexcept { return paused_accepts_; }
  // The bound address (the real port when listening on port 0).
  const multiaddr& address() const noexcept { return bound_; }
  asio::ip::tcp::endpoint endpoint() const;

 private:
  explicit listener(asio::ip::tcp::acceptor acceptor);
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer pause_timer_;  // cancelled by close()
  multiaddr bound_;
  std::uint64_t paused_accepts_ = 0;
};

// The transport seam (transport.hpp) over dial() and listener (transport.cpp). It
// remembers its listeners' endpoints for transport_dial_options::from_listen_port: the
// first listener of the dialed address's family gives the local endpoint to bind.
class transport final : public p2p::transport {
 public:
  explicit transport(asio::any_io_executor executor);
  ~transport() override;

  std::string_view name() const noexcept override { return "tcp"; }
  bool can_dial(const multiaddr& address) const override;
  bool can_listen(const multiaddr& address) const override;
  task<result<raw_connection>> dial(const multiaddr& address, transport_dial_options options = {}) override;
  result<std::unique_ptr<transport_listener>> listen(const multiaddr& address) override;

 private:
  class seam_listener;
  struct registry;
  asio::any_io_executor executor_;
  std::shared_ptr<registry> listening_;  // shared with the listeners, which may outlive us
};

}  // namespace p2p::tcp
