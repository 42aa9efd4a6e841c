#include "mcp/server/child_process.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <set>

extern char** environ;

namespace mcp::server {

namespace {

// execvp's default when PATH is unset.
constexpr const char* default_path = "/bin:/usr/bin";

std::string in_quotes(const std::string& text) { return "\"" + text + "\""; }

bool is_executable_file(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// A pipe end that landed on 0, 1 or 2 (the node was started with a standard stream
// closed) would be overwritten by the dup2 of another pipe in the child; move it up.
bool move_above_stdio(int& fd) {
  if (fd > STDERR_FILENO) return true;
  const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
  if (moved < 0) return false;
  ::close(fd);
  fd = moved;
  return true;
}

struct pipe_pair {
  int read = -1;
  int write = -1;
  ~pipe_pair() { close_both(); }
  bool open() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    read = fds[0];
    write = fds[1];
    return move_above_stdio(read) && move_above_stdio(write);
  }
  int release_read() { return std::exchange(read, -1); }
  int release_write() { return std::exchange(write, -1); }
  void close_both() {
    if (read >= 0) ::close(std::exchange(read, -1));
    if (write >= 0) ::close(std::exchange(write, -1));
  }
};

// Signals the node may catch or ignore (SIGPIPE is ignored by the stdio shell) go back
// to their defaults in the child: ignored dispositions would survive exec.
constexpr int reset_signals[] = {SIGPIPE, SIGINT,  SIGQUIT, SIGTERM, SIGHUP,  SIGCHLD,
                                 SIGUSR1, SIGUSR2, SIGALRM, SIGTSTP, SIGTTIN, SIGTTOU};

}  // namespace

std::string exit_status::describe() const {
  if (!signaled) return "exited with status " + std::to_string(code);
  std::string text = "was killed by signal " + std::to_string(code);
  if (const char* abbrev = ::sigabbrev_np(code)) text += std::string(" (SIG") + abbrev + ")";
  return text;
}

std::vector<std::string> merge_environment(const char* const* base,
                                           const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<std::string> out;
  std::set<std::string> replaced;
  auto override_of = [&](std::string_view key) -> const std::string* {
    for (auto& [k, v] : overrides)
      if (k == key) return &v;
    return nullptr;
  };
  for (auto entry = base; entry && *entry; ++entry) {
    std::string_view text(*entry);
    const auto equals = text.find('=');
    const std::string key(text.substr(0, equals));
    if (const std::string* value = equals == std::string_view::npos ? nullptr : override_of(key)) {
      if (replaced.insert(key).second) out.push_back(key + "=" + *value);
      continue;
    }
    out.emplace_back(text);
  }
  for (auto& [k, v] : overrides)
    if (replaced.insert(k).second) out.push_back(k + "=" + v);
  return out;
}

std::optional<std::string> find_program(const std::string& command, const std::string& path_variable,
                                        const std::optional<std::string>& cwd) {
  if (command.empty()) return std::nullopt;
  if (command.find('/') != std::string::npos) return command;
  const std::string path = path_variable.empty() ? std::string(default_path) : path_variable;
  std::error_code ec;
  std::size_t start = 0;
  for (;;) {
    const auto colon = path.find(':', start);
    std::string dir = path.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (dir.empty()) dir = ".";
    std::filesystem::path candidate = std::filesystem::path(dir) / command;
    if (candidate.is_relative() && cwd) candidate = std::filesystem::path(*cwd) / candidate;
    // Absolute, because the child changes directory before exec.
    candidate = std::filesystem::absolute(candidate, ec);
    if (!ec && is_executable_file(candidate.string())) return candidate.lexically_normal().string();
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return std::nullopt;
}

child_process::child_process(asio::any_io_executor executor)
    : executor_(executor), stdin_(executor), stdout_(executor), stderr_(executor), pidfd_(executor),
      poll_timer_(executor) {}

child_process::~child_process() {
  if (pid_ > 0 && !reaped_) {
    // An owner that did not stop the server properly: never leave a process behind.
    signal_group(SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  }
}

std::optional<std::string> child_process::start(const server_spec& spec) {
  if (pid_ > 0) return "the process was already started";
  if (spec.cwd) {
    struct stat info {};
    if (::stat(spec.cwd->c_str(), &info) != 0)
      return "working directory " + in_quotes(*spec.cwd) + " cannot be used: " + std::strerror(errno);
    if (!S_ISDIR(info.st_mode)) return "working directory " + in_quotes(*spec.cwd) + " is not a directory";
  }

  std::vector<std::string> environment = merge_environment(environ, spec.env);
  std::string path_variable;
  for (auto& entry : environment)
    if (entry.starts_with("PATH=")) path_variable = entry.substr(5);
  const auto program = find_program(spec.command, path_variable, spec.cwd);
  if (!program) {
    std::string searched = path_variable.empty() ? std::string(default_path) : path_variable;
    if (searched.size() > 200) searched = searched.substr(0, 200) + "...";
    return "command " + in_quotes(spec.command) + " was not found in PATH (" + searched +
           "); give its full path or fix PATH in the server's \"env\"";
  }

  pipe_pair in, out, err;
  if (!in.open() || !out.open() || !err.open()) return std::string("cannot create pipes: ") + std::strerror(errno);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.read, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out.write, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err.write, STDERR_FILENO);
  // Nothing else of the node's reaches the child: Asio opens sockets without
  // SOCK_CLOEXEC, so without this a server started while the node has connections would
  // hold them (and the gateway's listening socket) open after the node died, and could
  // write into them.
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  if (spec.cwd) posix_spawn_file_actions_addchdir_np(&actions, spec.cwd->c_str());

  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attributes, 0);
  sigset_t no_signals, defaults;
  sigemptyset(&no_signals);
  posix_spawnattr_setsigmask(&attributes, &no_signals);
  sigemptyset(&defaults);
  for (int s : reset_signals) sigaddset(&defaults, s);
  posix_spawnattr_setsigdefault(&attributes, &defaults);

  std::vector<std::string> argv_storage;
  argv_storage.push_back(spec.command);
  argv_storage.insert(argv_storage.end(), spec.args.begin(), spec.args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : environment) envp.push_back(e.data());
  envp.push_back(nullptr);

  // glibc's posix_spawn (clone with CLONE_VFORK) reports a failed chdir or exec as its
  // return value, and returns only after the child has set its process group.
  const int rc = ::posix_spawn(&pid_, program->c_str(), &actions, &attributes, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) {
    pid_ = -1;
    return "cannot start " + in_quotes(*program) + (spec.cwd ? " in " + in_quotes(*spec.cwd) : std::string()) + ": " +
           std::strerror(rc);
  }

  ::close(in.release_read());
  ::close(out.release_write());
  ::close(err.release_write());
  stdin_.assign(in.release_write());
  stdout_.assign(out.release_read());
  stderr_.assign(err.release_read());
  stdin_.non_blocking(true);
  stdout_.non_blocking(true);
  stderr_.non_blocking(true);

#ifdef SYS_pidfd_open
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd >= 0) {
    ::fcntl(pidfd, F_SETFD, FD_CLOEXEC);
    pidfd_.assign(pidfd);
  }
#endif
  return std::nullopt;
}

void child_process::close_stdin() noexcept {
  boost::system::error_code ignored;
  stdin_.close(ignored);
}

bool child_process::has_exited() noexcept {
  if (pid_ <= 0 || reaped_) return true;
  siginfo_t info{};
  // WNOWAIT: look, do not reap; the pid stays ours until reap().
  if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return errno == ECHILD;
  return info.si_pid == pid_;
}

task<void> child_process::wait_exit() {
  using namespace std::chrono_literals;
  while (!has_exited() && !watch_closed_) {
    if (pidfd_.is_open()) {
      auto [ec] = co_await pidfd_.async_wait(asio::posix::descriptor_base::wait_read,
                                              asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;  // cancelled or closed
    } else {
      poll_timer_.expires_after(50ms);
      auto [ec] = co_await poll_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
    }
  }
}

void child_process::close_exit_watch() noexcept {
  watch_closed_ = true;
  boost::system::error_code ignored;
  pidfd_.close(ignored);
  poll_timer_.cancel();
}

void child_process::signal_group(int signal_number) noexcept {
  if (pid_ <= 0 || reaped_) return;
  // The group id is the child's pid (POSIX_SPAWN_SETPGROUP with 0). A child that moved
  // to another group still gets the signal directly.
  if (::kill(-pid_, signal_number) != 0) ::kill(pid_, signal_number);
}

exit_status child_process::reap() {
  exit_status status;
  if (pid_ <= 0 || reaped_) return status;
  signal_group(SIGKILL);  // leftovers of the group only: the child itself has exited
  int raw = 0;
  while (::waitpid(pid_, &raw, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  close_exit_watch();
  if (WIFSIGNALED(raw)) {
    status.signaled = true;
    status.code = WTERMSIG(raw);
  } else {
    status.code = WEXITSTATUS(raw);
  }
  return status;
}

}  // namespace mcp::server
