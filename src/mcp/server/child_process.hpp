// A hosted MCP server's process: posix_spawn with pipes for stdin, stdout and stderr,
// the spec's environment merged over the node's, its working directory, and its own
// process group (terminal signals such as Ctrl-C reach the node only, which then stops
// its servers in order; SIGTERM/SIGKILL reach wrappers like npx and what they started).
//
// Exit is observed without SIGCHLD: a pidfd (Linux >= 5.3) becomes readable when the
// child exits; where pidfd_open is unavailable, a 50 ms poll of waitid() stands in.
// The child is never reaped before the owner asks (reap()), so its pid and process group
// id cannot be reused while we may still signal them.
//
// Threading: one io_context thread. Not copyable; the destructor kills (SIGKILL to the
// group) and reaps a child that is still there, so no process outlives its owner.
#pragma once

#include "mcp/server/config.hpp"

#include "p2p/core/stream.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mcp::server {

namespace asio = boost::asio;
using p2p::task;

// How a child ended.
struct exit_status {
  bool signaled = false;  // killed by a signal (code is the signal number)
  int code = 0;           // exit status or signal number
  // "exited with status 1", "exited normally (status 0)", "was killed by signal 9 (SIGKILL)"
  std::string describe() const;
};

// The environment for a child: `base` ("KEY=VALUE" strings, e.g. environ) with
// `overrides` set over it (a key in both takes the override's value, in base's place).
std::vector<std::string> merge_environment(const char* const* base,
                                           const std::vector<std::pair<std::string, std::string>>& overrides);

// Looks up `command` as execvp would: a command containing '/' is used as given; a
// name is searched in the directories of `path_variable` (the child's PATH; empty
// entries mean the current directory; relative entries are taken from `cwd` when set),
// returning the first regular executable file. nullopt when none is found.
std::optional<std::string> find_program(const std::string& command, const std::string& path_variable,
                                        const std::optional<std::string>& cwd);

class child_process {
 public:
  explicit child_process(asio::any_io_executor executor);
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  // Starts `spec`. Returns nullopt on success, else a sentence saying what failed and
  // what to check ("command \"npx\" was not found in PATH (/usr/bin:/bin)", "working
  // directory \"/srv\" does not exist", "cannot start \"/x\": Permission denied").
  // Call at most once per object.
  std::optional<std::string> start(const server_spec& spec);

  // The parent's ends of the pipes (non-blocking, close-on-exec).
  asio::posix::stream_descriptor& stdin_pipe() noexcept { return stdin_; }
  asio::posix::stream_descriptor& stdout_pipe() noexcept { return stdout_; }
  asio::posix::stream_descriptor& stderr_pipe() noexcept { return stderr_; }
  void close_stdin() noexcept;

  // Completes once the child has exited (it stays unreaped until reap()), at once if it
  // already has. Supports cancellation (per-operation cancellation slot), and completes
  // after close_exit_watch().
  task<void> wait_exit();
  // Ends a pending wait_exit().
  void close_exit_watch() noexcept;
  // Non-blocking: has the child exited?
  bool has_exited() noexcept;
  // Sends `signal_number` to the child's process group (the child and what it started)
  // while the child is not reaped. No effect before start or after reap.
  void signal_group(int signal_number) noexcept;
  // After has_exited(): SIGKILLs what is left of its process group (e.g. a grandchild
  // that kept our pipes open), reaps the child and returns how it ended.
  exit_status reap();

  int pid() const noexcept { return pid_; }
  bool is_running() const noexcept { return pid_ > 0 && !reaped_; }

 private:
  asio::any_io_executor executor_;
  int pid_ = -1;
  bool reaped_ = false;
  bool watch_closed_ = false;
  asio::posix::stream_descriptor stdin_;
  asio::posix::stream_descriptor stdout_;
  asio::posix::stream_descriptor stderr_;
  asio::posix::stream_descriptor pidfd_;
  asio::steady_timer poll_timer_;  // without a pidfd
};

}  // namespace mcp::server
