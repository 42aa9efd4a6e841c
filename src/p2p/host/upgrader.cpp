#include "p2p/host/upgrader.hpp"

#include "p2p/negotiation/multistream.hpp"
#include "p2p/security/noise/noise.hpp"

#include <boost/asio/this_coro.hpp>

namespace p2p {

namespace {

const std::vector<std::string>& muxer_ids() {
  static const std::vector<std::string> ids{std::string(yamux_protocol_id)};
  return ids;
}

// Steps 3 and 4: choose the muxer (unless the handshake did) and start it.
task<result<upgraded_connection>> finish_upgrade(std::unique_ptr<secured_connection> secured, multiaddr raw_local,
                                                 multiaddr raw_remote, const upgrade_context& context,
                                                 direction dir) {
  connection_info info{secured->local_peer(), secured->remote_peer(), std::move(raw_local), std::move(raw_remote),
                       dir,                   std::string(noise_protocol_id)};
  if (auto early = secured->early_muxer()) {
    if (*early != yamux_protocol_id) co_return errc::protocol_not_supported;
    info.early_muxer = true;
    info.muxer = *early;
  } else if (dir == direction::outbound) {
    auto chosen = co_await multistream::select_one_of(*secured, muxer_ids());
    if (!chosen) co_return chosen.error();
    info.muxer = *chosen;
  } else {
    auto chosen = co_await multistream::handle(
        *secured, [](std::string_view id) { return id == yamux_protocol_id; });
    if (!chosen) co_return chosen.error();
    info.muxer = *chosen;
  }
  auto role = dir == direction::outbound ? yamux::role::client : yamux::role::server;
  auto muxer = yamux::make_connection(co_await asio::this_coro::executor, std::move(secured), role,
                                      context.yamux_config, context.clk);
  co_return upgraded_connection{std::move(muxer), std::move(info)};
}

}  // namespace

task<result<upgraded_connection>> upgrade_outbound(std::unique_ptr<stream> raw, multiaddr raw_local,
                                                   multiaddr raw_remote, const upgrade_context& context,
                                                   std::optional<peer_id> expected) {
  const std::vector<std::string> security{std::string(noise_protocol_id)};
  auto chosen = co_await multistream::select_one_of(*raw, security);
  if (!chosen) co_return chosen.error();
  auto secured = co_await noise::secure_outbound(std::move(raw), context.identity, std::move(expected),
                                                 muxer_ids(), context.rng);
  if (!secured) co_return secured.error();
  co_return co_await finish_upgrade(std::move(*secured), std::move(raw_local), std::move(raw_remote), context,
                                    direction::outbound);
}

task<result<upgraded_connection>> upgrade_inbound(std::unique_ptr<stream> raw, multiaddr raw_local,
                                                  multiaddr raw_remote, const upgrade_context& context) {
  auto chosen = co_await multistream::handle(*raw, [](std::string_view id) { return id == noise_protocol_id; });
  if (!chosen) co_return chosen.error();
  auto secured = co_await noise::secure_inbound(std::move(raw), context.identity, muxer_ids(), context.rng);
  if (!secured) co_return secured.error();
  co_return co_await finish_upgrade(std::move(*secured), std::move(raw_local), std::move(raw_remote), context,
                                    direction::inbound);
}

}  // namespace p2p
