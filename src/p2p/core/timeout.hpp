// Per-operation timeouts: races an operation against a timer; the loser is cancelled.
#pragma once

#include "p2p/core/error.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>

namespace p2p {

// Returns the operation's result, or errc::timeout if `limit` passes first.
template <class T>
boost::asio::awaitable<result<T>> with_timeout(boost::asio::awaitable<result<T>> operation,
                                               std::chrono::steady_clock::duration limit) {
  using namespace boost::asio::experimental::awaitable_operators;
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, limit);
  auto outcome = co_await (std::move(operation) || timer.async_wait(boost::asio::use_awaitable));
  if (outcome.index() == 0) co_return std::get<0>(std::move(outcome));
  co_return errc::timeout;
}

}  // namespace p2p
