#include "p2p/host/host.hpp"

#include "p2p/core/log.hpp"
#include "p2p/core/timeout.hpp"
#include "p2p/core/system_limits.hpp"
#include "p2p/host/scoped_stream.hpp"
#include "p2p/host/upgrader.hpp"
#include "p2p/negotiation/multistream.hpp"
#include "p2p/transport/tcp/tcp_transport.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>

namespace p2p {

using namespace boost::asio::experimental::awaitable_operators;

namespace {
constexpr std::string_view component = "host";

resource::limits_config limits_for(const host_config& config) {
  if (config.limits) return *config.limits;
  return resource::default_limits(physical_memory(), file_descriptor_limit().soft);
}

task<void> wait_until(bool& flag, p2p::signal& wake) {
  while (!flag) co_await wake.wait();
}

// The raw stream of an inbound connection: tells the resource manager when its peer
// first sends something, so that silent sockets are dropped before it.
class progress_stream final : public stream {
 public:
  progress_stream(std::unique_ptr<stream> inner, resource::resource_manager& resources, std::uint64_t id)
      : inner_(std::move(inner)), resources_(resources), id_(id) {}
  task<result<std::size_t>> read_some(mutable_bytes_view buffer) override {
    auto n = co_await inner_->read_some(buffer);
    if (!noted_ && n && *n > 0) {
      noted_ = true;
      resources_.note_progress(id_);
    }
    co_return n;
  }
  task<result<void>> write(bytes_view data) override { return inner_->write(data); }
  task<result<void>> write_gather(std::span<const bytes_view> parts) override { return inner_->write_gather(parts); }
  task<result<void>> close_write() override { return inner_->close_write(); }
  void reset() override { inner_->reset(); }

 private:
  std::unique_ptr<stream> inner_;
  resource::resource_manager& resources_;  // outlives every connection (host member order)
  std::uint64_t id_;
  bool noted_ = false;
};

}  // namespace

// An inbound connection in its handshake; the resource manager may choose it as the
// oldest to drop for a newer one.
struct host::pending_handshake {
  explicit pending_handshake(asio::any_io_executor executor) : wake(executor) {}
  bool evicted = false;
  p2p::signal wake;
};

// Outbound dials to one peer in flight: later callers wait for the first one's result.
struct host::pending_dial {
  explicit pending_dial(asio::any_io_executor executor) : done_signal(executor) {}
  bool done = false;
  result<std::shared_ptr<connection>> outcome = errc::cancelled;
  p2p::signal done_signal;
};

// ---------------------------------------------------------------------------------
// events

task<std::optional<host_event>> event_subscription::next() {
  while (queue_.empty() && !finished_) co_await signal_.wait();
  if (queue_.empty()) co_return std::nullopt;
  auto event = std::move(queue_.front());
  queue_.pop_front();
  co_return event;
}

void event_subscription::push(host_event event) {
  if (queue_.size() >= capacity_) {
    queue_.pop_front();
    ++dropped_;
  }
  queue_.push_back(std::move(event));
  signal_.notify();
}

void event_subscription::finish() {
  finished_ = true;
  signal_.notify();
}

std::shared_ptr<event_subscription> host::subscribe() {
  auto subscription = std::make_shared<event_subscription>(executor_);
  if (stopping_) subscription->finish();
  subscribers_.push_back(subscription);
  return subscription;
}

void host::publish(host_event event) {
  std::erase_if(subscribers_, [](const auto& weak) { return weak.expired(); });
  for (auto& weak : subscribers_)
    if (auto s = weak.lock()) s->push(event);
}

// ---------------------------------------------------------------------------------
// set-up

host::host(asio::any_io_executor executor, host_config config, clock& clk, random& rng)
    : executor_(executor),
      config_(std::move(config)),
      clock_(clk),
      random_(rng),
      id_(peer_id::from_public_key(config_.identity.public_key())),
      resources_(limits_for(config_)),
      tasks_(executor),
      stop_signal_(executor) {}

host::~host() = default;

result<void> host::listen() {
  for (const auto& address : config_.listen_addresses) {
    auto l = tcp::listener::open(executor_, address);
    if (!l) {
      log::error(component, "cannot listen on {}: {}", address.to_string(), l.error().message());
      return l.error();
    }
    log::debug(component, "listening on {}", (*l)->address().to_string());
    listeners_.push_back(std::move(*l));
  }
  return {};
}

std::vector<multiaddr> host::listen_addresses() const {
  std::vector<multiaddr> out;
  for (const auto& l : listeners_) out.push_back(l->address());
  return out;
}

void host::set_handler(std::string protocol, stream_handler handler) {
  handlers_[std::move(protocol)] = std::move(handler);
  publish({host_event::kind::protocols_changed, nullptr});
}

void host::remove_handler(const std::string& protocol) {
  if (handlers_.erase(protocol) > 0) publish({host_event::kind::protocols_changed, nullptr});
}

std::vector<std::string> host::protocols() const {
  std::vector<std::string> out;
  for (const auto& [id, handler] : handlers_) out.push_back(id);
  return out;
}

std::vector<std::shared_ptr<connection>> host::connections() const {
  std::vector<std::shared_ptr<connection>> out;
  for (const auto& [peer, list] : connections_) out.insert(out.end(), list.begin(), list.end());
  return out;
}

std::shared_ptr<connection> host::connection_to(const peer_id& peer) const {
  auto it = connections_.find(peer);
  if (it == connections_.end()) return nullptr;
  for (const auto& c : it->second)
    if (!c->is_closed()) return c;
  return nullptr;
}

// ---------------------------------------------------------------------------------
// running and stopping

task<void> host::run() {
  running_ = true;
  for (auto& l : listeners_) tasks_.spawn(accept_loop(*l), "accept loop");
  while (!stopping_) co_await stop_signal_.wait();
  // stop() closed listeners and connections, so most tasks are ending now. After the
  // grace period, cancel what still runs (handlers stuck in their own waits).
  asio::steady_timer timer(executor_, grace_);
  auto outcome = co_await (tasks_.wait() || timer.async_wait(asio::use_awaitable));
  if (outcome.index() == 1) {
    log::warn(component, "{} tasks still running after the grace period; cancelling them", tasks_.size());
    tasks_.cancel_all();
    co_await tasks_.wait();
  }
  for (auto& weak : subscribers_)
    if (auto s = weak.lock()) s->finish();
  running_ = false;
}

void host::stop(duration grace) {
  if (stopping_) return;
  stopping_ = true;
  log::debug(component, "stopping: {} connections, {} tasks", connections().size(), tasks_.size());
  for (auto& l : listeners_) l->close();
  for (auto& c : connections()) c->close();
  for (auto& [peer, dial] : pending_dials_) dial->done_signal.notify();
  for (auto& weak : subscribers_)
    if (auto s = weak.lock()) s->finish();
  grace_ = grace;
  stop_signal_.notify();
}

// ---------------------------------------------------------------------------------
// inbound

// The listener pauses and retries by itself when descriptors run out (EMFILE) or an
// accept fails for any other reason: only close() (stop) ends this loop.
task<void> host::accept_loop(tcp::listener& l) {
  for (;;) {
    auto accepted = co_await l.accept();
    if (!accepted) {
      if (accepted.error() != errc::closed)
        log::error(component, "stopped accepting on {}: {}", l.address().to_string(), accepted.error().message());
      co_return;
    }
    auto& raw = *accepted;
    if (stopping_) co_return;
    auto admitted = resources_.open_connection(resource::direction::inbound, raw->remote_address());
    if (!admitted) {
      note_refusal(fmt::format("refused a connection from {}", raw->remote_address().to_string()),
                   admitted.error().message());
      raw->reset();
      continue;
    }
    for (const auto id : admitted->evicted) {
      if (auto it = handshakes_.find(id); it != handshakes_.end()) {
        it->second->evicted = true;
        it->second->wake.notify();
      }
    }
    if (!admitted->evicted.empty())
      note_refusal("dropped the oldest connection in its handshake",
                   "the pending-handshake slots of its address or of the node are full");
    auto local = raw->local_address();
    auto remote = raw->remote_address();
    tasks_.spawn(handle_inbound(std::move(raw), std::move(local), std::move(remote), std::move(admitted->scope)),
                 "inbound connection");
  }
}

void host::note_refusal(std::string_view what, const std::string& why) {
  if (!refusal_log_.admit(clock_.now())) return;
  if (refusal_log_.count() == 1)
    log::info(component, "{}: {}", what, why);
  else
    log::info(component, "{}: {} ({} refused or dropped connections and streams in the last 10 s)", what, why,
              refusal_log_.count());
  refusal_log_.reset();
}

task<void> host::handle_inbound(std::unique_ptr<stream> raw, multiaddr local, multiaddr remote,
                                resource::connection_scope scope) {
  pending_handshake pending(executor_);
  const std::uint64_t handshake_id = scope.id();
  handshakes_[handshake_id] = &pending;
  // Also when this task is cancelled mid-handshake (stop after the grace period).
  struct forget_handshake {
    std::unordered_map<std::uint64_t, pending_handshake*>& table;
    std::uint64_t id;
    ~forget_handshake() { table.erase(id); }
  } forget{handshakes_, handshake_id};
  upgrade_context context{config_.identity, random_, clock_, config_.yamux};
  raw = std::make_unique<progress_stream>(std::move(raw), resources_, handshake_id);
  auto raced = co_await (with_timeout(upgrade_inbound(std::move(raw), local, remote, context), config_.upgrade_timeout) ||
                         wait_until(pending.evicted, pending.wake));
  if (raced.index() == 1) {  // the upgrade was cancelled: its raw stream is closed
    log::debug(component, "inbound connection from {} dropped in its handshake for a newer one", remote.to_string());
    co_return;
  }
  auto up = std::get<0>(std::move(raced));
  if (!up) {
    note_refusal(fmt::format("inbound connection from {} failed during upgrade", remote.to_string()),
                 up.error().message());
    co_return;
  }
  if (stopping_) {
    up->muxer->close();
    co_return;
  }
  if (auto moved = scope.set_peer(up->info.remote_peer); !moved) {
    note_refusal(fmt::format("refused peer {} at {}", up->info.remote_peer.to_string(), remote.to_string()),
                 moved.error().message());
    up->muxer->close();
    co_return;
  }
  auto conn = add_connection(std::move(*up), std::move(scope));
  co_await serve_connection(std::move(conn));
}

std::shared_ptr<connection> host::add_connection(upgraded_connection up, resource::connection_scope scope) {
  auto conn =
      std::make_shared<connection>(std::move(up.info), std::move(up.muxer), next_connection_id_++, std::move(scope));
  const auto& info = conn->info();
  connections_[info.remote_peer].push_back(conn);
  peerstore_.touch(info.remote_peer, clock_.now());
  if (info.dir == direction::outbound)
    peerstore_.add_addresses(info.remote_peer, {info.remote_address}, peerstore::recently_connected_ttl,
                             clock_.now());
  log::debug(component, "connected to {} at {} ({}, {}{}{})", info.remote_peer.to_string(),
            info.remote_address.to_string(), info.dir == direction::inbound ? "inbound" : "outbound", info.security,
            info.muxer, info.early_muxer ? " negotiated in the handshake" : "");
  publish({host_event::kind::connected, conn});
  return conn;
}

task<void> host::serve_connection(std::shared_ptr<connection> conn) {
  auto accept_streams = [this, conn]() -> task<void> {
    for (;;) {
      auto s = co_await conn->muxer().accept_stream();
      if (!s) co_return;
      auto counted = conn->scope().open_stream(resource::direction::inbound);
      if (!counted) {
        note_refusal(fmt::format("refused a stream of {}", conn->remote_peer().to_string()), counted.error().message());
        (*s)->reset();
        continue;
      }
      std::unique_ptr<stream> scoped = std::make_unique<scoped_stream>(std::move(*s), std::move(*counted));
      tasks_.spawn(serve_stream(std::move(scoped), conn), "inbound stream");
    }
  };
  co_await (conn->muxer().run() && accept_streams());

  auto& list = connections_[conn->remote_peer()];
  std::erase(list, conn);
  if (list.empty()) connections_.erase(conn->remote_peer());
  conn->scope() = {};  // its streams keep the accounting until they end
  log::debug(component, "disconnected from {} ({})", conn->remote_peer().to_string(),
            conn->remote_address().to_string());
  publish({host_event::kind::disconnected, conn});
}

task<void> host::serve_stream(std::unique_ptr<stream> s, std::shared_ptr<connection> conn) {
  auto chosen = co_await with_timeout(
      multistream::handle(*s, [this](std::string_view id) { return handlers_.contains(id); }),
      config_.negotiation_timeout);
  if (!chosen) {
    log::debug(component, "inbound stream from {} not negotiated: {}", conn->remote_peer().to_string(),
               chosen.error().message());
    s->reset();
    co_return;
  }
  auto handler = handlers_.find(*chosen);
  if (handler == handlers_.end()) {  // removed while negotiating
    s->reset();
    co_return;
  }
  // serve_stream is only given the scoped streams accept_streams makes.
  if (auto counted = static_cast<scoped_stream&>(*s).scope().set_protocol(*chosen); !counted) {
    note_refusal(fmt::format("refused a {} stream of {}", *chosen, conn->remote_peer().to_string()),
                 counted.error().message());
    s->reset();
    co_return;
  }
  auto run_handler = handler->second;  // a copy: the map may change while it runs
  // A named argument, not a temporary: GCC 12 destroys class temporaries passed to a
  // coroutine inside co_await twice.
  stream_info info{std::move(*chosen), std::move(conn)};
  co_await run_handler(std::move(s), std::move(info));
}

// ---------------------------------------------------------------------------------
// outbound

task<result<std::shared_ptr<connection>>> host::connect(const multiaddr& address) {
  if (stopping_) co_return errc::cancelled;
  auto expected = address.peer();
  if (!expected) co_return co_await dial_address(address, std::nullopt);
  if (*expected == id_) co_return errc::invalid_argument;  // dialing ourselves
  if (auto live = connection_to(*expected)) co_return live;
  peerstore_.add_addresses(*expected, {address}, peerstore::temporary_ttl, clock_.now());
  std::optional<multiaddr> target = address.without_peer();
  co_return co_await dial_once(*expected, std::move(target));
}

task<result<std::shared_ptr<connection>>> host::connect(const peer_id& peer) {
  if (stopping_) co_return errc::cancelled;
  if (peer == id_) co_return errc::invalid_argument;
  if (auto live = connection_to(peer)) co_return live;
  co_return co_await dial_once(peer, std::nullopt);
}

// Ends a pending dial however its dialer ends: normally with the outcome, or, when the
// dialer is cancelled or destroyed mid-dial, with errc::cancelled, so that callers
// waiting on it wake up and later dials to the peer are not stuck behind it.
struct host::pending_dial_guard {
  host& owner;
  peer_id peer;
  std::shared_ptr<pending_dial> dial;
  void finish(result<std::shared_ptr<connection>> outcome) {
    dial->outcome = std::move(outcome);
    dial->done = true;
    if (auto it = owner.pending_dials_.find(peer); it != owner.pending_dials_.end() && it->second == dial)
      owner.pending_dials_.erase(it);
    dial->done_signal.notify();
  }
  ~pending_dial_guard() {
    if (!dial->done) finish(errc::cancelled);
  }
};

task<result<std::shared_ptr<connection>>> host::dial_once(peer_id peer, std::optional<multiaddr> address) {
  // Another dial to this peer is in flight: share its connection. If it failed and we
  // were given an address of our own, that address may still work: try it.
  for (;;) {
    auto it = pending_dials_.find(peer);
    if (it == pending_dials_.end()) break;
    auto other = it->second;
    while (!other->done && !stopping_) co_await other->done_signal.wait();
    if (!other->done || stopping_) co_return errc::cancelled;
    if (other->outcome || !address) co_return other->outcome;
    if (auto live = connection_to(peer)) co_return live;
  }
  pending_dial_guard guard{*this, peer, std::make_shared<pending_dial>(executor_)};
  pending_dials_[peer] = guard.dial;
  result<std::shared_ptr<connection>> outcome = errc::cancelled;
  if (address) {
    outcome = co_await dial_address(*address, peer);
  } else {
    outcome = co_await dial_peer(peer);
  }
  guard.finish(outcome);
  co_return outcome;
}

task<result<std::shared_ptr<connection>>> host::dial_peer(const peer_id& peer) {
  auto addresses = peerstore_.addresses(peer, clock_.now());
  if (addresses.empty()) co_return errc::no_addresses;
  error_code last = errc::unreachable;
  for (const auto& address : addresses) {
    if (!tcp::can_dial(address)) continue;
    auto conn = co_await dial_address(address, peer);
    if (conn) co_return conn;
    last = conn.error();
    if (last == errc::peer_id_mismatch) break;  // the address is someone else's; others may be stale too
  }
  co_return last;
}

task<result<std::shared_ptr<connection>>> host::dial_address(const multiaddr& address,
                                                             std::optional<peer_id> expected) {
  if (!tcp::can_dial(address)) co_return errc::invalid_multiaddr;
  log::debug(component, "dialing {}", address.to_string());
  auto raw = co_await with_timeout(tcp::dial(address), config_.dial_timeout);
  if (!raw) {
    log::debug(component, "dial {} failed: {}", address.to_string(), raw.error().message());
    co_return raw.error();
  }
  auto local = (*raw)->local_address();
  auto remote = (*raw)->remote_address();
  auto admitted = resources_.open_connection(resource::direction::outbound, remote);
  if (!admitted) {
    log::debug(component, "not dialing {}: {}", address.to_string(), admitted.error().message());
    (*raw)->reset();
    co_return errc::resource_limit;
  }
  upgrade_context context{config_.identity, random_, clock_, config_.yamux};
  auto up = co_await with_timeout(upgrade_outbound(std::move(*raw), local, remote, context, expected),
                                  config_.upgrade_timeout);
  if (!up) {
    log::debug(component, "upgrade of {} failed: {}", address.to_string(), up.error().message());
    co_return up.error();
  }
  if (stopping_) {
    up->muxer->close();
    co_return errc::cancelled;
  }
  if (auto moved = admitted->scope.set_peer(up->info.remote_peer); !moved) {
    log::debug(component, "connection to {} refused: {}", address.to_string(), moved.error().message());
    up->muxer->close();
    co_return errc::resource_limit;
  }
  auto conn = add_connection(std::move(*up), std::move(admitted->scope));
  tasks_.spawn(serve_connection(conn), "outbound connection");
  co_return conn;
}

task<result<host::negotiated_stream>> host::new_stream(const peer_id& peer, std::vector<std::string> protocols) {
  auto conn = co_await connect(peer);
  if (!conn) co_return conn.error();
  co_return co_await new_stream(std::move(*conn), std::move(protocols));
}

task<result<host::negotiated_stream>> host::new_stream(std::shared_ptr<connection> conn,
                                                       std::vector<std::string> protocols) {
  if (protocols.empty()) co_return errc::invalid_argument;
  auto counted = conn->scope().open_stream(resource::direction::outbound);
  if (!counted) {
    log::debug(component, "no stream to {}: {}", conn->remote_peer().to_string(), counted.error().message());
    co_return errc::resource_limit;
  }
  auto opened = co_await conn->open_stream();
  if (!opened) co_return opened.error();
  auto owned = std::make_unique<scoped_stream>(std::move(*opened), std::move(*counted));
  auto& scope = owned->scope();
  std::unique_ptr<stream> s = std::move(owned);
  // When identify told us the peer speaks the protocol, skip the round trip (lazy select).
  if (protocols.size() == 1 && peerstore_.supports(conn->remote_peer(), protocols.front())) {
    if (auto in_protocol = scope.set_protocol(protocols.front()); !in_protocol) {
      s->reset();
      co_return errc::resource_limit;
    }
    co_return negotiated_stream{multistream::select_lazy(std::move(s), protocols.front()), protocols.front(),
                                std::move(conn)};
  }
  auto chosen = co_await with_timeout(multistream::select_one_of(*s, protocols), config_.negotiation_timeout);
  if (!chosen) {
    s->reset();
    co_return chosen.error();
  }
  if (auto in_protocol = scope.set_protocol(*chosen); !in_protocol) {
    log::debug(component, "no {} stream to {}: {}", *chosen, conn->remote_peer().to_string(),
               in_protocol.error().message());
    s->reset();
    co_return errc::resource_limit;
  }
  co_return negotiated_stream{std::move(s), std::move(*chosen), std::move(conn)};
}

}  // namespace p2p
