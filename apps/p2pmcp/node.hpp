// The one place that assembles a production node: a host with TCP + Noise + yamux,
// and the services every node runs (identify + push, ping, perf). Defaults live in
// node_options and are documented in the README.
#pragma once

#include "mcp/server/node_settings.hpp"
#include "p2p/core/clock.hpp"
#include "p2p/core/random.hpp"
#include "p2p/host/host.hpp"
#include "p2p/protocols/identify/identify_service.hpp"

#include <memory>

namespace p2pmcp {

inline constexpr const char* version = "0.1.0";
inline constexpr std::uint16_t default_port = 4021;

struct node_options {
  p2p::crypto::private_key identity;
  std::vector<p2p::multiaddr> listen;  // empty: nothing (a pure client)
  // The host's resource limits; nullopt: the machine's defaults.
  std::optional<p2p::resource::limits_config> limits;
};

// The machine's default resource limits (its memory and current open-file limit) with
// the config's "limits" overrides applied.
p2p::resource::limits_config resource_limits(const mcp::server::connection_limits& overrides);

class node {
 public:
  node(boost::asio::any_io_executor executor, node_options options);

  p2p::host& host() noexcept { return host_; }
  p2p::identify::service& identify() noexcept { return identify_; }

  // Addresses others can dial, with /p2p/<id> (wildcards expanded to interfaces).
  std::vector<p2p::multiaddr> dialable_addresses() const;

  // Runs until stop(); owns every task.
  p2p::task<void> run();
  void stop(p2p::duration grace = std::chrono::seconds(3)) { host_.stop(grace); }

 private:
  p2p::system_clock clock_;
  p2p::system_random random_;
  p2p::host host_;
  p2p::identify::service identify_;
};

p2p::host_config make_host_config(node_options options);

}  // namespace p2pmcp
