// A clock that moves forward by a fixed step on every reading, so code that reads the
// time twice (a round trip, a transfer) measures an exact duration without sleeping.
#pragma once

#include "p2p/core/clock.hpp"

namespace p2p::testing {

class ticking_clock final : public clock {
 public:
  explicit ticking_clock(duration step = std::chrono::milliseconds(1)) : step_(step) {}
  time_point now() const noexcept override {
    now_ += step_;
    return now_;
  }

 private:
  duration step_;
  mutable time_point now_{};
};

}  // namespace p2p::testing
