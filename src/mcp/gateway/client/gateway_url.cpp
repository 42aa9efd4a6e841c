#include "mcp/gateway/client/gateway_url.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace mcp::gateway::client {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool is_ipv4(const std::string& text) {
  in_addr address{};
  return inet_pton(AF_INET, text.c_str(), &address) == 1;
}

bool is_ipv6(const std::string& text) {
  in6_addr address{};
  return inet_pton(AF_INET6, text.c_str(), &address) == 1;
}

}  // namespace

p2p::result<gateway_url> parse_url(std::string_view text, std::string* why) {
  const std::string shown(text.substr(0, 200));
  auto fail = [&](std::string reason) -> p2p::result<gateway_url> {
    if (why) {
      *why = "'" + shown + "' is not a usable gateway URL: " + reason +
             " (expected something like http://127.0.0.1:7469/mcp)";
    }
    return p2p::errc::invalid_argument;
  };

  constexpr std::string_view scheme = "http://";
  if (text.size() >= 8 && iequals(text.substr(0, 8), "https://")) {
    return fail("https is not supported, the gateway serves plain HTTP on loopback");
  }
  if (text.size() < scheme.size() || !iequals(text.substr(0, scheme.size()), scheme)) {
    return fail("it must start with http://");
  }
  if (const std::size_t hash = text.find('#'); hash != std::string_view::npos) text = text.substr(0, hash);
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return fail("it contains spaces, control or non-ASCII characters");
    }
  }

  gateway_url url;
  url.text = std::string(text);
  std::string_view rest = text.substr(scheme.size());
  const std::size_t authority_end = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, authority_end);
  const std::string_view path = authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) return fail("user names and passwords are not supported");

  std::string_view host;
  std::string_view port_text;
  bool bracketed = false;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail("the IPv6 address has no closing ']'");
    host = authority.substr(1, close - 1);
    bracketed = true;
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("unexpected text after the IPv6 address");
      port_text = after.substr(1);
    }
  } else {
    const std::size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (host.empty()) return fail("the host is missing");

  if (!port_text.empty()) {
    if (port_text.size() > 5 || !std::all_of(port_text.begin(), port_text.end(),
                                             [](char c) { return c >= '0' && c <= '9'; })) {
      return fail("the port must be a number from 1 to 65535");
    }
    const unsigned long port = std::stoul(std::string(port_text));
    if (port == 0 || port > 65535) return fail("the port must be a number from 1 to 65535");
    url.port = static_cast<std::uint16_t>(port);
  }

  const std::string host_text(host);
  if (bracketed) {
    if (!is_ipv6(host_text)) return fail("'" + host_text + "' is not an IPv6 address");
    url.address = host_text;
    url.host_header = "[" + host_text + "]";
  } else if (iequals(host, "localhost")) {
    url.address = "127.0.0.1";
    url.host_header = "localhost";
  } else if (is_ipv4(host_text)) {
    url.address = host_text;
    url.host_header = host_text;
  } else {
    return fail("only IP addresses and localhost are supported as the host, not '" + host_text + "'");
  }
  url.host_header += ":" + std::to_string(url.port);

  url.target = path.empty() ? "/" : std::string(path);
  if (url.target.front() == '?') url.target.insert(0, "/");
  return url;
}

gateway_url server_endpoint(const gateway_url& base, std::string_view name) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string segment = "/";
  for (const char c : name) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '.' || c == '_' || c == '~') {
      segment += c;
    } else {
      segment += '%';
      segment += digits[byte >> 4];
      segment += digits[byte & 0xf];
    }
  }
  auto insert_at = [&](std::string& text, std::size_t query) {
    if (query == std::string::npos) query = text.size();
    // A path that ends in "/" ("/", "/mcp/") takes the name without another slash.
    text.insert(query, query > 0 && text[query - 1] == '/' ? segment.substr(1) : segment);
  };
  gateway_url url = base;
  insert_at(url.target, url.target.find('?'));
  const auto scheme_end = url.text.find("://");
  const auto path_start = url.text.find_first_of("/?", scheme_end == std::string::npos ? 0 : scheme_end + 3);
  if (path_start == std::string::npos) {
    url.text += segment;
  } else if (url.text[path_start] == '?') {
    url.text.insert(path_start, segment);
  } else {
    insert_at(url.text, url.text.find('?', path_start));
  }
  return url;
}

}  // namespace mcp::gateway::client
