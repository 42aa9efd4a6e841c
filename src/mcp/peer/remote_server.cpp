#include "mcp/peer/remote_server.hpp"

#include "mcp/jsonrpc/message.hpp"

#include "p2p/core/bytes.hpp"
#include "p2p/core/log.hpp"
#include "p2p/core/timeout.hpp"

#include <exception>
#include <vector>

namespace mcp::peer {

namespace log = p2p::log;
namespace codes = jsonrpc::codes;
using mcp::server::rpc_error;
using mcp::server::server_state;
using mcp::server::time_point;

namespace {

time_point now() { return std::chrono::steady_clock::now(); }

}  // namespace

remote_server_options::remote_server_options() {
  capabilities = {{"sampling", json::object()},
                  {"elicitation", json::object()},
                  {"roots", {{"listChanged", true}}}};
}

remote_server::remote_server(asio::any_io_executor executor, std::string name, std::string label, stream_opener open,
                             remote_server_options options)
    : rpc_upstream(executor, "server '" + name + "' on " + label, "mcp/peer", options),
      name_(std::move(name)),
      label_(std::move(label)),
      open_(std::move(open)),
      connect_timeout_(options.connect_timeout),
      close_grace_(options.close_grace),
      refused_retry_(options.refused_retry) {}

// A stream still here means run() was never finished: dropping it resets it.
remote_server::~remote_server() = default;

std::string remote_server::unavailable_reason() const {
  if (state() == server_state::stopped || stop_requested_) return subject() + " is stopped";
  if (state() == server_state::restarting) {
    const auto left = restart_at_ - now();
    return last_error() + "; reconnecting in " +
           mcp::server::describe_delay(left > duration::zero() ? left : duration::zero());
  }
  return {};
}

rpc_error remote_server::session_lost_error(std::string_view method) const {
  if (!disconnected_) return unavailable_error();
  return rpc_error{codes::connection_closed,
                   label_ + " disconnected during " + std::string(method) + " to server '" + name_ + "'", json(),
                   false};
}

// ---------------------------------------------------------------------------------
// Sessions

task<void> remote_server::run_session(mcp::server::restart_backoff& backoff) {
  begin_session();
  open_done_ = false;
  open_error_.clear();
  input_ended_ = false;
  input_error_ = {};
  disconnected_ = false;

  // Opening can take long (a dial, negotiation): it runs in loops_ so that stop() does
  // not wait for it but cancels it.
  loops_.spawn(open_stream(), "remote server open");
  co_await supervise_until([this] { return open_done_ || stop_requested_; }, time_point::max());
  if (!open_done_) loops_.cancel_all();
  co_await loops_.wait();
  if (!stream_ || stop_requested_) {
    if (stream_) stream_->reset();  // opened just as we stopped
    stream_.reset();
    end_session(backoff, "could not open a stream to " + label_ + " for server '" + name_ + "': " + open_error_);
    co_return;
  }

  log::debug(log_component_, "opened a stream to {} for server '{}'", label_, name_);
  loops_.spawn(read_stream(), "remote server read");
  loops_.spawn(write_loop(), "remote server write");
  loops_.spawn(lifecycle(), "remote server lifecycle");
  co_await supervise_until([this] { return input_ended_ || output_failed_ || fatal_ || stop_requested_; },
                           time_point::max());

  std::string cause;
  duration min_delay = duration::zero();
  if (stop_requested_) {
    // Callers are told now, not after the close below.
    const rpc_error stopped{codes::connection_closed, subject() + " was stopped", json(), false};
    fail_pending([&](std::string_view) { return stopped; });
  } else if (fatal_) {
    cause = *fatal_;
    if (initialize_refused_) min_delay = refused_retry_;
  } else {
    disconnected_ = true;
    const p2p::error_code why = input_ended_ ? input_error_ : p2p::error_code(p2p::errc::stream_reset);
    cause = label_ + " disconnected from server '" + name_ + "' (" + p2p::describe(why) + ")";
  }

  // Our side ends the session (stop, or a lifecycle we refuse): close our write side
  // after what is queued and give the peer close_grace to close its own, as a clean MCP
  // shutdown; a broken stream is reset at once.
  if (!input_ended_ && !output_failed_) {
    close_output_when_drained();
    co_await supervise_until([this] { return input_ended_ || output_failed_; },
                             mcp::server::deadline_after(now(), hurry_ ? duration::zero() : close_grace_));
  }
  stream_->reset();  // ends a read or a write still waiting
  end_session(backoff, std::move(cause), min_delay);
  co_await loops_.wait();
  stream_.reset();
}

task<void> remote_server::open_stream() {
  try {
    auto opened = co_await p2p::with_timeout(open_(), connect_timeout_);
    if (!opened) {
      open_error_ = p2p::describe(opened.error());
    } else if (!*opened) {
      open_error_ = "no stream was returned";
    } else {
      stream_ = std::move(*opened);
    }
  } catch (const std::exception& e) {
    // The opener was cancelled (stop) or failed unexpectedly; either way no stream.
    open_error_ = e.what();
  }
  open_done_ = true;
  wake_supervisor();
}

task<void> remote_server::read_stream() {
  std::vector<std::uint8_t> buffer(64 * 1024);
  for (;;) {
    auto n = co_await stream_->read_some(buffer);
    if (!n) {
      input_error_ = n.error();
      break;
    }
    handle_input(p2p::as_string(p2p::bytes_view(buffer.data(), *n)));
  }
  // A clean end still delivers a last line without its newline.
  if (input_error_ == p2p::errc::closed) handle_end_of_input();
  input_ended_ = true;
  wake_supervisor();
}

task<bool> remote_server::write_output(std::string_view data) {
  auto written = co_await stream_->write(p2p::as_bytes(data));
  if (!written) {
    if (!session_over_) log::debug(log_component_, "writing to {} failed: {}", label_, p2p::describe(written.error()));
    co_return false;
  }
  co_return true;
}

task<void> remote_server::close_output() {
  auto closed = co_await stream_->close_write();
  if (!closed) log::debug(log_component_, "closing the stream to {} failed: {}", label_, p2p::describe(closed.error()));
}

}  // namespace mcp::peer
