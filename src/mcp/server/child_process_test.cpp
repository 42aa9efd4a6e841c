#include "mcp/server/child_process.hpp"

#include "run.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace mcp::server {
namespace {

using p2p::testing::run;

// Everything the pipe gives until end of file.
task<std::string> read_all(asio::posix::stream_descriptor& pipe) {
  std::string text;
  char chunk[1024];
  for (;;) {
    auto [ec, n] = co_await pipe.async_read_some(asio::buffer(chunk), asio::as_tuple(asio::use_awaitable));
    if (ec) co_return text;
    text.append(chunk, n);
  }
}

server_spec shell(std::string script) {
  server_spec spec;
  spec.name = "sh";
  spec.command = "sh";
  spec.args = {"-c", std::move(script)};
  return spec;
}

TEST(mcp_server_child_process, merges_the_environment) {
  const char* base[] = {"PATH=/bin", "HOME=/root", "ODD", "LANG=C", nullptr};
  auto merged = merge_environment(base, {{"HOME", "/home/me"}, {"NEW", "1"}, {"ODD", "x"}});
  const std::vector<std::string> expected = {"PATH=/bin", "HOME=/home/me", "ODD", "LANG=C", "NEW=1", "ODD=x"};
  EXPECT_EQ(merged, expected);
  EXPECT_EQ(merge_environment(nullptr, {{"A", ""}}), std::vector<std::string>{"A="});
}

TEST(mcp_server_child_process, finds_programs_like_execvp) {
  EXPECT_EQ(find_program("sh", "/nonexistent:/bin:/usr/bin", std::nullopt), "/bin/sh");
  EXPECT_EQ(find_program("./relative/tool", "/bin", std::nullopt), "./relative/tool");  // used as given
  EXPECT_EQ(find_program("no-such-program-here", "/bin:/usr/bin", std::nullopt), std::nullopt);
  EXPECT_EQ(find_program("", "/bin", std::nullopt), std::nullopt);
  // Relative PATH entries are taken from the child's working directory.
  EXPECT_EQ(find_program("sh", "bin", std::string("/")), "/bin/sh");
  // A directory is not a program.
  EXPECT_EQ(find_program("bin", "/", std::nullopt), std::nullopt);
}

TEST(mcp_server_child_process, describes_exits) {
  EXPECT_EQ((exit_status{false, 1}.describe()), "exited with status 1");
  EXPECT_EQ((exit_status{true, 9}.describe()), "was killed by signal 9 (SIGKILL)");
}

// The node's sockets are opened without close-on-exec (Asio does not set it): a child
// must still get only its three pipes, or it would keep the node's connections open
// after the node died.
TEST(mcp_server_child_process, inherits_no_descriptor_of_the_node) {
  run([](asio::any_io_executor executor) -> task<void> {
    int leaked[2];
    EXPECT_EQ(::pipe(leaked), 0);  // no O_CLOEXEC, like a socket of the node
    child_process child(executor);
    auto spec = shell("ls /proc/self/fd | sort -n | tr '\\n' ' '");
    auto error = child.start(spec);
    EXPECT_FALSE(error) << *error;
    // 0-2: the pipes; 3: the directory `ls` reads. Not the node's descriptors.
    const std::string listed = co_await read_all(child.stdout_pipe());
    EXPECT_EQ(listed, "0 1 2 3 ") << "the child sees descriptors " << listed << "(node's: " << leaked[0] << ", "
                                  << leaked[1] << ")";
    co_await child.wait_exit();
    child.reap();
    ::close(leaked[0]);
    ::close(leaked[1]);
  });
}

TEST(mcp_server_child_process, runs_with_pipes_env_and_cwd) {
  run([](asio::any_io_executor executor) -> task<void> {
    child_process child(executor);
    auto spec = shell("read line; echo \"got $line $FOO $(pwd)\"; echo oops >&2; exit 3");
    spec.env = {{"FOO", "bar"}};
    spec.cwd = "/";
    auto error = child.start(spec);
    EXPECT_FALSE(error) << *error;
    EXPECT_TRUE(child.is_running());
    co_await asio::async_write(child.stdin_pipe(), asio::buffer(std::string("hello\n")), asio::use_awaitable);
    EXPECT_EQ(co_await read_all(child.stdout_pipe()), "got hello bar /\n");
    EXPECT_EQ(co_await read_all(child.stderr_pipe()), "oops\n");
    co_await child.wait_exit();
    EXPECT_TRUE(child.has_exited());
    auto status = child.reap();
    EXPECT_FALSE(status.signaled);
    EXPECT_EQ(status.code, 3);
    EXPECT_FALSE(child.is_running());
  });
}

TEST(mcp_server_child_process, signals_reach_the_process_group) {
  run([](asio::any_io_executor executor) -> task<void> {
    child_process child(executor);
    // The shell starts a grandchild that inherits stdout, then waits.
    EXPECT_FALSE(child.start(shell("sleep 1000 & echo started; wait")));
    char chunk[64];
    auto [ec, n] = co_await child.stdout_pipe().async_read_some(asio::buffer(chunk), asio::as_tuple(asio::use_awaitable));
    EXPECT_EQ(std::string(chunk, n), "started\n");
    child.signal_group(SIGTERM);
    co_await child.wait_exit();
    auto status = child.reap();
    EXPECT_TRUE(status.signaled);
    EXPECT_EQ(status.code, SIGTERM);
    // The grandchild got SIGTERM too: stdout reaches end of file.
    EXPECT_EQ(co_await read_all(child.stdout_pipe()), "");
  });
}

TEST(mcp_server_child_process, reap_kills_leftovers_that_hold_the_pipes) {
  run([](asio::any_io_executor executor) -> task<void> {
    child_process child(executor);
    EXPECT_FALSE(child.start(shell("sleep 1000 & exit 0")));
    co_await child.wait_exit();
    EXPECT_EQ(child.reap().code, 0);
    // Without the group kill, sleep would keep stdout open for 1000 s.
    EXPECT_EQ(co_await read_all(child.stdout_pipe()), "");
  });
}

TEST(mcp_server_child_process, start_failures_are_sentences) {
  run([](asio::any_io_executor executor) -> task<void> {
    {
      child_process child(executor);
      server_spec spec;
      spec.command = "no-such-program-here";
      spec.env = {{"PATH", "/nonexistent"}};
      EXPECT_EQ(child.start(spec),
                "command \"no-such-program-here\" was not found in PATH (/nonexistent); give its full path or fix "
                "PATH in the server's \"env\"");
    }
    {
      child_process child(executor);
      auto spec = shell("exit 0");
      spec.cwd = "/nonexistent/dir";
      EXPECT_EQ(child.start(spec),
                "working directory \"/nonexistent/dir\" cannot be used: No such file or directory");
    }
    {
      const auto file = std::filesystem::temp_directory_path() / ("not_executable_" + std::to_string(::getpid()));
      std::ofstream(file) << "#!/bin/sh\n";
      child_process child(executor);
      server_spec spec;
      spec.command = file.string();
      EXPECT_EQ(child.start(spec), "cannot start \"" + file.string() + "\": Permission denied");
      std::filesystem::remove(file);
    }
    co_return;
  });
}

TEST(mcp_server_child_process, destructor_kills_a_running_child) {
  int pid = -1;
  run([&](asio::any_io_executor executor) -> task<void> {
    child_process child(executor);
    EXPECT_FALSE(child.start(shell("sleep 1000")));
    pid = child.pid();
    co_return;
  });
  ASSERT_GT(pid, 0);
  // Reaped: the pid is no longer our child.
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1);
}

}  // namespace
}  // namespace mcp::server
