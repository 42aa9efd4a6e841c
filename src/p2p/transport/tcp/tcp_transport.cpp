#include "p2p/transport/tcp/tcp_transport.hpp"

#include "p2p/core/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <optional>
#include <string>
#include <vector>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace p2p::tcp {

namespace {

using asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// The port of <host>/tcp/<port>[/p2p/<id>] (whatever <host> is); nothing for any other shape.
std::optional<std::uint16_t> tcp_port(const std::vector<multiaddr_component>& parts) {
  if (parts.size() < 2 || parts[1].code != protocol_code::tcp || parts[1].value.size() != 2) return std::nullopt;
  for (std::size_t i = 2; i < parts.size(); ++i)
    if (parts[i].code != protocol_code::p2p) return std::nullopt;
  return static_cast<std::uint16_t>(parts[1].value[0] << 8 | parts[1].value[1]);
}

// Maps the socket errors that mean "the stream ended" onto the seam's vocabulary.
error_code map_read_error(const error_code& ec) {
  if (ec == asio::error::eof) return errc::closed;
  if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe) return errc::connection_closed;
  if (ec == asio::error::operation_aborted) return errc::cancelled;
  return ec;
}

void set_reuse_port(tcp::socket& s) {
  int one = 1;
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
}

}  // namespace

result<tcp::endpoint> to_endpoint(const multiaddr& address) {
  auto parts = address.components();
  const auto port_of = tcp_port(parts);
  if (!port_of) return errc::invalid_multiaddr;
  const std::uint16_t port = *port_of;
  if (parts[0].code == protocol_code::ip4 && parts[0].value.size() == 4) {
    asio::ip::address_v4::bytes_type raw;
    std::copy(parts[0].value.begin(), parts[0].value.end(), raw.begin());
    return tcp::endpoint(asio::ip::address_v4(raw), port);
  }
  if (parts[0].code == protocol_code::ip6 && parts[0].value.size() == 16) {
    asio::ip::address_v6::bytes_type raw;
    std::copy(parts[0].value.begin(), parts[0].value.end(), raw.begin());
    return tcp::endpoint(asio::ip::address_v6(raw), port);
  }
  return errc::invalid_multiaddr;
}

multiaddr to_multiaddr(const tcp::endpoint& endpoint) {
  std::vector<multiaddr_component> parts;
  auto address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  if (address.is_v4()) {
    auto raw = address.to_v4().to_bytes();
    parts.push_back({protocol_code::ip4, bytes(raw.begin(), raw.end())});
  } else {
    auto raw = address.to_v6().to_bytes();
    parts.push_back({protocol_code::ip6, bytes(raw.begin(), raw.end())});
  }
  const auto port = endpoint.port();
  parts.push_back({protocol_code::tcp, bytes{static_cast<std::uint8_t>(port >> 8), static_cast<std::uint8_t>(port)}});
  return multiaddr::from_components(parts);
}

bool can_handle(const multiaddr& address) { return to_endpoint(address).has_value(); }

namespace {

struct dns_target {
  std::string name;
  std::uint16_t port;
  protocol_code family;  // dns, dns4 or dns6
};

std::optional<dns_target> dns_of(const multiaddr& address) {
  auto parts = address.components();
  const auto port = tcp_port(parts);
  if (!port) return std::nullopt;
  const protocol_code family = parts[0].code;
  if (family != protocol_code::dns && family != protocol_code::dns4 && family != protocol_code::dns6)
    return std::nullopt;
  if (parts[0].value.empty()) return std::nullopt;
  return dns_target{std::string(parts[0].value.begin(), parts[0].value.end()), *port, family};
}

bool family_allows(protocol_code family, const asio::ip::address& ip) {
  if (family == protocol_code::dns4) return ip.is_v4();
  if (family == protocol_code::dns6) return ip.is_v6();
  return true;
}

task<result<std::unique_ptr<tcp_stream>>> dial_endpoint(tcp::endpoint endpoint, dial_options options) {
  tcp::socket socket(co_await asio::this_coro::executor);
  error_code ec;
  socket.open(endpoint.protocol(), ec);
  if (ec) co_return ec;
  if (options.bind) {
    socket.set_option(asio::socket_base::reuse_address(true), ec);
    set_reuse_port(socket);
    socket.bind(*options.bind, ec);
    if (ec) co_return ec;
  }
  auto [connect_ec] = co_await socket.async_connect(endpoint, use_tuple);
  if (connect_ec) co_return connect_ec;
  co_return std::make_unique<tcp_stream>(std::move(socket));
}

}  // namespace

bool can_dial(const multiaddr& address) { return can_handle(address) || dns_of(address).has_value(); }

std::vector<multiaddr> expand_wildcard(const multiaddr& bound) {
  auto endpoint = to_endpoint(bound);
  if (!endpoint || !endpoint->address().is_unspecified()) return {bound};
  const bool want_v6 = endpoint->address().is_v6();
  std::vector<multiaddr> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return {bound};
  for (auto* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || (i->ifa_flags & IFF_UP) == 0) continue;
    if (!want_v6 && i->ifa_addr->sa_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      asio::ip::address_v4 a(ntohl(in->sin_addr.s_addr));
      out.push_back(to_multiaddr({a, endpoint->port()}));
    } else if (want_v6 && i->ifa_addr->sa_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      asio::ip::address_v6::bytes_type raw;
      std::copy(std::begin(in6->sin6_addr.s6_addr), std::end(in6->sin6_addr.s6_addr), raw.begin());
      asio::ip::address_v6 a(raw);
      if (a.is_link_local()) continue;  // needs a zone; not dialable from other hosts as is
      out.push_back(to_multiaddr({a, endpoint->port()}));
    }
  }
  ::freeifaddrs(list);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  if (out.empty()) out.push_back(bound);
  return out;
}

tcp_stream::tcp_stream(tcp::socket socket) : socket_(std::move(socket)) {
  error_code ec;
  socket_.set_option(tcp::no_delay(true), ec);
  if (auto local = socket_.local_endpoint(ec); !ec) local_ = to_multiaddr(local);
  if (auto remote = socket_.remote_endpoint(ec); !ec) remote_ = to_multiaddr(remote);
}

tcp_stream::~tcp_stream() {
  error_code ec;
  socket_.close(ec);
}

task<result<std::size_t>> tcp_stream::read_some(mutable_bytes_view buffer) {
  if (!socket_.is_open()) co_return errc::stream_reset;
  auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buffer.data(), buffer.size()), use_tuple);
  if (ec && n == 0) co_return map_read_error(ec);
  co_return n;
}

task<result<void>> tcp_stream::write(bytes_view data) {
  if (!socket_.is_open()) co_return errc::stream_reset;
  auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(data.data(), data.size()), use_tuple);
  if (ec) co_return map_read_error(ec);
  co_return result<void>{};
}

task<result<void>> tcp_stream::close_write() {
  error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
  if (ec && ec != asio::error::not_connected) co_return ec;
  co_return result<void>{};
}

void tcp_stream::reset() {
  error_code ec;
  if (!socket_.is_open()) return;
  // Linger 0 makes close() send RST instead of FIN: the peer sees an abort.
  socket_.set_option(asio::socket_base::linger(true, 0), ec);
  socket_.close(ec);
}

task<result<std::unique_ptr<tcp_stream>>> dial(const multiaddr& address, dial_options options) {
  auto endpoint = to_endpoint(address);
  if (endpoint) co_return co_await dial_endpoint(*endpoint, options);
  auto target = dns_of(address);
  if (!target) co_return endpoint.error();
  tcp::resolver resolver(co_await asio::this_coro::executor);
  auto [resolve_ec, found] = co_await resolver.async_resolve(target->name, std::to_string(target->port),
                                                              tcp::resolver::numeric_service, use_tuple);
  if (resolve_ec) co_return resolve_ec;
  error_code last = asio::error::host_not_found;  // no address of the wanted family
  for (const auto& entry : found) {
    const tcp::endpoint candidate = entry.endpoint();
    if (!family_allows(target->family, candidate.address())) continue;
    if (options.bind && options.bind->protocol() != candidate.protocol()) continue;
    auto s = co_await dial_endpoint(candidate, options);
    if (s) co_return s;
    last = s.error();
  }
  co_return last;
}

listener::listener(tcp::acceptor acceptor)
    : acceptor_(std::move(acceptor)), pause_timer_(acceptor_.get_executor()) {
  error_code ec;
  bound_ = to_multiaddr(acceptor_.local_endpoint(ec));
}

result<std::unique_ptr<listener>> listener::open(asio::any_io_executor executor, const multiaddr& address) {
  auto endpoint = to_endpoint(address);
  if (!endpoint) return endpoint.error();
  tcp::acceptor acceptor(executor);
  error_code ec;
  acceptor.open(endpoint->protocol(), ec);
  if (ec) return ec;
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  int one = 1;
  ::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (endpoint->address().is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
  acceptor.bind(*endpoint, ec);
  if (ec) return ec;
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return ec;
  return std::unique_ptr<listener>(new listener(std::move(acceptor)));
}

namespace {

// Out of a resource the connection needs: waiting frees some (a peer goes away).
bool is_exhaustion(const error_code& ec) {
  return ec == asio::error::no_descriptors || ec == error_code(ENFILE, boost::system::system_category()) ||
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

// accept(2): "Linux accept() passes already-pending network errors on the new socket
// as an error code from accept()... the application should treat them like EAGAIN".
bool is_transient(const error_code& ec) {
  static const int transient[] = {ECONNABORTED, EPROTO, ENOPROTOOPT, EHOSTDOWN, ENONET,
                                  EHOSTUNREACH, EOPNOTSUPP, ENETDOWN, ENETUNREACH, EAGAIN, EINTR};
  if (ec.category() != boost::system::system_category()) return false;
  for (int e : transient)
    if (ec.value() == e) return true;
  return false;
}

constexpr std::string_view component = "tcp";
constexpr auto first_pause = std::chrono::milliseconds(100);
constexpr auto longest_pause = std::chrono::seconds(1);

}  // namespace

task<result<std::unique_ptr<tcp_stream>>> listener::accept() {
  std::chrono::steady_clock::duration pause = first_pause;
  std::uint64_t paused_in_episode = 0;
  const auto episode_start = std::chrono::steady_clock::now();
  for (;;) {
    if (!acceptor_.is_open()) co_return errc::closed;
    auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
    if (!ec) {
      if (paused_in_episode > 0)
        log::info(component, "accepting on {} again: {} accepts paused over {} ms", bound_.to_string(),
                  paused_in_episode,
                  std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                        episode_start)
                      .count());
      co_return std::make_unique<tcp_stream>(std::move(socket));
    }
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return errc::closed;
    if (is_transient(ec)) continue;
    if (paused_in_episode == 0) {
      if (is_exhaustion(ec))
        log::warn(component,
                  "out of file descriptors or kernel memory ({}): accepts on {} paused, retrying every 100 ms "
                  "to 1 s; raise `ulimit -n` or lower the connection limits if this repeats",
                  ec.message(), bound_.to_string());
      else
        log::warn(component, "accepting on {} failed ({}): retrying every 100 ms to 1 s", bound_.to_string(),
                  ec.message());
    }
    ++paused_in_episode;
    ++paused_accepts_;
    pause_timer_.expires_after(pause);
    co_await pause_timer_.async_wait(use_tuple);
    pause = std::min<std::chrono::steady_clock::duration>(pause * 2, longest_pause);
  }
}

void listener::close() {
  error_code ec;
  acceptor_.close(ec);
  pause_timer_.cancel();
}

tcp::endpoint listener::endpoint() const {
  error_code ec;
  return acceptor_.local_endpoint(ec);
}

}  // namespace p2p::tcp
