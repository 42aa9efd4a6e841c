// Each client session's own upstreams (server/upstream_source.hpp): acquired on the
// session's first request to an entry with a source that is not a list request, read
// by the hub like a shared upstream, and destroyed only once nothing uses them any more
// (upstream.hpp: the object outlives every call into it).
#include "mcp/hub/hub_internal.hpp"

#include "mcp/jsonrpc/message.hpp"

#include "p2p/core/log.hpp"

#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <vector>

namespace mcp::hub {

namespace asio = boost::asio;
namespace codes = jsonrpc::codes;
namespace log = p2p::log;
using namespace detail;

rpc_result<hub::lease_record*> hub::acquire(session& s, const entry& e) {
  if (stopping_) return rpc_error(codes::connection_closed, "the p2pmcp node is stopping");
  const std::string who = s.label().empty() ? std::string("a client session") : s.label();
  auto lease = e.source->acquire(who, s.hello_);
  if (!lease) {
    log::info(component, "{}: no session of its own with MCP server '{}': {}", who, e.prefix, lease.error().message);
    return lease.error();
  }
  auto record = std::make_unique<lease_record>(executor_);
  record->lease = std::move(*lease);
  record->up = &record->lease->get();
  record->shared = e.up;
  record->owner = &s;
  record->name = e.prefix + " for " + who;
  lease_record* r = record.get();
  s.leases_[e.up] = r;
  leases_[r->up] = std::move(record);
  // Registered first: the reader may route a message before spawn() returns.
  r->reader.spawn(pump(r->up), "mcp reader " + r->name);
  log::debug(component, "{}: own session with MCP server '{}' ({} leased)", who, e.prefix, e.source->leased());
  return r;
}

hub::lease_record* hub::lease_of(const upstream& up) const {
  auto it = leases_.find(&up);
  return it == leases_.end() ? nullptr : it->second.get();
}

const hub::entry* hub::entry_of(const upstream& up) const {
  if (const lease_record* r = lease_of(up)) return find(*r->shared);
  return find(up);
}

// A copy to iterate over: retiring one may destroy it before retire() returns (when
// nothing uses it, its end runs at once).
std::vector<hub::lease_record*> hub::current_leases() const {
  std::vector<lease_record*> out;
  for (const auto& [up, record] : leases_) out.push_back(record.get());
  return out;
}

bool hub::has_leases_of(const upstream* shared) const {
  return std::any_of(leases_.begin(), leases_.end(), [&](const auto& item) { return item.second->shared == shared; });
}

void hub::retire(lease_record& r, const std::string& why) {
  session* s = r.owner;
  if (!s) return;  // retired already
  r.owner = nullptr;
  s->leases_.erase(r.shared);
  s->used_.erase(r.up);
  // Its requests to it end now (on session close they are cancelled already).
  for (auto& [key, request] : s->active_) {
    if (request->target != r.up || request->cancelled) continue;
    request->cancelled = true;
    request->cancel_reason = why;
    request->cancel.notify();
  }
  // What it asked the client and is still waiting for: refused, the client's answer
  // could not reach it any more.
  for (auto it = s->server_requests_.begin(); it != s->server_requests_.end();) {
    if (it->second.from != r.up) {
      ++it;
      continue;
    }
    r.up->respond_error(it->second.message, codes::connection_closed, why);
    it = s->server_requests_.erase(it);
  }
  // Its subscriptions were its own (no other session shares them): they end with it.
  for (auto it = s->subscriptions_.begin(); it != s->subscriptions_.end();)
    it = it->first == r.up ? s->subscriptions_.erase(it) : std::next(it);
  const std::string task_name = "mcp lease end " + r.name;
  retiring_.spawn(end_lease(&r), task_name);  // may destroy `r` before it returns
}

task<void> hub::end_lease(lease_record* r) {
  co_await asio::this_coro::throw_if_cancelled(false);
  r->reader.cancel_all();
  co_await r->reader.wait();
  while (r->in_flight > 0) co_await r->idle.wait();
  log::debug(component, "own session with MCP server '{}' ended", r->name);
  leases_.erase(r->up);  // destroys the lease: the source ends that upstream
  lease_ended_.notify();
}

task<rpc_result<session::target>> session::pick(upstream& shared, bool list) {
  target to;
  to.up = &shared;
  if (auto it = leases_.find(&shared); it != leases_.end()) {
    it->second->last_used = std::chrono::steady_clock::now();
    to.up = it->second->up;
    to.use = lease_use(it->second);
    co_return to;
  }
  const hub::entry* e = hub_.find(shared);
  if (!e || !e->source || list) co_return to;
  if (closed_) co_return rpc_error(codes::connection_closed, "the session is closed");
  auto acquired = hub_.acquire(*this, *e);
  // At the cap: the session idle longest gives its process up for this one. Sessions
  // reclaiming at the same time may take the room one of them freed: then try again,
  // for as long as there is a lease to reclaim or one still ending.
  const std::string who = options_.label.empty() ? std::string("a client session") : options_.label;
  while (!acquired && acquired.error().code == codes::too_many_requests) {
    if (!co_await hub_.reclaim(*e, who)) break;
    e = hub_.find(shared);  // removed while we waited?
    if (!e || !e->source) co_return rpc_error(codes::connection_closed, "the MCP server went away");
    if (closed_) co_return rpc_error(codes::connection_closed, "the session is closed");
    if (auto it = leases_.find(&shared); it != leases_.end()) {  // a concurrent request acquired one
      to.up = it->second->up;
      to.use = lease_use(it->second);
      co_return to;
    }
    acquired = hub_.acquire(*this, *e);
  }
  if (!acquired) co_return acquired.error();
  to.up = (*acquired)->up;
  to.use = lease_use(*acquired);
  co_return to;
}

task<bool> hub::reclaim(const entry& e, const std::string& for_whom) {
  lease_record* oldest = nullptr;
  for (const auto& [up, record] : leases_) {
    lease_record* r = record.get();
    if (r->shared != e.up || !r->owner || r->in_flight > 0) continue;
    const session& s = *r->owner;
    const bool subscribed = std::any_of(s.subscriptions_.begin(), s.subscriptions_.end(),
                                        [&](const auto& sub) { return sub.first == r->up; });
    const bool asking = std::any_of(s.server_requests_.begin(), s.server_requests_.end(),
                                    [&](const auto& item) { return item.second.from == r->up; });
    if (subscribed || asking) continue;
    if (!oldest || r->last_used < oldest->last_used) oldest = r;
  }
  if (!oldest) {
    // None idle; but one given up already (by another session's reclaim, or its own
    // session closing) still ends, and its room will be free: wait for it.
    const auto ending = std::find_if(leases_.begin(), leases_.end(), [&](const auto& item) {
      return item.second->shared == e.up && !item.second->owner;
    });
    if (ending == leases_.end()) co_return false;
    const upstream* key = ending->first;
    while (leases_.count(key)) co_await lease_ended_.wait();
    co_return true;
  }
  const auto idle = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - oldest->last_used);
  log::info(component, "MCP server '{}' is at its cap of sessions: {} gives its own session with it (idle for {} s) to {}",
            e.prefix, oldest->owner->label(), idle.count(), for_whom);
  const upstream* key = oldest->up;
  retire(*oldest, "p2pmcp gave this client session's process of MCP server '" + e.prefix +
                      "' to another session after it was idle; its next request starts a new one");
  while (leases_.count(key)) co_await lease_ended_.wait();
  co_return true;
}

}  // namespace mcp::hub
