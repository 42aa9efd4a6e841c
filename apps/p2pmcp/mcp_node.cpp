#include "mcp_node.hpp"

#include "mcp/hub/http_front.hpp"
#include "mcp/hub/naming.hpp"
#include "mcp/hub/stream_session.hpp"
#include "mcp/jsonrpc/message.hpp"
#include "mcp/peer/protocol.hpp"

#include "p2p/core/log.hpp"
#include "p2p/core/timeout.hpp"
#include "p2p/protocols/ping/ping.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace p2pmcp {

namespace asio = boost::asio;
namespace log = p2p::log;
using json = mcp::json;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr std::string_view component = "node";

mcp::hub::hub_options make_hub_options() {
  mcp::hub::hub_options o;
  o.server_info = {{"name", "p2pmcp"}, {"version", version}};
  o.instructions =
      "Tools of every MCP server on the p2pmcp network this node reaches. Names are "
      "<peer>_<server>_<tool>: 'local' is this machine, other peers appear by a short alias "
      "(the local_node_peers tool lists them).";
  return o;
}

mcp::server::stdio_server_options hosted_options(const node_settings& settings) {
  mcp::server::stdio_server_options o;
  o.client_info = {{"name", "p2pmcp"}, {"version", version}};
  // Whatever the server asks of its client is carried to the client that called it.
  o.capabilities = {{"sampling", json::object()}, {"elicitation", json::object()}, {"roots", {{"listChanged", true}}}};
  o.max_line_length = settings.max_message_bytes;
  return o;
}

std::string seconds_text(p2p::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " s";
}

}  // namespace

mcp_node::mcp_node(node& n, mcp_node_options options)
    : node_(n),
      options_(std::move(options)),
      hub_(n.host().executor(), make_hub_options()),
      builtin_(n.host().executor(), *this),
      stop_signal_(n.host().executor()),
      peers_changed_(n.host().executor()),
      front_tasks_(n.host().executor()),
      tasks_(n.host().executor()),
      peer_tasks_(n.host().executor()) {
  auto executor = n.host().executor();
  hub_.add_upstream(builtin_, std::string(mcp::hub::local_alias) + "_" + std::string(mcp::builtin::server_name));
  node_.host().set_handler(mcp::peer::protocol_for(mcp::builtin::server_name),
                           [this](std::unique_ptr<p2p::stream> s, p2p::stream_info info) {
                             return serve_peer(std::move(s), std::move(info), &builtin_,
                                               std::string(mcp::builtin::server_name));
                           });
  for (auto& spec : options_.servers) {
    const std::string name = spec.name;
    auto server = std::make_unique<mcp::server::stdio_server>(executor, spec, hosted_options(options_.settings));
    // The shared child serves the catalogue (and every session of a "shared" server);
    // otherwise each client session gets a child of its own from the pool.
    std::unique_ptr<mcp::server::stdio_pool> pool;
    if (mcp::server::uses_pool(spec)) {
      mcp::server::stdio_pool_options pool_options;
      pool_options.server = hosted_options(options_.settings);
      pool = std::make_unique<mcp::server::stdio_pool>(executor, spec, pool_options);
    }
    hub_.add_upstream(*server, std::string(mcp::hub::local_alias) + "_" + name, false, pool.get());
    pools_.push_back(std::move(pool));
    mcp::server::upstream* up = server.get();
    if (!spec.disabled) {
      node_.host().set_handler(mcp::peer::protocol_for(name),
                               [this, up, name](std::unique_ptr<p2p::stream> s, p2p::stream_info info) {
                                 return serve_peer(std::move(s), std::move(info), up, name);
                               });
    }
    hosted_.push_back(std::move(server));
  }
  trust_ = std::move(options_.trust);
  rebuild_aliases();
  protect_known_peers();
}

// Trusted and bootstrap peers get the resource manager's reserved room, so a flood of
// strangers cannot push them out.
void mcp_node::protect_known_peers() {
  auto& resources = node_.host().resources();
  for (const auto& peer : protected_) resources.unprotect(peer);
  protected_.clear();
  for (const auto& t : trust_.peers) protected_.push_back(t.peer);
  for (const auto& t : options_.settings.trust) protected_.push_back(t.peer);
  for (const auto& b : options_.settings.bootstrap) protected_.push_back(b.peer);
  for (const auto& peer : protected_) resources.protect(peer);
}

void mcp_node::rebuild_aliases() {
  configured_aliases_.clear();
  for (const auto& t : trust_.peers)
    if (!t.name.empty()) configured_aliases_[t.peer.to_string()] = t.name;
  for (const auto& t : options_.settings.trust)
    if (!t.name.empty()) configured_aliases_[t.peer.to_string()] = t.name;
  for (const auto& b : options_.settings.bootstrap)
    if (!b.alias.empty()) configured_aliases_[b.peer.to_string()] = b.alias;
}

bool mcp_node::is_trusted(const p2p::peer_id& peer) const {
  return options_.settings.trusts(peer) || trust_.find(peer) != nullptr;
}

mcp_node::~mcp_node() = default;

std::optional<std::string> mcp_node::open_gateway() {
  const auto& s = options_.settings;
  if (!s.gateway_enabled) return std::nullopt;
  mcp::gateway::http_server_config config;
  config.address = s.gateway_host;
  config.max_sessions = s.gateway_max_sessions;
  config.session_idle_timeout = std::chrono::seconds(s.gateway_session_idle_seconds);
  config.port = s.gateway_port;
  config.max_body_size = s.max_message_bytes;
  mcp::hub::route_endpoints(config, hub_);  // /mcp/<alias>_<server>: one server as itself
  auto server = mcp::gateway::http_server::open(node_.host().executor(), config, mcp::hub::make_http_front(hub_), clock_,
                                                random_);
  if (!server) {
    return "cannot open the MCP gateway on " + s.gateway_host + ":" + std::to_string(s.gateway_port) + " (" +
           server.error().message() +
           "); another node may be using it — choose another with --gateway 127.0.0.1:<port> (0 picks a free one) "
           "or turn it off with --no-gateway";
  }
  gateway_ = std::move(*server);
  return std::nullopt;
}

std::string mcp_node::gateway_url() const {
  if (!gateway_) return {};
  const std::string& host = options_.settings.gateway_host;
  const bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(gateway_->port()) + "/mcp";
}

p2p::task<void> mcp_node::run() {
  front_tasks_.spawn(hub_.run(), "mcp hub");
  for (auto& server : hosted_) tasks_.spawn(server->run(), "mcp server " + server->name());
  for (auto& pool : pools_)
    if (pool) tasks_.spawn(pool->run(), "mcp server " + pool->spec().name + " sessions");
  if (gateway_) front_tasks_.spawn(gateway_->run(), "mcp gateway");
  peer_tasks_.spawn(watch_peers(), "peer watcher");
  peer_tasks_.spawn(watch_identify(), "mcp server discovery");
  for (const auto& b : options_.settings.bootstrap)
    peer_tasks_.spawn(keep_connected(b, false), "bootstrap " + b.address.to_string());
  keep_trusted_peers_connected();

  while (!stopping_) co_await stop_signal_.wait();

  // Shutdown: no new work from peers or clients, then every server ends its own way.
  peer_tasks_.cancel_all();
  co_await peer_tasks_.wait();
  if (gateway_) gateway_->stop();
  for (auto& server : hosted_) server->stop();
  for (auto& [id, peer] : peers_)
    for (auto& [name, entry] : peer.servers) entry->server->stop();
  builtin_.stop();
  hub_.stop();
  // The sessions' own children and streams go last: the hub and the gateway are done
  // with them once their run() returned.
  co_await front_tasks_.wait();
  for (auto& pool : pools_)
    if (pool) pool->stop();
  for (auto& [id, peer] : peers_)
    for (auto& [name, entry] : peer.servers) entry->source->stop();
  co_await tasks_.wait();
}

void mcp_node::stop() {
  stopping_ = true;
  stop_signal_.notify();
}

void mcp_node::reload_trust(mcp::peer::trust_list next) {
  if (stopping_) return;
  std::set<std::string> ids;
  for (const auto& t : trust_.peers) ids.insert(t.peer.to_string());
  for (const auto& t : next.peers) ids.insert(t.peer.to_string());
  std::map<std::string, bool> before;
  for (const auto& id : ids) before[id] = is_trusted(*p2p::peer_id::parse(id));
  trust_ = std::move(next);
  rebuild_aliases();
  protect_known_peers();
  std::size_t changes = 0;
  for (const auto& [id, was] : before) {
    const p2p::peer_id peer = *p2p::peer_id::parse(id);
    const bool now = is_trusted(peer);
    if (was == now) continue;
    ++changes;
    auto it = peers_.find(id);
    if (now) {
      if (auto a = configured_aliases_.find(id); a != configured_aliases_.end() && it != peers_.end() &&
                                                 it->second.servers.empty())
        it->second.alias = a->second;  // its servers get the name the user gave it
      log::info(component, "now trusting peer {} ({}): its MCP servers are used and it may use ours", alias_for(peer),
                id);
      if (const auto* record = node_.host().peers().find(peer); record && node_.host().is_connected(peer))
        add_remote_servers(peer, record->protocols);
    } else {
      log::info(component, "no longer trusting peer {} ({}): its MCP servers leave the gateway and its sessions on "
                           "ours end",
                alias_for(peer), id);
      if (it != peers_.end()) {
        auto servers = std::move(it->second.servers);
        it->second.servers.clear();
        for (auto& [name, entry] : servers)
          retire_remote(std::move(entry), "peer " + it->second.alias + " is no longer trusted: dropping its MCP server '" +
                                              name + "'");
      }
      end_refused_sessions(peer);
    }
  }
  if (changes == 0) log::info(component, "reloaded the trust file: no change in who is trusted");
  keep_trusted_peers_connected();
  peers_changed_.notify();
}

bool mcp_node::wants_connection(const p2p::peer_id& peer) const {
  const auto* entry = trust_.find(peer);
  return !stopping_ && entry && entry->address;
}

void mcp_node::keep_trusted_peers_connected() {
  for (const auto& t : trust_.peers) {
    if (!t.address || trusted_keepers_.count(t.peer.to_string())) continue;
    bool bootstrapped = false;
    for (const auto& b : options_.settings.bootstrap) bootstrapped = bootstrapped || b.peer == t.peer;
    if (bootstrapped) continue;  // the bootstrap keeper already does it
    trusted_keepers_.insert(t.peer.to_string());
    peer_tasks_.spawn(keep_connected(bootstrap_peer{*t.address, t.peer, t.name}, true),
                      "trusted peer " + t.address->to_string());
  }
}

void mcp_node::end_refused_sessions(const p2p::peer_id& peer) {
  const std::string id = peer.to_string();
  // Collected first: a reset may end a session (and erase it from serving_) at once.
  std::vector<p2p::stream*> refused;
  for (auto& served : serving_) {
    if (served.peer != id || options_.settings.rule_for(served.server).allows(id, is_trusted(peer))) continue;
    log::info(component, "ending the session of peer {} on MCP server '{}': it is no longer allowed", id, served.server);
    refused.push_back(served.s);
  }
  for (auto* s : refused) s->reset();
}

// Pairing is one `trust add` on each node, in either order, while both run. The node
// that trusts first reaches the other's servers, is refused (-32012) and waits out
// refused_retry (5 min) before asking again. When the other node trusts it too, that node
// opens a session here (at least on the built-in server) — the sign that it now trusts
// us: ask its servers again at once instead of minutes later.
void mcp_node::retry_refused_servers(const p2p::peer_id& peer) {
  auto it = peers_.find(peer.to_string());
  if (it == peers_.end()) return;
  for (auto& [name, entry] : it->second.servers) entry->server->retry_now();  // no-op unless waiting
}

p2p::task<void> mcp_node::serve_peer(std::unique_ptr<p2p::stream> s, p2p::stream_info info, mcp::server::upstream* up,
                                     std::string server) {
  const std::string peer = info.remote_peer().to_string();
  mcp::hub::session_options options;
  options.only = up;
  options.label = "peer " + alias_for(info.remote_peer()) + " on server '" + server + "'";
  const auto& rule = options_.settings.rule_for(server);
  if (!rule.allows(peer, is_trusted(info.remote_peer()))) {
    std::string why;
    if (rule.who == mcp::server::access_rule::kind::trusted) {
      log::info(component, "refused peer {} on MCP server '{}': the peer is not trusted (to trust it: p2pmcp trust add {})",
                peer, server, peer);
      why = "peer " + peer + " is not trusted by this node, so it may not use server '" + server +
            "'; the node's owner can trust it with `p2pmcp trust add " + peer + "`";
    } else {
      log::info(component, "refused peer {} on MCP server '{}': not in the server's allow list", peer, server);
      why = "peer " + peer + " is not in the allow list of server '" + server +
            "'; the node's owner can add it to \"allow\" in the config";
    }
    options.refuse = mcp::server::rpc_error(mcp::jsonrpc::codes::access_denied, std::move(why));
  } else if (is_trusted(info.remote_peer())) {
    retry_refused_servers(info.remote_peer());
  }
  mcp::hub::stream_session_options limits;
  limits.max_line = options_.settings.max_message_bytes;
  auto served = serving_.insert(serving_.end(), served_stream{peer, server, s.get()});
  try {
    co_await mcp::hub::serve_stream(hub_, *s, std::move(options), limits);
  } catch (...) {
    serving_.erase(served);
    throw;
  }
  serving_.erase(served);
}

p2p::task<void> mcp_node::watch_peers() {
  auto events = node_.host().subscribe();
  for (;;) {
    auto event = co_await events->next();
    if (!event) co_return;
    const p2p::peer_id peer = event->conn->remote_peer();
    auto it = peers_.find(peer.to_string());
    // Strangers come and go by the thousand under a flood: their lines are debug.
    const auto presence_level = is_trusted(peer) || is_configured(peer) ? log::level::info : log::level::debug;
    if (event->type == p2p::host_event::kind::connected) {
      log::emit(presence_level, component, "peer {} connected", peer.to_string());
      if (it != peers_.end()) {
        ++it->second.presence_epoch;
        // Its servers were waiting out a reconnect delay (up to a minute, five after a
        // refusal): the peer is back, so reach them now.
        for (auto& [name, entry] : it->second.servers) {
          entry->server->retry_now();
          entry->source->retry_now();
        }
      }
    }
    if (event->type == p2p::host_event::kind::disconnected && !node_.host().is_connected(peer)) {
      log::emit(presence_level, component, "peer {} disconnected", peer.to_string());
      if (it != peers_.end() && (!it->second.servers.empty() || !it->second.offered.empty()) && !is_configured(peer)) {
        const std::uint64_t epoch = ++it->second.presence_epoch;
        peer_tasks_.spawn(forget_later(peer, epoch), "forget " + it->second.alias);
      }
    }
    peers_changed_.notify();
  }
}

// Every identify (and identify push) result may announce MCP servers: reach them.
p2p::task<void> mcp_node::watch_identify() {
  for (;;) {
    for (const auto& conn : node_.host().connections()) {
      const auto* record = node_.host().peers().find(conn->remote_peer());
      if (!record) continue;
      drop_unlisted_servers(conn->remote_peer(), record->protocols);
      add_remote_servers(conn->remote_peer(), record->protocols);
    }
    auto updated = co_await node_.identify().wait_for_update();
    if (!updated) co_return;
  }
}

void mcp_node::add_remote_servers(const p2p::peer_id& peer, const std::vector<std::string>& protocols) {
  // What it announces, capped: identify is the peer's word, and a peer may announce
  // thousands of names.
  const std::size_t cap = options_.settings.limits.servers_per_peer;
  std::vector<std::string> offered;
  std::size_t ignored = 0;
  for (const auto& protocol : protocols) {
    auto server = mcp::peer::server_from_protocol(protocol);
    if (!server) continue;
    if (std::find(offered.begin(), offered.end(), *server) != offered.end()) continue;
    if (offered.size() < cap) offered.push_back(*server);
    else ++ignored;
  }
  if (offered.empty() && peers_.find(peer.to_string()) == peers_.end()) return;
  auto& entry = peer_entry(peer);
  if (ignored != entry.ignored_servers) {
    entry.ignored_servers = ignored;
    if (ignored > 0)
      log::warn(component, "peer {} ({}) announces {} MCP servers: ignoring the {} beyond the cap of {} per peer "
                           "(\"limits\".\"serversPerPeer\")",
                entry.alias, peer.to_string(), offered.size() + ignored, ignored, cap);
  }
  const bool trusted = is_trusted(peer);
  if (offered != entry.offered && !trusted && !offered.empty()) {
    std::string names;
    for (const auto& name : offered) names += (names.empty() ? "" : ", ") + name;
    log::info(component, "peer {} ({}) offers MCP servers {} but is not trusted: not using them (to trust it: "
                         "p2pmcp trust add {})",
              entry.alias, peer.to_string(), names, peer.to_string());
  }
  entry.offered = std::move(offered);
  if (!trusted) return;
  for (const auto& server : entry.offered) {
    if (entry.servers.count(server)) continue;
    const std::string protocol = mcp::peer::protocol_for(server);
    const std::string prefix = entry.alias + "_" + server;
    mcp::peer::stream_opener opener = [this, peer, protocol]() { return open_remote(peer, protocol); };
    mcp::peer::remote_server_options options;
    options.max_line_length = options_.settings.max_message_bytes;
    // A peer's lists are its word: capped, trusted or not ("limits" in docs/protocol.md).
    const auto& limits = options_.settings.limits;
    options.catalogue = limits;
    options.max_tools = limits.items_per_list;
    options.max_tools_bytes = limits.list_bytes;
    auto source = std::make_unique<mcp::peer::remote_source>(node_.host().executor(), server, "peer " + entry.alias,
                                                             opener, options);
    auto remote = std::make_unique<mcp::peer::remote_server>(node_.host().executor(), server, "peer " + entry.alias,
                                                             std::move(opener), options);
    hub_.add_upstream(*remote, prefix, true, source.get());
    hub_.limit_lists(*remote, limits);
    log::info(component, "peer {} ({}) hosts MCP server '{}': its tools appear as {}_<tool>", entry.alias,
              peer.to_string(), server, prefix);
    auto running = std::make_unique<remote_entry>(node_.host().executor());
    running->server = std::move(remote);
    running->source = std::move(source);
    tasks_.spawn(run_remote(running.get()), "remote server " + prefix);
    tasks_.spawn(run_remote_source(running.get()), "remote server " + prefix + " sessions");
    entry.servers.emplace(server, std::move(running));
  }
}

void mcp_node::drop_unlisted_servers(const p2p::peer_id& peer, const std::vector<std::string>& protocols) {
  auto it = peers_.find(peer.to_string());
  if (it == peers_.end()) return;
  auto& servers = it->second.servers;
  for (auto s = servers.begin(); s != servers.end();) {
    const std::string protocol = mcp::peer::protocol_for(s->first);
    if (std::find(protocols.begin(), protocols.end(), protocol) != protocols.end()) {
      ++s;
      continue;
    }
    const std::string why = "peer " + it->second.alias + " no longer hosts MCP server '" + s->first + "'";
    retire_remote(std::move(s->second), why);
    s = servers.erase(s);
  }
}

p2p::task<void> mcp_node::forget_later(p2p::peer_id peer, std::uint64_t epoch) {
  const auto after = std::chrono::seconds(options_.settings.forget_peers_after_seconds);
  asio::steady_timer timer(node_.host().executor(), after);
  co_await timer.async_wait(asio::use_awaitable);
  auto it = peers_.find(peer.to_string());
  if (stopping_ || it == peers_.end() || it->second.presence_epoch != epoch || node_.host().is_connected(peer))
    co_return;
  auto servers = std::move(it->second.servers);
  it->second.servers.clear();
  for (auto& [name, entry] : servers) {
    retire_remote(std::move(entry), "peer " + it->second.alias + " has been gone for " + seconds_text(after) +
                                        ": forgetting its MCP server '" + name + "'");
  }
  if (servers.empty() && !it->second.offered.empty())
    log::info(component, "peer {} has been gone for {}: forgetting the MCP servers it offered", it->second.alias,
              seconds_text(after));
  it->second.offered.clear();
}

void mcp_node::retire_remote(std::unique_ptr<remote_entry> entry, std::string why) {
  log::info(component, "{}", why);
  std::string name = "retire " + entry->server->label() + " " + entry->server->name();
  // In tasks_, not peer_tasks_: retiring must not be cancelled halfway at shutdown, or
  // the entry would be destroyed while its server still runs.
  tasks_.spawn(retire(std::move(entry)), std::move(name));
}

p2p::task<void> mcp_node::retire(std::unique_ptr<remote_entry> entry) {
  co_await hub_.remove_upstream(*entry->server);  // sessions get tools/list_changed
  entry->server->stop();
  entry->source->stop();
  while (entry->running || entry->source_running) co_await entry->ended.wait();
}

bool mcp_node::is_configured(const p2p::peer_id& peer) const {
  for (const auto& b : options_.settings.bootstrap)
    if (b.peer == peer) return true;
  const auto* trusted = trust_.find(peer);
  return trusted && trusted->address;
}

p2p::task<p2p::result<std::unique_ptr<p2p::stream>>> mcp_node::open_remote(p2p::peer_id peer, std::string protocol) {
  auto negotiated = co_await node_.host().new_stream(peer, protocol);
  if (!negotiated) co_return negotiated.error();
  co_return std::move(negotiated->s);
}

p2p::task<void> mcp_node::run_remote(remote_entry* entry) {
  co_await entry->server->run();
  entry->running = false;
  entry->ended.notify();
}

p2p::task<void> mcp_node::run_remote_source(remote_entry* entry) {
  co_await entry->source->run();
  entry->source_running = false;
  entry->ended.notify();
}

mcp_node::remote_peer& mcp_node::peer_entry(const p2p::peer_id& peer) {
  const std::string id = peer.to_string();
  auto it = peers_.find(id);
  if (it != peers_.end()) return it->second;
  remote_peer entry;
  entry.alias = alias_for(peer);
  return peers_.emplace(id, std::move(entry)).first->second;
}

// Short, stable, unique among the peers we know: the configured name, else the tail of
// the peer ID, longer when another peer already has that tail.
std::string mcp_node::alias_for(const p2p::peer_id& peer) {
  const std::string id = peer.to_string();
  if (auto it = peers_.find(id); it != peers_.end()) return it->second.alias;
  if (auto it = configured_aliases_.find(id); it != configured_aliases_.end()) return it->second;
  auto taken = [&](const std::string& alias) {
    if (alias == mcp::hub::local_alias) return true;
    for (const auto& [other, entry] : peers_)
      if (entry.alias == alias) return true;
    for (const auto& [other, name] : configured_aliases_)
      if (name == alias) return true;
    return false;
  };
  std::string alias = mcp::hub::default_alias(id);
  for (std::size_t length = alias.size() + 2; taken(alias) && length <= id.size(); length += 2)
    alias = id.substr(id.size() - length);
  return alias;
}

p2p::task<void> mcp_node::keep_connected(bootstrap_peer b, bool while_trusted) {
  auto& host = node_.host();
  host.peers().add_addresses(b.peer, {b.address}, p2p::peerstore::permanent_ttl, host.get_clock().now());
  const std::string name = (b.alias.empty() ? std::string() : b.alias + " ") + b.address.to_string();
  p2p::duration delay = std::chrono::seconds(1);
  constexpr p2p::duration max_delay = std::chrono::seconds(60);
  asio::steady_timer timer(host.executor());
  const std::string id = b.peer.to_string();
  for (;;) {
    if (while_trusted && !wants_connection(b.peer)) {
      trusted_keepers_.erase(id);
      co_return;
    }
    if (!host.is_connected(b.peer)) {
      auto conn = co_await host.connect(b.address);
      if (!conn) {
        log::warn(component, "cannot reach bootstrap peer {}: {}; retrying in {}", name, conn.error().message(),
                  seconds_text(delay));
        timer.expires_after(delay);
        co_await timer.async_wait(asio::use_awaitable);
        delay = std::min(delay * 2, max_delay);
        continue;
      }
      log::info(component, "connected to bootstrap peer {}", name);
      delay = std::chrono::seconds(1);
    }
    while (host.is_connected(b.peer) && (!while_trusted || wants_connection(b.peer))) co_await peers_changed_.wait();
    if (while_trusted && !wants_connection(b.peer)) continue;
    log::info(component, "lost the connection to bootstrap peer {}; reconnecting", name);
  }
}

// ---- node_view ----

std::string mcp_node::peer_id() const { return node_.host().id().to_string(); }
std::string mcp_node::agent() const { return node_.host().config().agent_version; }

std::vector<std::string> mcp_node::addresses() const {
  std::vector<std::string> out;
  for (const auto& a : node_.dialable_addresses()) out.push_back(a.to_string());
  return out;
}

std::vector<mcp::builtin::hosted_summary> mcp_node::hosted() const {
  std::vector<mcp::builtin::hosted_summary> out;
  for (const auto& server : hosted_) {
    mcp::builtin::hosted_summary s;
    s.name = server->name();
    s.state = std::string(mcp::server::to_string(server->state()));
    s.tools = server->tools().size();
    s.last_error = server->last_error();
    if (const auto& pool = pools_[out.size()]) s.sessions = pool->leased();
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<mcp::builtin::peer_summary> mcp_node::peers() const {
  auto& host = node_.host();
  std::map<std::string, mcp::builtin::peer_summary> out;
  auto summarize = [&](const p2p::peer_id& peer) -> mcp::builtin::peer_summary& {
    const std::string id = peer.to_string();
    auto& s = out[id];
    if (!s.peer_id.empty()) return s;
    s.peer_id = id;
    if (auto it = peers_.find(id); it != peers_.end()) {
      s.alias = it->second.alias;
      s.servers = it->second.offered;
      s.latency_ms = it->second.latency_ms;
    } else if (auto c = configured_aliases_.find(id); c != configured_aliases_.end()) {
      s.alias = c->second;
    } else {
      s.alias = mcp::hub::default_alias(id);
    }
    s.connected = host.is_connected(peer);
    s.trusted = is_trusted(peer);
    if (!s.trusted) s.trust_command = "p2pmcp trust add " + id;
    for (const auto& a : host.peers().addresses(peer, host.get_clock().now())) s.addresses.push_back(a.to_string());
    if (const auto* record = host.peers().find(peer)) s.agent = record->agent_version;
    return s;
  };
  for (const auto& conn : host.connections()) summarize(conn->remote_peer());
  for (const auto& b : options_.settings.bootstrap) summarize(b.peer);
  for (const auto& t : options_.settings.trust) summarize(t.peer);
  for (const auto& t : trust_.peers) summarize(t.peer);
  for (const auto& [id, entry] : peers_)
    if (auto parsed = p2p::peer_id::parse(id)) summarize(*parsed);
  std::vector<mcp::builtin::peer_summary> list;
  for (auto& [id, s] : out) list.push_back(std::move(s));
  std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.alias < b.alias; });
  return list;
}

std::optional<p2p::peer_id> mcp_node::resolve_peer(const std::string& name) const {
  for (const auto& [id, entry] : peers_)
    if (entry.alias == name) return p2p::peer_id::parse(id).value();
  for (const auto& [id, alias] : configured_aliases_)
    if (alias == name) return p2p::peer_id::parse(id).value();
  for (const auto& conn : node_.host().connections())
    if (mcp::hub::default_alias(conn->remote_peer().to_string()) == name) return conn->remote_peer();
  if (auto parsed = p2p::peer_id::parse(name)) return *parsed;
  return std::nullopt;
}

p2p::task<mcp::server::rpc_result<double>> mcp_node::ping(std::string name) {
  using mcp::server::rpc_error;
  const auto peer = resolve_peer(name);
  if (!peer) co_return rpc_error(mcp::jsonrpc::codes::invalid_params, "no known peer has the alias or ID '" + name + "'");
  if (*peer == node_.host().id()) co_return rpc_error(mcp::jsonrpc::codes::invalid_params, "'" + name + "' is this node itself");
  auto& host = node_.host();
  auto s = co_await p2p::with_timeout(host.new_stream(*peer, p2p::ping::protocol_id), std::chrono::seconds(15));
  if (!s) co_return rpc_error(mcp::jsonrpc::codes::connection_closed, "cannot reach peer " + name + ": " + s.error().message());
  auto rtt = co_await p2p::with_timeout(p2p::ping::ping_once(*s->s, host.get_random(), host.get_clock()), std::chrono::seconds(15));
  if (!rtt) co_return rpc_error(mcp::jsonrpc::codes::connection_closed, "ping to peer " + name + " failed: " + rtt.error().message());
  co_await p2p::ping::finish(*s->s);
  const double ms = std::chrono::duration<double, std::milli>(*rtt).count();
  if (auto it = peers_.find(peer->to_string()); it != peers_.end()) it->second.latency_ms = ms;
  co_return ms;
}

std::vector<mcp::builtin::resource_summary> mcp_node::resources() const {
  std::vector<mcp::builtin::resource_summary> out;
  for (const auto& s : node_.host().resources().take_snapshot().scopes)
    out.push_back({s.name, s.used.connections,
                   s.limit.connections, s.used.pending, s.limit.pending, s.used.streams, s.limit.streams,
                   s.used.memory, s.limit.memory});
  return out;
}

}  // namespace p2pmcp
