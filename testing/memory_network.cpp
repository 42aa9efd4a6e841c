#include "memory_network.hpp"

#include "p2p/core/signal.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <deque>
#include <map>

namespace p2p::testing {

namespace asio = boost::asio;

namespace {

struct listener_state {
  explicit listener_state(asio::any_io_executor executor) : arrived(executor) {}
  std::uint64_t port = 0;
  multiaddr address;
  std::deque<raw_connection> queue;
  bool closed = false;
  p2p::signal arrived;
};

}  // namespace

struct memory_network::state {
  state(asio::any_io_executor ex, memory_network_options o) : executor(std::move(ex)), options(o) {}
  asio::any_io_executor executor;
  memory_network_options options;
  std::map<std::uint64_t, std::shared_ptr<listener_state>> listening;
  std::uint64_t next_port = 1;
  std::size_t connections = 0;

  std::uint64_t fresh_port() {
    while (listening.count(next_port)) ++next_port;
    return next_port++;
  }
};

std::optional<std::uint64_t> memory_port(const multiaddr& address) {
  const auto parts = address.without_peer().components();
  if (parts.size() != 1 || parts[0].code != protocol_code::memory || parts[0].value.size() != 8) return std::nullopt;
  std::uint64_t port = 0;
  for (std::uint8_t b : parts[0].value) port = port << 8 | b;
  return port;
}

multiaddr memory_address(std::uint64_t port) { return multiaddr::parse("/memory/" + std::to_string(port)).value(); }

namespace {

class memory_listener final : public transport_listener {
 public:
  memory_listener(std::shared_ptr<memory_network::state> net, std::shared_ptr<listener_state> l)
      : net_(std::move(net)), listener_(std::move(l)) {}
  ~memory_listener() override { close(); }

  task<result<raw_connection>> accept() override {
    auto l = listener_;  // kept across suspension
    while (l->queue.empty() && !l->closed) co_await l->arrived.wait();
    if (l->closed) co_return errc::closed;
    raw_connection c = std::move(l->queue.front());
    l->queue.pop_front();
    co_return c;
  }

  void close() override {
    if (listener_->closed) return;
    listener_->closed = true;
    listener_->queue.clear();  // destroying the streams resets them for their dialers
    net_->listening.erase(listener_->port);
    listener_->arrived.notify();
  }

  const multiaddr& address() const noexcept override { return listener_->address; }

 private:
  std::shared_ptr<memory_network::state> net_;
  std::shared_ptr<listener_state> listener_;
};

class memory_transport final : public transport {
 public:
  explicit memory_transport(std::shared_ptr<memory_network::state> net) : net_(std::move(net)) {}

  std::string_view name() const noexcept override { return "memory"; }
  bool can_dial(const multiaddr& address) const override { return memory_port(address).has_value(); }
  bool can_listen(const multiaddr& address) const override { return memory_port(address).has_value(); }

  task<result<raw_connection>> dial(const multiaddr& address, transport_dial_options) override {
    auto net = net_;
    // Asynchronous like any dial: the caller may be suspended here.
    co_await asio::post(net->executor, asio::use_awaitable);
    const auto port = memory_port(address);
    if (!port) co_return errc::invalid_multiaddr;
    auto it = net->listening.find(*port);
    if (it == net->listening.end() || it->second->closed || it->second->queue.size() >= net->options.backlog)
      co_return make_error_code(asio::error::connection_refused);
    listener_state& l = *it->second;
    auto [client, server] = make_memory_stream_pair(net->executor, net->options.pipes);
    const multiaddr local = memory_address(net->fresh_port());
    raw_connection inbound;
    inbound.raw = std::move(server);
    inbound.local_address = l.address;
    inbound.remote_address = local;
    l.queue.push_back(std::move(inbound));
    l.arrived.notify();
    ++net->connections;
    raw_connection outbound;
    outbound.raw = std::move(client);
    outbound.local_address = local;
    outbound.remote_address = l.address;
    co_return outbound;
  }

  result<std::unique_ptr<transport_listener>> listen(const multiaddr& address) override {
    auto port = memory_port(address);
    if (!port) return errc::invalid_multiaddr;
    if (*port == 0) port = net_->fresh_port();
    if (net_->listening.count(*port)) return make_error_code(asio::error::address_in_use);
    auto l = std::make_shared<listener_state>(net_->executor);
    l->port = *port;
    l->address = memory_address(*port);
    net_->listening[*port] = l;
    return std::unique_ptr<transport_listener>(new memory_listener(net_, std::move(l)));
  }

 private:
  std::shared_ptr<memory_network::state> net_;
};

}  // namespace

memory_network::memory_network(asio::any_io_executor executor, memory_network_options options)
    : state_(std::make_shared<state>(std::move(executor), options)) {}

memory_network::~memory_network() = default;

std::unique_ptr<transport> memory_network::make_transport() { return std::make_unique<memory_transport>(state_); }

std::size_t memory_network::connections() const noexcept { return state_->connections; }

std::size_t memory_network::listeners() const noexcept { return state_->listening.size(); }

}  // namespace p2p::testing
