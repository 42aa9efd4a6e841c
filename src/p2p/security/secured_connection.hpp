// The security seam: a raw connection after the security handshake. Bytes written
// are encrypted and authenticated; the remote's identity is proven.
#pragma once

#include "p2p/core/keys.hpp"
#include "p2p/core/peer_id.hpp"
#include "p2p/core/stream.hpp"

#include <optional>
#include <string>

namespace p2p {

class secured_connection : public stream {
 public:
  virtual const peer_id& local_peer() const noexcept = 0;
  virtual const peer_id& remote_peer() const noexcept = 0;
  virtual const crypto::public_key& remote_public_key() const noexcept = 0;
  // The stream muxer agreed during the handshake (Noise extensions, TLS ALPN), if any;
  // when set, the upgrader skips multistream-select for the muxer.
  virtual std::optional<std::string> early_muxer() const = 0;
};

}  // namespace p2p
