// Multiaddr (multiformats/multiaddr): self-describing network addresses, binary and
// text forms. Supported protocols: ip4, ip6, ip6zone, tcp, udp, dns, dns4, dns6,
// dnsaddr, quic, quic-v1, ws, wss, tls, sni, noise, http, p2p ("ipfs" accepted when
// parsing), p2p-circuit, webtransport, webrtc, webrtc-direct, certhash. Any other
// protocol is rejected (unknown_multicodec).
//
// Parsing validates every component, so a multiaddr object always holds valid bytes
// (except one built by from_components(), which trusts its input). Binary round-trips
// exactly; text round-trips up to normalisation: "ipfs" becomes "p2p", a CID peer
// ID is written in base58btc, a certhash in base64url, an IPv6 address in its
// RFC 5952 form, and trailing slashes are dropped.
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
  ip6zone = 0x2a,
  webrtc_direct = 0x0118,
  webrtc = 0x0119,
  p2p_circuit = 0x0122,
  p2p = 0x01a5,
  tls = 0x01c0,
  sni = 0x01c1,
  noise = 0x01c6,
  quic = 0x01cc,     // 460: draft-29 QUIC, parsed for other peers' addresses only
  quic_v1 = 0x01cd,  // 461
  webtransport = 0x01d1,
  certhash = 0x01d2,
  ws = 0x01dd,
  wss = 0x01de,
  http = 0x01e0,
  memory = 0x0309,  // 777: in-process transport (tests)
};

// Text name of a protocol ("ip4", "quic-v1", ...); "unknown" for other values.
std::string_view protocol_name(protocol_code code) noexcept;
// The protocol called `name` ("ipfs" is an alias of p2p), if supported.
std::optional<protocol_code> protocol_from_name(std::string_view name) noexcept;

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

  // Parses "/ip4/1.2.3.4/tcp/80/...". An empty text or "/" is invalid.
  // Errors: invalid_multiaddr, unknown_multicodec (unsupported protocol name).
  static result<multiaddr> parse(std::string_view text);
  // Parses the binary form; empty input is invalid.
  // Errors: truncated, malformed (bad varint), unknown_multicodec, invalid_multiaddr.
  static result<multiaddr> from_bytes(bytes_view binary);
  // Concatenates components whose values are already in wire form (4 bytes for ip4,
  // 2 big-endian bytes for a port, a peer ID's multihash for p2p, ...). The values
  // are NOT validated: pass only values known to be valid.
  static multiaddr from_components(const std::vector<multiaddr_component>& components);

  std::string to_string() const;
  const bytes& to_bytes() const noexcept { return bytes_; }
  std::vector<multiaddr_component> components() const;
  bool empty() const noexcept { return bytes_.empty(); }

  // Text value of the first component with `code`, e.g. value_for(protocol_code::tcp)
  // == "4001"; nullopt when there is none.
  std::optional<std::string> value_for(protocol_code code) const;
  bool has(protocol_code code) const;

  // The peer ID of the trailing /p2p component, if the address ends with one
  // ("/ip4/.../p2p/<relay>/p2p-circuit" names no peer: it ends in p2p-circuit).
  std::optional<peer_id> peer() const;
  // This address without a trailing /p2p/<id>.
  multiaddr without_peer() const;
  // this + other, e.g. addr.encapsulate(multiaddr::parse("/p2p/<id>")).
  multiaddr encapsulate(const multiaddr& other) const;
  // without_peer() + "/p2p/<id>": a trailing peer ID is replaced, never doubled.
  multiaddr with_peer(const peer_id& id) const;

  friend bool operator==(const multiaddr&, const multiaddr&) = default;
  friend auto operator<=>(const multiaddr& a, const multiaddr& b) { return a.bytes_ <=> b.bytes_; }

 private:
  explicit multiaddr(bytes binary) : bytes_(std::move(binary)) {}
  bytes bytes_;
};

}  // namespace p2p
