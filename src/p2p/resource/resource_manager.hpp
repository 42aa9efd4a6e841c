// The resource manager: how many connections, streams, handshakes and bytes each
// scope of the node may hold, so that one stranger cannot lock everyone out or eat
// the machine's memory. Sans-IO: it counts, the host opens and closes.
// (go-libp2p p2p/host/resource-manager: scope.go, rcmgr.go; see README.md here.)
//
// Scopes and which reservations each one sees:
//   system      every authenticated connection, its streams and memory
//   transient   every connection still in its handshake (inbound and outbound),
//               with its memory; a connection leaves it once authenticated
//   address     pending handshakes per source IP (IPv6: /64), and the authenticated
//               connections of strangers from there (protected peers' do not count)
//   peer        connections, streams and memory of one peer
//   protocol    streams and memory of one protocol, all peers together
//   connection  one connection: its streams and memory
//   stream      one stream's memory
// A reservation succeeds only if every scope it passes through stays within its
// limits; otherwise nothing is taken and the refusal names the scope, the resource
// and the numbers.
//
// Protected peers (the node fills the set: trusted peers, bootstrap peers) use the
// protected_peer limits and may use the system scope's `protected_room`, which
// strangers cannot take.
//
// Ownership: connection_scope and stream_scope are move-only handles that give back
// everything they hold when destroyed (a stream keeps its connection's accounting
// alive until it ends). Every handle must be destroyed before the manager.
#pragma once

#include "p2p/core/error.hpp"
#include "p2p/core/multiaddr.hpp"
#include "p2p/core/peer_id.hpp"
#include "p2p/resource/limits.hpp"

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace p2p::resource {

enum class scope_kind { system, transient, address, peer, protocol, connection, stream };
std::string_view describe(scope_kind kind) noexcept;

// Why a reservation was refused: which scope, which resource, how much.
struct refusal {
  scope_kind scope = scope_kind::system;
  std::string scope_name;  // "system", "address 10.0.0.1", "peer 12D3Koo...", "protocol /ipfs/ping/1.0.0"
  resource_kind resource = resource_kind::memory;
  std::uint64_t used = 0;
  std::uint64_t wanted = 0;
  std::uint64_t limit = 0;  // what this reservation could use (the protected room already taken off)
  // "the limit of 8 inbound connections of peer 12D3... is reached (8 in use, 1 more wanted)"
  std::string message() const;
  error_code code() const noexcept { return errc::resource_limit; }
};
[[noreturn]] void throw_exception_from_error(const refusal& r, const boost::source_location& location);

template <class T>
using outcome = boost::system::result<T, refusal>;

enum class direction { inbound, outbound };

class resource_manager;
struct connection_state;
struct stream_state;
namespace detail {
struct scope;
struct address_scope;
}

// One stream's accounting, under its connection (and peer) and, once negotiated,
// its protocol.
class stream_scope {
 public:
  stream_scope() noexcept;
  stream_scope(stream_scope&&) noexcept;
  stream_scope& operator=(stream_scope&&) noexcept;
  ~stream_scope();

  // Counts the stream under `protocol` too. Refused when the protocol scope is full
  // (the caller resets the stream). Only once per stream.
  outcome<void> set_protocol(std::string_view protocol);
  // Reserves `bytes` in the stream, its protocol, its connection, its peer (or
  // transient scope) and the system scope; all or nothing.
  outcome<void> reserve_memory(std::uint64_t bytes);
  // Gives back what reserve_memory took (at most what the stream holds).
  void release_memory(std::uint64_t bytes) noexcept;
  const amounts& used() const noexcept;
  explicit operator bool() const noexcept { return state_ != nullptr; }

 private:
  friend class connection_scope;
  explicit stream_scope(std::unique_ptr<stream_state> state) noexcept;
  std::unique_ptr<stream_state> state_;
};

// One connection's accounting: in the transient and address scopes from accept (or
// dial) to authentication, then in its peer's scope.
class connection_scope {
 public:
  connection_scope() = default;
  connection_scope(connection_scope&&) noexcept = default;
  connection_scope& operator=(connection_scope&&) noexcept;
  ~connection_scope();

  // Unique per manager, in opening order (the host maps it to the connection it
  // must close when the manager evicts a pending handshake).
  std::uint64_t id() const noexcept;
  // The handshake is over and proved `peer`: the connection leaves the transient
  // scope (and its pending slot) for the peer's scope and the system scope, and,
  // unless the peer is protected, counts against its address. Refused when one of
  // them is full (the caller closes the connection); on refusal the connection stays
  // transient, no longer pending.
  outcome<void> set_peer(const peer_id& peer);
  // True when the manager dropped this connection's pending slot for a newer one:
  // the owner must close it.
  bool is_evicted() const noexcept;
  bool is_protected() const noexcept;

  outcome<stream_scope> open_stream(direction dir);
  outcome<void> reserve_memory(std::uint64_t bytes);
  void release_memory(std::uint64_t bytes) noexcept;
  const amounts& used() const noexcept;
  explicit operator bool() const noexcept { return state_ != nullptr; }

 private:
  friend class resource_manager;
  explicit connection_scope(std::shared_ptr<connection_state> state) noexcept : state_(std::move(state)) {}
  std::shared_ptr<connection_state> state_;
};

// What a scope uses next to its limits, for `p2pmcp status`.
struct scope_usage {
  scope_kind kind = scope_kind::system;
  std::string name;
  amounts used;
  amounts limit;
};

struct snapshot {
  std::vector<scope_usage> scopes;  // system, transient, then the busiest others
  std::uint64_t refused = 0;        // reservations refused since start
  std::uint64_t evicted = 0;        // pending handshakes dropped for newer ones
  std::uint64_t address_scopes = 0, peer_scopes = 0, protocol_scopes = 0;  // how many exist now
};

class resource_manager {
 public:
  explicit resource_manager(limits_config limits);
  ~resource_manager();
  resource_manager(const resource_manager&) = delete;
  resource_manager& operator=(const resource_manager&) = delete;

  const limits_config& limits() const noexcept { return limits_; }

  struct admitted {
    connection_scope scope;
    // Pending inbound handshakes dropped to make room (oldest first): the caller
    // closes the connections with these ids. Their scopes report is_evicted().
    std::vector<std::uint64_t> evicted;
  };
  // Opens a connection's scope in the transient scope and the scope of its source
  // address (the first component of `remote`: /ip4 or /ip6, IPv6 grouped by /64).
  // An inbound connection also takes a pending-handshake slot; when the address's or
  // the transient scope's slots are all taken, the oldest pending handshake (of that
  // address, else overall) gives its slot up instead of the new one being refused —
  // the oldest of those whose peer never sent a byte (note_progress) if there is one,
  // so silent sockets push each other out and not a handshake that is under way.
  // Refused when a connection limit of the transient scope is reached (or a pending
  // limit is 0).
  outcome<admitted> open_connection(direction dir, const multiaddr& remote);

  // The pending inbound handshake `id` received bytes from its peer: when slots are
  // full, handshakes that never sent anything are dropped before it. No-op once the
  // handshake is over.
  void note_progress(std::uint64_t id);

  // Protected peers: their connections use the protected_peer limits and the system
  // scope's protected room, and do not count against their address's connections.
  void protect(const peer_id& peer);
  void unprotect(const peer_id& peer);
  bool is_protected(const peer_id& peer) const;

  snapshot take_snapshot(std::size_t busiest = 8) const;
  // The key of the address scope for `remote` ("10.0.0.1", "2001:db8:1:2::/64").
  static std::string address_key(const multiaddr& remote);

 private:
  friend class connection_scope;
  friend class stream_scope;
  friend struct connection_state;
  friend struct stream_state;
  using scope = detail::scope;
  using address_scope = detail::address_scope;

  scope& peer_scope(const peer_id& peer, bool is_protected);
  scope& protocol_scope(std::string_view protocol);
  void drop_if_unused(scope& s);
  refusal refuse(refusal r);
  std::optional<std::uint64_t> evict_oldest(std::set<std::uint64_t>& pending_ids);
  void release_pending(connection_state& c);
  void close(connection_state& c) noexcept;

  limits_config limits_;
  std::unique_ptr<scope> system_;
  std::unique_ptr<scope> transient_;
  std::unordered_map<std::string, std::unique_ptr<address_scope>> addresses_;
  std::unordered_map<peer_id, std::unique_ptr<scope>> peers_;
  std::map<std::string, std::unique_ptr<scope>, std::less<>> protocols_;
  std::unordered_set<peer_id> protected_;
  std::map<std::uint64_t, connection_state*> pending_;  // inbound handshakes, oldest first
  std::uint64_t next_connection_id_ = 1;
  std::uint64_t refused_ = 0;
  std::uint64_t evicted_ = 0;
};

}  // namespace p2p::resource
