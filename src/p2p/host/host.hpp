// The libp2p host: listens, dials, upgrades connections, routes inbound streams to
// protocol handlers and opens outbound streams with protocol negotiation.
//
// Ownership: the host owns every coroutine it starts (accept loops, connection
// loops, stream handlers, and the tasks services hand it through spawn()); run()
// returns only after stop() and after all of them ended. Everything runs on the
// executor passed in (one thread).
//
// Limits: the resource manager (host_config::limits; src/p2p/resource) bounds
// connections, pending handshakes and streams per address, peer, protocol and
// overall: an inbound connection takes its slot at accept, before the handshake
// (the oldest pending handshake is closed when the slots are full), and moves to its
// peer's scope once Noise proved who it is; every stream counts under its connection,
// peer and protocol. Then handshake and negotiation timeouts, and yamux's
// per-connection stream and window limits. A peer that misbehaves loses its
// connection; it never takes the host down.
#pragma once

#include "p2p/core/clock.hpp"
#include "p2p/core/keys.hpp"
#include "p2p/core/log.hpp"
#include "p2p/core/multiaddr.hpp"
#include "p2p/core/peer_id.hpp"
#include "p2p/core/random.hpp"
#include "p2p/core/signal.hpp"
#include "p2p/core/task_group.hpp"
#include "p2p/host/connection.hpp"
#include "p2p/host/peerstore.hpp"
#include "p2p/muxer/yamux/connection.hpp"
#include "p2p/resource/resource_manager.hpp"

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace p2p {

namespace tcp {
class listener;
}

struct host_config {
  crypto::private_key identity;
  std::vector<multiaddr> listen_addresses;
  std::string agent_version = "p2pmcp/0.1.0";
  std::string protocol_version = "ipfs/0.1.0";
  duration dial_timeout = std::chrono::seconds(15);       // TCP connect, per address
  duration upgrade_timeout = std::chrono::seconds(15);    // security + muxer negotiation
  duration negotiation_timeout = std::chrono::seconds(15);  // per stream protocol negotiation
  // Connections, handshakes, streams and memory per scope; nullopt: the defaults for
  // this machine (resource::default_limits of its memory and descriptor limit).
  std::optional<resource::limits_config> limits;
  yamux::config yamux;
};

struct stream_info {
  std::string protocol;
  std::shared_ptr<connection> conn;
  const peer_id& remote_peer() const { return conn->remote_peer(); }
};

// Handlers own the stream; the host waits for them on shutdown.
using stream_handler = std::function<task<void>(std::unique_ptr<stream>, stream_info)>;

struct host_event {
  enum class kind { connected, disconnected, protocols_changed };
  kind type;
  std::shared_ptr<connection> conn;  // connected/disconnected
};

// A bounded queue of host events for one consumer; old events are dropped (and
// counted) if the consumer falls more than `capacity` behind.
class event_subscription {
 public:
  explicit event_subscription(asio::any_io_executor executor, std::size_t capacity = 1024)
      : signal_(executor), capacity_(capacity) {}
  // Waits for the next event; nullopt once the host stopped.
  task<std::optional<host_event>> next();
  std::size_t dropped() const noexcept { return dropped_; }

 private:
  friend class host;
  void push(host_event event);
  void finish();
  std::deque<host_event> queue_;
  p2p::signal signal_;
  std::size_t capacity_;
  std::size_t dropped_ = 0;
  bool finished_ = false;
};

class host {
 public:
  host(asio::any_io_executor executor, host_config config, clock& clk, random& rng);
  ~host();
  host(const host&) = delete;
  host& operator=(const host&) = delete;

  const peer_id& id() const noexcept { return id_; }
  const crypto::private_key& identity() const noexcept { return config_.identity; }
  const host_config& config() const noexcept { return config_; }
  asio::any_io_executor executor() const { return executor_; }
  clock& get_clock() noexcept { return clock_; }
  random& get_random() noexcept { return random_; }

  // Binds every configured listen address. Errors name the address that failed.
  result<void> listen();
  // Addresses actually bound (real ports), without /p2p.
  std::vector<multiaddr> listen_addresses() const;

  void set_handler(std::string protocol, stream_handler handler);
  void remove_handler(const std::string& protocol);
  std::vector<std::string> protocols() const;

  // Dials `address`; when it ends in /p2p/<id> the remote must prove that identity,
  // a live connection to that peer is reused, and a dial to it already in flight (by
  // address or by ID) is shared (if that dial fails, `address` is tried). Errors:
  // unreachable, peer_id_mismatch, protocol_not_supported, timeout, or the
  // transport's error.
  task<result<std::shared_ptr<connection>>> connect(const multiaddr& address);
  // Reuses a live connection or dials the peerstore's addresses. Concurrent calls
  // for one peer share one dial; a cancelled dial releases the peer for the next
  // one. Errors: no_addresses, unreachable, ...
  task<result<std::shared_ptr<connection>>> connect(const peer_id& peer);

  struct negotiated_stream {
    std::unique_ptr<stream> s;
    std::string protocol;
    std::shared_ptr<connection> conn;
  };
  // Opens a stream to `peer` (connecting if needed) speaking the first of `protocols`
  // the peer accepts. Errors: protocol_not_supported, and connect()'s errors.
  task<result<negotiated_stream>> new_stream(const peer_id& peer, std::vector<std::string> protocols);
  task<result<negotiated_stream>> new_stream(std::shared_ptr<connection> conn, std::vector<std::string> protocols);
  // One protocol. (Also sidesteps GCC 12's "array used as initializer" bug with
  // braced lists inside co_await expressions.)
  task<result<negotiated_stream>> new_stream(const peer_id& peer, std::string_view protocol) {
    return new_stream(peer, std::vector<std::string>{std::string(protocol)});
  }
  task<result<negotiated_stream>> new_stream(std::shared_ptr<connection> conn, std::string_view protocol) {
    return new_stream(std::move(conn), std::vector<std::string>{std::string(protocol)});
  }

  peerstore& peers() noexcept { return peerstore_; }
  // The resource manager: protect() trusted and bootstrap peers, take_snapshot() for status.
  resource::resource_manager& resources() noexcept { return resources_; }
  const resource::resource_manager& resources() const noexcept { return resources_; }
  std::vector<std::shared_ptr<connection>> connections() const;
  std::shared_ptr<connection> connection_to(const peer_id& peer) const;
  bool is_connected(const peer_id& peer) const { return connection_to(peer) != nullptr; }

  std::shared_ptr<event_subscription> subscribe();

  // Starts `work` as a task owned by the host (for protocol services).
  template <class Awaitable>
  void spawn(Awaitable work, std::string name) {
    tasks_.spawn(std::move(work), std::move(name));
  }

  // Runs the accept loops; returns after stop() once every owned task ended.
  task<void> run();
  // Asks everything to stop: closes listeners and connections; after `grace`,
  // cancels what is still running. Safe to call more than once.
  void stop(duration grace = std::chrono::seconds(3));
  bool is_stopping() const noexcept { return stopping_; }

 private:
  struct pending_dial;
  struct pending_dial_guard;
  struct pending_handshake;

  task<void> accept_loop(tcp::listener& l);
  task<void> handle_inbound(std::unique_ptr<stream> raw, multiaddr local, multiaddr remote,
                            resource::connection_scope scope);
  // Throttled log of refused and dropped connections (one line per 10 s with a count).
  void note_refusal(std::string_view what, const std::string& why);
  task<result<std::shared_ptr<connection>>> dial_address(const multiaddr& address, std::optional<peer_id> expected);
  task<result<std::shared_ptr<connection>>> dial_peer(const peer_id& peer);
  // The one dial to `peer` in flight (to `address`, else to its peerstore addresses);
  // concurrent callers share it.
  task<result<std::shared_ptr<connection>>> dial_once(peer_id peer, std::optional<multiaddr> address);
  std::shared_ptr<connection> add_connection(struct upgraded_connection up, resource::connection_scope scope);
  task<void> serve_connection(std::shared_ptr<connection> conn);
  task<void> serve_stream(std::unique_ptr<stream> s, std::shared_ptr<connection> conn);
  void publish(host_event event);

  asio::any_io_executor executor_;
  host_config config_;
  clock& clock_;
  random& random_;
  peer_id id_;
  // Before everything that may hold a connection or stream scope (destroyed after them).
  resource::resource_manager resources_;
  peerstore peerstore_;
  std::vector<std::unique_ptr<tcp::listener>> listeners_;
  std::map<std::string, stream_handler, std::less<>> handlers_;
  std::unordered_map<peer_id, std::vector<std::shared_ptr<connection>>> connections_;
  std::unordered_map<peer_id, std::shared_ptr<pending_dial>> pending_dials_;
  std::vector<std::weak_ptr<event_subscription>> subscribers_;
  std::unordered_map<std::uint64_t, pending_handshake*> handshakes_;  // inbound, by scope id
  log::throttle refusal_log_{std::chrono::seconds(10)};
  std::uint64_t next_connection_id_ = 1;
  task_group tasks_;
  p2p::signal stop_signal_;
  duration grace_ = std::chrono::seconds(3);
  bool stopping_ = false;
  bool running_ = false;
};

}  // namespace p2p
