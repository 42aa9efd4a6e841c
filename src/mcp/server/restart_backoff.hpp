// When to restart a hosted MCP server that died: exponential backoff, reset after a
// healthy run. Sans-IO: times go in, delays come out.
#pragma once

#include "p2p/core/clock.hpp"

#include <chrono>
#include <cstddef>
#include <optional>

namespace mcp::server {

using p2p::duration;
using p2p::time_point;

struct backoff_policy {
  // Delay after the first failure; doubled after each further one, up to `max`.
  duration initial = std::chrono::seconds(1);
  duration max = std::chrono::seconds(60);
  // A server that stayed ready this long is healthy: its next failure starts again
  // at `initial`.
  duration reset_after = std::chrono::seconds(60);
};

class restart_backoff {
 public:
  explicit restart_backoff(const backoff_policy& policy = {}) noexcept : policy_(policy) {}

  // A session ended at `ended`; `ready_since` is when it became ready (nullopt when it
  // never did). Returns how long to wait before the next start.
  duration on_session_end(std::optional<time_point> ready_since, time_point ended) noexcept;

  // Consecutive failures counted so far (0 after a healthy run).
  std::size_t failures() const noexcept { return failures_; }
  void reset() noexcept { failures_ = 0; }

 private:
  backoff_policy policy_;
  std::size_t failures_ = 0;
};

}  // namespace mcp::server
