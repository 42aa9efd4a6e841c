// The session table: creating, closing, expiring and evicting MCP sessions, and a
// session's queue for its standalone stream.
#include "mcp/gateway/http/post_exchange.hpp"

#include "p2p/core/log.hpp"

namespace mcp::gateway {

std::string_view to_string(close_reason reason) noexcept {
  switch (reason) {
    case close_reason::deleted: return "ended by the client (HTTP DELETE)";
    case close_reason::expired: return "expired after being idle";
    case close_reason::evicted: return "closed to make room for a new session (least recently used)";
    case close_reason::closed_by_server: return "closed by the gateway";
    case close_reason::initialize_failed: return "initialize failed";
    case close_reason::shutdown: return "the gateway is shutting down";
  }
  return "closed";
}

namespace detail {

bool session_state::post_to_client(json message) {
  if (closed_ || !server_.config.enable_get_stream) return false;
  // The spec allows responses on the GET stream only when resuming, which we do not do.
  const auto kind = jsonrpc::classify(message);
  if (kind != jsonrpc::message_kind::request && kind != jsonrpc::message_kind::notification) {
    p2p::log::warn(component, "session {}: refused to post a {} to the client's standalone stream",
                   short_id(), kind == jsonrpc::message_kind::response ? "response" : "invalid message");
    return false;
  }
  if (backlog_.size() >= server_.config.max_queued_messages) {
    p2p::log::warn(component, "session {}: standalone stream queue full ({} messages), dropped {}",
                   short_id(), backlog_.size(), method_of(message));
    return false;
  }
  backlog_.push_back(std::move(message));
  if (standalone_) standalone_->wake.notify();
  return true;
}

std::size_t server_state::expire_idle_sessions() {
  const auto now = clock.now();
  std::vector<std::shared_ptr<session_state>> idle;
  for (const auto& [id, session] : sessions) {
    if (session->in_flight_ == 0 && now - session->last_active_ >= config.session_idle_timeout) {
      idle.push_back(session);
    }
  }
  for (const auto& session : idle) {
    p2p::log::info(component, "session {} expired after being idle", session->short_id());
    close_session(*session, close_reason::expired);
  }
  return idle.size();
}

// Closes the least recently used session that is idle (no request in flight, no open
// stream); false when every session is busy.
bool server_state::evict_least_recently_used() {
  std::shared_ptr<session_state> oldest;
  for (const auto& [id, session] : sessions)
    if (session->in_flight_ == 0 && (!oldest || session->last_active_ < oldest->last_active_)) oldest = session;
  if (!oldest) return false;
  p2p::log::info(component, "session {} closed to make room for a new one (limit {}; it was the least recently used)",
                 oldest->short_id(), config.max_sessions);
  close_session(*oldest, close_reason::evicted);
  return true;
}

std::shared_ptr<session_state> server_state::create_session(std::string protocol_version, std::string endpoint) {
  std::string id;
  do {
    id = make_session_id(random);
  } while (sessions.count(id) > 0);
  auto session = std::make_shared<session_state>(*this, id, std::move(protocol_version), std::move(endpoint));
  session->handler_ = factory(*session);
  if (!session->handler_) return nullptr;
  sessions.emplace(std::move(id), session);
  return session;
}

void server_state::close_session(session_state& session, close_reason reason) {
  if (session.closed_) return;
  session.closed_ = true;
  std::shared_ptr<session_state> keep;  // the map may hold the last reference
  if (const auto it = sessions.find(session.id_); it != sessions.end()) {
    keep = it->second;
    sessions.erase(it);
  }
  session.backlog_.clear();
  for (post_exchange* exchange : std::vector<post_exchange*>(session.exchanges_.begin(),
                                                             session.exchanges_.end())) {
    exchange->on_session_closed(reason);
  }
  if (session.standalone_) session.standalone_->wake.notify();
  p2p::log::debug(component, "session {} closed: {}", session.short_id(), to_string(reason));
  if (session.handler_) session.handler_->on_close(reason);
}

}  // namespace detail
}  // namespace mcp::gateway
