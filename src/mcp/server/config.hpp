// The hosted-server config: the "mcpServers" file MCP users already write for Claude
// Desktop, Cursor or VS Code, read by the node to know which stdio MCP servers it hosts:
//
//   {
//     "mcpServers": {
//       "files": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/srv"],
//                 "env": {"DEBUG": "1"}, "cwd": "/srv", "disabled": false,
//                 "maxSessions": 16, "warmSessions": 1},
//       "time": {"command": "uvx", "args": ["mcp-server-time"], "shared": true}
//     },
//     "p2pmcp": { ...the node's own settings, interpreted by the app... }
//   }
//
// Only this local file can make the node spawn a process; nothing a peer sends names a
// command. Parsing never throws and never crashes on any input (fuzzed): every problem
// is a sentence naming the file and the offending key, e.g.
//   "servers.json: mcpServers.files.args[2] must be a string".
#pragma once

#include "mcp/jsonrpc/json.hpp"

#include <boost/system/result.hpp>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mcp::server {

// Server names become parts of tool names ("<server>_<tool>"), so they are short and
// plain: ^[a-zA-Z0-9_-]{1,32}$.
inline constexpr std::size_t max_server_name_length = 32;
bool is_valid_server_name(std::string_view name) noexcept;

// Client sessions per hosted server (stdio_pool.hpp): "maxSessions" and "warmSessions".
inline constexpr std::size_t default_max_sessions = 16;
inline constexpr std::size_t max_max_sessions = 1024;
inline constexpr std::size_t default_warm_sessions = 1;
inline constexpr std::size_t max_warm_sessions = 8;

// One hosted stdio MCP server.
struct server_spec {
  std::string name;
  // The program: a path (contains '/'; relative paths resolve against cwd in the child,
  // as execvp would), or a name searched in PATH (the merged environment's PATH).
  std::string command;
  std::vector<std::string> args;
  // Set over the node's environment for the child, in file order.
  std::vector<std::pair<std::string, std::string>> env;
  // The child's working directory; nullopt inherits the node's. load_config makes a
  // relative cwd absolute against the config file's directory.
  std::optional<std::string> cwd;
  // "disabled": true keeps the entry in the list (the app can show it) but it is not run.
  bool disabled = false;
  // "shared": true declares the server stateless: every client session uses the one
  // child the node keeps running. Otherwise (the default) each client session gets a
  // child of its own (stdio_pool.hpp), at most max_sessions at a time, with
  // warm_sessions started ahead of need.
  bool shared = false;
  std::size_t max_sessions = default_max_sessions;    // "maxSessions": 1..1024
  std::size_t warm_sessions = default_warm_sessions;  // "warmSessions": 0..8
};

struct server_config {
  // Every valid stdio entry of "mcpServers", in file order (disabled ones included).
  std::vector<server_spec> servers;
  // The top-level "p2pmcp" object (the node's own settings), or null when absent. This
  // module does not interpret it.
  mcp::json node_settings;
  // Sentences about things ignored, e.g. an entry with a "url" (a remote server, not
  // hosted) or an unknown key. The app logs them.
  std::vector<std::string> warnings;
};

// A problem with the file, as one sentence that names the file and the key.
struct config_error {
  std::string message;
};
// For boost::system::result<T, config_error>::value(): throws std::runtime_error(message).
[[noreturn]] void throw_exception_from_error(const config_error& e, const boost::source_location& loc);

template <class T>
using config_result = boost::system::result<T, config_error>;

struct config_limits {
  std::size_t max_file_size = 4 * 1024 * 1024;
  std::size_t max_depth = 64;  // nesting of arrays/objects anywhere in the file
  std::size_t max_servers = 256;
  std::size_t max_args = 1024;
  std::size_t max_env = 1024;
};

// Parses the text of a config file. `file_name` only labels the messages. Accepted:
// a top-level object; "mcpServers" (optional: a node may host nothing) mapping names to
// entries with "command" (required, non-empty string), "args" (array of strings), "env"
// (object of string values; keys non-empty without '='), "cwd" (non-empty string),
// "disabled" (boolean), "type" ("stdio" or absent), "shared" (boolean), "maxSessions"
// (whole number 1..1024), "warmSessions" (whole number 0..8). Entries for remote servers ("url",
// or "type" "http"/"sse"/"streamable-http") are skipped with a warning, as are unknown
// keys. No string may contain a NUL character. Duplicate server names are an error.
// Never throws.
config_result<server_config> parse_config(std::string_view text, std::string_view file_name,
                                          const config_limits& limits = {});

// Reads and parses `path` (errors: cannot be read, larger than limits.max_file_size)
// and makes relative "cwd" values absolute against the file's directory. Never throws.
config_result<server_config> load_config(const std::filesystem::path& path, const config_limits& limits = {});

}  // namespace mcp::server
