#include "client_commands.hpp"

#include "node.hpp"

#include "mcp/gateway/client/gateway_url.hpp"
#include "mcp/gateway/client/http_client.hpp"
#include "mcp/gateway/client/stdio_bridge.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>
#include "mcp/jsonrpc/json.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <exception>
#include <fstream>
#include <functional>
#include <sstream>
#include <vector>

namespace p2pmcp {
namespace {

namespace fs = std::filesystem;
namespace client = mcp::gateway::client;
using json = mcp::json;
using client::task;

int fail(const std::string& sentence, int status = 1) {
  std::fprintf(stderr, "p2pmcp: %s\n", sentence.c_str());
  return status;
}

// Where the gateway is, or why we cannot tell.
struct gateway_lookup {
  std::optional<client::gateway_url> url;
  bool from_node_file = false;
  std::string problem;  // when !url
  int status = 1;       // when !url: 2 for a bad --gateway-url
};

std::string start_hint(const fs::path& home) {
  return fmt::format("start one with `p2pmcp up --home {}`", home.string());
}

std::string not_running(const fs::path& home) {
  return fmt::format("no p2pmcp node is running with home {} ({})", home.string(), start_hint(home));
}

gateway_lookup find_gateway(const client_options& options) {
  gateway_lookup lookup;
  if (options.gateway_url) {
    std::string why;
    auto url = client::parse_url(*options.gateway_url, &why);
    if (!url) {
      lookup.problem = "--gateway-url: " + why;
      lookup.status = 2;
    } else {
      lookup.url = std::move(*url);
    }
    return lookup;
  }
  const fs::path path = options.home / "node.json";
  std::ifstream file(path);
  if (!file) {
    lookup.problem = not_running(options.home);
    return lookup;
  }
  std::stringstream text;
  text << file.rdbuf();
  const json info = json::parse(text.str(), nullptr, false);
  if (!info.is_object()) {
    lookup.problem = fmt::format("cannot read {}: it is not a JSON object (remove it if no node is running, "
                                 "or restart the node)",
                                 path.string());
    return lookup;
  }
  // A node that died without cleaning up leaves node.json behind; its pid tells.
  if (const auto pid = info.find("pid"); pid != info.end() && pid->is_number_integer() && pid->get<long long>() > 0 &&
                                         pid->get<long long>() <= 0x7fffffff) {
    if (::kill(static_cast<pid_t>(pid->get<long long>()), 0) != 0 && errno == ESRCH) {
      lookup.problem = not_running(options.home);
      return lookup;
    }
  }
  const auto gateway = info.find("gateway");
  if (gateway == info.end() || !gateway->is_string()) {
    lookup.problem = fmt::format(
        "the p2pmcp node with home {} runs without an MCP gateway (--no-gateway); restart it without "
        "--no-gateway to use this command",
        options.home.string());
    return lookup;
  }
  std::string why;
  auto url = client::parse_url(gateway->get<std::string>(), &why);
  if (!url) {
    lookup.problem = fmt::format("{} names a gateway this command cannot use: {}", path.string(), why);
    return lookup;
  }
  lookup.url = std::move(*url);
  lookup.from_node_file = true;
  return lookup;
}

// The client's last error, with a hint where the URL came from node.json.
std::string explain(const client::http_client& http, const gateway_lookup& lookup, const client_options& options,
                    const p2p::error_code& ec) {
  if (ec == p2p::errc::unreachable && lookup.from_node_file) {
    return fmt::format("{} (the node with home {} may have stopped; {})", http.last_error(), options.home.string(),
                       start_hint(options.home));
  }
  return http.last_error();
}

// Runs `body(client)` on a fresh io_context and closes the client afterwards.
template <class Body>
int with_client(const client::gateway_url& url, Body body) {
  boost::asio::io_context io(1);
  client::client_config config;
  config.listen = false;  // one-shot commands need no stream of the node's own messages
  config.client_name = "p2pmcp-cli";
  config.client_version = version;
  client::http_client http(io.get_executor(), url, config);
  int status = 1;
  std::exception_ptr failure;
  auto run = [&]() -> task<void> {
    try {
      status = co_await body(http);
    } catch (...) {
      failure = std::current_exception();
    }
    co_await http.close();
  };
  boost::asio::co_spawn(io, run(), [&](std::exception_ptr e) {
    if (e && !failure) failure = e;
  });
  io.run();
  if (failure) std::rethrow_exception(failure);
  return status;
}

// ---- building requests (outside coroutines: GCC 12 miscompiles braced json there) ----

json list_params(const std::optional<std::string>& cursor) {
  json params = json::object();
  if (cursor) params["cursor"] = *cursor;
  return params;
}

json call_params(const std::string& tool, json arguments) {
  return {{"name", tool}, {"arguments", std::move(arguments)}};
}

// ---- rendering ----

std::string first_line(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

void print_line(std::FILE* out, const std::string& text) {
  std::fputs(text.c_str(), out);
  if (text.empty() || text.back() != '\n') std::fputc('\n', out);
}

// The text of a CallToolResult's contents, one block per item.
std::string render_content(const json& result) {
  std::string out;
  const auto content = result.find("content");
  if (content == result.end() || !content->is_array()) return out;
  for (const json& item : *content) {
    if (!item.is_object()) continue;
    const std::string type = item.value("type", "");
    std::string block;
    if (type == "text") {
      block = item.value("text", "");
    } else if (type == "image" || type == "audio") {
      const std::size_t base64 = item.contains("data") && item["data"].is_string() ? item["data"].get_ref<const std::string&>().size() : 0;
      block = fmt::format("[{}: {}, {} bytes]", type, item.value("mimeType", "unknown type"), base64 / 4 * 3);
    } else if (type == "resource_link") {
      block = fmt::format("[resource link: {}]", item.value("uri", ""));
    } else if (type == "resource" && item.contains("resource") && item["resource"].is_object()) {
      const json& resource = item["resource"];
      if (resource.contains("text") && resource["text"].is_string()) {
        block = resource["text"].get<std::string>();
      } else {
        block = fmt::format("[resource: {}, {}]", resource.value("uri", ""), resource.value("mimeType", "binary"));
      }
    } else {
      block = item.dump(-1, ' ', false, json::error_handler_t::replace);
    }
    if (!out.empty() && out.back() != '\n') out += '\n';
    out += block;
  }
  return out;
}

std::string compact(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }
std::string pretty(const json& value) { return value.dump(2, ' ', false, json::error_handler_t::replace); }

std::string pad(const std::string& text, std::size_t width) {
  return text.size() >= width ? text : text + std::string(width - text.size(), ' ');
}

void print_tools(const json& tools) {
  if (tools.empty()) {
    std::printf("no tools\n");
    return;
  }
  std::size_t width = 4;
  for (const json& tool : tools) width = std::max(width, tool.value("name", "").size());
  width = std::min<std::size_t>(width, 48);
  std::printf("%s  %s\n", pad("NAME", width).c_str(), "DESCRIPTION");
  for (const json& tool : tools) {
    const std::string name = tool.value("name", "");
    std::string description = first_line(tool.value("description", ""));
    if (description.empty()) description = tool.value("title", "");
    std::printf("%s  %s\n", pad(name, width).c_str(), description.c_str());
  }
}

std::string format_latency(const json& latency) {
  if (!latency.is_number()) return "-";
  const double ms = latency.get<double>();
  return ms < 10 ? fmt::format("{:.1f} ms", ms) : fmt::format("{:.0f} ms", ms);
}

std::string format_servers(const json& servers) {
  if (!servers.is_array() || servers.empty()) return "-";
  std::string out;
  for (const json& server : servers) {
    const std::string name = server.is_string() ? server.get<std::string>()
                             : server.is_object() ? server.value("name", compact(server))
                                                  : compact(server);
    out += (out.empty() ? "" : ", ") + name;
  }
  return out;
}

void print_peers(const json& peers) {
  if (!peers.is_array() || peers.empty()) {
    std::printf("no known peers\n");
    return;
  }
  struct row {
    std::string alias, peer, connected, trusted, latency, servers;
  };
  std::vector<row> rows{{"ALIAS", "PEER ID", "CONNECTED", "TRUSTED", "LATENCY", "SERVERS"}};
  std::vector<std::string> hints;
  for (const json& peer : peers) {
    if (!peer.is_object()) continue;
    const bool trusted = peer.value("trusted", false);
    rows.push_back({peer.value("alias", "-"), peer.value("peerId", "-"), peer.value("connected", false) ? "yes" : "no",
                    trusted ? "yes" : "no", format_latency(peer.contains("latencyMs") ? peer["latencyMs"] : json()),
                    format_servers(peer.contains("servers") ? peer["servers"] : json())});
    if (!trusted && peer.contains("trustCommand") && peer["trustCommand"].is_string())
      hints.push_back(fmt::format("{} is not trusted: its servers are not used and it may not use this node's; to "
                                  "trust it: {}",
                                  peer.value("alias", "-"), peer["trustCommand"].get<std::string>()));
  }
  std::size_t widths[5] = {0, 0, 0, 0, 0};
  for (const row& r : rows) {
    widths[0] = std::max(widths[0], r.alias.size());
    widths[1] = std::max(widths[1], r.peer.size());
    widths[2] = std::max(widths[2], r.connected.size());
    widths[3] = std::max(widths[3], r.trusted.size());
    widths[4] = std::max(widths[4], r.latency.size());
  }
  for (const row& r : rows) {
    std::printf("%s  %s  %s  %s  %s  %s\n", pad(r.alias, widths[0]).c_str(), pad(r.peer, widths[1]).c_str(),
                pad(r.connected, widths[2]).c_str(), pad(r.trusted, widths[3]).c_str(),
                pad(r.latency, widths[4]).c_str(), r.servers.c_str());
  }
  for (const auto& hint : hints) std::printf("%s\n", hint.c_str());
}

// Calls a tool; on failure prints the sentence and returns the exit status, else nullopt
// and sets `result`.
task<std::optional<int>> call_tool(client::http_client& http, const gateway_lookup& lookup,
                                   const client_options& options, const std::string& tool, json arguments,
                                   json& result) {
  json params = call_params(tool, std::move(arguments));
  auto reply = co_await http.call("tools/call", std::move(params));
  if (!reply) co_return fail(explain(http, lookup, options, reply.error()));
  if (!reply->ok()) {
    co_return fail(fmt::format("{}: {}", tool, reply->error->message));
  }
  result = std::move(reply->result);
  co_return std::nullopt;
}

}  // namespace

int run_stdio(const client_options& options) {
  gateway_lookup lookup = find_gateway(options);
  if (!lookup.url && lookup.status == 2) return fail(lookup.problem, 2);
  if (lookup.url && options.server) lookup.url = client::server_endpoint(*lookup.url, *options.server);
  // A client that goes away closes our output: writing must fail, not kill us.
  ::signal(SIGPIPE, SIG_IGN);
  client::bridge_options bridge_options;
  bridge_options.client.client_name = "p2pmcp-stdio";
  bridge_options.client.client_version = version;
  if (!lookup.url) bridge_options.unavailable = lookup.problem;
  // The bridge makes the descriptors non-blocking; a terminal or the parent's pipe must
  // not stay that way after we exit.
  const int input_flags = ::fcntl(0, F_GETFL);
  const int output_flags = ::fcntl(1, F_GETFL);

  boost::asio::io_context io(1);
  client::stdio_bridge bridge(io.get_executor(), lookup.url.value_or(client::gateway_url{}), bridge_options);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) bridge.stop();
  });
  int status = 1;
  std::exception_ptr failure;
  auto run = [&]() -> task<void> {
    status = co_await bridge.run();
    signals.cancel();
  };
  boost::asio::co_spawn(io, run(), [&](std::exception_ptr e) {
    failure = e;
    signals.cancel();
  });
  io.run();
  if (input_flags >= 0) ::fcntl(0, F_SETFL, input_flags);
  if (output_flags >= 0) ::fcntl(1, F_SETFL, output_flags);
  if (failure) std::rethrow_exception(failure);
  return status;
}

int run_tools(const client_options& options) {
  const gateway_lookup lookup = find_gateway(options);
  if (!lookup.url) return fail(lookup.problem, lookup.status);
  return with_client(*lookup.url, [&](client::http_client& http) -> task<int> {
    json tools = json::array();
    std::optional<std::string> cursor;
    for (int page = 0; page < 1000; ++page) {
      json params = list_params(cursor);
      auto reply = co_await http.call("tools/list", std::move(params));
      if (!reply) co_return fail(explain(http, lookup, options, reply.error()));
      if (!reply->ok()) co_return fail("the node could not list its tools: " + reply->error->message);
      const json& result = reply->result;
      if (result.contains("tools") && result["tools"].is_array()) {
        for (const json& tool : result["tools"]) tools.push_back(tool);
      }
      cursor.reset();
      if (result.contains("nextCursor") && result["nextCursor"].is_string()) {
        cursor = result["nextCursor"].get<std::string>();
      }
      if (!cursor) break;
    }
    if (options.json) {
      print_line(stdout, compact(tools));
    } else {
      print_tools(tools);
    }
    co_return 0;
  });
}

int run_call(const client_options& options, const std::string& tool, const std::string& args_json) {
  if (tool.empty()) return fail("call needs a tool name, e.g. p2pmcp call local_node_info '{}'", 2);
  json arguments = json::object();
  if (args_json.find_first_not_of(" \t\r\n") != std::string::npos) {
    arguments = json::parse(args_json, nullptr, false);
    if (!arguments.is_object()) {
      return fail(fmt::format("the arguments of {} must be a JSON object such as '{{\"peer\": \"laptop\"}}', "
                              "not '{}'",
                              tool, args_json.substr(0, 200)),
                  2);
    }
  }
  const gateway_lookup lookup = find_gateway(options);
  if (!lookup.url) return fail(lookup.problem, lookup.status);
  return with_client(*lookup.url, [&](client::http_client& http) -> task<int> {
    json result;
    const std::optional<int> failed = co_await call_tool(http, lookup, options, tool, arguments, result);
    if (failed) co_return *failed;
    const bool is_error = result.is_object() && result.value("isError", false);
    std::FILE* out = is_error ? stderr : stdout;
    if (options.json) {
      print_line(out, compact(result));
    } else {
      std::string text = render_content(result);
      if (text.empty() && result.is_object() && result.contains("structuredContent")) {
        text = pretty(result["structuredContent"]);
      }
      if (is_error) {
        std::fprintf(stderr, "p2pmcp: %s reported an error:\n", tool.c_str());
        if (text.empty()) text = "(no details)";
      }
      if (!text.empty()) print_line(out, text);
    }
    co_return is_error ? 1 : 0;
  });
}

namespace {

// Calls one of the built-in node server's tools without arguments and prints its
// structuredContent (--json), else `print_structured` of it, else its text.
int run_node_tool(const client_options& options, const std::string& tool,
                  const std::function<bool(const json&)>& print_structured) {
  const gateway_lookup lookup = find_gateway(options);
  if (!lookup.url) return fail(lookup.problem, lookup.status);
  return with_client(*lookup.url, [&](client::http_client& http) -> task<int> {
    json result;
    json no_arguments = json::object();
    const std::optional<int> failed = co_await call_tool(http, lookup, options, tool, std::move(no_arguments), result);
    if (failed) co_return *failed;
    if (result.is_object() && result.value("isError", false)) {
      std::fprintf(stderr, "p2pmcp: %s reported an error:\n", tool.c_str());
      print_line(stderr, render_content(result));
      co_return 1;
    }
    const bool structured = result.is_object() && result.contains("structuredContent") &&
                            result["structuredContent"].is_object();
    if (options.json) {
      if (!structured) co_return fail("the node's " + tool + " returned no structured content");
      print_line(stdout, compact(result["structuredContent"]));
    } else if (!structured || !print_structured || !print_structured(result["structuredContent"])) {
      print_line(stdout, render_content(result));
    }
    co_return 0;
  });
}

}  // namespace

int run_peers(const client_options& options) {
  return run_node_tool(options, "local_node_peers", [](const json& structured) {
    if (!structured.contains("peers")) return false;
    print_peers(structured["peers"]);
    return true;
  });
}

int run_status(const client_options& options) { return run_node_tool(options, "local_node_info", nullptr); }

std::optional<json> fetch_peers(const client_options& options, std::string& problem) {
  const gateway_lookup lookup = find_gateway(options);
  if (!lookup.url) {
    problem = lookup.problem;
    return std::nullopt;
  }
  std::optional<json> peers;
  with_client(*lookup.url, [&](client::http_client& http) -> task<int> {
    json no_arguments = json::object();
    json params = call_params("local_node_peers", std::move(no_arguments));
    auto reply = co_await http.call("tools/call", std::move(params));
    if (!reply) {
      problem = explain(http, lookup, options, reply.error());
    } else if (!reply->ok()) {
      problem = "local_node_peers: " + reply->error->message;
    } else if (reply->result.is_object() && reply->result.contains("structuredContent") &&
               reply->result["structuredContent"].is_object()) {
      peers = reply->result["structuredContent"];
    } else {
      problem = "the node's local_node_peers returned no structured content";
    }
    co_return 0;
  });
  return peers;
}

}  // namespace p2pmcp
