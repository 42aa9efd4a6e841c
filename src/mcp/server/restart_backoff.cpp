#include "mcp/server/restart_backoff.hpp"

#include <algorithm>

namespace mcp::server {

duration restart_backoff::on_session_end(std::optional<time_point> ready_since, time_point ended) noexcept {
  if (ready_since && ended - *ready_since >= policy_.reset_after) failures_ = 0;
  duration delay = policy_.initial;
  // Doubling stops at the cap, before it could overflow, whatever the count.
  for (std::size_t i = 0; i < failures_ && delay < policy_.max; ++i)
    delay = delay > policy_.max / 2 ? policy_.max : delay * 2;
  ++failures_;
  return std::clamp(delay, duration::zero(), std::max(policy_.max, duration::zero()));
}

}  // namespace mcp::server
