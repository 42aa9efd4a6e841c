// The mcpServers config parser on arbitrary bytes: it must never crash or throw, give
// either a config or one sentence naming the file, and every accepted server must obey
// the rules the rest of the node relies on (valid name, a command, no NUL anywhere, env
// names without '='). Small limits so the fuzzer reaches them.
#include "mcp/server/config.hpp"
#include "fuzz_support.hpp"
#include "mcp/server/node_settings.hpp"

#include <cstdlib>
#include <string_view>

namespace {

using fuzz::check;

bool has_nul(std::string_view text) { return text.find('\0') != std::string_view::npos; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  mcp::server::config_limits limits;
  limits.max_depth = 16;
  limits.max_servers = 8;
  limits.max_args = 8;
  limits.max_env = 8;
  auto config = mcp::server::parse_config(text, "fuzz.json", limits);
  if (!config) {
    check(config.error().message.rfind("fuzz.json: ", 0) == 0);
    check(config.error().message.size() > 11);
    return 0;
  }
  check(config->servers.size() <= limits.max_servers);
  for (const auto& spec : config->servers) {
    check(mcp::server::is_valid_server_name(spec.name));
    check(!spec.command.empty() && !has_nul(spec.command));
    check(spec.args.size() <= limits.max_args);
    for (const auto& arg : spec.args) check(!has_nul(arg));
    check(spec.env.size() <= limits.max_env);
    for (const auto& [key, value] : spec.env) {
      check(!key.empty() && key.find('=') == std::string::npos && !has_nul(key) && !has_nul(value));
    }
    if (spec.cwd) check(!spec.cwd->empty() && !has_nul(*spec.cwd));
  }
  check(config->node_settings.is_null() || config->node_settings.is_object());
  // The node's own settings from the same file: a value or one sentence naming the key.
  auto settings = mcp::server::parse_node_settings(config->node_settings, "fuzz.json");
  if (auto* error = std::get_if<std::string>(&settings)) {
    check(error->rfind("fuzz.json: p2pmcp", 0) == 0);
  } else {
    const auto& s = std::get<mcp::server::node_settings>(settings);
    check(s.max_message_bytes >= 1024);
    for (const auto& b : s.bootstrap) check(b.address.peer().has_value());
  }
  for (const auto& warning : config->warnings) check(warning.rfind("fuzz.json: ", 0) == 0);
  // Deterministic: the same text gives the same outcome.
  auto again = mcp::server::parse_config(text, "fuzz.json", limits);
  check(again && again->servers.size() == config->servers.size() && again->warnings == config->warnings);
  return 0;
}
