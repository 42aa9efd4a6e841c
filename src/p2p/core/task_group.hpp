// Owned coroutines. Every coroutine a library object starts is spawned into a
// task_group that its owner waits for on shutdown, so nothing outlives the objects
// it uses (no fire-and-forget). Shutdown follows STYLE.md: ask to stop (close the
// connections the tasks wait on), wait a bounded grace period, then cancel_all().
//
// An exception escaping a task is a bug in that task: it is logged and the task
// ends; the group and the node carry on.
#pragma once

#include "p2p/core/log.hpp"
#include "p2p/core/signal.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>

#include <exception>
#include <list>
#include <string>

namespace p2p {

class task_group {
 public:
  explicit task_group(boost::asio::any_io_executor executor) : executor_(executor), idle_(executor) {}
  task_group(const task_group&) = delete;
  task_group& operator=(const task_group&) = delete;
  ~task_group() = default;  // owners must wait() before destroying the group

  // Starts `work` (an awaitable<void>) on the group's executor. `name` labels log lines.
  template <class Awaitable>
  void spawn(Awaitable work, std::string name = "task") {
    auto slot = signals_.emplace(signals_.end());
    ++active_;
    boost::asio::co_spawn(
        executor_, std::move(work),
        boost::asio::bind_cancellation_slot(
            slot->slot(), [this, slot, name = std::move(name)](std::exception_ptr failure) {
              if (failure) report(name, failure);
              signals_.erase(slot);
              if (--active_ == 0) idle_.notify();
            }));
  }

  // Cancels every running task's current operation (terminal cancellation).
  void cancel_all() {
    for (auto& s : signals_) s.emit(boost::asio::cancellation_type::terminal);
  }

  // Completes when no task is running.
  boost::asio::awaitable<void> wait() {
    while (active_ > 0) co_await idle_.wait();
  }

  std::size_t size() const noexcept { return active_; }

 private:
  static void report(const std::string& name, std::exception_ptr failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const boost::system::system_error& e) {
      if (e.code() == boost::asio::error::operation_aborted) return;  // cancelled on shutdown
      log::error("task", "{} failed: {}", name, e.what());
    } catch (const std::exception& e) {
      log::error("task", "{} failed: {}", name, e.what());
    } catch (...) {
      log::error("task", "{} failed with an unknown exception", name);
    }
  }

  boost::asio::any_io_executor executor_;
  std::list<boost::asio::cancellation_signal> signals_;
  std::size_t active_ = 0;
  p2p::signal idle_;
};

}  // namespace p2p
