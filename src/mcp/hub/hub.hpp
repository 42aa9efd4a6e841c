// The hub: where MCP client sessions meet the upstreams (mcp/server/upstream.hpp) that
// serve them. Two kinds of session use it:
//   - gateway sessions (local MCP clients over Streamable HTTP or `p2pmcp stdio`) see
//     every upstream at once, with names prefixed "<alias>_<server>_" (naming.hpp);
//   - peer sessions (a peer's libp2p stream for /p2pmcp/mcp/1.0.0/<server>) see one
//     hosted upstream with its own names: the hop is transparent.
//
// A session answers initialize and ping itself, serves list requests from the upstreams'
// caches or by asking each upstream, and forwards everything else to the upstream that
// owns the name or URI.
//
// One upstream per client session: an entry added with an upstream_source
// (server/upstream_source.hpp: a hosted stdio server's child pool, a peer server's
// streams) gives each session its own upstream, a lease, acquired on the session's first
// request to it that is not a list request (tools/call, resources/read|subscribe|
// unsubscribe, prompts/get, completion/complete; on the peer hop logging/setLevel and any
// other forwarded method) and kept for the session's life. List requests
// (resources/list, resources/templates/list, prompts/list) go to the session's lease
// when it has one, else to the entry's shared upstream, so a session that only lists
// costs nothing; tools/list and initialize come from the shared upstream. A failed
// acquire answers that request with the source's error; the next one tries again. The
// gateway's logging/setLevel reaches a lease when it is acquired. The hub reads each
// lease's messages, and everything it sends on its own (progress, server requests,
// notifications/message, resources/updated, cancelled, list_changed) goes to its
// session only: on the reply stream of that session's one request in flight to it when
// there is exactly one, else as a standalone message. Its subscriptions are the
// session's own (not counted with anyone's). A lease is destroyed only once its reader
// and every call into it ended: after its session closed, its entry was removed, or the
// hub stopped (requests to it are cancelled first).
//
// An entry without a source (a server declared "shared", the built-in one) has one
// upstream shared by many sessions, so the hub is the single reader of its messages
// and routes them:
//   - notifications/progress: a forwarded request carries a progress token only when the
//     client sent one: the client's own, or the hub's when another session's request to
//     the same upstream uses that value (tokens are unique per upstream, and its idle
//     timeout restarts on progress); progress goes back to the
//     client with its own token, same JSON type. A request without one reaches the server
//     without `_meta.progressToken` (and without an empty `_meta` added);
//   - server-to-client requests (sampling/createMessage, elicitation/create, roots/list)
//     and notifications/message are routed only when that is unambiguous, because stdio
//     and the libp2p hop carry no link from them to the request that caused them: to a
//     session only if every request in flight to that upstream is that session's (with
//     none in flight: only if a single session sees the upstream), and on that request's
//     reply stream (HTTP: its SSE stream) when it is the only one; server requests get a
//     fresh id and their answer goes back to the upstream. Otherwise a server request
//     is refused at once with a JSON-RPC error saying why ("p2pmcp cannot tell which of
//     its 2 clients this elicitation/create is for; ..."; -32601 when no client is
//     there at all) and a log message is dropped (counted, logged at debug level, rate
//     limited): one client's data never reaches another;
//   - resources/updated: to the sessions that subscribed to that resource. Subscriptions
//     are counted: a session's unsubscribe is answered by the hub while other sessions
//     still subscribe; the upstream is unsubscribed when the last subscriber
//     unsubscribes or closes;
//   - list_changed (resources, prompts): to every session that sees the upstream (they
//     are about the server, not a client's data). tools/list_changed is sent by the hub
//     itself whenever what a session would list changes (an upstream's cached tools, an
//     upstream coming or going).
//
// Threading: one io_context thread. Lifetimes: upstreams and sources outlive
// remove_upstream() (which returns once every lease of the entry is destroyed), and
// run(); sessions are closed (close() or destroyed) before the hub is destroyed.
#pragma once

#include "mcp/jsonrpc/message.hpp"
#include "mcp/server/catalogue_limits.hpp"
#include "mcp/server/upstream.hpp"
#include "mcp/server/upstream_source.hpp"

#include "p2p/core/signal.hpp"
#include "p2p/core/task_group.hpp"

#include "mcp/jsonrpc/json.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace mcp::hub {

using json = mcp::json;
using p2p::duration;
using p2p::task;
using server::rpc_error;
using server::rpc_result;
using server::server_message;
using server::upstream;

// One request's way back to the client.
class reply_sink {
 public:
  virtual ~reply_sink() = default;
  // A message related to the request (progress, a server-to-client request). False when
  // it cannot go this way (the hub then posts it to the session).
  virtual task<bool> send_related(json message) = 0;
  // The final response.
  virtual task<void> respond(json response) = 0;
};

// A session's way to send its client unsolicited messages (list_changed, logging, server
// requests no reply stream can carry). False: dropped (queue full, client gone).
class client_link {
 public:
  virtual ~client_link() = default;
  virtual bool post(json message) = 0;
};

struct hub_options {
  // Forwarded requests: idle timeout (restarted by progress; the upstream caps the total).
  duration request_timeout = std::chrono::minutes(5);
  // Each page of an aggregated list (tools/resources/prompts) from one upstream.
  duration list_timeout = std::chrono::seconds(15);
  std::size_t max_list_pages = 64;
  // A peer's initialize waits this long for a hosted server that is still starting, so
  // it learns the server's real capabilities.
  duration initialize_wait = std::chrono::seconds(20);
  json server_info = {{"name", "p2pmcp"}, {"version", "0.1.0"}};
  std::string instructions;
  std::vector<std::string> protocol_versions = {"2025-11-25", "2025-06-18", "2025-03-26"};
};

struct session_options {
  // The peer hop: only this upstream, names unchanged. nullptr: the gateway (all of them).
  upstream* only = nullptr;
  // Set: initialize is answered with this error (access refused) and nothing else works.
  std::optional<rpc_error> refuse;
  // Who the client is, for logs ("gateway session 3f2a9c", "peer k3Xq9a").
  std::string label;
};

class session;
class lease_use;  // hub_internal.hpp

class hub {
 public:
  hub(boost::asio::any_io_executor executor, hub_options options = {});
  ~hub();
  hub(const hub&) = delete;
  hub& operator=(const hub&) = delete;

  // Makes `up` reachable under `prefix` ("local_files", "k3Xq9a_everything"); prefixes
  // are unique. The hub starts reading its messages. `hide_when_unavailable`: its tools
  // leave the gateway's list while it is unavailable (a disconnected peer), instead of
  // staying listed with calls failing clearly (a local server restarting).
  // `source` set: each client session that sends `up` a request gets its own upstream
  // from it (server/upstream_source.hpp); `up` still provides the catalogue.
  void add_upstream(upstream& up, std::string prefix, bool hide_when_unavailable = false,
                    server::upstream_source* source = nullptr);
  // Forgets `up`: sessions that saw it get tools/list_changed, sessions that showed only
  // it are closed (their requests fail with "the session is closed"); completes once the hub's
  // reader and watcher of `up` have ended. Requests in flight to it are the upstream's to
  // finish (it fails them when it stops).
  // Every session's own upstream from its source (below) is ended too, after the
  // requests to it and its reader finished: the source may be destroyed right after.
  task<void> remove_upstream(upstream& up);
  // Caps what `up` contributes to the aggregated resources, templates and prompts lists
  // (server/catalogue_limits; one log line per list for what is dropped). For a peer's
  // servers; their tools are capped by the upstream's own tool cache.
  void limit_lists(const upstream& up, server::catalogue_limits limits);

  // Reads the upstreams' messages until stop(); returns when every task it started ended
  // and every lease was destroyed (after that, upstreams and sources may be destroyed).
  // Sessions acquire no lease once stop() was called.
  task<void> run();
  void stop();

  // A new client session. The session must be closed/destroyed before the hub.
  std::unique_ptr<session> open_session(client_link& link, session_options options);

  struct entry {
    upstream* up = nullptr;
    std::string prefix;
    bool hide_when_unavailable = false;
    std::optional<server::catalogue_limits> limits;  // set: its lists are capped (a peer's server)
    server::upstream_source* source = nullptr;        // set: one upstream per client session
  };
  const std::vector<entry>& upstreams() const noexcept { return entries_; }
  const entry* find_prefix(std::string_view prefix) const;
  // The entry whose prefix starts an exposed name "<prefix>_<name>" (the longest).
  const entry* owner_of_name(std::string_view exposed) const;
  // The entry of `up` as registered (a shared upstream); nullptr otherwise.
  const entry* find(const upstream& up) const;
  // The entry `up` serves: its own when shared, its source's when `up` is a session's
  // own upstream (a lease). nullptr when neither (removed meanwhile).
  const entry* entry_of(const upstream& up) const;
  // Client sessions holding their own upstream now (all sources).
  std::size_t lease_count() const noexcept { return leases_.size(); }

  // The gateway's tool: which upstream and original name an exposed tool name maps to.
  struct tool_route {
    upstream* up = nullptr;
    std::string name;
  };
  std::optional<tool_route> route_tool(std::string_view exposed);
  // The gateway's tools/list: every tool of every listed upstream, renamed.
  json list_tools();

  const hub_options& options() const noexcept { return options_; }
  std::size_t session_count() const noexcept { return sessions_.size(); }
  // notifications/message an upstream sent that no single session could be named for.
  std::uint64_t dropped_log_messages() const noexcept { return dropped_log_messages_; }

 private:
  friend class session;
  friend class lease_use;
  // A session's own upstream from an entry's source, and what must end before the lease
  // may be destroyed: its reader and the calls into it (hub_internal.hpp).
  struct lease_record;
  struct progress_route {
    session* owner = nullptr;
    std::string request_key;
  };

  task<void> pump(upstream* up);
  task<void> watch(upstream* up, bool tools);
  void dispatch(upstream& up, server_message message);
  // Who a message `up` sent on its own is for, when that is unambiguous: the one
  // session owning every request in flight to `up` (or, with none in flight, the only
  // session that sees `up`); `via` is that request when it is the only one.
  struct recipient;  // hub_internal.hpp
  recipient recipient_of(const upstream& up) const;
  std::string ambiguity(const upstream& up, const recipient& to, std::string_view what) const;
  void route_server_request(upstream& up, server_message message);
  void route_log_message(upstream& up, json message);
  void catalogue_changed(const upstream* up);
  // Subscriptions are counted: the upstream is unsubscribed when its last subscriber
  // unsubscribes or goes away.
  using subscription = std::pair<const upstream*, std::string>;  // upstream, original uri
  bool has_other_subscribers(const subscription& key, const session& s) const;
  // `s` no longer subscribes; the last one to leave unsubscribes the upstream unless
  // `unsubscribed` (it did so itself).
  void leave_subscription(const subscription& key, session& s, bool unsubscribed = false);
  task<void> unsubscribe(upstream* up, std::string uri);
  bool visible(const entry& e) const;
  void rebuild_index();
  // Leases (leases.cpp). acquire(): a new upstream for `s` from `e.source`, read by the
  // hub from now on. retire(): `r` no longer belongs to its session (its requests to it
  // are cancelled with `why`, server requests it sent the client refused); a task of
  // the hub destroys it once its reader and every call into it ended.
  rpc_result<lease_record*> acquire(session& s, const entry& e);
  lease_record* lease_of(const upstream& up) const;
  void retire(lease_record& r, const std::string& why);
  // At `e`'s cap: retires the lease of `e` whose session has been idle longest (nothing
  // in flight, no subscription, no question open) and completes once it was destroyed;
  // with none idle, waits for one already retired to be destroyed. False when every
  // lease of `e` is busy and none is ending.
  task<bool> reclaim(const entry& e, const std::string& for_whom);
  task<void> end_lease(lease_record* r);
  bool has_leases_of(const upstream* shared) const;
  std::vector<lease_record*> current_leases() const;

  boost::asio::any_io_executor executor_;
  hub_options options_;
  std::vector<entry> entries_;
  // The reader and watcher of each upstream, cancelled on removal and on stop.
  std::map<const upstream*, std::unique_ptr<p2p::task_group>> readers_;
  std::set<session*> sessions_;
  // Progress tokens of the requests in flight, as each upstream sees them (JSON text).
  struct progress_key {
    const upstream* up = nullptr;
    std::string token;
    auto operator<=>(const progress_key&) const = default;
  };
  std::map<progress_key, progress_route> progress_;
  std::int64_t next_token_ = 1;
  std::uint64_t dropped_log_messages_ = 0;
  std::map<subscription, std::set<session*>> subscribers_;
  std::map<std::string, tool_route> tool_index_;
  bool index_dirty_ = true;
  // Every session's own upstream, by that upstream; destroyed only by end_lease().
  std::map<const upstream*, std::unique_ptr<lease_record>> leases_;
  p2p::task_group retiring_;  // end_lease() tasks
  p2p::signal lease_ended_;   // notified whenever a lease was destroyed
  bool stopping_ = false;
  p2p::signal stop_signal_;
};

class session {
 public:
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  // One message from the client. A request is answered through `reply` before this
  // returns (a cancelled one too: with an error the client ignores). Notifications and
  // responses need no reply (nullptr is fine). Many calls may run at once.
  task<void> handle(json message, reply_sink* reply);
  // The client went away: its requests are cancelled upstream, server-to-client requests
  // it owed are answered with errors. Idempotent; the destructor calls it.
  void close();

  bool initialized() const noexcept { return initialized_; }
  const std::string& label() const noexcept { return options_.label; }
  const json& client_capabilities() const noexcept { return client_capabilities_; }

 private:
  friend class hub;
  struct active_request;
  // Where a request goes: the session's own upstream (with `use` keeping its lease
  // alive until the request ended) or the shared one (hub_internal.hpp).
  struct target;
  struct server_request {
    upstream* from = nullptr;
    server_message message;
  };

  session(hub& owner, client_link& link, session_options options);

  bool sees(const upstream& up) const noexcept;
  std::string prefix_of(const upstream& up) const;
  task<json> answer(const json& request, active_request& state);
  // The upstream a request to the entry of `shared` goes to: the session's own when the
  // entry has a source (acquired now unless `list`: a session that only lists costs no
  // upstream of its own), else `shared`. At the source's cap, the process of the session
  // that has been idle longest is reclaimed for this one (hub::reclaim). Fails when
  // acquiring fails.
  task<rpc_result<target>> pick(upstream& shared, bool list);
  task<json> forward(target to, std::string method, json params, active_request& state);
  task<rpc_result<json>> request_upstream(upstream& up, std::string method, json params, active_request& state);
  task<void> wait_cancelled(active_request& state);
  // Sends the request's related messages on its reply stream, in order, until the
  // request finished and the queue is empty.
  task<void> relay(active_request& state);
  // One upstream's share of an aggregated list.
  struct list_part {
    std::vector<json> items;
    std::map<std::string, std::pair<const upstream*, std::string>, std::less<>> prompts;  // exposed -> original
    server::catalogue_report capped;  // what the upstream's caps dropped
  };
  task<json> aggregate_list(std::string method, std::string member, const json& request);
  task<void> list_from(hub::entry e, target from, std::string method, std::string member, list_part& into);
  task<json> read_resource(std::string method, const json& request, active_request& state);
  task<json> get_prompt(const json& request, active_request& state);
  task<json> complete(const json& request, active_request& state);
  task<json> set_log_level(const json& request);
  // initialize (session.cpp): the client's hello recorded; the answer is the gateway's,
  // a shared server's (single-server endpoint), or that of the session's own upstream,
  // acquired at once with the client's hello (single-server endpoint of a server with a
  // source): then the version and capabilities are negotiated end to end.
  task<json> initialize(const json& request, active_request& state);
  void record_hello(const json& params);
  json initialize_result(const upstream* own);
  // The sentence for a tools/call whose name routes nowhere.
  std::string unknown_tool(const std::string& exposed) const;
  task<void> wait_until_started(upstream& up);
  std::optional<std::pair<upstream*, std::string>> route_uri(std::string_view uri) const;
  std::optional<std::pair<upstream*, std::string>> route_prompt(std::string_view name) const;
  void rewrite_content(json& content, const upstream& up) const;
  // The content of each message (prompts/get results, sampling/createMessage requests).
  void rewrite_messages(json& messages, const upstream& up) const;
  void handle_other(const json& message, jsonrpc::message_kind kind);
  void handle_response(const json& message);
  void handle_cancelled(const json& message);
  // From the hub.
  void deliver_progress(const std::string& request_key, json notification);
  void deliver_server_request(upstream& from, server_message message, active_request* via);
  void deliver_cancel_of_server_request(upstream& from, const json& upstream_id, const std::string& reason);
  void deliver_resource_updated(upstream& from, json notification);
  void post(json message);

  hub& hub_;
  client_link& link_;
  session_options options_;
  bool initialized_ = false;
  bool closed_ = false;
  json client_capabilities_ = json::object();
  // What the client said in initialize, for its own upstreams' initialize (empty until
  // then: a session that never initialized gets p2pmcp's defaults).
  server::client_hello hello_;
  std::map<std::string, active_request*> active_;  // by the client's id (dumped)
  std::uint64_t request_serial_ = 0;
  std::map<std::int64_t, server_request> server_requests_;  // by the id we gave the client
  std::int64_t next_server_request_id_ = 1;
  std::set<std::pair<const upstream*, std::string>> subscriptions_;
  // Exposed prompt names from this session's last prompts/list, so a name that had to be
  // shortened and hashed (naming.hpp) routes back to its server and original name.
  std::map<std::string, std::pair<const upstream*, std::string>, std::less<>> listed_prompts_;
  std::set<upstream*> used_;  // upstreams this session sent requests to
  // Its own upstreams, by the entry's shared upstream (the hub owns the records).
  std::map<const upstream*, hub::lease_record*> leases_;
  std::optional<json> log_level_;  // the last logging/setLevel params, for leases to come
};

}  // namespace mcp::hub
