#include "p2p/protocols/identify/identify_service.hpp"

#include "p2p/core/log.hpp"
#include "p2p/core/timeout.hpp"
#include "p2p/transport/tcp/tcp_transport.hpp"

#include <algorithm>

namespace p2p::identify {

namespace {
constexpr std::string_view component = "identify";
constexpr std::size_t max_observed = 16;
constexpr auto exchange_timeout = std::chrono::seconds(30);
}  // namespace

service::service(host& h) : host_(h), updated_(h.executor()) {
  host_.set_handler(std::string(protocol_id), [this](std::unique_ptr<stream> s, stream_info info) -> task<void> {
    auto sent = co_await write_message(*s, own_message(*info.conn));
    if (!sent) log::debug(component, "answering {} failed: {}", info.remote_peer().to_string(), sent.error().message());
  });
  host_.set_handler(std::string(push_protocol_id), [this](std::unique_ptr<stream> s, stream_info info) -> task<void> {
    auto update = co_await read_message(*s);
    if (!update) {
      log::debug(component, "push from {} rejected: {}", info.remote_peer().to_string(), update.error().message());
      co_return;
    }
    auto& state = state_for(*info.conn);
    if (state.done && state.outcome) {
      merge_push(*state.outcome, *update);
      record(*info.conn, *state.outcome);
    } else {
      record(*info.conn, *update);
    }
  });
}

void service::start() {
  host_.spawn(watch_events(host_.subscribe()), "identify events");
}

message service::own_message(const connection& conn) const {
  message m;
  m.protocol_version = host_.config().protocol_version;
  m.agent_version = host_.config().agent_version;
  m.public_key = host_.identity().public_key().to_protobuf();
  for (const auto& bound : host_.listen_addresses())
    for (auto& address : tcp::expand_wildcard(bound)) m.listen_addrs.push_back(std::move(address));
  m.observed_addr = conn.remote_address();
  m.protocols = host_.protocols();
  return m;
}

std::vector<multiaddr> service::observed_addresses() const { return observed_; }

service::identified& service::state_for(const connection& conn) {
  auto [it, inserted] = by_connection_.try_emplace(conn.id());
  if (inserted) it->second.changed = std::make_shared<p2p::signal>(host_.executor());
  return it->second;
}

void service::record(const connection& conn, const message& m) {
  const auto& peer = conn.remote_peer();
  auto& store = host_.peers();
  if (auto key = verify_public_key(m, peer)) store.set_public_key(peer, *key);
  store.set_protocols(peer, m.protocols);
  store.set_agent(peer, m.agent_version.value_or(""), m.protocol_version.value_or(""));
  store.add_addresses(peer, m.listen_addrs, peerstore::recently_connected_ttl, host_.get_clock().now());
  if (m.observed_addr) {
    std::erase(observed_, *m.observed_addr);
    observed_.insert(observed_.begin(), *m.observed_addr);
    if (observed_.size() > max_observed) observed_.pop_back();
  }
  updated_.notify();
}

task<result<void>> service::wait_for_update() {
  co_await updated_.wait();
  co_return result<void>{};
}

task<result<message>> service::identify(std::shared_ptr<connection> conn) {
  auto opened = co_await host_.new_stream(conn, protocol_id);
  result<message> outcome = errc::cancelled;
  if (!opened) {
    outcome = opened.error();
  } else {
    outcome = co_await read_message(*opened->s);
    if (outcome) {
      if (auto key = verify_public_key(*outcome, conn->remote_peer()); !key) outcome = key.error();
    }
  }
  if (outcome) record(*conn, *outcome);
  if (conn->is_closed()) co_return outcome;  // its state was dropped on disconnect
  auto& state = state_for(*conn);
  if (outcome || !state.done || !state.outcome) {
    state.outcome = outcome;
    state.done = true;
  }
  state.changed->notify();
  co_return outcome;
}

task<result<message>> service::wait_identified(std::shared_ptr<connection> conn) {
  auto changed = state_for(*conn).changed;
  for (;;) {
    auto it = by_connection_.find(conn->id());
    if (it != by_connection_.end() && it->second.done) co_return it->second.outcome;
    if (conn->is_closed()) co_return errc::connection_closed;
    co_await changed->wait();
  }
}

task<void> service::identify_in_background(std::shared_ptr<connection> conn) {
  auto outcome = co_await with_timeout(identify(conn), exchange_timeout);
  if (outcome) {
    log::debug(component, "{} is {} with {} protocols", conn->remote_peer().to_string(),
               outcome->agent_version.value_or("(no agent)"), outcome->protocols.size());
  } else {
    log::debug(component, "identifying {} failed: {}", conn->remote_peer().to_string(), outcome.error().message());
    if (conn->is_closed()) co_return;
    auto& state = state_for(*conn);
    if (!state.done) {
      state.outcome = outcome.error();
      state.done = true;
      state.changed->notify();
    }
  }
}

task<void> service::push_to(std::shared_ptr<connection> conn) {
  if (!host_.peers().supports(conn->remote_peer(), push_protocol_id)) co_return;
  auto opened = co_await host_.new_stream(conn, push_protocol_id);
  if (!opened) co_return;
  auto sent = co_await write_message(*opened->s, own_message(*conn));
  if (!sent) log::debug(component, "push to {} failed: {}", conn->remote_peer().to_string(), sent.error().message());
}

task<void> service::watch_events(std::shared_ptr<event_subscription> events) {
  for (;;) {
    auto event = co_await events->next();
    if (!event) co_return;
    switch (event->type) {
      case host_event::kind::connected:
        host_.spawn(identify_in_background(event->conn), "identify");
        break;
      case host_event::kind::disconnected: {
        auto it = by_connection_.find(event->conn->id());
        if (it != by_connection_.end()) {
          it->second.changed->notify();  // waiters see the closed connection
          by_connection_.erase(it);
        }
        break;
      }
      case host_event::kind::protocols_changed:
        for (auto& conn : host_.connections()) host_.spawn(push_to(conn), "identify push");
        break;
    }
  }
}

}  // namespace p2p::identify
