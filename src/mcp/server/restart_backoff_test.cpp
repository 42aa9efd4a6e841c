#include "mcp/server/restart_backoff.hpp"

#include <gtest/gtest.h>

namespace mcp::server {
namespace {

using namespace std::chrono_literals;

TEST(mcp_server_backoff, doubles_from_one_second_up_to_a_minute) {
  restart_backoff backoff;
  time_point t{};
  std::vector<duration> delays;
  for (int i = 0; i < 9; ++i) {
    t += 1s;
    delays.push_back(backoff.on_session_end(t - 500ms, t));  // ready for half a second only
  }
  const std::vector<duration> expected = {1s, 2s, 4s, 8s, 16s, 32s, 60s, 60s, 60s};
  EXPECT_EQ(delays, expected);
  EXPECT_EQ(backoff.failures(), 9u);
}

TEST(mcp_server_backoff, resets_after_a_healthy_run) {
  restart_backoff backoff;
  time_point t{};
  for (int i = 0; i < 5; ++i) backoff.on_session_end(std::nullopt, t);
  // Never ready: no reset, however long it ran.
  EXPECT_EQ(backoff.on_session_end(std::nullopt, t + 1h), 32s);
  // Ready for 59 s: still unhealthy.
  EXPECT_EQ(backoff.on_session_end(t, t + 59s), 60s);
  // Ready for 60 s: healthy, so the next failure starts again at 1 s.
  EXPECT_EQ(backoff.on_session_end(t, t + 60s), 1s);
  EXPECT_EQ(backoff.on_session_end(std::nullopt, t + 61s), 2s);
  backoff.reset();
  EXPECT_EQ(backoff.on_session_end(std::nullopt, t), 1s);
}

TEST(mcp_server_backoff, custom_policies_never_overflow) {
  restart_backoff fast({10ms, 40ms, 1s});
  EXPECT_EQ(fast.on_session_end(std::nullopt, {}), 10ms);
  EXPECT_EQ(fast.on_session_end(std::nullopt, {}), 20ms);
  EXPECT_EQ(fast.on_session_end(std::nullopt, {}), 40ms);
  EXPECT_EQ(fast.on_session_end(std::nullopt, {}), 40ms);

  restart_backoff unbounded({1s, duration::max(), 1s});
  duration last{};
  for (int i = 0; i < 200; ++i) {
    const duration d = unbounded.on_session_end(std::nullopt, {});
    EXPECT_GE(d, last);
    last = d;
  }
  EXPECT_EQ(last, duration::max());

  restart_backoff zero({0s, 0s, 1s});
  EXPECT_EQ(zero.on_session_end(std::nullopt, {}), 0s);
}

}  // namespace
}  // namespace mcp::server
