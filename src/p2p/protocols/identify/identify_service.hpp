// The identify service of a host: answers "/ipfs/id/1.0.0", identifies every new
// connection's peer, accepts "/ipfs/id/push/1.0.0" updates, and pushes our own
// protocol list to connected peers when it changes. What it learns goes into the
// host's peerstore (public key, protocols, agent, listen addresses).
#pragma once

#include "p2p/host/host.hpp"
#include "p2p/protocols/identify/identify.hpp"

#include <map>
#include <unordered_map>

namespace p2p::identify {

class service {
 public:
  // Registers the identify and push handlers on `h`. The host must outlive the service.
  explicit service(host& h);

  // Starts reacting to host events (a task owned by the host). Call once, before or
  // while the host runs.
  void start();

  // Asks the peer on `conn` for its identify message now and records it.
  // Errors: read_message's errors, verify_public_key's errors (peer_id_mismatch, ...).
  task<result<message>> identify(std::shared_ptr<connection> conn);

  // Waits until the peer on `conn` was identified (by the automatic exchange started on
  // connect, or by identify()); errc::connection_closed if it disconnects first.
  task<result<message>> wait_identified(std::shared_ptr<connection> conn);

  // The message we send to the peer on `conn` (its observed address included).
  message own_message(const connection& conn) const;

  // Completes at the next identify or push result recorded for any peer (for callers
  // that wait for what a peer announces; combine with with_timeout).
  task<result<void>> wait_for_update();

  // Addresses other peers reported observing us at, most recent first (bounded).
  std::vector<multiaddr> observed_addresses() const;

 private:
  struct identified {
    result<message> outcome = errc::cancelled;
    bool done = false;
    std::shared_ptr<p2p::signal> changed;
  };

  task<void> watch_events(std::shared_ptr<event_subscription> events);
  task<void> identify_in_background(std::shared_ptr<connection> conn);
  task<void> push_to(std::shared_ptr<connection> conn);
  void record(const connection& conn, const message& m);
  identified& state_for(const connection& conn);

  host& host_;
  p2p::signal updated_;
  std::unordered_map<std::uint64_t, identified> by_connection_;
  std::vector<multiaddr> observed_;
};

}  // namespace p2p::identify
