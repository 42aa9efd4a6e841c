// MCP benchmark (issue 3, printed, not pass/fail): what the network adds to a tools/call.
//
// The same hosted server, fake_mcp_server's `echo` tool, is called three ways:
//   1. direct stdio: an in-process mcp::server::stdio_server running the server as its
//      child (the baseline: JSON-RPC over pipes, no node);
//   2. A's gateway: Streamable HTTP into node A, which calls its own hosted copy
//      (`local_bench_echo`): gateway + hub + stdio, no libp2p;
//   3. B's gateway -> libp2p -> A: Streamable HTTP into node B, which forwards over its
//      libp2p stream /p2pmcp/mcp/1.0.0/bench to node A, which calls its hosted copy
//      (`<A's alias>_bench_echo`).
// Nodes A and B are real `p2pmcp up` processes on loopback (ports picked by the kernel),
// each in its own temporary home. Sequential round trips (p50 / p99 / mean) are measured
// in interleaved blocks so that load from other work on the machine hits every path
// alike; then `--concurrency` clients (separate MCP sessions for the gateways, requests
// in flight at once for the direct server) give calls per second. For both, the CPU
// time each process spent per call (/proc/<pid>/task/*/schedstat: the benchmark's
// clients, node B, node A, the hosted server) says where the time goes.
// Then what a new client session costs (issue 8: one upstream session per client session):
//   - the time from nothing to a new session's first tool result, p50 / p95 over
//     `--sessions` sessions one after another: for the gateways a new MCP session
//     (initialize, initialized, tools/call, then DELETE), which includes starting what the
//     node starts for a session (a child of the hosted server, a libp2p stream); against
//     the baseline of starting the server itself (a new stdio_server: child start,
//     initialize, tools/call);
//   - node memory per session: the RSS (VmRSS) of each node, alone and with all its
//     descendant processes (/proc/<pid>/task/*/children), before and after opening
//     `--concurrency` sessions that each made one call, divided by their number.
//
// Usage: mcp_bench [--calls N] [--concurrency C] [--seconds S] [--warmup W] [--sessions N]
//                  [--p2pmcp PATH] [--server PATH] [--timeout SECONDS]
// Any failure is one sentence on stderr and exit status 1; the temporary homes (with the
// nodes' logs) are kept then, and removed after a successful run.
#include "mcp/gateway/client/gateway_url.hpp"
#include "mcp/gateway/client/http_client.hpp"
#include "mcp/hub/naming.hpp"
#include "mcp/server/stdio_server.hpp"

#include "p2p/core/log.hpp"
#include "p2p/core/task_group.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "mcp/jsonrpc/json.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
namespace client = mcp::gateway::client;
using json = mcp::json;
using p2p::task;
using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::string_view server_name = "bench";
constexpr std::string_view tool_name = "echo";
constexpr std::string_view echo_text = "hello from mcp_bench";
constexpr std::size_t block_size = 200;  // sequential calls per path before switching path

struct options {
  std::size_t calls = 2000;
  std::size_t concurrency = 16;
  std::size_t warmup = 200;
  double seconds = 2;  // per path in the concurrent run
  std::size_t sessions = 20;  // new sessions timed to their first tool result, per path
  std::string p2pmcp = MCP_BENCH_P2PMCP_PATH;
  std::string server = MCP_BENCH_SERVER_PATH;
  int timeout_seconds = 600;
};

// A failure of the run: its message is the one sentence printed.
struct failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ---- node processes ----

// Pids the watchdog kills if the run hangs.
std::atomic<int> watched_pids[2] = {-1, -1};
// The temporary homes and logs, named in the failure sentence (kept after a failure).
fs::path temporary_dir;

// A `p2pmcp up` child with stdout and stderr in a log file. The destructor stops it:
// SIGTERM, up to 10 s to exit, then SIGKILL.
class node_process {
 public:
  node_process(std::string name, const std::vector<std::string>& argv, const fs::path& log, int slot)
      : name_(std::move(name)), log_(log), slot_(slot) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int error = ::posix_spawn(&pid_, argv[0].c_str(), &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (error != 0)
      throw failure("cannot start " + argv[0] + " for node " + name_ + ": " + std::strerror(error));
    watched_pids[slot_] = pid_;
  }
  ~node_process() { stop(); }
  node_process(const node_process&) = delete;
  node_process& operator=(const node_process&) = delete;

  // Whether it has exited (reaped here); `status_text()` then says how.
  bool has_exited() {
    if (reaped_) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) finish(status);
    return reaped_;
  }

  // SIGTERM, wait up to 10 s, then SIGKILL. True when it exited on SIGTERM with status 0.
  bool stop() {
    if (reaped_) return clean_;
    ::kill(pid_, SIGTERM);
    const auto deadline = steady::now() + 10s;
    while (!has_exited() && steady::now() < deadline) std::this_thread::sleep_for(10ms);
    if (!reaped_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      finish(status);
      return false;
    }
    return clean_;
  }

  std::string status_text() const { return status_; }
  int pid() const noexcept { return pid_; }
  const std::string& name() const noexcept { return name_; }
  const fs::path& log() const noexcept { return log_; }

 private:
  void finish(int status) {
    reaped_ = true;
    watched_pids[slot_] = -1;
    clean_ = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    status_ = WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                : "was killed by signal " + std::to_string(WTERMSIG(status));
  }

  std::string name_;
  fs::path log_;
  int slot_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  bool clean_ = false;
  std::string status_;
};

// Waits (polling every 20 ms, at most 30 s) for the node's <home>/node.json.
json wait_for_node_file(node_process& node, const fs::path& home) {
  const fs::path file = home / "node.json";
  const auto deadline = steady::now() + 30s;
  for (;;) {
    if (fs::exists(file)) {
      std::ifstream in(file);
      json content = json::parse(in, nullptr, false);
      if (content.is_object() && content.contains("gateway")) return content;
    }
    if (node.has_exited())
      throw failure("node " + node.name() + " " + node.status_text() + " before it was ready (see " +
                    node.log().string() + ")");
    if (steady::now() > deadline)
      throw failure("node " + node.name() + " did not write " + file.string() + " within 30 s (see " +
                    node.log().string() + ")");
    std::this_thread::sleep_for(20ms);
  }
}

// ---- CPU time per process ----

// CPU seconds a process has run, all its threads (schedstat: nanoseconds on the CPU);
// 0 when it is gone.
double cpu_seconds(int pid) {
  if (pid <= 0) return 0;
  double total = 0;
  std::error_code ec;
  for (const auto& task_dir : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(task_dir.path() / "schedstat");
    unsigned long long ns = 0;
    if (in >> ns) total += static_cast<double>(ns) / 1e9;
  }
  return total;
}

// ---- memory ----

// VmRSS of one process in KiB (0 when it is gone).
long rss_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("VmRSS:")) return std::strtol(line.c_str() + 6, nullptr, 10);
  return 0;
}

// Every process `pid` started, and theirs (/proc/<pid>/task/*/children).
void add_descendants(int pid, std::vector<int>& out) {
  std::error_code ec;
  for (const auto& task_dir : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(task_dir.path() / "children");
    int child = 0;
    while (in >> child) {
      out.push_back(child);
      add_descendants(child, out);
    }
  }
}

struct rss {
  long self_kib = 0;  // the node process
  long tree_kib = 0;  // with its descendants (its hosted servers' children)
  std::size_t processes = 0;
};

rss rss_of(int pid) {
  rss r;
  r.self_kib = rss_kib(pid);
  std::vector<int> tree;
  add_descendants(pid, tree);
  r.tree_kib = r.self_kib;
  for (int p : tree) r.tree_kib += rss_kib(p);
  r.processes = 1 + tree.size();
  return r;
}

// Who does the work of a call: the benchmark's own process (the MCP clients), node B,
// node A, and the hosted server (all of A's children, or the direct baseline's).
enum cpu_slot { bench_slot, b_slot, a_slot, server_slot, cpu_slots };

struct process_ids {
  int a = -1, b = -1, direct_server = -1;
};
// For the gateway paths: the hosted server's work is done by node A's children (one per
// client session, the warm ones and the catalogue child), all summed.
constexpr int children_of_a = -2;

struct cpu_use {
  double seconds[cpu_slots] = {};
  std::size_t calls = 0;
  void add(const cpu_use& from, const cpu_use& to, std::size_t n) {
    for (int i = 0; i < cpu_slots; ++i) seconds[i] += to.seconds[i] - from.seconds[i];
    calls += n;
  }
  double us_per_call(int slot) const { return calls ? seconds[slot] * 1e6 / static_cast<double>(calls) : 0; }
};

// `server_pid`: the hosted server that path uses.
cpu_use cpu_now(const process_ids& ids, int server_pid) {
  cpu_use u;
  timespec self{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &self);
  u.seconds[bench_slot] = static_cast<double>(self.tv_sec) + static_cast<double>(self.tv_nsec) / 1e9;
  u.seconds[b_slot] = cpu_seconds(ids.b);
  u.seconds[a_slot] = cpu_seconds(ids.a);
  if (server_pid == children_of_a) {
    std::vector<int> children;
    add_descendants(ids.a, children);
    for (int pid : children) u.seconds[server_slot] += cpu_seconds(pid);
  } else {
    u.seconds[server_slot] = cpu_seconds(server_pid);
  }
  return u;
}

// ---- the three paths ----

// Built outside coroutines: GCC 12 miscompiles braced json initializers inside them.
json call_params(const std::string& name) {
  return {{"name", name}, {"arguments", {{"text", echo_text}}}};
}

bool is_echo(const json& result) {
  return result.is_object() && result.contains("content") && result["content"].is_array() &&
         !result["content"].empty() && result["content"][0].value("text", "") == echo_text;
}

// One way to call the echo tool; `lane` picks the client (a gateway session) in
// concurrent runs. A failure throws `failure`.
class path {
 public:
  virtual ~path() = default;
  virtual task<void> call(std::size_t lane) = 0;
};

class direct_path final : public path {
 public:
  explicit direct_path(mcp::server::stdio_server& server) : server_(server) {}
  task<void> call(std::size_t) override {
    std::string method = "tools/call";
    json params = call_params(std::string(tool_name));
    p2p::duration timeout = 30s;
    auto result = co_await server_.request(std::move(method), std::move(params), timeout);
    if (!result) throw failure("the direct call of the fake server failed: " + result.error().message);
    if (!is_echo(*result)) throw failure("the direct call of the fake server returned " + result->dump());
  }

 private:
  mcp::server::stdio_server& server_;
};

class gateway_path final : public path {
 public:
  gateway_path(std::string what, std::vector<std::unique_ptr<client::http_client>>& clients, std::string tool)
      : what_(std::move(what)), clients_(clients), tool_(std::move(tool)) {}
  task<void> call(std::size_t lane) override {
    std::string method = "tools/call";
    json params = call_params(tool_);
    auto reply = co_await clients_[lane % clients_.size()]->call(std::move(method), std::move(params));
    if (!reply) throw failure("a call through " + what_ + " failed: " + clients_[lane % clients_.size()]->last_error());
    if (!reply->ok()) throw failure("a call through " + what_ + " was answered with an error: " + reply->error->message);
    if (!is_echo(reply->result)) throw failure("a call through " + what_ + " returned " + reply->result.dump());
  }

 private:
  std::string what_;
  std::vector<std::unique_ptr<client::http_client>>& clients_;
  std::string tool_;
};

// ---- measuring ----

// The q-quantile of `sorted` (ascending, not empty) by the nearest-rank method.
double nearest_rank(const std::vector<double>& sorted, double q) {
  const auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, i == 0 ? 0 : i - 1)];
}

struct summary {
  double p50 = 0, p99 = 0, mean = 0;
};

summary summarize(std::vector<double> ms) {
  summary s;
  if (ms.empty()) return s;
  std::sort(ms.begin(), ms.end());
  s.p50 = nearest_rank(ms, 0.50);
  s.p99 = nearest_rank(ms, 0.99);
  double total = 0;
  for (double v : ms) total += v;
  s.mean = total / static_cast<double>(ms.size());
  return s;
}

task<void> sequential(path& p, std::size_t count, std::vector<double>* latencies_ms) {
  for (std::size_t i = 0; i < count; ++i) {
    const auto start = steady::now();
    co_await p.call(0);
    if (latencies_ms) latencies_ms->push_back(std::chrono::duration<double, std::milli>(steady::now() - start).count());
  }
}

struct concurrent_result {
  double calls_per_second = 0;
  summary latency;
  cpu_use cpu;
};

// `lanes` coroutines call one after another until the deadline; calls still in flight
// then finish (and count: the rate is calls over the time until the last one ended).
struct shared_work {
  steady::time_point deadline;
  std::vector<double> latencies_ms;
  std::optional<std::string> error;
};

task<void> lane_worker(path& p, std::size_t lane, shared_work& work) {
  try {
    while (steady::now() < work.deadline && !work.error) {
      const auto start = steady::now();
      co_await p.call(lane);
      work.latencies_ms.push_back(std::chrono::duration<double, std::milli>(steady::now() - start).count());
    }
  } catch (const std::exception& e) {
    if (!work.error) work.error = e.what();
  }
}

task<concurrent_result> concurrent(path& p, std::size_t lanes, double seconds_each, const process_ids& ids,
                                   int server_pid) {
  auto executor = co_await asio::this_coro::executor;
  const cpu_use cpu_before = cpu_now(ids, server_pid);
  shared_work work;
  p2p::task_group group(executor);
  const auto start = steady::now();
  work.deadline = start + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(seconds_each));
  for (std::size_t lane = 0; lane < lanes; ++lane) group.spawn(lane_worker(p, lane, work), "bench lane");
  co_await group.wait();
  const double seconds = std::chrono::duration<double>(steady::now() - start).count();
  if (work.error) throw failure(*work.error);
  concurrent_result r;
  r.cpu.add(cpu_before, cpu_now(ids, server_pid), work.latencies_ms.size());
  r.calls_per_second = static_cast<double>(work.latencies_ms.size()) / seconds;
  r.latency = summarize(std::move(work.latencies_ms));
  co_return r;
}

// ---- gateway clients ----

client::gateway_url parse_gateway(const json& node_file, const std::string& node) {
  const std::string text = node_file.value("gateway", "");
  std::string why;
  auto url = client::parse_url(text, &why);
  if (!url) throw failure("node " + node + " wrote a gateway URL the client cannot use ('" + text + "'): " + why);
  return *url;
}

// Opens `count` MCP sessions on one gateway (initialize + initialized).
task<void> open_clients(asio::any_io_executor executor, const client::gateway_url& url, std::size_t count,
                        std::vector<std::unique_ptr<client::http_client>>& out, std::string node) {
  client::client_config config;
  config.listen = false;  // no GET stream: the benchmark wants no notifications
  config.client_name = "mcp_bench";
  for (std::size_t i = 0; i < count; ++i) {
    out.push_back(std::make_unique<client::http_client>(executor, url, config));
    auto started = co_await out.back()->initialize();
    if (!started)
      throw failure("cannot open an MCP session on node " + node + "'s gateway: " + out.back()->last_error());
  }
}

task<void> close_clients(std::vector<std::unique_ptr<client::http_client>>& clients) {
  for (auto& c : clients) co_await c->close();
  clients.clear();
}

// Every tool name the gateway lists (following nextCursor).
task<std::vector<std::string>> list_tools(client::http_client& c) {
  std::vector<std::string> names;
  std::optional<std::string> cursor;
  for (int page = 0; page < 64; ++page) {
    json params = json::object();
    if (cursor) params["cursor"] = *cursor;
    std::string method = "tools/list";
    auto reply = co_await c.call(std::move(method), std::move(params));
    if (!reply || !reply->ok()) co_return names;
    for (const auto& tool : reply->result.value("tools", json::array())) names.push_back(tool.value("name", ""));
    if (!reply->result.contains("nextCursor") || !reply->result["nextCursor"].is_string()) break;
    cursor = reply->result["nextCursor"].get<std::string>();
  }
  co_return names;
}

// Polls the gateway's tools/list every 50 ms until `tool` is listed (at most 30 s).
task<void> wait_for_tool(client::http_client& c, std::string tool, std::string node) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto deadline = steady::now() + 30s;
  for (;;) {
    auto names = co_await list_tools(c);
    if (std::find(names.begin(), names.end(), tool) != names.end()) co_return;
    if (c.has_failed()) throw failure("node " + node + "'s gateway failed while listing tools: " + c.last_error());
    if (steady::now() > deadline) throw failure("tool " + tool + " did not appear in node " + node + "'s tools/list within 30 s");
    timer.expires_after(50ms);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

// ---- a new session's first tool result ----

struct start_summary {
  double p50 = 0, p95 = 0;
};

start_summary summarize_starts(std::vector<double> ms) {
  start_summary s;
  if (ms.empty()) return s;
  std::sort(ms.begin(), ms.end());
  s.p50 = nearest_rank(ms, 0.50);
  s.p95 = nearest_rank(ms, 0.95);
  return s;
}

// The baseline: a new stdio_server (child start, initialize) and its first tools/call.
task<double> direct_first_result(asio::any_io_executor executor, const options& o) {
  const auto start = steady::now();
  mcp::server::server_spec spec;
  spec.name = std::string(server_name);
  spec.command = o.server;
  mcp::server::stdio_server server(executor, spec);
  p2p::task_group tasks(executor);
  tasks.spawn(server.run(), "new stdio server");
  std::exception_ptr failed;
  double ms = 0;
  try {
    if (!co_await server.wait_for_state(mcp::server::server_state::ready))
      throw failure("a new copy of the fake MCP server did not start: " + server.last_error());
    direct_path d(server);
    co_await d.call(0);
    ms = std::chrono::duration<double, std::milli>(steady::now() - start).count();
  } catch (...) {
    failed = std::current_exception();
  }
  server.stop();
  co_await tasks.wait();
  if (failed) std::rethrow_exception(failed);
  co_return ms;
}

// A new MCP session on a gateway: initialize, initialized, the first tools/call; the
// session is ended (DELETE) after the clock stopped.
task<double> gateway_first_result(asio::any_io_executor executor, client::gateway_url url, std::string tool,
                                  std::string node) {
  std::vector<std::unique_ptr<client::http_client>> one;
  const auto start = steady::now();
  co_await open_clients(executor, url, 1, one, node);
  gateway_path p("a new session on node " + node + "'s gateway", one, tool);
  std::exception_ptr failed;
  double ms = 0;
  try {
    co_await p.call(0);
    ms = std::chrono::duration<double, std::milli>(steady::now() - start).count();
  } catch (...) {
    failed = std::current_exception();
  }
  co_await close_clients(one);
  if (failed) std::rethrow_exception(failed);
  co_return ms;
}

// ---- the run ----

struct report {
  std::string alias;
  summary direct, local, remote;
  cpu_use direct_cpu, local_cpu, remote_cpu;
  concurrent_result direct_c, local_c, remote_c;
  start_summary direct_start, local_start, remote_start;
  // Node memory before and after opening sessions (each made one call) on A's gateway,
  // then on B's; A's numbers include what it does for B's sessions.
  rss a_idle, a_local, b_idle, b_remote, a_remote;
  std::size_t memory_sessions = 0;
};

task<void> measure(asio::any_io_executor executor, const options& o, mcp::server::stdio_server& direct,
                   const json& node_a, const json& node_b, process_ids ids, report& out,
                   std::vector<std::unique_ptr<client::http_client>>& a_clients,
                   std::vector<std::unique_ptr<client::http_client>>& b_clients) {
  if (!co_await direct.wait_for_state(mcp::server::server_state::ready))
    throw failure("the fake MCP server did not start: " + direct.last_error());

  const std::string local_tool = std::string(mcp::hub::local_alias) + "_" + std::string(server_name) + "_" + std::string(tool_name);
  out.alias = mcp::hub::default_alias(node_a.value("peerId", ""));
  const std::string remote_tool = out.alias + "_" + std::string(server_name) + "_" + std::string(tool_name);

  co_await open_clients(executor, parse_gateway(node_a, "A"), o.concurrency, a_clients, "A");
  co_await open_clients(executor, parse_gateway(node_b, "B"), o.concurrency, b_clients, "B");
  co_await wait_for_tool(*a_clients.front(), local_tool, "A");
  co_await wait_for_tool(*b_clients.front(), remote_tool, "B");

  direct_path d(direct);
  gateway_path local(std::string("node A's gateway"), a_clients, local_tool);
  gateway_path remote(std::string("node B's gateway to node A"), b_clients, remote_tool);
  path* paths[3] = {&d, &local, &remote};

  std::printf("warming up (%zu calls per path)...\n", o.warmup);
  std::fflush(stdout);
  for (path* p : paths) co_await sequential(*p, o.warmup, nullptr);
  // The other gateway sessions have their connection open and warm too.
  for (std::size_t lane = 1; lane < o.concurrency; ++lane) {
    co_await local.call(lane);
    co_await remote.call(lane);
  }

  ids.direct_server = direct.pid().value_or(-1);
  const int servers[3] = {ids.direct_server, children_of_a, children_of_a};
  cpu_use* cpu[3] = {&out.direct_cpu, &out.local_cpu, &out.remote_cpu};

  std::vector<double> latencies[3];
  for (auto& l : latencies) l.reserve(o.calls);
  for (std::size_t done = 0; done < o.calls;) {
    const std::size_t n = std::min(block_size, o.calls - done);
    for (int i = 0; i < 3; ++i) {
      const cpu_use before = cpu_now(ids, servers[i]);
      co_await sequential(*paths[i], n, &latencies[i]);
      cpu[i]->add(before, cpu_now(ids, servers[i]), n);
    }
    done += n;
  }
  out.direct = summarize(std::move(latencies[0]));
  out.local = summarize(std::move(latencies[1]));
  out.remote = summarize(std::move(latencies[2]));

  out.direct_c = co_await concurrent(d, o.concurrency, o.seconds, ids, ids.direct_server);
  out.local_c = co_await concurrent(local, o.concurrency, o.seconds, ids, children_of_a);
  out.remote_c = co_await concurrent(remote, o.concurrency, o.seconds, ids, children_of_a);

  // Only the new sessions below: the measuring sessions end first.
  co_await close_clients(a_clients);
  co_await close_clients(b_clients);

  std::printf("timing %zu new sessions per path to their first tool result...\n", o.sessions);
  std::fflush(stdout);
  const auto url_a = parse_gateway(node_a, "A");
  const auto url_b = parse_gateway(node_b, "B");
  std::vector<double> starts[3];
  for (std::size_t i = 0; i < o.sessions; ++i) {  // interleaved, like the round trips
    starts[0].push_back(co_await direct_first_result(executor, o));
    starts[1].push_back(co_await gateway_first_result(executor, url_a, local_tool, "A"));
    starts[2].push_back(co_await gateway_first_result(executor, url_b, remote_tool, "B"));
  }
  out.direct_start = summarize_starts(std::move(starts[0]));
  out.local_start = summarize_starts(std::move(starts[1]));
  out.remote_start = summarize_starts(std::move(starts[2]));

  // Memory per session: sessions that each made one call, kept open while RSS is read.
  out.memory_sessions = o.concurrency;
  out.a_idle = rss_of(ids.a);
  co_await open_clients(executor, url_a, o.concurrency, a_clients, "A");
  for (std::size_t lane = 0; lane < o.concurrency; ++lane) co_await local.call(lane);
  out.a_local = rss_of(ids.a);
  co_await close_clients(a_clients);
  out.b_idle = rss_of(ids.b);
  const rss a_before_remote = rss_of(ids.a);
  co_await open_clients(executor, url_b, o.concurrency, b_clients, "B");
  for (std::size_t lane = 0; lane < o.concurrency; ++lane) co_await remote.call(lane);
  out.b_remote = rss_of(ids.b);
  out.a_remote = rss_of(ids.a);
  // A's growth for B's sessions, measured from just before them.
  out.a_remote.self_kib -= a_before_remote.self_kib - out.a_idle.self_kib;
  out.a_remote.tree_kib -= a_before_remote.tree_kib - out.a_idle.tree_kib;
}

// Runs measure() next to the in-process baseline server; always stops the server and
// closes the clients, then rethrows what failed.
task<void> run(const options& o, const json& node_a, const json& node_b, process_ids ids, report& out) {
  auto executor = co_await asio::this_coro::executor;
  mcp::server::server_spec spec;
  spec.name = std::string(server_name);
  spec.command = o.server;
  mcp::server::stdio_server direct(executor, spec);
  p2p::task_group tasks(executor);
  tasks.spawn(direct.run(), "direct stdio server");
  std::vector<std::unique_ptr<client::http_client>> a_clients, b_clients;
  std::exception_ptr failed;
  try {
    co_await measure(executor, o, direct, node_a, node_b, ids, out, a_clients, b_clients);
  } catch (...) {
    failed = std::current_exception();
  }
  co_await close_clients(a_clients);
  co_await close_clients(b_clients);
  direct.stop();
  co_await tasks.wait();
  if (failed) std::rethrow_exception(failed);
}

void print_cpu(const char* title, const cpu_use* uses[3]) {
  static const char* paths[3] = {"direct stdio", "A's gateway", "B's gateway -> A"};
  std::printf("\n  CPU time per call, %s (us; from /proc schedstat, all threads):\n", title);
  std::printf("  %-44s %9s %9s %9s %9s %9s\n", "path", "clients", "node B", "node A", "server", "sum");
  for (int i = 0; i < 3; ++i) {
    double sum = 0;
    std::printf("  %-44s", paths[i]);
    for (int slot = 0; slot < cpu_slots; ++slot) {
      const double us = uses[i]->us_per_call(slot);
      sum += us;
      if ((slot == a_slot && i == 0) || (slot == b_slot && i != 2)) std::printf(" %9s", "-");
      else std::printf(" %9.1f", us);
    }
    std::printf(" %9.1f\n", sum);
  }
}

void print_report(const options& o, const report& r) {
  std::printf("\ntools/call round trip, fake_mcp_server 'echo', %zu sequential calls per path\n", o.calls);
  std::printf("(interleaved in blocks of %zu; one client, one call at a time)\n\n", block_size);
  std::printf("  %-44s %9s %9s %9s\n", "path", "p50 ms", "p99 ms", "mean ms");
  auto row = [](const char* what, const summary& s) {
    std::printf("  %-44s %9.3f %9.3f %9.3f\n", what, s.p50, s.p99, s.mean);
  };
  row("direct stdio (in-process stdio_server)", r.direct);
  row("A's gateway -> A's server (no libp2p)", r.local);
  const std::string remote = "B's gateway -> libp2p -> A's server";
  row(remote.c_str(), r.remote);

  const double hop = r.remote.p50 - r.direct.p50;
  std::printf("\n  added by the network hop at p50 (B path - direct): %.3f ms  (%.2fx direct; target < 1 ms: %s)\n",
              hop, r.remote.p50 / r.direct.p50, hop < 1.0 ? "met" : "NOT met");
  std::printf("  added by the gateway at p50 (A path - direct):      %.3f ms  (%.2fx direct)\n", r.local.p50 - r.direct.p50,
              r.local.p50 / r.direct.p50);
  std::printf("  of which libp2p + node B at p50 (B path - A path):  %.3f ms  (%.2fx the A path)\n",
              r.remote.p50 - r.local.p50, r.remote.p50 / r.local.p50);
  const cpu_use* sequential_cpu[3] = {&r.direct_cpu, &r.local_cpu, &r.remote_cpu};
  print_cpu("sequential", sequential_cpu);

  std::printf("\n%zu concurrent clients in %zu separate sessions, %.1f s per path (gateways: one MCP session per\n"
              "client;", o.concurrency, o.concurrency, o.seconds);
  std::printf(" direct: %zu requests in flight on the one stdio session)\n\n", o.concurrency);
  std::printf("  %-44s %9s %9s %9s %9s\n", "path", "calls/s", "x direct", "p50 ms", "p99 ms");
  auto crow = [&](const char* what, const concurrent_result& c) {
    std::printf("  %-44s %9.0f %9.2f %9.3f %9.3f\n", what, c.calls_per_second, c.calls_per_second / r.direct_c.calls_per_second,
                c.latency.p50, c.latency.p99);
  };
  crow("direct stdio (in-process stdio_server)", r.direct_c);
  crow("A's gateway -> A's server (no libp2p)", r.local_c);
  crow(remote.c_str(), r.remote_c);
  const cpu_use* concurrent_cpu[3] = {&r.direct_c.cpu, &r.local_c.cpu, &r.remote_c.cpu};
  print_cpu("concurrent", concurrent_cpu);

  std::printf("\na new client session to its first tool result, %zu sessions per path, one after another\n"
              "(gateways: initialize + initialized + tools/call on a new MCP session, including what the node\n"
              "starts for it; direct: a new stdio_server, i.e. child start + initialize + tools/call)\n\n",
              o.sessions);
  std::printf("  %-44s %9s %9s %9s\n", "path", "p50 ms", "p95 ms", "x direct");
  auto srow = [&](const char* what, const start_summary& s) {
    std::printf("  %-44s %9.3f %9.3f %9.2f\n", what, s.p50, s.p95, s.p50 / r.direct_start.p50);
  };
  srow("direct stdio (new stdio_server)", r.direct_start);
  srow("A's gateway -> A's server (no libp2p)", r.local_start);
  srow(remote.c_str(), r.remote_start);

  const double n = static_cast<double>(std::max<std::size_t>(1, r.memory_sessions));
  std::printf("\nnode memory per session: VmRSS before and after %zu new sessions that each made one call\n"
              "(\"with children\": the node and every process it started, e.g. hosted servers)\n\n",
              r.memory_sessions);
  std::printf("  %-48s %11s %11s %11s %9s\n", "sessions on / node", "before KiB", "after KiB", "KiB/session", "processes");
  auto mrow = [&](const char* what, long before, long after, std::size_t before_n, std::size_t after_n) {
    std::printf("  %-48s %11ld %11ld %11.1f %4zu->%zu\n", what, before, after, static_cast<double>(after - before) / n,
                before_n, after_n);
  };
  mrow("A's gateway / node A", r.a_idle.self_kib, r.a_local.self_kib, 1, 1);
  mrow("A's gateway / node A with children", r.a_idle.tree_kib, r.a_local.tree_kib, r.a_idle.processes,
       r.a_local.processes);
  mrow("B's gateway / node B", r.b_idle.self_kib, r.b_remote.self_kib, 1, 1);
  mrow("B's gateway / node A (serving B) with children", r.a_idle.tree_kib, r.a_remote.tree_kib, r.a_idle.processes,
       r.a_remote.processes);

  std::printf("\n(all processes share this machine's %u cores: the benchmark's clients, nodes A and B, and the\n"
              "servers; calls/s is bounded by whichever of them saturates a core first)\n",
              std::thread::hardware_concurrency());
}

[[noreturn]] void usage(int status) {
  std::fprintf(status == 0 ? stdout : stderr,
               "usage: mcp_bench [--calls N] [--concurrency C] [--seconds S] [--warmup W] [--sessions N] "
               "[--p2pmcp PATH] [--server PATH] [--timeout SECONDS]\n"
               "  --calls N        sequential calls per path [2000]\n"
               "  --concurrency C  concurrent clients [16]\n"
               "  --seconds S      length of the concurrent run, per path [2]\n"
               "  --warmup W       calls per path before measuring [200]\n"
               "  --sessions N     new sessions timed to their first tool result, per path [20]\n"
               "  --p2pmcp PATH    the p2pmcp binary [%s]\n"
               "  --server PATH    the fake MCP server binary [%s]\n"
               "  --timeout S      give up (exit 1) after S seconds [600]\n",
               MCP_BENCH_P2PMCP_PATH, MCP_BENCH_SERVER_PATH);
  std::exit(status);
}

options parse_options(int argc, char** argv) {
  options o;
  auto number = [&](int& i, long low, long high) -> long {
    if (i + 1 >= argc) usage(2);
    char* end = nullptr;
    const long v = std::strtol(argv[++i], &end, 10);
    if (*end != '\0' || v < low || v > high) {
      std::fprintf(stderr, "mcp_bench: %s needs a number from %ld to %ld\n", argv[i - 1], low, high);
      std::exit(2);
    }
    return v;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") usage(0);
    else if (a == "--calls") o.calls = static_cast<std::size_t>(number(i, 1, 10000000));
    else if (a == "--concurrency") o.concurrency = static_cast<std::size_t>(number(i, 1, 48));
    else if (a == "--seconds") o.seconds = static_cast<double>(number(i, 1, 3600));
    else if (a == "--warmup") o.warmup = static_cast<std::size_t>(number(i, 0, 10000000));
    else if (a == "--sessions") o.sessions = static_cast<std::size_t>(number(i, 1, 10000));
    else if (a == "--timeout") o.timeout_seconds = static_cast<int>(number(i, 1, 86400));
    else if (a == "--p2pmcp" && i + 1 < argc) o.p2pmcp = argv[++i];
    else if (a == "--server" && i + 1 < argc) o.server = argv[++i];
    else usage(2);
  }
  return o;
}

// Ends a hung run: kills the nodes and exits 1 (their hosted servers see their stdin close).
void start_watchdog(int seconds) {
  std::thread([seconds] {
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    std::fprintf(stderr, "mcp_bench: the benchmark did not finish within %d s (see --timeout); giving up\n", seconds);
    for (auto& pid : watched_pids)
      if (int p = pid.load(); p > 0) ::kill(p, SIGKILL);
    std::_Exit(1);
  }).detach();
}

// `p2pmcp id --home <home>`: the node's peer ID (creating its identity).
std::string peer_id_of(const std::string& p2pmcp, const fs::path& home) {
  const std::string command = "'" + p2pmcp + "' id --home '" + home.string() + "' 2>/dev/null";
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) throw failure("cannot run " + p2pmcp + " id");
  char line[256] = {};
  const bool read = std::fgets(line, sizeof line, pipe) != nullptr;
  const int status = ::pclose(pipe);
  std::string id = read ? std::string(line) : std::string();
  while (!id.empty() && (id.back() == '\n' || id.back() == '\r')) id.pop_back();
  if (status != 0 || !id.starts_with("12D3KooW")) throw failure("`p2pmcp id --home " + home.string() + "` failed");
  return id;
}

int run_benchmark(const options& o) {
  for (const auto& [what, file] : {std::pair{"p2pmcp binary", o.p2pmcp}, std::pair{"fake MCP server", o.server}})
    if (::access(file.c_str(), X_OK) != 0)
      throw failure(std::string("the ") + what + " " + file + " is not an executable file (build it, or pass its path)");

  char dir_template[] = "/tmp/mcp_bench.XXXXXX";
  if (!::mkdtemp(dir_template)) throw failure(std::string("cannot create a temporary directory: ") + std::strerror(errno));
  const fs::path dir = dir_template;
  temporary_dir = dir;
  const fs::path home_a = dir / "a", home_b = dir / "b";
  fs::create_directories(home_a);
  fs::create_directories(home_b);
  // Peers use each other's servers only when they trust each other: A trusts B (B's
  // identity is created first to learn its peer ID), B trusts A once A runs.
  const std::string peer_b = peer_id_of(o.p2pmcp, home_b);
  {
    // Room for a child per session of both gateways (A's own and B's, over the hop) and
    // the new sessions timed below: at the default cap (16) the sessions of the two
    // gateways would take each other's children in turn, which measures process starts.
    json server = {{"command", o.server}, {"maxSessions", 2 * o.concurrency + 8}};
    json config = {{"mcpServers", {{std::string(server_name), server}}},
                   {"p2pmcp", {{"trust", json::array({peer_b})}}}};
    std::ofstream(home_a / "config.json") << config.dump(2) << "\n";
  }

  report r;
  bool stopped_cleanly = true;
  {
    node_process a("A",
                   {o.p2pmcp, "up", "--home", home_a.string(), "--config", (home_a / "config.json").string(), "--listen",
                    "/ip4/127.0.0.1/tcp/0", "--gateway", "127.0.0.1:0", "--log-level", "warn"},
                   dir / "a.log", 0);
    const json node_a = wait_for_node_file(a, home_a);
    std::string bootstrap;
    for (const auto& address : node_a.value("addresses", json::array()))
      if (address.is_string() && address.get<std::string>().starts_with("/ip4/127.0.0.1/"))
        bootstrap = address.get<std::string>();
    if (bootstrap.empty()) throw failure("node A's node.json lists no /ip4/127.0.0.1 address to bootstrap from");
    {
      json config = {{"p2pmcp", {{"trust", json::array({node_a.value("peerId", "")})}}}};
      std::ofstream(home_b / "config.json") << config.dump(2) << "\n";
    }
    node_process b("B",
                   {o.p2pmcp, "up", "--home", home_b.string(), "--config", (home_b / "config.json").string(), "--listen",
                    "/ip4/127.0.0.1/tcp/0", "--bootstrap", bootstrap, "--gateway", "127.0.0.1:0", "--log-level", "warn"},
                   dir / "b.log", 1);
    const json node_b = wait_for_node_file(b, home_b);
    std::printf("node A %s (alias %s), gateway %s\nnode B %s, gateway %s\n", node_a.value("peerId", "").c_str(),
                mcp::hub::default_alias(node_a.value("peerId", "")).c_str(), node_a.value("gateway", "").c_str(),
                node_b.value("peerId", "").c_str(), node_b.value("gateway", "").c_str());
    std::fflush(stdout);

    asio::io_context io(1);
    std::exception_ptr failed;
    process_ids ids;
    ids.a = a.pid();
    ids.b = b.pid();
    asio::co_spawn(io, run(o, node_a, node_b, ids, r), [&](std::exception_ptr e) { failed = e; });
    io.run();
    if (failed) std::rethrow_exception(failed);
    stopped_cleanly = b.stop() && stopped_cleanly;
    stopped_cleanly = a.stop() && stopped_cleanly;
  }
  print_report(o, r);
  if (!stopped_cleanly) throw failure("a node did not shut down cleanly on SIGTERM");
  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse_options(argc, argv);
  p2p::log::set_level(p2p::log::level::warn);
  start_watchdog(o.timeout_seconds);
  try {
    return run_benchmark(o);
  } catch (const std::exception& e) {
    std::string where;
    if (!temporary_dir.empty()) where = " (node homes and logs kept in " + temporary_dir.string() + ")";
    std::fprintf(stderr, "mcp_bench: %s%s\n", e.what(), where.c_str());
    return 1;
  }
}
