#include "p2p/core/multiaddr.hpp"

#include "p2p/core/multibase.hpp"
#include "p2p/core/multihash.hpp"
#include "p2p/core/varint.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>

namespace p2p {
namespace {

// How a protocol's value is laid out on the wire and written as text.
enum class value_kind : std::uint8_t {
  none,         // no value (ws, tls, p2p-circuit, ...)
  ip4,          // 4 bytes
  ip6,          // 16 bytes
  port,         // 2 bytes, big-endian
  u64,          // 8 bytes, big-endian; text is decimal (memory)
  text,         // varint length + non-empty bytes without '/' (dns*, sni, ip6zone)
  peer,         // varint length + peer ID multihash
  certificate,  // varint length + multihash; text is multibase
};

struct protocol_info {
  protocol_code code;
  std::string_view name;
  value_kind kind;
};

constexpr std::size_t max_certhash_text = 512;

// The codes come from multiformats/multiaddr protocols.csv.
constexpr protocol_info protocols[] = {
    {protocol_code::ip4, "ip4", value_kind::ip4},
    {protocol_code::tcp, "tcp", value_kind::port},
    {protocol_code::dns, "dns", value_kind::text},
    {protocol_code::dns4, "dns4", value_kind::text},
    {protocol_code::dns6, "dns6", value_kind::text},
    {protocol_code::dnsaddr, "dnsaddr", value_kind::text},
    {protocol_code::udp, "udp", value_kind::port},
    {protocol_code::ip6, "ip6", value_kind::ip6},
    {protocol_code::ip6zone, "ip6zone", value_kind::text},
    {protocol_code::p2p_circuit, "p2p-circuit", value_kind::none},
    {protocol_code::p2p, "p2p", value_kind::peer},
    {protocol_code::tls, "tls", value_kind::none},
    {protocol_code::sni, "sni", value_kind::text},
    {protocol_code::noise, "noise", value_kind::none},
    {protocol_code::quic, "quic", value_kind::none},
    {protocol_code::quic_v1, "quic-v1", value_kind::none},
    {protocol_code::webtransport, "webtransport", value_kind::none},
    {protocol_code::certhash, "certhash", value_kind::certificate},
    {protocol_code::http, "http", value_kind::none},
    {protocol_code::ws, "ws", value_kind::none},
    {protocol_code::wss, "wss", value_kind::none},
    {protocol_code::webrtc_direct, "webrtc-direct", value_kind::none},
    {protocol_code::webrtc, "webrtc", value_kind::none},
    // protocols.csv gives it no size ("V"); go- and rust-multiaddr write a u64 in 8
    // bytes, big-endian, and so do we.
    {protocol_code::memory, "memory", value_kind::u64},
};

const protocol_info* find_protocol(std::uint64_t code) noexcept {
  for (const auto& p : protocols)
    if (static_cast<std::uint64_t>(p.code) == code) return &p;
  return nullptr;
}

const protocol_info* find_protocol(std::string_view name) noexcept {
  if (name == "ipfs") name = "p2p";  // the pre-2018 name of /p2p, still in old configs
  for (const auto& p : protocols)
    if (p.name == name) return &p;
  return nullptr;
}

bool has_length_prefix(value_kind kind) noexcept {
  return kind == value_kind::text || kind == value_kind::peer || kind == value_kind::certificate;
}

std::size_t fixed_size(value_kind kind) noexcept {
  switch (kind) {
    case value_kind::ip4: return 4;
    case value_kind::ip6: return 16;
    case value_kind::port: return 2;
    case value_kind::u64: return 8;
    default: return 0;
  }
}

// Checks a binary value (without its length prefix) against its protocol's rules.
bool is_valid_value(value_kind kind, bytes_view value) {
  switch (kind) {
    case value_kind::none: return value.empty();
    case value_kind::ip4:
    case value_kind::ip6:
    case value_kind::port:
    case value_kind::u64: return value.size() == fixed_size(kind);
    case value_kind::text:
      // A '/' could not be written in the text form.
      return !value.empty() && std::find(value.begin(), value.end(), '/') == value.end();
    case value_kind::peer: return peer_id::from_bytes(value).has_value();
    case value_kind::certificate: return multihash::decode(value).has_value();
  }
  return false;
}

std::string value_to_text(value_kind kind, bytes_view value) {
  switch (kind) {
    case value_kind::none: return {};
    case value_kind::ip4:
    case value_kind::ip6: {
      if (value.size() != fixed_size(kind)) return {};
      char buffer[INET6_ADDRSTRLEN] = {};
      // inet_ntop writes the canonical RFC 5952 form for IPv6.
      if (!inet_ntop(kind == value_kind::ip4 ? AF_INET : AF_INET6, value.data(), buffer, sizeof buffer)) return {};
      return buffer;
    }
    case value_kind::port: {
      if (value.size() != 2) return {};
      return std::to_string(static_cast<unsigned>(value[0]) << 8 | value[1]);
    }
    case value_kind::u64: {
      if (value.size() != 8) return {};
      std::uint64_t n = 0;
      for (std::uint8_t b : value) n = n << 8 | b;
      return std::to_string(n);
    }
    case value_kind::text: return std::string(as_string(value));
    case value_kind::peer: return multibase::encode_base58btc(value);  // == peer_id::to_base58()
    case value_kind::certificate: return multibase::encode(multibase::base::base64url, value);
  }
  return {};
}

// Parses the text of one value into its binary form (without length prefix).
result<bytes> value_from_text(value_kind kind, std::string_view text) {
  switch (kind) {
    case value_kind::none: return bytes{};
    case value_kind::ip4:
    case value_kind::ip6: {
      // inet_pton needs a NUL-terminated string; longer text cannot be an address.
      if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return errc::invalid_multiaddr;
      char buffer[INET6_ADDRSTRLEN] = {};
      std::copy(text.begin(), text.end(), buffer);
      bytes out(fixed_size(kind));
      if (inet_pton(kind == value_kind::ip4 ? AF_INET : AF_INET6, buffer, out.data()) != 1)
        return errc::invalid_multiaddr;
      return out;
    }
    case value_kind::port: {
      // Decimal 0..65535 without sign or leading zeros, so the text is canonical.
      if (text.empty() || text.size() > 5 || (text.size() > 1 && text.front() == '0'))
        return errc::invalid_multiaddr;
      unsigned value = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec != std::errc{} || end != text.data() + text.size() || value > 0xffff) return errc::invalid_multiaddr;
      return bytes{static_cast<std::uint8_t>(value >> 8), static_cast<std::uint8_t>(value & 0xff)};
    }
    case value_kind::u64: {
      // Decimal without sign or leading zeros, so the text is canonical.
      if (text.empty() || text.size() > 20 || (text.size() > 1 && text.front() == '0')) return errc::invalid_multiaddr;
      std::uint64_t value = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec != std::errc{} || end != text.data() + text.size()) return errc::invalid_multiaddr;
      bytes out(8);
      for (int i = 7; i >= 0; --i, value >>= 8) out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(value & 0xff);
      return out;
    }
    case value_kind::text: {
      if (text.empty()) return errc::invalid_multiaddr;
      return to_bytes(text);
    }
    case value_kind::peer: {
      auto id = peer_id::parse(text);
      if (!id) return errc::invalid_multiaddr;
      return id->to_bytes();
    }
    case value_kind::certificate: {
      // Real certhashes are under 100 characters; the bound keeps the quadratic
      // base58/base36 decoders away from megabyte inputs.
      if (text.size() > max_certhash_text) return errc::invalid_multiaddr;
      auto decoded = multibase::decode(text);
      if (!decoded || !multihash::decode(*decoded)) return errc::invalid_multiaddr;
      return std::move(*decoded);
    }
  }
  return errc::invalid_multiaddr;
}

struct raw_component {
  const protocol_info* protocol;
  bytes_view value;
  std::size_t length;  // encoded size, code and length prefix included
};

// Reads the component at the start of `input`, and validates its value unless the
// bytes are already known to be valid.
result<raw_component> read_component(bytes_view input, bool validate = true) {
  auto code = varint::decode(input);
  if (!code) return code.error() == errc::truncated ? errc::truncated : errc::malformed;
  const protocol_info* protocol = find_protocol(code->value);
  if (!protocol) return errc::unknown_multicodec;
  std::size_t offset = code->length;
  std::size_t size = fixed_size(protocol->kind);
  if (has_length_prefix(protocol->kind)) {
    auto length = varint::decode(input.subspan(offset));
    if (!length) return length.error() == errc::truncated ? errc::truncated : errc::malformed;
    offset += length->length;
    if (length->value > input.size() - offset) return errc::truncated;
    size = static_cast<std::size_t>(length->value);
  } else if (size > input.size() - offset) {
    return errc::truncated;
  }
  const bytes_view value = input.subspan(offset, size);
  if (validate && !is_valid_value(protocol->kind, value)) return errc::invalid_multiaddr;
  return raw_component{protocol, value, offset + size};
}

void append_component(bytes& out, protocol_code code, bytes_view value) {
  const protocol_info* protocol = find_protocol(static_cast<std::uint64_t>(code));
  varint::encode(static_cast<std::uint64_t>(code), out);
  if (!protocol || has_length_prefix(protocol->kind)) varint::encode(value.size(), out);
  append(out, value);
}

// The components of an already validated binary multiaddr.
std::vector<raw_component> split(bytes_view binary) {
  std::vector<raw_component> out;
  while (!binary.empty()) {
    auto component = read_component(binary, false);
    if (!component) break;  // only reachable through from_components() misuse
    out.push_back(*component);
    binary = binary.subspan(component->length);
  }
  return out;
}

}  // namespace

std::string_view protocol_name(protocol_code code) noexcept {
  const protocol_info* protocol = find_protocol(static_cast<std::uint64_t>(code));
  return protocol ? protocol->name : std::string_view("unknown");
}

std::optional<protocol_code> protocol_from_name(std::string_view name) noexcept {
  const protocol_info* protocol = find_protocol(name);
  if (!protocol) return std::nullopt;
  return protocol->code;
}

std::string multiaddr_component::value_string() const {
  const protocol_info* protocol = find_protocol(static_cast<std::uint64_t>(code));
  if (!protocol) return {};
  return value_to_text(protocol->kind, value);
}

result<multiaddr> multiaddr::parse(std::string_view text) {
  // Trailing slashes are ignored, as go-multiaddr does ("/ip4/1.2.3.4/tcp/80/").
  while (text.size() > 1 && text.back() == '/') text.remove_suffix(1);
  if (text.size() < 2 || text.front() != '/') return errc::invalid_multiaddr;
  text.remove_prefix(1);

  auto next_part = [&text]() -> std::optional<std::string_view> {
    if (text.empty()) return std::nullopt;
    const auto slash = text.find('/');
    const std::string_view part = text.substr(0, slash);
    text = slash == std::string_view::npos ? std::string_view{} : text.substr(slash + 1);
    return part;
  };

  bytes binary;
  while (auto name = next_part()) {
    if (name->empty()) return errc::invalid_multiaddr;  // "//"
    const protocol_info* protocol = find_protocol(*name);
    if (!protocol) return errc::unknown_multicodec;
    bytes value;
    if (protocol->kind != value_kind::none) {
      auto value_text = next_part();
      if (!value_text) return errc::invalid_multiaddr;
      auto parsed = value_from_text(protocol->kind, *value_text);
      if (!parsed) return parsed.error();
      if (!is_valid_value(protocol->kind, *parsed)) return errc::invalid_multiaddr;
      value = std::move(*parsed);
    }
    append_component(binary, protocol->code, value);
  }
  return multiaddr(std::move(binary));
}

result<multiaddr> multiaddr::from_bytes(bytes_view binary) {
  if (binary.empty()) return errc::invalid_multiaddr;
  bytes_view rest = binary;
  while (!rest.empty()) {
    auto component = read_component(rest);
    if (!component) return component.error();
    rest = rest.subspan(component->length);
  }
  return multiaddr(bytes(binary.begin(), binary.end()));
}

multiaddr multiaddr::from_components(const std::vector<multiaddr_component>& components) {
  bytes binary;
  for (const auto& component : components) append_component(binary, component.code, component.value);
  return multiaddr(std::move(binary));
}

std::string multiaddr::to_string() const {
  std::string out;
  for (const auto& component : split(bytes_)) {
    out += '/';
    out += component.protocol->name;
    if (component.protocol->kind != value_kind::none) {
      out += '/';
      out += value_to_text(component.protocol->kind, component.value);
    }
  }
  return out;
}

std::vector<multiaddr_component> multiaddr::components() const {
  std::vector<multiaddr_component> out;
  for (const auto& component : split(bytes_))
    out.push_back({component.protocol->code, bytes(component.value.begin(), component.value.end())});
  return out;
}

std::optional<std::string> multiaddr::value_for(protocol_code code) const {
  for (const auto& component : split(bytes_))
    if (component.protocol->code == code) return value_to_text(component.protocol->kind, component.value);
  return std::nullopt;
}

bool multiaddr::has(protocol_code code) const {
  for (const auto& component : split(bytes_))
    if (component.protocol->code == code) return true;
  return false;
}

std::optional<peer_id> multiaddr::peer() const {
  const auto parts = split(bytes_);
  if (parts.empty() || parts.back().protocol->code != protocol_code::p2p) return std::nullopt;
  auto id = peer_id::from_bytes(parts.back().value);
  if (!id) return std::nullopt;
  return std::move(*id);
}

multiaddr multiaddr::without_peer() const {
  const auto parts = split(bytes_);
  if (parts.empty() || parts.back().protocol->code != protocol_code::p2p) return *this;
  return multiaddr(bytes(bytes_.begin(), bytes_.end() - static_cast<std::ptrdiff_t>(parts.back().length)));
}

multiaddr multiaddr::encapsulate(const multiaddr& other) const {
  bytes binary = bytes_;
  append(binary, other.bytes_);
  return multiaddr(std::move(binary));
}

multiaddr multiaddr::with_peer(const peer_id& id) const {
  bytes binary = without_peer().bytes_;
  append_component(binary, protocol_code::p2p, id.to_bytes());
  return multiaddr(std::move(binary));
}

}  // namespace p2p
