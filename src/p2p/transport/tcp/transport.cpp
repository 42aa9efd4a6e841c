// tcp::transport: the transport seam (p2p/transport/transport.hpp) over dial() and
// listener (which accept a trailing /p2p/<peer ID> already).
#include "p2p/transport/tcp/tcp_transport.hpp"

#include <algorithm>
#include <list>

namespace p2p::tcp {

// The endpoints of the listeners still open, in the order they were opened.
struct transport::registry {
  std::list<asio::ip::tcp::endpoint> endpoints;
};

class transport::seam_listener final : public transport_listener {
 public:
  seam_listener(std::unique_ptr<listener> l, std::shared_ptr<registry> r)
      : listener_(std::move(l)), registry_(std::move(r)) {
    slot_ = registry_->endpoints.insert(registry_->endpoints.end(), listener_->endpoint());
  }
  ~seam_listener() override {
    listener_->close();
    registry_->endpoints.erase(slot_);
  }

  task<result<raw_connection>> accept() override {
    auto accepted = co_await listener_->accept();
    if (!accepted) co_return accepted.error();
    raw_connection c;
    c.local_address = (*accepted)->local_address();
    c.remote_address = (*accepted)->remote_address();
    c.raw = std::move(*accepted);
    co_return c;
  }
  void close() override { listener_->close(); }
  const multiaddr& address() const noexcept override { return listener_->address(); }

 private:
  std::unique_ptr<listener> listener_;
  std::shared_ptr<registry> registry_;
  std::list<asio::ip::tcp::endpoint>::iterator slot_;
};

transport::transport(asio::any_io_executor executor)
    : executor_(std::move(executor)), listening_(std::make_shared<registry>()) {}

transport::~transport() = default;

bool transport::can_dial(const multiaddr& address) const { return tcp::can_dial(address); }

bool transport::can_listen(const multiaddr& address) const { return can_handle(address); }

task<result<raw_connection>> transport::dial(const multiaddr& address, transport_dial_options options) {
  dial_options o;
  if (options.from_listen_port) {
    // The family of the target: known for an IP address; for a DNS name, the first
    // listener's (tcp::dial skips resolved addresses of another family).
    const auto target = to_endpoint(address);
    for (const auto& bound : listening_->endpoints) {
      if (target && bound.protocol() != target->protocol()) continue;
      o.bind = bound;
      break;
    }
  }
  auto dialed = co_await tcp::dial(address, o);
  if (!dialed) co_return dialed.error();
  raw_connection c;
  c.local_address = (*dialed)->local_address();
  c.remote_address = (*dialed)->remote_address();
  c.raw = std::move(*dialed);
  co_return c;
}

result<std::unique_ptr<transport_listener>> transport::listen(const multiaddr& address) {
  auto opened = listener::open(executor_, address);
  if (!opened) return opened.error();
  return std::unique_ptr<transport_listener>(new seam_listener(std::move(*opened), listening_));
}

}  // namespace p2p::tcp
