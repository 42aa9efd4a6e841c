#include "mcp/server/stdio_server.hpp"

#include "p2p/core/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <signal.h>

#include <algorithm>
#include <vector>

namespace mcp::server {

namespace log = p2p::log;

namespace {

time_point now() { return std::chrono::steady_clock::now(); }

// Writing to a pipe whose reader died raises SIGPIPE, which would end the node.
void ignore_sigpipe() {
  struct sigaction current {};
  if (::sigaction(SIGPIPE, nullptr, &current) == 0 && !(current.sa_flags & SA_SIGINFO) &&
      current.sa_handler == SIG_DFL) {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    ::sigaction(SIGPIPE, &ignore, nullptr);
  }
}

}  // namespace

stdio_server::stdio_server(asio::any_io_executor executor, server_spec spec, stdio_server_options options)
    : rpc_upstream(executor, "MCP server '" + spec.name + "'", "mcp/" + spec.name, options),
      spec_(std::move(spec)),
      stop_grace_(options.stop_grace),
      exit_drain_(options.exit_drain),
      max_stderr_line_(options.max_stderr_line),
      stderr_lines_kept_(options.stderr_lines_kept) {
  ignore_sigpipe();
}

// A child still running here means run() was never finished; child_process's
// destructor kills and reaps it.
stdio_server::~stdio_server() = default;

std::optional<int> stdio_server::pid() const noexcept {
  if (child_ && child_->is_running()) return child_->pid();
  return std::nullopt;
}

std::string stdio_server::unavailable_reason() const {
  if (spec_.disabled) return subject() + " is disabled in the config";
  if (state() == server_state::stopped || stop_requested_) return subject() + " is stopped";
  if (state() == server_state::restarting) {
    const auto left = restart_at_ - now();
    return last_error() + "; restarting in " + describe_delay(left > duration::zero() ? left : duration::zero());
  }
  return {};
}

// ---------------------------------------------------------------------------------
// Supervision

task<void> stdio_server::run_session(restart_backoff& backoff) {
  begin_session();
  stdout_eof_ = stderr_eof_ = exited_ = false;
  last_stderr_line_.clear();
  const std::string& who = subject();

  child_ = std::make_unique<child_process>(executor_);
  std::string cause;
  if (auto error = child_->start(spec_)) {
    cause = who + " could not be started: " + *error;
  } else {
    log::emit(lifecycle_level(), log_component_, "started {} (pid {})", spec_.command, child_->pid());
    loops_.spawn(read_stdout(), "mcp server stdout");
    loops_.spawn(read_stderr(), "mcp server stderr");
    loops_.spawn(write_loop(), "mcp server stdin");
    loops_.spawn(watch_exit(), "mcp server exit watch");
    loops_.spawn(lifecycle(), "mcp server lifecycle");

    co_await supervise_until([this] { return exited_ || stdout_eof_ || fatal_ || stop_requested_; },
                             time_point::max());

    // Shutdown as basic/lifecycle "stdio" describes: close its input, wait, SIGTERM,
    // wait, SIGKILL. Also used when it closed its output or failed the lifecycle.
    bool terminated = false;
    const bool exited_first = exited_ || (stdout_eof_ && !fatal_ && !stop_requested_);
    if (!exited_) {
      output_closed_ = true;
      child_->close_stdin();
      const auto has_exited = [this] { return exited_; };
      const duration grace = hurry_ ? duration::zero() : stop_grace_;
      if (!co_await supervise_until(has_exited, deadline_after(now(), grace))) {
        terminated = true;
        child_->signal_group(SIGTERM);
        if (!co_await supervise_until(has_exited, deadline_after(now(), hurry_ ? duration::zero() : grace))) {
          child_->signal_group(SIGKILL);
          co_await supervise_until(has_exited, time_point::max());
        }
      }
    }
    // reap() also kills what is left of its process group, so pipes that a grandchild
    // held open now close; then take in the last output it wrote (often the error).
    const exit_status status = child_->reap();
    co_await supervise_until([this] { return stdout_eof_ && stderr_eof_; },
                             deadline_after(now(), hurry_ ? duration::zero() : exit_drain_));

    // Whichever of exit and end of output we noticed first, a child that exited without
    // our signals is described by its exit status; one we had to terminate had closed
    // its output (or failed the lifecycle) and then hung.
    if (fatal_) {
      cause = *fatal_;
    } else if (terminated) {
      cause = who + " closed its output and was terminated";
    } else {
      cause = who + " " + status.describe();
    }
    // Its last words, when it died on its own (after our stdin close or signals they
    // would only be about that).
    if (!fatal_ && !terminated && exited_first && !last_stderr_line_.empty())
      cause += " (last stderr line: \"" + printable(last_stderr_line_, 200) + "\")";
    log::debug(log_component_, "pid {} {}", child_->pid(), status.describe());
  }

  end_session(backoff, std::move(cause));

  // End this run's coroutines: readers see their pipes closed, the writer and the
  // lifecycle see the session over (end_session woke them), the exit watch was closed
  // by reap().
  boost::system::error_code ignored;
  child_->stdout_pipe().close(ignored);
  child_->stderr_pipe().close(ignored);
  child_->close_stdin();
  child_->close_exit_watch();
  co_await loops_.wait();
  child_.reset();
}

task<void> stdio_server::watch_exit() {
  co_await child_->wait_exit();
  if (child_->has_exited()) {
    exited_ = true;
    wake_supervisor();
  }
}

// ---------------------------------------------------------------------------------
// Pipes

task<void> stdio_server::read_stdout() {
  std::vector<char> buffer(64 * 1024);
  auto& pipe = child_->stdout_pipe();
  for (;;) {
    auto [ec, n] = co_await pipe.async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    handle_input(std::string_view(buffer.data(), n));
  }
  handle_end_of_input();
  stdout_eof_ = true;
  wake_supervisor();
}

task<void> stdio_server::read_stderr() {
  std::vector<char> buffer(16 * 1024);
  std::string line;
  bool skipping = false;  // the rest of a line that was cut
  auto& pipe = child_->stderr_pipe();
  for (;;) {
    auto [ec, n] = co_await pipe.async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    std::string_view data(buffer.data(), n);
    while (!data.empty()) {
      const auto newline = data.find('\n');
      const std::string_view part = data.substr(0, newline);
      if (!skipping) {
        const std::size_t room = max_stderr_line_ - std::min(line.size(), max_stderr_line_);
        line.append(part.substr(0, room));
        if (part.size() > room) {
          handle_stderr_line(line + " [line cut]");
          line.clear();
          skipping = true;
        }
      }
      if (newline == std::string_view::npos) break;
      if (!skipping) handle_stderr_line(line);
      line.clear();
      skipping = false;
      data.remove_prefix(newline + 1);
    }
  }
  if (!line.empty()) handle_stderr_line(line);
  stderr_eof_ = true;
  wake_supervisor();
}

void stdio_server::handle_stderr_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find_first_not_of(" \t") == std::string_view::npos) return;
  std::string text = printable(line, max_stderr_line_ + 16);
  log::info(log_component_, "{}", text);
  last_stderr_line_ = text;
  stderr_lines_.push_back(std::move(text));
  while (stderr_lines_.size() > stderr_lines_kept_) stderr_lines_.pop_front();
}

task<bool> stdio_server::write_output(std::string_view data) {
  auto [ec, n] = co_await asio::async_write(child_->stdin_pipe(), asio::buffer(data.data(), data.size()),
                                            asio::as_tuple(asio::use_awaitable));
  if (ec) {
    // EPIPE: it closed its stdin or died; the exit watch or stdout tells the rest.
    if (!session_over_) log::debug(log_component_, "writing to its stdin failed: {}", ec.message());
    co_return false;
  }
  co_return true;
}

}  // namespace mcp::server
