// A child process for tests (js-libp2p peers, the p2pmcp binary): stdout is read as
// lines without blocking the io_context; stdin can be closed to ask it to exit. The
// destructor kills and reaps a child that is still running, so no test leaks one.
#pragma once

#include "p2p/core/stream.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>

#include <memory>
#include <string>
#include <vector>

namespace p2p::testing {

class subprocess {
 public:
  // Starts argv[0] (a path) with argv; stderr is inherited so its diagnostics show
  // up in the test log. Throws std::runtime_error if it cannot be started.
  subprocess(asio::any_io_executor executor, std::vector<std::string> argv);
  ~subprocess();
  subprocess(const subprocess&) = delete;
  subprocess& operator=(const subprocess&) = delete;

  // Next line of stdout without its newline; errc::closed at end of output.
  task<result<std::string>> read_line();
  void close_stdin();
  void signal(int number);
  // Waits for the child to exit (after close_stdin/signal) and returns its exit
  // status, or 128 + signal number.
  int wait();
  int pid() const noexcept { return pid_; }

 private:
  int pid_ = -1;
  int stdin_fd_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  asio::posix::stream_descriptor stdout_;
  std::string buffer_;
};

}  // namespace p2p::testing
