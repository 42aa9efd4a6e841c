#include "p2p/core/system_limits.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <sys/resource.h>

namespace p2p {
namespace {

TEST(system_limits, raises_the_soft_descriptor_limit_to_the_hard_limit) {
  rlimit saved{};
  ::getrlimit(RLIMIT_NOFILE, &saved);
  rlimit lowered = saved;
  lowered.rlim_cur = std::min<rlim_t>(saved.rlim_cur, 256);
  ::setrlimit(RLIMIT_NOFILE, &lowered);
  auto raised = raise_file_descriptor_limit();
  ASSERT_TRUE(raised) << raised.error().message();
  EXPECT_EQ(raised->soft, file_descriptor_limit().soft);
  if (saved.rlim_max != RLIM_INFINITY) {
    EXPECT_EQ(raised->soft, static_cast<std::uint64_t>(saved.rlim_max));
  }
  EXPECT_GE(raised->soft, 256u);
  ::setrlimit(RLIMIT_NOFILE, &saved);
  EXPECT_GT(physical_memory(), 0u);
}

}  // namespace
}  // namespace p2p
