#include "mcp/server/config.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace mcp::server {
namespace {

config_result<server_config> parse(std::string_view text) { return parse_config(text, "servers.json"); }

std::string error_of(std::string_view text) {
  auto config = parse(text);
  EXPECT_FALSE(config.has_value()) << text;
  return config ? std::string() : config.error().message;
}

TEST(mcp_server_config, parses_the_claude_desktop_shape) {
  auto config = parse(R"({
    "mcpServers": {
      "filesystem": {
        "command": "npx",
        "args": ["-y", "@modelcontextprotocol/server-filesystem", "/Users/me/Desktop"],
        "env": {"DEBUG": "1", "API_KEY": "k=v"}
      },
      "git_2": {"command": "/usr/bin/uvx", "cwd": "/srv/repo", "disabled": true},
      "a-b": {"command": "x", "type": "stdio"}
    },
    "globalShortcut": "Ctrl+Space"
  })");
  ASSERT_TRUE(config) << config.error().message;
  ASSERT_EQ(config->servers.size(), 3u);
  // File order, not alphabetical.
  const auto& fs = config->servers[0];
  EXPECT_EQ(fs.name, "filesystem");
  EXPECT_EQ(fs.command, "npx");
  EXPECT_EQ(fs.args, (std::vector<std::string>{"-y", "@modelcontextprotocol/server-filesystem", "/Users/me/Desktop"}));
  ASSERT_EQ(fs.env.size(), 2u);
  EXPECT_EQ(fs.env[0], (std::pair<std::string, std::string>{"DEBUG", "1"}));
  EXPECT_EQ(fs.env[1], (std::pair<std::string, std::string>{"API_KEY", "k=v"}));
  EXPECT_FALSE(fs.cwd);
  EXPECT_FALSE(fs.disabled);
  EXPECT_EQ(config->servers[1].name, "git_2");
  EXPECT_EQ(config->servers[1].cwd, "/srv/repo");
  EXPECT_TRUE(config->servers[1].disabled);
  EXPECT_EQ(config->servers[2].name, "a-b");
  EXPECT_TRUE(config->warnings.empty());
  EXPECT_TRUE(config->node_settings.is_null());
}

TEST(mcp_server_config, node_settings_and_empty_configs) {
  auto config = parse(R"({"p2pmcp": {"listen": ["/ip4/0.0.0.0/tcp/4021"]}})");
  ASSERT_TRUE(config);
  EXPECT_TRUE(config->servers.empty());
  EXPECT_EQ(config->node_settings["listen"][0], "/ip4/0.0.0.0/tcp/4021");
  auto empty = parse(R"({"mcpServers": {}})");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->servers.empty());
  EXPECT_NE(error_of(R"({"p2pmcp": 5})").find("p2pmcp (the node's settings) must be an object"), std::string::npos);
}

TEST(mcp_server_config, server_names_follow_the_tool_name_rules) {
  EXPECT_TRUE(is_valid_server_name("a"));
  EXPECT_TRUE(is_valid_server_name("Files_2-b"));
  EXPECT_TRUE(is_valid_server_name(std::string(32, 'x')));
  EXPECT_FALSE(is_valid_server_name(""));
  EXPECT_FALSE(is_valid_server_name(std::string(33, 'x')));
  EXPECT_FALSE(is_valid_server_name("my server"));
  EXPECT_FALSE(is_valid_server_name("a.b"));
  EXPECT_FALSE(is_valid_server_name("a/b"));
  EXPECT_FALSE(is_valid_server_name("caf\xc3\xa9"));
  EXPECT_EQ(error_of(R"({"mcpServers": {"my server": {"command": "x"}}})"),
            "servers.json: mcpServers: the server name \"my server\" is not allowed: use 1 to 32 letters, digits, "
            "'_' or '-' (names become part of tool names)");
  EXPECT_NE(error_of(R"({"mcpServers": {"": {"command": "x"}}})").find("the server name \"\" is not allowed"),
            std::string::npos);
}

TEST(mcp_server_config, errors_name_the_file_and_the_key) {
  struct expectation {
    const char* text;
    const char* message;
  };
  const expectation cases[] = {
      {R"([1,2])", "servers.json: must contain a JSON object such as {\"mcpServers\": {...}}, not an array"},
      {R"({"mcpServers": []})",
       "servers.json: mcpServers must be an object mapping server names to {\"command\": ...}, not an array"},
      {R"({"mcpServers": {"x": "npx"}})",
       "servers.json: mcpServers.x must be an object such as {\"command\": \"npx\", \"args\": [...]}, not a string"},
      {R"({"mcpServers": {"x": {}}})",
       "servers.json: mcpServers.x has no \"command\": give the program to run, e.g. \"command\": \"npx\""},
      {R"({"mcpServers": {"x": {"command": 5}}})", "servers.json: mcpServers.x.command must be a string, not a number"},
      {R"({"mcpServers": {"x": {"command": ""}}})", "servers.json: mcpServers.x.command is empty: give the program to run"},
      {R"({"mcpServers": {"x": {"command": "a\u0000b"}}})", "servers.json: mcpServers.x.command contains a NUL character"},
      {R"({"mcpServers": {"x": {"command": "a", "args": "-y"}}})",
       "servers.json: mcpServers.x.args must be an array of strings, not a string"},
      {R"({"mcpServers": {"x": {"command": "a", "args": ["-y", 2]}}})",
       "servers.json: mcpServers.x.args[1] must be a string, not a number"},
      {R"({"mcpServers": {"x": {"command": "a", "env": ["A=1"]}}})",
       "servers.json: mcpServers.x.env must be an object of strings such as {\"API_KEY\": \"...\"}, not an array"},
      {R"({"mcpServers": {"x": {"command": "a", "env": {"PORT": 8080}}}})",
       "servers.json: mcpServers.x.env.PORT must be a string, not a number (write it in quotes: \"8080\")"},
      {R"({"mcpServers": {"x": {"command": "a", "env": {"A=B": "1"}}}})",
       "servers.json: mcpServers.x.env: the variable name \"A=B\" must not contain '=' or NUL"},
      {R"({"mcpServers": {"x": {"command": "a", "env": {"": "1"}}}})",
       "servers.json: mcpServers.x.env has an empty variable name"},
      {R"({"mcpServers": {"x": {"command": "a", "cwd": 1}}})",
       "servers.json: mcpServers.x.cwd must be a string (a directory), not a number"},
      {R"({"mcpServers": {"x": {"command": "a", "cwd": ""}}})",
       "servers.json: mcpServers.x.cwd is empty: give a directory or leave it out"},
      {R"({"mcpServers": {"x": {"command": "a", "disabled": "yes"}}})",
       "servers.json: mcpServers.x.disabled must be true or false"},
      {R"({"mcpServers": {"x": {"command": "a", "shared": "yes"}}})",
       "servers.json: mcpServers.x.shared must be true (the server keeps no per-client state, so one process serves "
       "every client) or false"},
      {R"({"mcpServers": {"x": {"command": "a", "maxSessions": 0}}})",
       "servers.json: mcpServers.x.maxSessions is 0; it must be a whole number from 1 to 1024 (client sessions with a "
       "process of their own at a time)"},
      {R"({"mcpServers": {"x": {"command": "a", "maxSessions": 1025}}})",
       "servers.json: mcpServers.x.maxSessions is 1025; it must be a whole number from 1 to 1024 (client sessions "
       "with a process of their own at a time)"},
      {R"({"mcpServers": {"x": {"command": "a", "maxSessions": -3}}})",
       "servers.json: mcpServers.x.maxSessions is -3; it must be a whole number from 1 to 1024 (client sessions with "
       "a process of their own at a time)"},
      {R"({"mcpServers": {"x": {"command": "a", "maxSessions": 2.5}}})",
       "servers.json: mcpServers.x.maxSessions must be a whole number from 1 to 1024 (client sessions with a process "
       "of their own at a time), not 2.5"},
      {R"({"mcpServers": {"x": {"command": "a", "maxSessions": "16"}}})",
       "servers.json: mcpServers.x.maxSessions must be a whole number from 1 to 1024 (client sessions with a process "
       "of their own at a time), not a string"},
      {R"({"mcpServers": {"x": {"command": "a", "warmSessions": 9}}})",
       "servers.json: mcpServers.x.warmSessions is 9; it must be a whole number from 0 to 8 (processes started ahead "
       "of need)"},
      {R"({"mcpServers": {"x": {"command": "a", "warmSessions": 18446744073709551615}}})",
       "servers.json: mcpServers.x.warmSessions is 18446744073709551615; it must be a whole number from 0 to 8 "
       "(processes started ahead of need)"},
      {R"({"mcpServers": {"x": {"command": "a", "type": 1}}})",
       "servers.json: mcpServers.x.type must be a string such as \"stdio\""},
      {R"({"mcpServers": {"x": {"command": "a"}, "x": {"command": "b"}}})",
       "servers.json: defines the server \"x\" twice in mcpServers"},
      {R"({"mcpServers": {}, "mcpServers": {}})", "servers.json: has the key \"mcpServers\" twice at the top level"},
  };
  for (const auto& c : cases) EXPECT_EQ(error_of(c.text), c.message) << c.text;
}

TEST(mcp_server_config, session_settings) {
  auto config = parse(R"({"mcpServers": {
    "plain": {"command": "a"},
    "stateless": {"command": "b", "shared": true},
    "busy": {"command": "c", "shared": false, "maxSessions": 1024, "warmSessions": 0},
    "small": {"command": "d", "maxSessions": 1, "warmSessions": 8}
  }})");
  ASSERT_TRUE(config) << config.error().message;
  ASSERT_EQ(config->servers.size(), 4u);
  EXPECT_TRUE(config->warnings.empty());
  const auto& plain = config->servers[0];
  EXPECT_FALSE(plain.shared);
  EXPECT_EQ(plain.max_sessions, default_max_sessions);
  EXPECT_EQ(plain.max_sessions, 16u);
  EXPECT_EQ(plain.warm_sessions, 1u);
  EXPECT_TRUE(config->servers[1].shared);
  EXPECT_FALSE(config->servers[2].shared);
  EXPECT_EQ(config->servers[2].max_sessions, 1024u);
  EXPECT_EQ(config->servers[2].warm_sessions, 0u);
  EXPECT_EQ(config->servers[3].max_sessions, 1u);
  EXPECT_EQ(config->servers[3].warm_sessions, 8u);
}

TEST(mcp_server_config, invalid_json_says_where) {
  const std::string message = error_of("{\n  \"mcpServers\": {\n    \"x\": {\"command\": \"a\",}\n  }\n}");
  EXPECT_EQ(message.rfind("servers.json: is not valid JSON: parse error at line 3, column", 0), 0u) << message;
  EXPECT_EQ(error_of("").rfind("servers.json: is not valid JSON", 0), 0u);
  EXPECT_EQ(error_of("{\"a\": \"\xff\"}").rfind("servers.json: is not valid JSON", 0), 0u);
}

TEST(mcp_server_config, remote_servers_and_unknown_keys_are_skipped_with_warnings) {
  auto config = parse(R"({"mcpServers": {
      "remote": {"url": "https://example.com/mcp"},
      "http": {"type": "http", "url": "https://example.com/mcp"},
      "local": {"command": "x", "autoApprove": ["a"], "timeout": 60}
  }})");
  ASSERT_TRUE(config) << config.error().message;
  ASSERT_EQ(config->servers.size(), 1u);
  EXPECT_EQ(config->servers[0].name, "local");
  ASSERT_EQ(config->warnings.size(), 4u);
  EXPECT_EQ(config->warnings[0],
            "servers.json: mcpServers.remote is a remote server (\"url\"); p2pmcp hosts stdio servers only, so it is "
            "skipped");
  EXPECT_EQ(config->warnings[1],
            "servers.json: mcpServers.http is a remote server (type \"http\"); p2pmcp hosts stdio servers only, so it "
            "is skipped");
  EXPECT_EQ(config->warnings[2], "servers.json: mcpServers.local.autoApprove is not used by p2pmcp and is ignored");
  EXPECT_EQ(config->warnings[3], "servers.json: mcpServers.local.timeout is not used by p2pmcp and is ignored");
}

TEST(mcp_server_config, odd_keys_are_quoted_in_messages) {
  EXPECT_EQ(error_of(R"({"mcpServers": {"x": {"command": "a", "env": {"MY VAR": 1}}}})"),
            "servers.json: mcpServers.x.env[\"MY VAR\"] must be a string, not a number (write it in quotes: \"1\")");
  auto config = parse(R"({"mcpServers": {"x": {"command": "a", "we\"ird\n": 1}}})");
  ASSERT_TRUE(config);
  ASSERT_EQ(config->warnings.size(), 1u);
  EXPECT_EQ(config->warnings[0], "servers.json: mcpServers.x[\"we\\\"ird\\n\"] is not used by p2pmcp and is ignored");
}

TEST(mcp_server_config, limits_hold) {
  std::string deep(200, '[');
  deep += std::string(200, ']');
  EXPECT_EQ(error_of(deep), "servers.json: nests arrays and objects deeper than 64 levels");
  std::string nested = R"({"p2pmcp": )" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_EQ(error_of(nested), "servers.json: nests arrays and objects deeper than 64 levels");

  config_limits limits;
  limits.max_servers = 2;
  limits.max_args = 1;
  auto many = parse_config(R"({"mcpServers": {"a": {"command": "x"}, "b": {"command": "x"}, "c": {"command": "x"}}})",
                           "f", limits);
  ASSERT_FALSE(many);
  EXPECT_EQ(many.error().message, "f: mcpServers has 3 servers; at most 2 are supported");
  auto args = parse_config(R"({"mcpServers": {"a": {"command": "x", "args": ["1", "2"]}}})", "f", limits);
  ASSERT_FALSE(args);
  EXPECT_EQ(args.error().message, "f: mcpServers.a.args has more than 1 arguments");
  limits.max_file_size = 10;
  EXPECT_FALSE(parse_config(R"({"mcpServers": {}})", "f", limits));
}

TEST(mcp_server_config, load_config_reads_files_and_resolves_relative_cwd) {
  const auto dir = std::filesystem::temp_directory_path() / ("mcp_server_config_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / "servers.json";
  {
    std::ofstream out(file);
    out << R"({"mcpServers": {"a": {"command": "x", "cwd": "work/../data"}, "b": {"command": "y", "cwd": "/abs"}}})";
  }
  auto config = load_config(file);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->servers[0].cwd, (dir / "data").string());
  EXPECT_EQ(config->servers[1].cwd, "/abs");

  auto missing = load_config(dir / "nope.json");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message.rfind((dir / "nope.json").string() + ": cannot be read: ", 0), 0u);

  {
    std::ofstream out(file);
    out << R"({"mcpServers": {"a": {"command": 1}}})";
  }
  auto bad = load_config(file);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, file.string() + ": mcpServers.a.command must be a string, not a number");
  EXPECT_THROW(bad.value(), std::runtime_error);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mcp::server
