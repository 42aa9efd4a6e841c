// Runs a coroutine test body to completion on a fresh io_context, rethrowing any
// exception. Tests stay deterministic: no threads, no sleeps.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>

namespace p2p::testing {

template <class Body>
void run(Body&& body) {
  boost::asio::io_context io;
  std::exception_ptr failure;
  bool finished = false;
  boost::asio::co_spawn(io, body(io.get_executor()), [&](std::exception_ptr e) {
    failure = e;
    finished = true;
  });
  io.run();
  if (failure) std::rethrow_exception(failure);
  if (!finished) throw std::runtime_error("test coroutine never finished (deadlock)");
}

}  // namespace p2p::testing
