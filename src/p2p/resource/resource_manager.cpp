#include "p2p/resource/resource_manager.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <stdexcept>

namespace p2p::resource {

namespace detail {

struct scope {
  scope(scope_kind k, std::string n, const amounts* l, const amounts* r = nullptr)
      : kind(k), name(std::move(n)), limit(l), reserve(r) {}
  scope_kind kind;
  std::string name;
  const amounts* limit;
  const amounts* reserve;  // the protected room (system scope only)
  amounts used;
  std::size_t refs = 0;  // connections and streams that count here
};

struct address_scope : scope {
  address_scope(std::string k, const amounts* l) : scope(scope_kind::address, "address " + k, l), key(std::move(k)) {}
  std::string key;
  std::set<std::uint64_t> pending_ids;  // its pending handshakes, oldest first
};

}  // namespace detail

using detail::scope;

namespace {

constexpr std::array<resource_kind, resource_kind_count> all_kinds = {
    resource_kind::connections_inbound, resource_kind::connections_outbound, resource_kind::connections,
    resource_kind::streams_inbound,     resource_kind::streams_outbound,     resource_kind::streams,
    resource_kind::pending,             resource_kind::memory};

// What `delta` may reach in `s` for this reservation.
std::uint64_t cap_of(const scope& s, resource_kind k, bool is_protected) {
  const std::uint64_t limit = at(*s.limit, k);
  if (is_protected || s.reserve == nullptr || limit == unlimited) return limit;
  const std::uint64_t room = at(*s.reserve, k);
  return limit > room ? limit - room : 0;
}

// Checks every scope of `chain` first, then adds: all or nothing.
std::optional<refusal> try_add(const std::vector<scope*>& chain, const amounts& delta, bool is_protected) {
  for (const scope* s : chain) {
    for (auto k : all_kinds) {
      const std::uint64_t want = at(delta, k);
      if (want == 0) continue;
      const std::uint64_t cap = cap_of(*s, k, is_protected);
      const std::uint64_t used = at(s->used, k);
      if (used > cap || want > cap - used) return refusal{s->kind, s->name, k, used, want, cap};
    }
  }
  for (scope* s : chain)
    for (auto k : all_kinds) at(s->used, k) += at(delta, k);
  return std::nullopt;
}

// `delta` by value: it is often the first scope's own `used`.
void remove(const std::vector<scope*>& chain, const amounts delta) noexcept {
  for (scope* s : chain)
    for (auto k : all_kinds) {
      auto& used = at(s->used, k);
      used -= std::min(used, at(delta, k));
    }
}

amounts one_connection(direction dir) {
  amounts a;
  (dir == direction::inbound ? a.connections_inbound : a.connections_outbound) = 1;
  a.connections = 1;
  return a;
}

amounts one_stream(direction dir) {
  amounts a;
  (dir == direction::inbound ? a.streams_inbound : a.streams_outbound) = 1;
  a.streams = 1;
  return a;
}

amounts memory_of(std::uint64_t bytes) {
  amounts a;
  a.memory = bytes;
  return a;
}

amounts pending_one() {
  amounts a;
  a.pending = 1;
  return a;
}

}  // namespace

// ---------------------------------------------------------------------------------
// states behind the handles

struct connection_state {
  connection_state(resource_manager& owner, std::uint64_t id, direction dir)
      : manager(owner), id(id), dir(dir),
        self{scope_kind::connection, fmt::format("connection {}", id), &owner.limits_.connection} {}
  ~connection_state() { manager.close(*this); }

  // Where its streams and memory count: itself, then its peer and the system once
  // authenticated, the transient scope before.
  std::vector<scope*> chain() {
    if (peer_scope != nullptr) return {&self, peer_scope, manager.system_.get()};
    return {&self, manager.transient_.get()};
  }

  resource_manager& manager;
  std::uint64_t id;
  direction dir;
  scope self;
  detail::address_scope* address = nullptr;
  scope* peer_scope = nullptr;
  bool is_protected = false;
  bool pending = false;
  bool evicted = false;
  bool progressed = false;  // its peer sent bytes during the handshake
  bool counted_in_address = false;  // an authenticated stranger's connection
  std::uint64_t next_stream = 1;
};

struct stream_state {
  stream_state(std::shared_ptr<connection_state> owner, direction dir)
      : conn(std::move(owner)), dir(dir),
        self{scope_kind::stream, fmt::format("stream {}/{}", conn->id, conn->next_stream++),
             &conn->manager.limits_.stream} {}
  ~stream_state() {
    remove(chain(), self.used);
    if (protocol != nullptr) {
      --protocol->refs;
      conn->manager.drop_if_unused(*protocol);
    }
  }

  std::vector<scope*> chain() {
    auto out = conn->chain();
    out.insert(out.begin(), &self);
    if (protocol != nullptr) out.insert(out.begin() + 1, protocol);
    return out;
  }

  std::shared_ptr<connection_state> conn;
  direction dir;
  scope self;
  scope* protocol = nullptr;
};

// ---------------------------------------------------------------------------------
// refusals

std::string_view describe(scope_kind kind) noexcept {
  switch (kind) {
    case scope_kind::system: return "system";
    case scope_kind::transient: return "transient";
    case scope_kind::address: return "address";
    case scope_kind::peer: return "peer";
    case scope_kind::protocol: return "protocol";
    case scope_kind::connection: return "connection";
    case scope_kind::stream: return "stream";
  }
  return "scope";
}

std::string refusal::message() const {
  return fmt::format("the limit of {} {} of the {} scope is reached ({} in use, {} more wanted)", limit,
                     describe(resource), scope_name, used, wanted);
}

void throw_exception_from_error(const refusal& r, const boost::source_location&) {
  throw std::runtime_error(r.message());
}

// ---------------------------------------------------------------------------------
// stream_scope

stream_scope::stream_scope() noexcept = default;
stream_scope::stream_scope(std::unique_ptr<stream_state> state) noexcept : state_(std::move(state)) {}
stream_scope::stream_scope(stream_scope&&) noexcept = default;
stream_scope& stream_scope::operator=(stream_scope&&) noexcept = default;
stream_scope::~stream_scope() = default;

outcome<void> stream_scope::set_protocol(std::string_view protocol) {
  if (!state_ || state_->protocol != nullptr) return {};
  auto& manager = state_->conn->manager;
  scope& p = manager.protocol_scope(protocol);
  if (auto r = try_add({&p}, state_->self.used, state_->conn->is_protected)) {
    manager.drop_if_unused(p);
    return manager.refuse(std::move(*r));
  }
  ++p.refs;
  state_->protocol = &p;
  return {};
}

outcome<void> stream_scope::reserve_memory(std::uint64_t bytes) {
  if (!state_ || bytes == 0) return {};
  if (auto r = try_add(state_->chain(), memory_of(bytes), state_->conn->is_protected))
    return state_->conn->manager.refuse(std::move(*r));
  return {};
}

void stream_scope::release_memory(std::uint64_t bytes) noexcept {
  if (!state_) return;
  remove(state_->chain(), memory_of(std::min(bytes, state_->self.used.memory)));
}

const amounts& stream_scope::used() const noexcept {
  static const amounts none;
  return state_ ? state_->self.used : none;
}

// ---------------------------------------------------------------------------------
// connection_scope

connection_scope& connection_scope::operator=(connection_scope&& other) noexcept {
  state_ = std::move(other.state_);
  return *this;
}

connection_scope::~connection_scope() = default;

std::uint64_t connection_scope::id() const noexcept { return state_ ? state_->id : 0; }
bool connection_scope::is_evicted() const noexcept { return state_ && state_->evicted; }
bool connection_scope::is_protected() const noexcept { return state_ && state_->is_protected; }

const amounts& connection_scope::used() const noexcept {
  static const amounts none;
  return state_ ? state_->self.used : none;
}

outcome<void> connection_scope::set_peer(const peer_id& peer) {
  if (!state_ || state_->peer_scope != nullptr) return {};
  auto& c = *state_;
  auto& manager = c.manager;
  manager.release_pending(c);
  const bool is_protected = manager.is_protected(peer);
  scope& p = manager.peer_scope(peer, is_protected);
  const amounts moving = c.self.used;
  // A stranger's authenticated connections count against its address; a protected
  // peer's do not.
  detail::address_scope* address = is_protected ? nullptr : c.address;
  if (address != nullptr) {
    scope probe = *address;
    if (auto r = try_add({&probe}, one_connection(c.dir), false)) {
      manager.drop_if_unused(p);
      return manager.refuse(std::move(*r));
    }
  }
  if (auto r = try_add({&p, manager.system_.get()}, moving, is_protected)) {
    manager.drop_if_unused(p);
    return manager.refuse(std::move(*r));
  }
  if (address != nullptr) try_add({address}, one_connection(c.dir), false);
  remove({manager.transient_.get()}, moving);
  ++p.refs;
  c.peer_scope = &p;
  c.is_protected = is_protected;
  c.counted_in_address = address != nullptr;
  return {};
}

outcome<stream_scope> connection_scope::open_stream(direction dir) {
  if (!state_) return refusal{};
  auto s = std::make_unique<stream_state>(state_, dir);
  if (auto r = try_add(s->chain(), one_stream(dir), state_->is_protected)) {
    s->self.used = {};  // nothing was taken
    return state_->manager.refuse(std::move(*r));
  }
  return stream_scope(std::move(s));
}

outcome<void> connection_scope::reserve_memory(std::uint64_t bytes) {
  if (!state_ || bytes == 0) return {};
  if (auto r = try_add(state_->chain(), memory_of(bytes), state_->is_protected))
    return state_->manager.refuse(std::move(*r));
  return {};
}

void connection_scope::release_memory(std::uint64_t bytes) noexcept {
  if (!state_) return;
  remove(state_->chain(), memory_of(std::min(bytes, state_->self.used.memory)));
}

// ---------------------------------------------------------------------------------
// the manager

resource_manager::resource_manager(limits_config limits)
    : limits_(std::move(limits)),
      system_(new scope{scope_kind::system, "system", &limits_.system, &limits_.protected_room}),
      transient_(new scope{scope_kind::transient, "transient", &limits_.transient}) {}

resource_manager::~resource_manager() = default;

refusal resource_manager::refuse(refusal r) {
  ++refused_;
  return r;
}

std::string resource_manager::address_key(const multiaddr& remote) {
  auto parts = remote.components();
  if (parts.empty()) return "unknown";
  const auto& first = parts.front();
  if (first.code == protocol_code::ip4 && first.value.size() == 4)
    return fmt::format("{}.{}.{}.{}", first.value[0], first.value[1], first.value[2], first.value[3]);
  if (first.code == protocol_code::ip6 && first.value.size() == 16) {
    std::string out;
    for (int i = 0; i < 8; i += 2) out += fmt::format("{:x}:", first.value[i] << 8 | first.value[i + 1]);
    return out + ":/64";
  }
  return multiaddr::from_components({first}).to_string();
}

outcome<resource_manager::admitted> resource_manager::open_connection(direction dir, const multiaddr& remote) {
  const std::string key = address_key(remote);
  auto& slot = addresses_[key];
  if (!slot) slot = std::make_unique<address_scope>(key, &limits_.address);
  address_scope& a = *slot;
  auto state = std::make_shared<connection_state>(*this, next_connection_id_++, dir);
  const amounts counts = one_connection(dir);
  // Connection limits first (nobody is evicted for a connection that is refused).
  {
    scope probe = *transient_;  // checked, not taken yet: the pending slot comes next
    if (auto r = try_add({&probe}, counts, false)) {
      drop_if_unused(a);
      return refuse(std::move(*r));
    }
  }
  std::vector<std::uint64_t> evicted;
  if (dir == direction::inbound) {
    if (a.used.pending >= limits_.address.pending)
      if (auto id = evict_oldest(a.pending_ids)) evicted.push_back(*id);
    if (transient_->used.pending >= limits_.transient.pending) {
      std::set<std::uint64_t> all;
      for (const auto& [id, c] : pending_) all.insert(id);
      if (auto id = evict_oldest(all)) evicted.push_back(*id);
    }
    scope probe_transient = *transient_;
    scope probe_address = a;
    if (auto r = try_add({&probe_transient, &probe_address}, pending_one(), false)) {  // a pending limit of 0
      drop_if_unused(a);
      return refuse(std::move(*r));
    }
  }
  amounts delta = counts;
  if (dir == direction::inbound) delta.pending = 1;
  try_add({&state->self}, delta, false);
  try_add({transient_.get()}, delta, false);
  if (dir == direction::inbound) try_add({&a}, pending_one(), false);
  ++a.refs;
  state->address = &a;
  if (dir == direction::inbound) {
    state->pending = true;
    pending_[state->id] = state.get();
    a.pending_ids.insert(state->id);
  }
  return admitted{connection_scope(std::move(state)), std::move(evicted)};
}

std::optional<std::uint64_t> resource_manager::evict_oldest(std::set<std::uint64_t>& pending_ids) {
  if (pending_ids.empty()) return std::nullopt;
  std::uint64_t id = *pending_ids.begin();
  for (const auto candidate : pending_ids) {
    if (auto found = pending_.find(candidate); found != pending_.end() && !found->second->progressed) {
      id = candidate;
      break;
    }
  }
  auto it = pending_.find(id);
  if (it == pending_.end()) return std::nullopt;
  connection_state& c = *it->second;
  release_pending(c);
  c.evicted = true;
  ++evicted_;
  return id;
}

void resource_manager::note_progress(std::uint64_t id) {
  if (auto it = pending_.find(id); it != pending_.end()) it->second->progressed = true;
}

void resource_manager::release_pending(connection_state& c) {
  if (!c.pending) return;
  c.pending = false;
  std::vector<scope*> chain{&c.self, transient_.get()};
  if (c.address != nullptr) {
    chain.push_back(c.address);
    c.address->pending_ids.erase(c.id);
  }
  remove(chain, pending_one());
  pending_.erase(c.id);
}

void resource_manager::close(connection_state& c) noexcept {
  release_pending(c);
  remove(c.chain(), c.self.used);
  if (c.peer_scope != nullptr) {
    --c.peer_scope->refs;
    drop_if_unused(*c.peer_scope);
  }
  if (c.address != nullptr) {
    if (c.counted_in_address) remove({c.address}, one_connection(c.dir));
    --c.address->refs;
    drop_if_unused(*c.address);
  }
}

scope& resource_manager::peer_scope(const peer_id& peer, bool is_protected) {
  auto& slot = peers_[peer];
  if (!slot) slot.reset(new scope{scope_kind::peer, "peer " + peer.to_string(), &limits_.peer});
  slot->limit = is_protected ? &limits_.protected_peer : &limits_.peer;
  return *slot;
}

scope& resource_manager::protocol_scope(std::string_view protocol) {
  auto it = protocols_.find(protocol);
  if (it == protocols_.end())
    it = protocols_
             .emplace(std::string(protocol),
                      std::unique_ptr<scope>(new scope{scope_kind::protocol, "protocol " + std::string(protocol),
                                                       &limits_.protocol}))
             .first;
  return *it->second;
}

void resource_manager::drop_if_unused(scope& s) {
  if (s.refs != 0) return;
  switch (s.kind) {
    case scope_kind::address: addresses_.erase(static_cast<address_scope&>(s).key); break;
    case scope_kind::peer:
      std::erase_if(peers_, [&](const auto& entry) { return entry.second.get() == &s; });
      break;
    case scope_kind::protocol: protocols_.erase(s.name.substr(std::string_view("protocol ").size())); break;
    default: break;
  }
}

void resource_manager::protect(const peer_id& peer) {
  protected_.insert(peer);
  if (auto it = peers_.find(peer); it != peers_.end()) it->second->limit = &limits_.protected_peer;
}

void resource_manager::unprotect(const peer_id& peer) {
  protected_.erase(peer);
  if (auto it = peers_.find(peer); it != peers_.end()) it->second->limit = &limits_.peer;
}

bool resource_manager::is_protected(const peer_id& peer) const { return protected_.contains(peer); }

snapshot resource_manager::take_snapshot(std::size_t busiest) const {
  snapshot out;
  out.refused = refused_;
  out.evicted = evicted_;
  out.address_scopes = addresses_.size();
  out.peer_scopes = peers_.size();
  out.protocol_scopes = protocols_.size();
  auto usage_of = [](const scope& s) { return scope_usage{s.kind, s.name, s.used, *s.limit}; };
  out.scopes.push_back(usage_of(*system_));
  out.scopes.push_back(usage_of(*transient_));
  auto weight = [](const scope_usage& u) {
    return std::make_tuple(u.used.connections + u.used.pending, u.used.streams, u.used.memory);
  };
  auto add_busiest = [&](std::vector<scope_usage> all) {
    std::sort(all.begin(), all.end(), [&](const auto& a, const auto& b) { return weight(a) > weight(b); });
    if (all.size() > busiest) all.resize(busiest);
    out.scopes.insert(out.scopes.end(), all.begin(), all.end());
  };
  std::vector<scope_usage> list;
  for (const auto& [key, s] : addresses_) list.push_back(usage_of(*s));
  add_busiest(std::move(list));
  list.clear();
  for (const auto& [peer, s] : peers_) list.push_back(usage_of(*s));
  add_busiest(std::move(list));
  list.clear();
  for (const auto& [name, s] : protocols_) list.push_back(usage_of(*s));
  add_busiest(std::move(list));
  return out;
}

}  // namespace p2p::resource
