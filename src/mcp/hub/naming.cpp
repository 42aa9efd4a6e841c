#include "mcp/hub/naming.hpp"

#include <cstdint>

namespace mcp::hub {

namespace {

bool is_name_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// FNV-1a 32: small, stable across platforms and versions (std::hash is neither).
std::uint32_t fnv1a(std::string_view a, std::string_view b) noexcept {
  std::uint32_t h = 2166136261u;
  auto mix = [&h](std::string_view text) {
    for (char c : text) {
      h ^= static_cast<unsigned char>(c);
      h *= 16777619u;
    }
  };
  mix(a);
  mix(std::string_view("\0", 1));  // "ab"+"c" and "a"+"bc" differ
  mix(b);
  return h;
}

}  // namespace

bool is_valid_exposed_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > max_exposed_name) return false;
  for (char c : name)
    if (!is_name_char(c)) return false;
  return true;
}

std::string expose_name(std::string_view prefix, std::string_view name) {
  std::string plain;
  if (!prefix.empty()) {
    plain.reserve(prefix.size() + 1 + name.size());
    plain.append(prefix).push_back('_');
  }
  plain.append(name);
  if (is_valid_exposed_name(plain)) return plain;

  // Shortened and made valid, then "_" + 8 hex digits: 55 + 1 + 8 = 64.
  static constexpr std::size_t keep = max_exposed_name - 9;
  std::string out;
  out.reserve(max_exposed_name);
  for (char c : plain) {
    if (out.size() == keep) break;
    out.push_back(is_name_char(c) ? c : '-');
  }
  static constexpr char hex[] = "0123456789abcdef";
  const std::uint32_t h = fnv1a(prefix, name);
  out.push_back('_');
  for (int shift = 28; shift >= 0; shift -= 4) out.push_back(hex[(h >> shift) & 0xf]);
  return out;
}

std::string default_alias(std::string_view peer_id_text) {
  static constexpr std::size_t length = 6;
  if (peer_id_text.size() <= length) return std::string(peer_id_text);
  return std::string(peer_id_text.substr(peer_id_text.size() - length));
}

std::string expose_uri(std::string_view prefix, std::string_view uri) {
  if (prefix.empty()) return std::string(uri);
  std::string out;
  out.reserve(uri_scheme.size() + prefix.size() + 1 + uri.size());
  out.append(uri_scheme).append(prefix).push_back('/');
  out.append(uri);
  return out;
}

std::optional<std::pair<std::string, std::string>> parse_exposed_uri(std::string_view uri) {
  if (uri.substr(0, uri_scheme.size()) != uri_scheme) return std::nullopt;
  uri.remove_prefix(uri_scheme.size());
  const auto slash = uri.find('/');
  if (slash == std::string_view::npos || slash == 0) return std::nullopt;
  return std::pair<std::string, std::string>(std::string(uri.substr(0, slash)),
                                             std::string(uri.substr(slash + 1)));
}

}  // namespace mcp::hub
