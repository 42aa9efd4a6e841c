#include "node.hpp"

#include "p2p/protocols/perf/perf.hpp"
#include "p2p/protocols/ping/ping.hpp"
#include "p2p/transport/tcp/tcp_transport.hpp"

namespace p2pmcp {

p2p::host_config make_host_config(node_options options) {
  p2p::host_config config;
  config.identity = std::move(options.identity);
  config.listen_addresses = std::move(options.listen);
  config.agent_version = std::string("p2pmcp/") + version;
  return config;
}

node::node(boost::asio::any_io_executor executor, node_options options)
    : host_(executor, make_host_config(std::move(options)), clock_, random_), identify_(host_) {
  host_.set_handler(std::string(p2p::ping::protocol_id),
                    [](std::unique_ptr<p2p::stream> s, p2p::stream_info) -> p2p::task<void> {
                      co_await p2p::ping::serve(*s);
                    });
  host_.set_handler(std::string(p2p::perf::protocol_id),
                    [](std::unique_ptr<p2p::stream> s, p2p::stream_info) -> p2p::task<void> {
                      co_await p2p::perf::serve(*s);
                    });
}

std::vector<p2p::multiaddr> node::dialable_addresses() const {
  std::vector<p2p::multiaddr> out;
  for (const auto& bound : host_.listen_addresses())
    for (auto& address : p2p::tcp::expand_wildcard(bound)) out.push_back(address.with_peer(host_.id()));
  return out;
}

p2p::task<void> node::run() {
  identify_.start();
  co_await host_.run();
}

}  // namespace p2pmcp
