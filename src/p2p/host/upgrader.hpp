// The upgrader turns a raw connection into a muxed one, in this order:
//   1. multistream-select "/noise"        (the security protocol)
//   2. the Noise XX handshake             (proves the remote identity; inlined muxer offer)
//   3. multistream-select "/yamux/1.0.0"  (skipped when the handshake already agreed one)
//   4. the yamux session
// (go-libp2p p2p/net/upgrader/upgrader.go; rust-libp2p core/src/transport/upgrade.rs)
#pragma once

#include "p2p/core/clock.hpp"
#include "p2p/core/keys.hpp"
#include "p2p/core/random.hpp"
#include "p2p/core/stream.hpp"
#include "p2p/host/connection.hpp"
#include "p2p/muxer/yamux/connection.hpp"

#include <optional>

namespace p2p {

inline constexpr std::string_view noise_protocol_id = "/noise";
inline constexpr std::string_view yamux_protocol_id = "/yamux/1.0.0";

struct upgrade_context {
  const crypto::private_key& identity;
  random& rng;
  clock& clk;
  yamux::config yamux_config;
};

struct upgraded_connection {
  std::shared_ptr<muxed_connection> muxer;
  connection_info info;
};

// `raw_local`/`raw_remote` are the raw connection's addresses, copied into the info.
// Errors: protocol_not_supported (no common security or muxer), handshake_failed,
// peer_id_mismatch (outbound with `expected`), and whatever the raw stream reports.
task<result<upgraded_connection>> upgrade_outbound(std::unique_ptr<stream> raw, multiaddr raw_local,
                                                   multiaddr raw_remote, const upgrade_context& context,
                                                   std::optional<peer_id> expected);
task<result<upgraded_connection>> upgrade_inbound(std::unique_ptr<stream> raw, multiaddr raw_local,
                                                  multiaddr raw_remote, const upgrade_context& context);

}  // namespace p2p
