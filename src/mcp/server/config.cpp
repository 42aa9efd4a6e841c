#include "mcp/server/config.hpp"

#include <cctype>
#include <cstdint>
#include <fstream>
#include <set>
#include <stdexcept>
#include <system_error>

namespace mcp::server {

namespace {

// ordered_json keeps the file's order, so servers and warnings come out as written.
using ordered_json = nlohmann::ordered_json;

// Keys read in an entry. "type" and "url" come from VS Code / Cursor configs.
constexpr std::string_view known_keys[] = {"command",     "args",        "env",          "cwd",  "disabled",
                                           "shared",      "maxSessions", "warmSessions", "type", "url"};

bool is_known_key(std::string_view key) {
  for (auto k : known_keys)
    if (k == key) return true;
  return false;
}

// Keys and names are quoted in messages as JSON strings so that odd characters (quotes,
// control characters, invalid UTF-8) read unambiguously and never break a log line.
std::string json_quoted(std::string_view text) {
  return nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// A path to a key as users write it: mcpServers.files.env.PORT; names that are not
// plain identifiers are quoted.
std::string member(std::string_view path, std::string_view key) {
  bool plain = !key.empty();
  for (char c : key)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) plain = false;
  return std::string(path) + (plain ? "." + std::string(key) : "[" + json_quoted(key) + "]");
}

bool has_nul(std::string_view text) { return text.find('\0') != std::string_view::npos; }

const char* type_name(const ordered_json& value) {
  switch (value.type()) {
    case ordered_json::value_t::null: return "null";
    case ordered_json::value_t::object: return "an object";
    case ordered_json::value_t::array: return "an array";
    case ordered_json::value_t::string: return "a string";
    case ordered_json::value_t::boolean: return "a boolean";
    case ordered_json::value_t::binary: return "binary";
    case ordered_json::value_t::discarded: return "invalid";
    default: return "a number";
  }
}

class parser {
 public:
  parser(std::string_view file_name, const config_limits& limits) : file_(file_name), limits_(limits) {}

  config_result<server_config> run(std::string_view text) {
    ordered_json root;
    try {
      root = ordered_json::parse(text.begin(), text.end(), callback(), /*allow_exceptions=*/true);
    } catch (const nlohmann::json::exception& e) {
      if (too_deep_) return fail("nests arrays and objects deeper than " + std::to_string(limits_.max_depth) + " levels");
      std::string what = e.what();
      // "[json.exception.parse_error.101] parse error at line 3, column 5: ..." -> the
      // part after the bracket, which says where.
      if (auto bracket = what.find("] "); bracket != std::string::npos) what.erase(0, bracket + 2);
      return fail("is not valid JSON: " + what);
    }
    if (too_deep_) return fail("nests arrays and objects deeper than " + std::to_string(limits_.max_depth) + " levels");
    if (!duplicate_top_key_.empty())
      return fail("has the key " + json_quoted(duplicate_top_key_) + " twice at the top level");
    if (!duplicate_server_.empty())
      return fail("defines the server " + json_quoted(duplicate_server_) + " twice in mcpServers");
    if (!root.is_object())
      return fail("must contain a JSON object such as {\"mcpServers\": {...}}, not " + std::string(type_name(root)));

    server_config config;
    if (auto settings = root.find("p2pmcp"); settings != root.end()) {
      if (!settings->is_object()) return fail("p2pmcp (the node's settings) must be an object");
      config.node_settings = *settings;  // depth is bounded above
    }
    auto servers = root.find("mcpServers");
    if (servers == root.end()) return config;  // a node that hosts nothing
    if (!servers->is_object())
      return fail("mcpServers must be an object mapping server names to {\"command\": ...}, not " +
                  std::string(type_name(*servers)));
    if (servers->size() > limits_.max_servers)
      return fail("mcpServers has " + std::to_string(servers->size()) + " servers; at most " +
                  std::to_string(limits_.max_servers) + " are supported");
    for (auto it = servers->begin(); it != servers->end(); ++it) {
      auto spec = entry(it.key(), it.value(), config.warnings);
      if (!spec) return spec.error();
      if (*spec) config.servers.push_back(std::move(**spec));
    }
    return config;
  }

 private:
  // Rejects deep nesting while parsing (discarding it, so nothing deep is ever built:
  // copying and comparing json values recurse) and records duplicate keys, which
  // nlohmann would silently resolve to the last one.
  ordered_json::parser_callback_t callback() {
    return [this](int depth, ordered_json::parse_event_t event, ordered_json& parsed) {
      using ev = ordered_json::parse_event_t;
      if ((event == ev::object_start || event == ev::array_start) &&
          static_cast<std::size_t>(depth) >= limits_.max_depth) {
        too_deep_ = true;
        return false;
      }
      if (event == ev::key && depth == 1) {
        top_key_ = parsed.is_string() ? parsed.get<std::string>() : std::string();
        if (!top_keys_.insert(top_key_).second && duplicate_top_key_.empty()) duplicate_top_key_ = top_key_;
      } else if (event == ev::object_start && depth == 1) {
        in_servers_ = top_key_ == "mcpServers";
        names_.clear();
      } else if (event == ev::object_end && depth == 1) {
        in_servers_ = false;
      } else if (event == ev::key && depth == 2 && in_servers_ && parsed.is_string()) {
        auto name = parsed.get<std::string>();
        if (!names_.insert(name).second && duplicate_server_.empty()) duplicate_server_ = std::move(name);
      }
      return true;
    };
  }

  // nullopt inside: skipped with a warning.
  config_result<std::optional<server_spec>> entry(const std::string& name, const ordered_json& value,
                                                  std::vector<std::string>& warnings) {
    const std::string path = member("mcpServers", name);
    if (!is_valid_server_name(name))
      return fail("mcpServers: the server name " + json_quoted(name) +
                  " is not allowed: use 1 to 32 letters, digits, '_' or '-' (names become part of tool names)");
    if (!value.is_object())
      return fail(path + " must be an object such as {\"command\": \"npx\", \"args\": [...]}, not " +
                  std::string(type_name(value)));

    std::string type;
    if (auto t = value.find("type"); t != value.end()) {
      if (!t->is_string()) return fail(member(path, "type") + " must be a string such as \"stdio\"");
      type = t->get<std::string>();
    }
    if (value.contains("url") || (!type.empty() && type != "stdio")) {
      warnings.push_back(file_ + ": " + path + " is a remote server (" +
                         (type.empty() ? std::string("\"url\"") : "type " + json_quoted(type)) +
                         "); p2pmcp hosts stdio servers only, so it is skipped");
      return std::optional<server_spec>();
    }

    server_spec spec;
    spec.name = name;
    auto command = value.find("command");
    if (command == value.end())
      return fail(path + " has no \"command\": give the program to run, e.g. \"command\": \"npx\"");
    if (!command->is_string()) return fail(member(path, "command") + " must be a string, not " + type_name(*command));
    spec.command = command->get<std::string>();
    if (spec.command.empty()) return fail(member(path, "command") + " is empty: give the program to run");
    if (has_nul(spec.command)) return fail(member(path, "command") + " contains a NUL character");

    if (auto args = value.find("args"); args != value.end()) {
      const std::string args_path = member(path, "args");
      if (!args->is_array()) return fail(args_path + " must be an array of strings, not " + type_name(*args));
      if (args->size() > limits_.max_args)
        return fail(args_path + " has more than " + std::to_string(limits_.max_args) + " arguments");
      for (std::size_t i = 0; i < args->size(); ++i) {
        const auto& arg = (*args)[i];
        const std::string arg_path = args_path + "[" + std::to_string(i) + "]";
        if (!arg.is_string()) return fail(arg_path + " must be a string, not " + type_name(arg));
        if (has_nul(arg.get_ref<const std::string&>())) return fail(arg_path + " contains a NUL character");
        spec.args.push_back(arg.get<std::string>());
      }
    }

    if (auto env = value.find("env"); env != value.end()) {
      const std::string env_path = member(path, "env");
      if (!env->is_object())
        return fail(env_path + " must be an object of strings such as {\"API_KEY\": \"...\"}, not " +
                    std::string(type_name(*env)));
      if (env->size() > limits_.max_env)
        return fail(env_path + " has more than " + std::to_string(limits_.max_env) + " variables");
      for (auto var = env->begin(); var != env->end(); ++var) {
        const std::string& key = var.key();
        const std::string var_path = member(env_path, key);
        if (key.empty()) return fail(env_path + " has an empty variable name");
        if (key.find('=') != std::string::npos || has_nul(key))
          return fail(env_path + ": the variable name " + json_quoted(key) + " must not contain '=' or NUL");
        if (!var.value().is_string()) {
          std::string hint = var.value().is_primitive() && !var.value().is_null()
                                 ? " (write it in quotes: " + json_quoted(var.value().dump()) + ")"
                                 : "";
          return fail(var_path + " must be a string, not " + type_name(var.value()) + hint);
        }
        if (has_nul(var.value().get_ref<const std::string&>())) return fail(var_path + " contains a NUL character");
        spec.env.emplace_back(key, var.value().get<std::string>());
      }
    }

    if (auto cwd = value.find("cwd"); cwd != value.end()) {
      if (!cwd->is_string()) return fail(member(path, "cwd") + " must be a string (a directory), not " + type_name(*cwd));
      const auto& dir = cwd->get_ref<const std::string&>();
      if (dir.empty()) return fail(member(path, "cwd") + " is empty: give a directory or leave it out");
      if (has_nul(dir)) return fail(member(path, "cwd") + " contains a NUL character");
      spec.cwd = dir;
    }

    if (auto disabled = value.find("disabled"); disabled != value.end()) {
      if (!disabled->is_boolean()) return fail(member(path, "disabled") + " must be true or false");
      spec.disabled = disabled->get<bool>();
    }

    if (auto shared = value.find("shared"); shared != value.end()) {
      if (!shared->is_boolean())
        return fail(member(path, "shared") + " must be true (the server keeps no per-client state, so one process " +
                    "serves every client) or false");
      spec.shared = shared->get<bool>();
    }
    if (auto error = whole_number(value, path, "maxSessions", 1, max_max_sessions,
                                  "client sessions with a process of their own at a time", spec.max_sessions))
      return *error;
    if (auto error = whole_number(value, path, "warmSessions", 0, max_warm_sessions,
                                  "processes started ahead of need", spec.warm_sessions))
      return *error;

    for (auto key = value.begin(); key != value.end(); ++key)
      if (!is_known_key(key.key()))
        warnings.push_back(file_ + ": " + member(path, key.key()) + " is not used by p2pmcp and is ignored");
    return std::optional<server_spec>(std::move(spec));
  }

  config_error fail(const std::string& what) const { return config_error{file_ + ": " + what}; }

  // An optional whole-number key in [low, high]; `meaning` says what it counts.
  std::optional<config_error> whole_number(const ordered_json& entry, const std::string& path, std::string_view key,
                                           std::size_t low, std::size_t high, std::string_view meaning,
                                           std::size_t& out) const {
    auto found = entry.find(std::string(key));
    if (found == entry.end()) return std::nullopt;
    const std::string range = "a whole number from " + std::to_string(low) + " to " + std::to_string(high) + " (" +
                              std::string(meaning) + ")";
    if (!found->is_number_integer())
      return fail(member(path, key) + " must be " + range + ", not " +
                  (found->is_number() ? found->dump() : std::string(type_name(*found))));
    const bool negative = found->is_number_integer() && !found->is_number_unsigned() && found->get<std::int64_t>() < 0;
    if (negative || found->get<std::uint64_t>() < low || found->get<std::uint64_t>() > high)
      return fail(member(path, key) + " is " + found->dump() + "; it must be " + range);
    out = static_cast<std::size_t>(found->get<std::uint64_t>());
    return std::nullopt;
  }

  std::string file_;
  const config_limits& limits_;
  bool too_deep_ = false;
  std::string top_key_;
  std::set<std::string> top_keys_;
  bool in_servers_ = false;
  std::set<std::string> names_;
  std::string duplicate_top_key_;
  std::string duplicate_server_;
};

}  // namespace

bool is_valid_server_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > max_server_name_length) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

void throw_exception_from_error(const config_error& e, const boost::source_location&) {
  throw std::runtime_error(e.message);
}

config_result<server_config> parse_config(std::string_view text, std::string_view file_name,
                                          const config_limits& limits) {
  if (text.size() > limits.max_file_size)
    return config_error{std::string(file_name) + ": is " + std::to_string(text.size()) +
                        " bytes, over the limit of " + std::to_string(limits.max_file_size)};
  try {
    return parser(file_name, limits).run(text);
  } catch (const std::exception& e) {
    // Only allocation failure can get here; still a sentence, never a crash.
    return config_error{std::string(file_name) + ": could not be read: " + e.what()};
  }
}

config_result<server_config> load_config(const std::filesystem::path& path, const config_limits& limits) {
  const std::string name = path.string();
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return config_error{name + ": cannot be read: " + ec.message()};
  if (size > limits.max_file_size)
    return config_error{name + ": is " + std::to_string(size) + " bytes, over the limit of " +
                        std::to_string(limits.max_file_size)};
  std::ifstream in(path, std::ios::binary);
  if (!in) return config_error{name + ": cannot be opened"};
  std::string text(static_cast<std::size_t>(size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  auto config = parse_config(text, name, limits);
  if (!config) return config;
  std::filesystem::path base = path.parent_path();
  if (base.empty()) base = std::filesystem::current_path(ec);
  for (auto& spec : config->servers) {
    if (spec.cwd && std::filesystem::path(*spec.cwd).is_relative() && !base.empty())
      spec.cwd = (std::filesystem::absolute(base, ec) / *spec.cwd).lexically_normal().string();
  }
  return config;
}

}  // namespace mcp::server
