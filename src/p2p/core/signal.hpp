// A wake-up signal for coroutines on one io_context thread: waiters suspend in
// wait(), notify() wakes all of them. Callers re-check their condition in a loop
// (no state is carried), so a notify with no waiter is harmless:
//   while (!ready()) co_await signal.wait();
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace p2p {

class signal {
 public:
  explicit signal(boost::asio::any_io_executor executor) : timer_(std::move(executor)) {
    timer_.expires_at(boost::asio::steady_timer::time_point::max());
  }

  boost::asio::awaitable<void> wait() {
    co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
  }

  void notify() noexcept { timer_.cancel(); }

 private:
  boost::asio::steady_timer timer_;
};

}  // namespace p2p
