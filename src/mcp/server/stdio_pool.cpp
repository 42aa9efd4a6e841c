#include "mcp/server/stdio_pool.hpp"

#include "mcp/jsonrpc/message.hpp"

#include "p2p/core/log.hpp"

#include <boost/asio/this_coro.hpp>

#include <algorithm>

namespace mcp::server {

namespace log = p2p::log;
namespace codes = jsonrpc::codes;

namespace {

time_point now() { return std::chrono::steady_clock::now(); }

// Which warm child a session gets: one started and waiting for its client's hello
// before one still starting, and either before one waiting to restart (its start
// failed; a request would fail at once).
int readiness(const stdio_server& server) {
  if (server.awaiting_hello()) return 0;
  switch (server.state()) {
    case server_state::ready: return 0;
    case server_state::starting: return 1;
    default: return 2;
  }
}

}  // namespace

struct stdio_pool::child {
  std::unique_ptr<stdio_server> server;
  std::list<std::unique_ptr<child>>::iterator self;
  bool running = true;    // its run() has not returned
  bool leased = false;    // a client session holds it
  bool stopping = false;  // stop() was called (released, idle, or the pool stops)
  std::string who;        // the session holding it, for logs
  time_point warm_since{};
};

class stdio_pool::lease final : public upstream_lease {
 public:
  lease(stdio_pool& pool, child& c) : pool_(pool), child_(c) {}
  ~lease() override { pool_.release(child_); }
  upstream& get() noexcept override { return *child_.server; }

 private:
  stdio_pool& pool_;
  child& child_;
};

stdio_pool::stdio_pool(asio::any_io_executor executor, server_spec spec, stdio_pool_options options)
    : executor_(executor), spec_(std::move(spec)), options_(std::move(options)), tasks_(executor), wait_(executor, tasks_) {
  options_.server.quiet_lifecycle = true;
  // Warm children start ahead of their client: initialize waits for its hello.
  options_.server.await_hello = true;
  options_.server.list_tools = false;  // the node lists the catalogue child's tools
}

// Children whose run() returned are destroyed with the list; run() must have returned.
stdio_pool::~stdio_pool() = default;

std::size_t stdio_pool::warm() const noexcept {
  return static_cast<std::size_t>(
      std::count_if(children_.begin(), children_.end(), [this](const auto& c) { return is_warm(*c); }));
}

std::size_t stdio_pool::warm_ready() const noexcept {
  return static_cast<std::size_t>(std::count_if(children_.begin(), children_.end(), [this](const auto& c) {
    return is_warm(*c) && (c->server->awaiting_hello() || c->server->available());
  }));
}

bool stdio_pool::is_warm(const child& c) const noexcept { return c.running && !c.leased && !c.stopping; }

void stdio_pool::stop() noexcept {
  stopping_ = true;
  wake();
}

rpc_result<std::unique_ptr<upstream_lease>> stdio_pool::acquire(const std::string& who, const client_hello& hello) {
  const std::string subject = "MCP server '" + spec_.name + "'";
  if (stopping_) return rpc_error(codes::connection_closed, subject + " is stopped");
  if (spec_.disabled) return rpc_error(codes::connection_closed, subject + " is disabled in the config");
  if (leased_ >= spec_.max_sessions) {
    std::string sentence = subject + " already serves " + std::to_string(leased_) +
                           " client sessions, each with a process of its own, which is its cap: close a session, "
                           "or raise \"maxSessions\" in its mcpServers entry (at most " +
                           std::to_string(max_max_sessions) +
                           "), or set \"shared\": true if the server keeps no state per client";
    log::info("mcp/" + spec_.name, "refused a process of its own to {}: {}", who, sentence);
    return rpc_error(codes::too_many_requests, std::move(sentence));
  }

  child* chosen = nullptr;
  for (auto& c : children_)
    if (is_warm(*c) && (!chosen || readiness(*c->server) < readiness(*chosen->server))) chosen = c.get();
  if (chosen) {
    const auto pid = chosen->server->pid();
    log::debug("mcp/" + spec_.name, "{} gets a process of its own: a warm one ({}, {})", who,
               pid ? "pid " + std::to_string(*pid) : std::string("not running"), to_string(chosen->server->state()));
  } else {
    chosen = &start_child();
    log::debug("mcp/" + spec_.name, "{} gets a process of its own: starting one now", who);
  }
  chosen->server->hello(hello);
  chosen->leased = true;
  chosen->who = who;
  ++leased_;
  refill();
  return std::unique_ptr<upstream_lease>(new lease(*this, *chosen));
}

stdio_pool::child& stdio_pool::start_child() {
  auto made = std::make_unique<child>();
  made->server = std::make_unique<stdio_server>(executor_, spec_, options_.server);
  made->warm_since = now();
  child& c = *made;
  children_.push_back(std::move(made));
  c.self = std::prev(children_.end());
  ++running_;
  tasks_.spawn(run_child(&c), "mcp server " + spec_.name + " (a session's process)");
  wake();
  return c;
}

void stdio_pool::refill() {
  if (stopping_ || spec_.disabled) return;
  for (std::size_t n = warm(); n < spec_.warm_sessions; ++n) start_child();
}

void stdio_pool::release(child& c) {
  c.leased = false;
  --leased_;
  if (!c.running) {
    erase(c);
    return;
  }
  const auto pid = c.server->pid();
  log::debug("mcp/" + spec_.name, "{} ended its session: stopping its process ({})", c.who,
             pid ? "pid " + std::to_string(*pid) : std::string("not running"));
  c.stopping = true;
  c.server->stop();
}

void stdio_pool::erase(child& c) { children_.erase(c.self); }

task<void> stdio_pool::run_child(child* c) {
  co_await c->server->run();
  c->running = false;
  --running_;
  // A leased child stays until its lease is destroyed: the holder may still look at it.
  if (!c->leased) erase(*c);
  wake();
}

task<void> stdio_pool::run() {
  // Cancellation means "stop now", and stopping still has to await the children: Asio's
  // default would throw from every later co_await.
  co_await asio::this_coro::throw_if_cancelled(false);
  refill();
  while (!stopping_) {
    const time_point t = now();
    time_point next = time_point::max();
    for (auto& c : children_) {
      if (!is_warm(*c)) continue;
      const time_point expiry = deadline_after(c->warm_since, options_.idle);
      if (expiry <= t) {
        log::debug("mcp/" + spec_.name, "stopping a warm process no session took for {}",
                   describe_delay(options_.idle));
        c->stopping = true;
        c->server->stop();
      } else {
        next = std::min(next, expiry);
      }
    }
    if (co_await wait_.until(next)) stopping_ = true;
  }
  for (auto& c : children_) {
    if (c->running && !c->stopping) {
      c->stopping = true;
      c->server->stop();
    }
  }
  // run_child() wakes us as each child ends; cancelled now, the rest stop at once.
  while (running_ > 0) co_await wait_.until(time_point::max());
  co_await tasks_.wait();
}

}  // namespace mcp::server
