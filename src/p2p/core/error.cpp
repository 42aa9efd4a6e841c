#include "p2p/core/error.hpp"

namespace p2p {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "p2p"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::truncated: return "input ended before a complete value";
      case errc::malformed: return "malformed encoding";
      case errc::varint_overflow: return "unsigned varint is too long";
      case errc::varint_not_minimal: return "unsigned varint is not minimally encoded";
      case errc::message_too_large: return "message exceeds the size limit";
      case errc::unknown_multicodec: return "unknown multicodec";
      case errc::invalid_multiaddr: return "invalid multiaddr";
      case errc::invalid_peer_id: return "invalid peer ID";
      case errc::unsupported_key_type: return "unsupported key type";
      case errc::invalid_key: return "invalid key";
      case errc::invalid_signature: return "invalid signature";
      case errc::protocol_violation: return "peer violated the protocol";
      case errc::protocol_not_supported: return "protocol not supported by the peer";
      case errc::handshake_failed: return "security handshake failed";
      case errc::decrypt_failed: return "could not decrypt or authenticate a message";
      case errc::peer_id_mismatch: return "remote peer ID does not match the one dialed";
      case errc::closed: return "stream closed";
      case errc::stream_reset: return "stream reset";
      case errc::connection_closed: return "connection closed";
      case errc::timeout: return "timed out";
      case errc::cancelled: return "cancelled";
      case errc::resource_limit: return "resource limit reached";
      case errc::unreachable: return "peer unreachable";
      case errc::no_addresses: return "no known addresses for the peer";
      case errc::invalid_argument: return "invalid argument";
      case errc::io_error: return "I/O error";
    }
    return "unknown p2p error";
  }
};

}  // namespace

const boost::system::error_category& p2p_category() noexcept {
  static const category instance;
  return instance;
}

std::string describe(const error_code& ec) {
  if (!ec) return "success";
  return ec.message();
}

}  // namespace p2p
