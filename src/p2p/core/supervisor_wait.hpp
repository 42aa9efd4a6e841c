// The wait of a supervisor loop: the run() of an object that owns many tasks (a pool of
// child processes, a set of streams) sleeps here until a deadline or a wake(), then looks
// at its state again. It also learns whether its own coroutine was cancelled: terminal
// cancellation of run() means "stop now", so the first time, every task of the group it
// supervises is cancelled too and they stop without their grace periods (STYLE.md:
// shutdown). Everything on one io_context thread; a wake() while nobody waits is lost,
// which is fine for a loop that re-checks its state before each wait.
#pragma once

#include "p2p/core/clock.hpp"
#include "p2p/core/task_group.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace p2p {

class supervisor_wait {
 public:
  supervisor_wait(boost::asio::any_io_executor executor, task_group& supervised)
      : timer_(std::move(executor)), supervised_(supervised) {}

  // Ends the current (or, if none, nothing) until() early.
  void wake() noexcept { timer_.cancel(); }

  // Until `deadline` (time_point::max(): no deadline) or wake(). True when the calling
  // coroutine was cancelled; then the supervised tasks have been cancelled too (once).
  boost::asio::awaitable<bool> until(time_point deadline) {
    timer_.expires_at(deadline);
    co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    const boost::asio::cancellation_state state = co_await boost::asio::this_coro::cancellation_state;
    if (state.cancelled() == boost::asio::cancellation_type::none) co_return false;
    if (!hurried_) {
      hurried_ = true;
      supervised_.cancel_all();
    }
    co_return true;
  }

  // The calling coroutine was cancelled at least once.
  bool hurried() const noexcept { return hurried_; }

 private:
  boost::asio::steady_timer timer_;
  task_group& supervised_;
  bool hurried_ = false;
};

}  // namespace p2p
