// Injected time. Sans-IO cores take `now` as an argument; shells and tests get it
// from a `clock&`, so tests run on a manual clock and never sleep.
#pragma once

#include <chrono>

namespace p2p {

using time_point = std::chrono::steady_clock::time_point;
using duration = std::chrono::steady_clock::duration;

class clock {
 public:
  virtual ~clock() = default;
  virtual time_point now() const noexcept = 0;
};

class system_clock final : public clock {
 public:
  time_point now() const noexcept override { return std::chrono::steady_clock::now(); }
};

class manual_clock final : public clock {
 public:
  explicit manual_clock(time_point start = time_point{}) : now_(start) {}
  time_point now() const noexcept override { return now_; }
  void advance(duration by) noexcept { now_ += by; }

 private:
  time_point now_;
};

}  // namespace p2p
