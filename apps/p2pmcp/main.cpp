// p2pmcp command line. Every failure a user can cause ends as one sentence on stderr
// and a non-zero exit status (1: the operation failed, 2: the command line is wrong).
#include "client_commands.hpp"
#include "identity_file.hpp"
#include "mcp_node.hpp"
#include "node.hpp"
#include "trust_commands.hpp"

#include "mcp/server/config.hpp"
#include "mcp/server/node_settings.hpp"

#include "p2p/core/log.hpp"
#include "p2p/core/system_limits.hpp"
#include "p2p/core/timeout.hpp"
#include "p2p/protocols/perf/perf.hpp"
#include "p2p/protocols/ping/ping.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>
#include "mcp/jsonrpc/json.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace boost::asio::experimental::awaitable_operators;
using p2p::task;

namespace p2pmcp {
namespace {

constexpr const char* usage_text = R"(p2pmcp — find and call MCP tools across machines over libp2p

Usage: p2pmcp <command> [options]

Commands:
  up                     run a node: host the MCP servers of the config, serve them to
                         peers, reach the peers' servers, and open the gateway for
                         local MCP clients; until SIGINT/SIGTERM (SIGHUP
                         reloads HOME/trust.json)
  id                     print this node's peer ID (creating the identity if needed)
  stdio                  bridge a stdio MCP client (Claude Desktop) to the running node
  tools                  list every tool the running node reaches (the whole network)
  call <tool> [JSON]     call a tool through the running node, e.g.
                         p2pmcp call local_node_info '{}'
  status                 what the running node is: peer ID, addresses, gateway, and
                         each hosted server's state
  peers                  list the peers the running node knows (trusted or not, what
                         each offers, and how to trust it)
  trust add <peer-id|alias> [--name ALIAS]
                         trust a peer: its MCP servers appear in the gateway and it may
                         use ours (kept in HOME/trust.json; a running node reloads it)
  trust remove <peer-id|alias>
                         stop trusting a peer
  trust list [--json]    the peers trusted in HOME/trust.json
  pair <multiaddr>       trust the peer at that address (ending in /p2p/<peer-id>) and
                         keep it connected; run it on both nodes to pair them
                         (`p2pmcp status` prints the line for the other node)
  ping <multiaddr>       ping a peer (the address may end in /p2p/<peer-id>)
  identify <multiaddr>   show a peer's agent, protocols and addresses
  perf <multiaddr>       measure throughput to a peer (libp2p perf protocol)
  help                   show this text
  version                print the version

Options:
  --home DIR             node directory (identity key file) [env P2PMCP_HOME,
                         default ~/.p2pmcp]
  --config FILE          up: MCP servers to host and node settings, in the
                         Claude Desktop "mcpServers" shape [default HOME/config.json
                         if it exists; none needed]
  --listen MULTIADDR     address to listen on, repeatable [default
                         /ip4/0.0.0.0/tcp/4021 and /ip6/::/tcp/4021]
  --bootstrap MULTIADDR  up: a peer to connect to and keep connected (ends in
                         /p2p/<peer-id>; /dns4/<name>/... is resolved at each
                         dial), repeatable; it does not make the peer trusted
  --name ALIAS           trust add/pair: the name the peer's tools appear under
  --gateway HOST:PORT    up: where local MCP clients connect (Streamable HTTP,
                         http://HOST:PORT/mcp) [default 127.0.0.1:7469; port 0 picks
                         a free one]
  --no-gateway           up: no gateway
  --count N              ping: number of pings [default 4]
  --upload BYTES         perf: bytes to send [default 64 MiB]; suffixes K, M, G
  --download BYTES       perf: bytes to receive [default 64 MiB]
  --timeout SECONDS      ping/identify/perf: overall limit [default 30; perf 300]
  --gateway-url URL      stdio/tools/call/peers/status: the node's gateway [default: read
                         from HOME/node.json, written by the running node]
  --server NAME          stdio: only this server of the network, shown as the server
                         itself (its own tool names); NAME is <alias>_<server> as in
                         the gateway's names, e.g. local_files or k3Xq9a_everything
  --json                 tools/call/peers/status/identify/perf/ping: print JSON
  --log-level LEVEL      trace, debug, info, warn, error, off [default: info for up,
                         warn otherwise; env P2PMCP_LOG]

Examples:
  p2pmcp up --listen /ip4/0.0.0.0/tcp/4021
  p2pmcp up --config servers.json --bootstrap /ip4/192.0.2.10/tcp/4021/p2p/12D3KooW...
  p2pmcp ping /ip4/192.0.2.10/tcp/4021/p2p/12D3KooW...
)";

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct command_failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct options {
  std::string command;
  std::vector<std::string> positional;
  std::optional<fs::path> home;
  std::vector<std::string> listen;
  std::optional<fs::path> config;
  std::vector<std::string> bootstrap;
  std::optional<std::string> gateway;
  bool no_gateway = false;
  std::optional<std::string> gateway_url;
  std::optional<std::string> server;  // stdio --server
  int count = 4;
  std::uint64_t upload = 64ull << 20;
  std::uint64_t download = 64ull << 20;
  std::optional<int> timeout_seconds;
  bool json = false;
  std::optional<std::string> log_level;
  std::optional<std::string> name;
};

std::uint64_t parse_size(const std::string& text, const std::string& flag) {
  std::size_t used = 0;
  unsigned long long value = 0;
  try {
    value = std::stoull(text, &used);
  } catch (...) {
    throw usage_error(fmt::format("{} needs a byte count such as 1048576 or 64M, not '{}'", flag, text));
  }
  std::string suffix = text.substr(used);
  if (suffix == "K" || suffix == "k" || suffix == "KiB") value <<= 10;
  else if (suffix == "M" || suffix == "MiB") value <<= 20;
  else if (suffix == "G" || suffix == "GiB") value <<= 30;
  else if (!suffix.empty()) throw usage_error(fmt::format("{}: unknown size suffix '{}' (use K, M or G)", flag, suffix));
  return value;
}

int parse_int(const std::string& text, const std::string& flag, int min, int max) {
  try {
    std::size_t used = 0;
    int value = std::stoi(text, &used);
    if (used == text.size() && value >= min && value <= max) return value;
  } catch (...) {
  }
  throw usage_error(fmt::format("{} needs a whole number from {} to {}, not '{}'", flag, min, max, text));
}

options parse_arguments(int argc, char** argv) {
  options o;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) throw usage_error(a + " needs a value");
      return args[++i];
    };
    if (a == "--help" || a == "-h") o.command = "help";
    else if (a == "--version") o.command = "version";
    else if (a == "--home") o.home = value();
    else if (a == "--listen") o.listen.push_back(value());
    else if (a == "--config") o.config = value();
    else if (a == "--bootstrap") o.bootstrap.push_back(value());
    else if (a == "--gateway") o.gateway = value();
    else if (a == "--no-gateway") o.no_gateway = true;
    else if (a == "--gateway-url") o.gateway_url = value();
    else if (a == "--server") o.server = value();
    else if (a == "--count") o.count = parse_int(value(), a, 1, 1000000);
    else if (a == "--upload") o.upload = parse_size(value(), a);
    else if (a == "--download") o.download = parse_size(value(), a);
    else if (a == "--timeout") o.timeout_seconds = parse_int(value(), a, 1, 86400);
    else if (a == "--json") o.json = true;
    else if (a == "--log-level") o.log_level = value();
    else if (a == "--name") o.name = value();
    else if (a.starts_with("--")) throw usage_error("unknown option " + a + " (see p2pmcp --help)");
    else if (o.command.empty()) o.command = a;
    else o.positional.push_back(a);
  }
  if (o.command.empty()) o.command = "help";
  return o;
}

fs::path home_directory(const options& o) {
  if (o.home) return *o.home;
  if (const char* env = std::getenv("P2PMCP_HOME"); env && *env) return env;
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".p2pmcp";
  throw usage_error("cannot find a home directory: set --home or P2PMCP_HOME");
}

p2p::multiaddr parse_address(const std::string& text) {
  auto address = p2p::multiaddr::parse(text);
  if (!address)
    throw usage_error(fmt::format("'{}' is not a valid multiaddr ({}); expected something like "
                                  "/ip4/192.0.2.10/tcp/4021/p2p/12D3KooW...",
                                  text, address.error().message()));
  return *address;
}

std::string explain(const p2p::error_code& ec, const std::string& target, std::string_view protocol = {}) {
  using p2p::errc;
  if (ec == errc::peer_id_mismatch)
    return fmt::format("the node at {} is not the peer named in the address (it proved another peer ID)", target);
  if (ec == errc::protocol_not_supported)
    return protocol.empty() ? fmt::format("{} does not speak a protocol we need ({})", target, ec.message())
                            : fmt::format("the peer at {} does not support {}", target, protocol);
  if (ec == errc::timeout) return fmt::format("{} did not answer in time", target);
  if (ec == errc::invalid_multiaddr)
    return fmt::format("cannot dial {}: only TCP addresses (/ip4, /ip6, /dns4, /dns6, /dns) are supported so far",
                       target);
  if (ec == boost::asio::error::host_not_found || ec == boost::asio::error::host_not_found_try_again ||
      ec == boost::asio::error::no_data)
    return fmt::format("cannot resolve the name in {}: {}", target, ec.message());
  if (ec == errc::invalid_argument) return fmt::format("{} is this node itself", target);
  if (ec == boost::asio::error::connection_refused)
    return fmt::format("cannot reach {}: connection refused (is a node listening there?)", target);
  if (ec == boost::asio::error::host_unreachable || ec == boost::asio::error::network_unreachable)
    return fmt::format("cannot reach {}: {}", target, ec.message());
  return fmt::format("{} failed: {}", target, ec.message());
}

void configure_logging(const options& o, p2p::log::level fallback) {
  p2p::log::level level = fallback;
  std::string name = o.log_level.value_or("");
  if (name.empty())
    if (const char* env = std::getenv("P2PMCP_LOG")) name = env;
  if (!name.empty() && !p2p::log::parse_level(name, level))
    throw usage_error("unknown log level '" + name + "' (use trace, debug, info, warn, error or off)");
  p2p::log::set_level(level);
}

std::vector<p2p::multiaddr> listen_addresses(const options& o) {
  std::vector<p2p::multiaddr> out;
  if (o.listen.empty()) {
    out.push_back(parse_address(fmt::format("/ip4/0.0.0.0/tcp/{}", default_port)));
    out.push_back(parse_address(fmt::format("/ip6/::/tcp/{}", default_port)));
  }
  for (const auto& text : o.listen) out.push_back(parse_address(text));
  return out;
}

// Runs `body` against a started node in a fresh io_context, then stops the node.
template <class Body>
void with_node(node_options node_opts, Body body) {
  boost::asio::io_context io;
  node n(io.get_executor(), std::move(node_opts));
  if (auto r = n.host().listen(); !r) throw command_failure("cannot listen: " + r.error().message());
  std::exception_ptr failure;
  auto driver = [&]() -> task<void> {
    try {
      co_await body(n);
    } catch (...) {
      failure = std::current_exception();
    }
    n.stop(std::chrono::milliseconds(500));
  };
  boost::asio::co_spawn(io, n.run() && driver(), [&](std::exception_ptr e) {
    if (e && !failure) failure = e;
  });
  io.run();
  if (failure) std::rethrow_exception(failure);
}

node_options client_node(const options& o) {
  // Commands use the node's identity when one exists; otherwise an ephemeral one,
  // so `ping` works on a machine that never ran `up`.
  node_options opts;
  const auto key_path = home_directory(o) / "identity.key";
  std::error_code ec;
  opts.identity = fs::exists(key_path, ec) ? load_or_create_identity(key_path).key
                                           : p2p::crypto::private_key::generate_ed25519();
  return opts;
}

int run_id(const options& o) {
  const auto path = home_directory(o) / "identity.key";
  auto loaded = load_or_create_identity(path);
  if (loaded.created) std::fprintf(stderr, "created a new identity in %s\n", path.c_str());
  std::printf("%s\n", p2p::peer_id::from_public_key(loaded.key.public_key()).to_string().c_str());
  return 0;
}

// The config file and the command line, merged (the command line wins).
mcp_node_options load_mcp_options(const options& o, const fs::path& home) {
  mcp_node_options out;
  std::optional<fs::path> path = o.config;
  if (!path) {
    std::error_code ec;
    if (fs::exists(home / "config.json", ec)) path = home / "config.json";
  }
  mcp::json node_settings_json;
  std::string file = "(no config)";
  if (path) {
    auto loaded = mcp::server::load_config(*path);
    if (!loaded) throw command_failure(loaded.error().message);
    for (const auto& warning : loaded->warnings) p2p::log::warn("config", "{}", warning);
    out.servers = std::move(loaded->servers);
    node_settings_json = loaded->node_settings;
    file = path->string();
    for (const auto& server : out.servers)
      if (server.name == mcp::builtin::server_name)
        throw command_failure(fmt::format("{}: mcpServers.{}: the name \"{}\" is reserved for the node's built-in server; "
                                          "rename it",
                                          file, server.name, server.name));
  }
  auto parsed = mcp::server::parse_node_settings(node_settings_json, file);
  if (auto* error = std::get_if<std::string>(&parsed)) throw command_failure(*error);
  out.settings = std::get<node_settings>(std::move(parsed));
  auto trust = mcp::peer::load_trust_file(home / "trust.json");
  if (auto* error = std::get_if<std::string>(&trust)) throw command_failure(*error);
  out.trust = std::get<mcp::peer::trust_list>(std::move(trust));

  if (!o.listen.empty()) {
    out.settings.listen.clear();
    for (const auto& text : o.listen) out.settings.listen.push_back(parse_address(text));
  }
  if (out.settings.listen.empty()) out.settings.listen = listen_addresses(o);
  for (const auto& text : o.bootstrap) {
    auto b = mcp::server::parse_bootstrap(text);
    if (auto* error = std::get_if<std::string>(&b)) throw usage_error("--bootstrap: " + *error);
    out.settings.bootstrap.push_back(std::get<bootstrap_peer>(std::move(b)));
  }
  if (o.no_gateway) out.settings.gateway_enabled = false;
  if (o.gateway) {
    const auto colon = o.gateway->rfind(':');
    if (colon == std::string::npos || colon == 0)
      throw usage_error("--gateway needs HOST:PORT such as 127.0.0.1:7469, not '" + *o.gateway + "'");
    std::string host = o.gateway->substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    out.settings.gateway_enabled = true;
    out.settings.gateway_host = host;
    out.settings.gateway_port = static_cast<std::uint16_t>(parse_int(o.gateway->substr(colon + 1), "--gateway port", 0, 65535));
  }
  return out;
}

// <home>/node.json: how commands on this machine find the running node. Written
// atomically with mode 0600; removed on clean shutdown.
void write_node_file(const fs::path& path, const nlohmann::json& content) {
  const fs::path temporary = path.string() + ".tmp";
  const std::string text = content.dump(2) + "\n";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw command_failure(fmt::format("cannot write {}: {}", temporary.string(), std::strerror(errno)));
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  std::error_code ec;
  if (!written) {
    fs::remove(temporary, ec);
    throw command_failure(fmt::format("cannot write {}", temporary.string()));
  }
  fs::rename(temporary, path, ec);
  if (ec) throw command_failure(fmt::format("cannot write {}: {}", path.string(), ec.message()));
}

int run_up(const options& o) {
  const auto home = home_directory(o);
  auto loaded = load_or_create_identity(home / "identity.key");
  if (loaded.created) p2p::log::info("node", "created a new identity in {}", (home / "identity.key").string());
  auto mcp_options = load_mcp_options(o, home);
  node_options opts{std::move(loaded.key), mcp_options.settings.listen, std::nullopt};
  // Each peer connection holds a descriptor; Debian's default soft limit of 1024 is
  // what one attacker needs to stop a node from accepting (issue 9).
  if (auto raised = p2p::raise_file_descriptor_limit())
    p2p::log::info("node", "open-file limit: {} descriptors", raised->soft);
  else
    p2p::log::warn("node", "cannot raise the open-file limit ({}); the node may run out of descriptors under load",
                   raised.error().message());

  opts.limits = resource_limits(mcp_options.settings.connections);
  p2p::log::info("node", "resource limits: {} connections ({} per address, {} per peer), {} handshakes ({} per "
                 "address), {} MiB", opts.limits->system.connections, opts.limits->address.connections,
                 opts.limits->peer.connections, opts.limits->transient.pending, opts.limits->address.pending,
                 opts.limits->system.memory >> 20);

  boost::asio::io_context io(1);
  node n(io.get_executor(), std::move(opts));
  mcp_node services(n, std::move(mcp_options));
  if (auto r = n.host().listen(); !r) {
    throw command_failure(fmt::format(
        "cannot listen ({}); another program may be using the port — choose another with "
        "--listen /ip4/0.0.0.0/tcp/<port> (port 0 picks a free one)",
        r.error().message()));
  }
  if (auto error = services.open_gateway()) throw command_failure(*error);

  std::printf("p2pmcp %s node %s\nlistening on:\n", version, n.host().id().to_string().c_str());
  nlohmann::json addresses = nlohmann::json::array();
  for (const auto& address : n.dialable_addresses()) {
    std::printf("  %s\n", address.to_string().c_str());
    addresses.push_back(address.to_string());
  }
  const std::string gateway = services.gateway_url();
  if (!gateway.empty()) std::printf("MCP gateway: %s\n", gateway.c_str());
  std::string hosting = "node (built-in)";
  for (const auto& s : services.hosted()) hosting += ", " + s.name;
  std::printf("hosting: %s\n", hosting.c_str());
  std::fflush(stdout);

  const fs::path node_file = home / "node.json";
  nlohmann::json description = {{"peerId", n.host().id().to_string()},
                                {"addresses", addresses},
                                {"pid", static_cast<long>(::getpid())},
                                {"version", version}};
  if (!gateway.empty()) description["gateway"] = gateway;
  write_node_file(node_file, description);

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.add(SIGHUP);
  int received = 0;
  std::function<void(const boost::system::error_code&, int)> on_signal = [&](const auto& ec, int number) {
    if (ec) return;
    if (number == SIGHUP) {
      // `p2pmcp trust add/remove` and `pair` edited the trust file.
      auto trust = mcp::peer::load_trust_file(home / "trust.json");
      if (auto* error = std::get_if<std::string>(&trust)) {
        p2p::log::warn("node", "SIGHUP: keeping the trust list as it was: {}", *error);
      } else {
        p2p::log::info("node", "SIGHUP: reloading {}", (home / "trust.json").string());
        services.reload_trust(std::get<mcp::peer::trust_list>(std::move(trust)));
      }
      signals.async_wait(on_signal);
      return;
    }
    if (++received == 1) {
      p2p::log::info("node", "{} received; shutting down (again to force)", number == SIGINT ? "SIGINT" : "SIGTERM");
      services.stop();
      signals.async_wait(on_signal);
    } else {
      p2p::log::warn("node", "forced exit");
      std::error_code ec;
      fs::remove(node_file, ec);
      std::_Exit(130);
    }
  };
  signals.async_wait(on_signal);
  std::exception_ptr failure;
  // The MCP services stop first (servers get their shutdown, peers their errors), then
  // the host closes its connections.
  auto services_then_host = [](mcp_node& s, node& h) -> task<void> {
    co_await s.run();
    h.stop();
  };
  boost::asio::co_spawn(io, n.run() && services_then_host(services, n), [&](std::exception_ptr e) {
    failure = e;
    signals.cancel();
  });
  io.run();
  std::error_code ec;
  fs::remove(node_file, ec);
  if (failure) std::rethrow_exception(failure);
  p2p::log::info("node", "stopped");
  return 0;
}

// Connects to `address` with an overall time limit; throws command_failure with a sentence.
task<std::shared_ptr<p2p::connection>> connect_or_fail(node& n, const p2p::multiaddr& address, int seconds) {
  auto conn = co_await p2p::with_timeout(n.host().connect(address), std::chrono::seconds(seconds));
  if (!conn) throw command_failure(explain(conn.error(), address.to_string()));
  co_return *conn;
}

int run_ping(const options& o) {
  if (o.positional.size() != 1) throw usage_error("ping needs exactly one multiaddr");
  const auto address = parse_address(o.positional[0]);
  const int seconds = o.timeout_seconds.value_or(30);
  with_node(client_node(o), [&](node& n) -> task<void> {
    auto conn = co_await connect_or_fail(n, address, seconds);
    auto s = co_await p2p::with_timeout(n.host().new_stream(conn, p2p::ping::protocol_id),
                                        std::chrono::seconds(seconds));
    if (!s) throw command_failure(explain(s.error(), address.to_string(), p2p::ping::protocol_id));
    if (!o.json) std::printf("PING %s (%s)\n", conn->remote_peer().to_string().c_str(), address.to_string().c_str());
    double total = 0;
    for (int i = 0; i < o.count; ++i) {
      auto rtt = co_await p2p::with_timeout(p2p::ping::ping_once(*s->s, n.host().get_random(), n.host().get_clock()),
                                            std::chrono::seconds(seconds));
      if (!rtt) throw command_failure(explain(rtt.error(), "ping " + address.to_string()));
      const double ms = std::chrono::duration<double, std::milli>(*rtt).count();
      total += ms;
      if (o.json) std::printf("{\"seq\":%d,\"rtt_ms\":%.3f}\n", i + 1, ms);
      else std::printf("pong %d: time=%.3f ms\n", i + 1, ms);
      std::fflush(stdout);
    }
    co_await p2p::ping::finish(*s->s);
    if (!o.json) std::printf("%d pings, average %.3f ms\n", o.count, total / o.count);
  });
  return 0;
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += {'\\', c};
    else if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", c);
    else out += c;
  }
  return out + "\"";
}

int run_identify(const options& o) {
  if (o.positional.size() != 1) throw usage_error("identify needs exactly one multiaddr");
  const auto address = parse_address(o.positional[0]);
  const int seconds = o.timeout_seconds.value_or(30);
  with_node(client_node(o), [&](node& n) -> task<void> {
    auto conn = co_await connect_or_fail(n, address, seconds);
    auto info = co_await p2p::with_timeout(n.identify().identify(conn), std::chrono::seconds(seconds));
    if (!info) throw command_failure(explain(info.error(), address.to_string(), p2p::identify::protocol_id));
    const auto observed = info->observed_addr ? info->observed_addr->to_string() : std::string();
    if (o.json) {
      std::string protocols, listen;
      for (const auto& p : info->protocols) protocols += (protocols.empty() ? "" : ",") + json_string(p);
      for (const auto& a : info->listen_addrs) listen += (listen.empty() ? "" : ",") + json_string(a.to_string());
      std::printf("{\"peer\":%s,\"agentVersion\":%s,\"protocolVersion\":%s,\"protocols\":[%s],\"listenAddrs\":[%s],"
                  "\"observedAddr\":%s,\"muxer\":%s,\"earlyMuxer\":%s}\n",
                  json_string(conn->remote_peer().to_string()).c_str(),
                  json_string(info->agent_version.value_or("")).c_str(),
                  json_string(info->protocol_version.value_or("")).c_str(), protocols.c_str(), listen.c_str(),
                  json_string(observed).c_str(), json_string(conn->info().muxer).c_str(),
                  conn->info().early_muxer ? "true" : "false");
    } else {
      std::printf("peer:             %s\n", conn->remote_peer().to_string().c_str());
      std::printf("agent version:    %s\n", info->agent_version.value_or("(none)").c_str());
      std::printf("protocol version: %s\n", info->protocol_version.value_or("(none)").c_str());
      std::printf("connection:       %s, %s%s\n", conn->info().security.c_str(), conn->info().muxer.c_str(),
                  conn->info().early_muxer ? " (negotiated in the handshake)" : "");
      std::printf("observed us as:   %s\n", observed.empty() ? "(not reported)" : observed.c_str());
      std::printf("protocols:\n");
      for (const auto& p : info->protocols) std::printf("  %s\n", p.c_str());
      std::printf("listen addresses:\n");
      for (const auto& a : info->listen_addrs) std::printf("  %s\n", a.to_string().c_str());
    }
  });
  return 0;
}

int run_perf(const options& o) {
  if (o.positional.size() != 1) throw usage_error("perf needs exactly one multiaddr");
  const auto address = parse_address(o.positional[0]);
  const int seconds = o.timeout_seconds.value_or(300);
  with_node(client_node(o), [&](node& n) -> task<void> {
    auto conn = co_await connect_or_fail(n, address, seconds);
    auto s = co_await p2p::with_timeout(n.host().new_stream(conn, p2p::perf::protocol_id),
                                        std::chrono::seconds(seconds));
    if (!s) throw command_failure(explain(s.error(), address.to_string(), p2p::perf::protocol_id));
    p2p::perf::client_options perf_options;
    perf_options.upload_bytes = o.upload;
    perf_options.download_bytes = o.download;
    if (!o.json)
      perf_options.on_progress = [](const p2p::perf::stats& st) {
        std::fprintf(stderr, "  ... %.1f MiB up, %.1f MiB down\n", st.upload_bytes / 1048576.0,
                     st.download_bytes / 1048576.0);
      };
    auto stats = co_await p2p::with_timeout(p2p::perf::run_client(*s->s, n.host().get_clock(), perf_options),
                                            std::chrono::seconds(seconds));
    if (!stats) throw command_failure(explain(stats.error(), "perf with " + address.to_string()));
    auto rate = [](std::uint64_t bytes, p2p::duration d) {
      const double s = std::chrono::duration<double>(d).count();
      return s > 0 ? bytes / s / 1048576.0 : 0.0;
    };
    const double up = rate(stats->upload_bytes, stats->upload_time);
    const double down = rate(stats->download_bytes, stats->download_time);
    if (o.json)
      std::printf("{\"uploadBytes\":%llu,\"downloadBytes\":%llu,\"uploadMiBps\":%.1f,\"downloadMiBps\":%.1f}\n",
                  static_cast<unsigned long long>(stats->upload_bytes),
                  static_cast<unsigned long long>(stats->download_bytes), up, down);
    else
      std::printf("upload:   %.1f MiB in %.3f s = %.1f MiB/s\ndownload: %.1f MiB in %.3f s = %.1f MiB/s\n",
                  stats->upload_bytes / 1048576.0, std::chrono::duration<double>(stats->upload_time).count(), up,
                  stats->download_bytes / 1048576.0, std::chrono::duration<double>(stats->download_time).count(),
                  down);
  });
  return 0;
}

int dispatch(const options& o) {
  if (o.command == "help") {
    std::fputs(usage_text, stdout);
    return 0;
  }
  if (o.command == "version") {
    std::printf("p2pmcp %s\n", version);
    return 0;
  }
  configure_logging(o, o.command == "up" ? p2p::log::level::info : p2p::log::level::warn);
  if (o.command == "up") return run_up(o);
  if (o.command == "id") return run_id(o);
  if (o.command == "stdio" || o.command == "tools" || o.command == "call" || o.command == "peers" ||
      o.command == "status") {
    client_options c;
    c.home = home_directory(o);
    c.gateway_url = o.gateway_url;
    c.server = o.server;
    if (o.server && o.command != "stdio") throw usage_error("--server is an option of p2pmcp stdio only");
    c.json = o.json;
    if (o.command == "stdio") {
      if (!o.positional.empty()) throw usage_error("stdio takes no arguments");
      return run_stdio(c);
    }
    if (o.command == "tools") {
      if (!o.positional.empty()) throw usage_error("tools takes no arguments");
      return run_tools(c);
    }
    if (o.command == "peers") {
      if (!o.positional.empty()) throw usage_error("peers takes no arguments");
      return run_peers(c);
    }
    if (o.command == "status") {
      if (!o.positional.empty()) throw usage_error("status takes no arguments");
      return run_status(c);
    }
    if (o.positional.empty() || o.positional.size() > 2)
      throw usage_error("call needs a tool name and optionally its arguments as a JSON object: p2pmcp call <tool> '{\"key\": \"value\"}'");
    return run_call(c, o.positional[0], o.positional.size() == 2 ? o.positional[1] : std::string());
  }
  if (o.command == "trust" || o.command == "pair") {
    trust_options t;
    t.client.home = home_directory(o);
    t.client.gateway_url = o.gateway_url;
    t.client.json = o.json;
    t.name = o.name;
    if (o.command == "trust") return run_trust(t, o.positional);
    if (o.positional.size() != 1) throw usage_error("pair needs one multiaddr ending in /p2p/<peer-id>");
    return run_pair(t, o.positional[0]);
  }
  if (o.command == "ping") return run_ping(o);
  if (o.command == "identify") return run_identify(o);
  if (o.command == "perf") return run_perf(o);
  throw usage_error("unknown command '" + o.command + "' (see p2pmcp --help)");
}

}  // namespace
}  // namespace p2pmcp

int main(int argc, char** argv) {
  try {
    return p2pmcp::dispatch(p2pmcp::parse_arguments(argc, argv));
  } catch (const p2pmcp::usage_error& e) {
    std::fprintf(stderr, "p2pmcp: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "p2pmcp: %s\n", e.what());
    return 1;
  }
}
