// A live libp2p connection as the host sees it: raw (TCP) -> secured (Noise) ->
// muxed (yamux), with who is on the other end and how it was reached.
#pragma once

#include "p2p/core/multiaddr.hpp"
#include "p2p/core/peer_id.hpp"
#include "p2p/muxer/muxed_connection.hpp"
#include "p2p/resource/resource_manager.hpp"

#include <memory>
#include <string>

namespace p2p {

enum class direction { inbound, outbound };

struct connection_info {
  peer_id local_peer;
  peer_id remote_peer;
  multiaddr local_address;
  multiaddr remote_address;
  direction dir = direction::outbound;
  std::string security;  // "/noise"
  std::string muxer;     // "/yamux/1.0.0"
  bool early_muxer = false;  // muxer agreed inside the security handshake
};

class connection {
 public:
  connection(connection_info info, std::shared_ptr<muxed_connection> muxer, std::uint64_t id,
             resource::connection_scope scope = {})
      : info_(std::move(info)), muxer_(std::move(muxer)), id_(id), scope_(std::move(scope)) {}

  const connection_info& info() const noexcept { return info_; }
  const peer_id& remote_peer() const noexcept { return info_.remote_peer; }
  const multiaddr& remote_address() const noexcept { return info_.remote_address; }
  std::uint64_t id() const noexcept { return id_; }

  // A bare muxed stream, before protocol negotiation (host::new_stream negotiates).
  task<result<std::unique_ptr<stream>>> open_stream() { return muxer_->open_stream(); }
  void close() { muxer_->close(); }
  bool is_closed() const noexcept { return muxer_->is_closed(); }
  muxed_connection& muxer() noexcept { return *muxer_; }
  // Its accounting in the resource manager (streams, memory), held while it lives.
  resource::connection_scope& scope() noexcept { return scope_; }

 private:
  connection_info info_;
  std::shared_ptr<muxed_connection> muxer_;
  std::uint64_t id_;
  resource::connection_scope scope_;
};

}  // namespace p2p
