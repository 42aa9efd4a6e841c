#include "mcp/peer/remote_source.hpp"

#include "mcp/jsonrpc/message.hpp"

#include "p2p/core/log.hpp"

#include <boost/asio/this_coro.hpp>

namespace mcp::peer {

namespace log = p2p::log;
namespace codes = jsonrpc::codes;
using mcp::server::rpc_error;
using mcp::server::rpc_result;
using mcp::server::upstream_lease;

constexpr std::string_view component = "mcp/peer";

struct remote_source::entry {
  std::unique_ptr<remote_server> server;
  std::list<std::unique_ptr<entry>>::iterator self;
  bool running = true;  // its run() has not returned
  bool leased = true;
  std::string who;
};

class remote_source::lease final : public upstream_lease {
 public:
  lease(remote_source& source, entry& e) : source_(source), entry_(e) {}
  ~lease() override { source_.release(entry_); }
  mcp::server::upstream& get() noexcept override { return *entry_.server; }

 private:
  remote_source& source_;
  entry& entry_;
};

remote_source::remote_source(asio::any_io_executor executor, std::string name, std::string label, stream_opener open,
                             remote_server_options server_options, remote_source_options options)
    : executor_(executor),
      name_(std::move(name)),
      label_(std::move(label)),
      open_(std::move(open)),
      server_options_(std::move(server_options)),
      options_(options),
      tasks_(executor),
      wakeup_(executor, tasks_) {
  server_options_.quiet_lifecycle = true;
  server_options_.await_hello = true;  // acquire() gives it the client's
  server_options_.list_tools = false;  // the node lists the shared stream's tools
}

// Entries whose run() returned are destroyed with the list; run() must have returned.
remote_source::~remote_source() = default;

void remote_source::stop() noexcept {
  stopping_ = true;
  wakeup_.wake();
}

rpc_result<std::unique_ptr<upstream_lease>> remote_source::acquire(const std::string& who,
                                                                   const mcp::server::client_hello& hello) {
  if (stopping_) return rpc_error(codes::connection_closed, subject() + " is stopped");
  if (leased_ >= options_.max_sessions) {
    std::string sentence = subject() + " already has " + std::to_string(leased_) +
                           " sessions of this node's clients, each on a stream of its own, which is the cap per "
                           "server of a peer: close a session and try again";
    log::info(component, "refused a stream of its own to {}: {}", who, sentence);
    return rpc_error(codes::too_many_requests, std::move(sentence));
  }
  auto made = std::make_unique<entry>();
  made->server = std::make_unique<remote_server>(executor_, name_, label_, open_, server_options_);
  made->server->hello(hello);
  made->who = who;
  entry& e = *made;
  entries_.push_back(std::move(made));
  e.self = std::prev(entries_.end());
  ++leased_;
  ++running_;
  tasks_.spawn(run_entry(&e), "remote server " + name_ + " (a session's stream)");
  log::debug(component, "{} gets a stream of its own to {}", who, subject());
  return std::unique_ptr<upstream_lease>(new lease(*this, e));
}

void remote_source::retry_now() noexcept {
  for (auto& e : entries_)
    if (e->running) e->server->retry_now();
}

void remote_source::release(entry& e) {
  e.leased = false;
  --leased_;
  if (!e.running) {
    entries_.erase(e.self);
    return;
  }
  log::debug(component, "{} ended its session: closing its stream to {}", e.who, subject());
  e.server->stop();
}

task<void> remote_source::run_entry(entry* e) {
  co_await e->server->run();
  e->running = false;
  --running_;
  // A leased one stays until its lease is destroyed: the holder may still look at it.
  if (!e->leased) entries_.erase(e->self);
  wakeup_.wake();
}

task<void> remote_source::run() {
  // Cancellation means "stop now", and stopping still has to await the streams: Asio's
  // default would throw from every later co_await.
  co_await asio::this_coro::throw_if_cancelled(false);
  while (!stopping_)
    if (co_await wakeup_.until(p2p::time_point::max())) stopping_ = true;
  for (auto& e : entries_)
    if (e->running) e->server->stop();
  while (running_ > 0) co_await wakeup_.until(p2p::time_point::max());
  co_await tasks_.wait();
}

}  // namespace mcp::peer
