// Multiaddr (multiformats/multiaddr): self-describing network addresses, binary and
// text forms. Supported protocols: ip4, ip6, tcp, udp, dns, dns4, dns6, dnsaddr,
// quic-v1, ws, wss, tls, sni, p2p, p2p-circuit, webtransport, certhash.
// Parsing validates every component; binary and text round-trip exactly.
#pragma once

#include "p2p/core/bytes.hpp"
#include "p2p/core/error.hpp"
#include "p2p/core/peer_id.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace p2p {

// Multicodec codes of the supported protocols.
enum class protocol_code : std::uint32_t {
  ip4 = 0x04,
  tcp = 0x06,
  dns = 0x35,
  dns4 = 0x36,
  dns6 = 0x37,
  dnsaddr = 0x38,
  udp = 0x0111,
  ip6 = 0x29,
  p2p_circuit = 0x0122,
  p2p = 0x01a5,
  tls = 0x01c0,
  sni = 0x01c1,
  quic_v1 = 0x01cc,
  webtransport = 0x01d1,
  certhash = 0x01d2,
  ws = 0x01dd,
  wss = 0x01de,
};

// Text name of a protocol ("ip4", "quic-v1", ...).
std::string_view protocol_name(protocol_code code) noexcept;

struct multiaddr_component {
  protocol_code code;
  bytes value;  // binary value as on the wire (empty for ws, tls, ...)

  std::string_view name() const noexcept { return protocol_name(code); }
  // Text value as it appears in the text form ("127.0.0.1", "4001", peer ID, ...).
  std::string value_string() const;
};

class multiaddr {
 public:
  multiaddr() = default;

  // Errors: invalid_multiaddr, unknown_multicodec.
  static result<multiaddr> parse(std::string_view text);
  // Errors: truncated, malformed, unknown_multicodec, invalid_multiaddr.
  static result<multiaddr> from_bytes(bytes_view binary);
  static multiaddr from_components(const std::vector<multiaddr_component>& components);

  std::string to_string() const;
  const bytes& to_bytes() const noexcept { return bytes_; }
  std::vector<multiaddr_component> components() const;
  bool empty() const noexcept { return bytes_.empty(); }

  // The peer ID of the last /p2p component, if any.
  std::optional<peer_id> peer() const;
  // This address without a trailing /p2p/<id>.
  multiaddr without_peer() const;
  // this + other, e.g. addr.encapsulate(multiaddr::parse("/p2p/<id>")).
  multiaddr encapsulate(const multiaddr& other) const;
  multiaddr with_peer(const peer_id& id) const;

  friend bool operator==(const multiaddr&, const multiaddr&) = default;
  friend auto operator<=>(const multiaddr& a, const multiaddr& b) { return a.bytes_ <=> b.bytes_; }

 private:
  explicit multiaddr(bytes binary) : bytes_(std::move(binary)) {}
  bytes bytes_;
};

}  // namespace p2p
