// The MCP half of a running node, on top of node (the libp2p host):
//   - hosts the configured stdio MCP servers and the built-in "node" server;
//   - serves each of them to peers as /p2pmcp/mcp/1.0.0/<server> (docs/protocol.md),
//     subject to the "allow" rules (default: trusted peers only);
//   - learns from identify which MCP servers each connected peer hosts; those of trusted
//     peers it reaches as remote servers (mcp/peer) that reconnect on their own, those of
//     the others it only remembers by name (capped) for `p2pmcp peers`;
//   - keeps the bootstrap peers and the trusted peers with an address connected
//     (reconnect with backoff);
//   - reloads the trust file on request (SIGHUP from the CLI): servers of a peer that
//     became trusted are added, those of a peer no longer trusted are retired and its
//     sessions on our servers ended;
//   - runs the gateway for local MCP clients (Streamable HTTP on 127.0.0.1:7469/mcp),
//     where the hub (mcp/hub) shows every tool of the network under
//     <alias>_<server>_<tool>.
// The peer set is `peers_` below: bootstrap peers and whoever connects; discovery will
// add to it later through add_peer().
#pragma once

#include "node.hpp"

#include "mcp/builtin/builtin_server.hpp"
#include "mcp/gateway/http/http_server.hpp"
#include "mcp/hub/hub.hpp"
#include "mcp/peer/remote_server.hpp"
#include "mcp/peer/remote_source.hpp"
#include "mcp/peer/trust_store.hpp"
#include "mcp/server/config.hpp"
#include "mcp/server/node_settings.hpp"
#include "mcp/server/stdio_pool.hpp"
#include "mcp/server/stdio_server.hpp"

#include "p2p/core/signal.hpp"
#include "p2p/core/task_group.hpp"

#include <list>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace p2pmcp {

using mcp::server::bootstrap_peer;
using mcp::server::node_settings;

struct mcp_node_options {
  std::vector<mcp::server::server_spec> servers;  // hosted stdio servers, from the config
  node_settings settings;
  mcp::peer::trust_list trust;  // <home>/trust.json at start
};

class mcp_node final : public mcp::builtin::node_view {
 public:
  mcp_node(node& n, mcp_node_options options);
  ~mcp_node() override;

  // Binds the gateway (when enabled). Errors are sentences.
  std::optional<std::string> open_gateway();
  // "http://127.0.0.1:7469/mcp", or empty when the gateway is off.
  std::string gateway_url() const override;

  // Runs everything until stop(); returns when all of it ended.
  p2p::task<void> run();
  void stop();

  // Replaces the trust file's list (the config's trust stays) and applies the change at
  // once; logs what changed.
  void reload_trust(mcp::peer::trust_list trust);
  bool is_trusted(const p2p::peer_id& peer) const;

  // ---- node_view (the built-in tools) ----
  std::string peer_id() const override;
  std::string agent() const override;
  std::vector<std::string> addresses() const override;
  std::vector<mcp::builtin::hosted_summary> hosted() const override;
  std::vector<mcp::builtin::peer_summary> peers() const override;
  std::vector<mcp::builtin::resource_summary> resources() const override;
  p2p::task<mcp::server::rpc_result<double>> ping(std::string peer) override;

 private:
  // One MCP server of a peer, reached as a remote upstream of the hub.
  struct remote_entry {
    explicit remote_entry(boost::asio::any_io_executor executor) : ended(std::move(executor)) {}
    std::unique_ptr<mcp::peer::remote_server> server;
    // Each client session's own stream to the server; destroyed after the hub forgot it.
    std::unique_ptr<mcp::peer::remote_source> source;
    bool running = true;         // the server's run() task has not ended
    bool source_running = true;  // the source's run() task has not ended
    p2p::signal ended;
  };
  struct remote_peer {
    std::string alias;
    std::map<std::string, std::unique_ptr<remote_entry>> servers;  // by name; trusted peers only
    std::vector<std::string> offered;  // names it announces (valid, at most limits.servers_per_peer)
    std::size_t ignored_servers = 0;   // announced beyond the cap (logged when it changes)
    std::optional<double> latency_ms;
    // Bumped whenever the peer connects or disconnects, so a forget timer started by an
    // older disconnect can tell that the peer came back in between.
    std::uint64_t presence_epoch = 0;
  };

  p2p::task<void> serve_peer(std::unique_ptr<p2p::stream> s, p2p::stream_info info, mcp::server::upstream* up,
                             std::string server);
  p2p::task<void> watch_peers();
  void protect_known_peers();
  p2p::task<void> watch_identify();
  p2p::task<p2p::result<std::unique_ptr<p2p::stream>>> open_remote(p2p::peer_id peer, std::string protocol);
  void add_remote_servers(const p2p::peer_id& peer, const std::vector<std::string>& protocols);
  // Drops the servers of `peer` that `protocols` no longer lists (it restarted with
  // another config).
  void drop_unlisted_servers(const p2p::peer_id& peer, const std::vector<std::string>& protocols);
  // After forget_peers_after, drops the servers of a peer that stayed away.
  p2p::task<void> forget_later(p2p::peer_id peer, std::uint64_t epoch);
  // Takes a server out of the hub and stops it; owns the entry until its task ended.
  void retire_remote(std::unique_ptr<remote_entry> entry, std::string why);
  p2p::task<void> retire(std::unique_ptr<remote_entry> entry);
  bool is_configured(const p2p::peer_id& peer) const;
  // Keeps `peer` connected; a keeper for a trusted peer (`while_trusted`) ends once the
  // peer is no longer trusted with an address.
  p2p::task<void> keep_connected(bootstrap_peer peer, bool while_trusted);
  void keep_trusted_peers_connected();
  bool wants_connection(const p2p::peer_id& peer) const;
  // Ends the sessions `peer` has on hosted servers that no longer allow it.
  void end_refused_sessions(const p2p::peer_id& peer);
  // Our servers of `peer` that are waiting to reconnect (e.g. refused) try again now.
  void retry_refused_servers(const p2p::peer_id& peer);
  void rebuild_aliases();
  p2p::task<void> run_remote(remote_entry* entry);
  p2p::task<void> run_remote_source(remote_entry* entry);
  remote_peer& peer_entry(const p2p::peer_id& peer);
  std::string alias_for(const p2p::peer_id& peer);
  std::optional<p2p::peer_id> resolve_peer(const std::string& name) const;

  node& node_;
  mcp_node_options options_;
  mcp::hub::hub hub_;
  std::vector<std::unique_ptr<mcp::server::stdio_server>> hosted_;
  // By the index of hosted_: each client session's own child process (nullptr: a
  // "shared" or disabled server). Destroyed after the gateway, whose sessions hold leases.
  std::vector<std::unique_ptr<mcp::server::stdio_pool>> pools_;
  mcp::builtin::builtin_server builtin_;
  p2p::system_clock clock_;
  p2p::system_random random_;
  std::unique_ptr<mcp::gateway::http_server> gateway_;
  std::map<std::string, remote_peer> peers_;  // by peer ID text
  std::map<std::string, std::string> configured_aliases_;  // peer ID text -> name
  std::vector<p2p::peer_id> protected_;  // trusted and bootstrap peers, protected in the host's resource manager
  mcp::peer::trust_list trust_;                            // the trust file's list
  std::set<std::string> trusted_keepers_;                  // peer IDs with a running keeper
  struct served_stream {
    std::string peer;
    std::string server;
    p2p::stream* s;
  };
  std::list<served_stream> serving_;  // peers' sessions on hosted servers
  bool stopping_ = false;
  p2p::signal stop_signal_;
  p2p::signal peers_changed_;
  p2p::task_group front_tasks_; // hub, gateway: they end when asked, before the pools
  p2p::task_group tasks_;       // servers and pools: they end when asked
  p2p::task_group peer_tasks_;  // watchers and bootstrap keepers: cancelled on stop
};

}  // namespace p2pmcp
