#include "p2p/core/system_limits.hpp"

#include <cerrno>
#include <cstdio>
#include <limits>
#include <sys/resource.h>
#include <unistd.h>

namespace p2p {

namespace {

std::uint64_t from_rlim(rlim_t value) {
  return value == RLIM_INFINITY ? std::numeric_limits<std::uint64_t>::max() : static_cast<std::uint64_t>(value);
}

// The kernel refuses a soft RLIMIT_NOFILE above fs.nr_open, even with an unlimited
// hard limit.
rlim_t kernel_open_file_maximum() {
  rlim_t out = 1 << 20;
  if (std::FILE* f = std::fopen("/proc/sys/fs/nr_open", "r")) {
    unsigned long long value = 0;
    if (std::fscanf(f, "%llu", &value) == 1 && value > 0) out = static_cast<rlim_t>(value);
    std::fclose(f);
  }
  return out;
}

}  // namespace

file_descriptor_limits file_descriptor_limit() noexcept {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return {};
  return {from_rlim(limit.rlim_cur), from_rlim(limit.rlim_max)};
}

result<file_descriptor_limits> raise_file_descriptor_limit() noexcept {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return error_code(errno, boost::system::system_category());
  rlim_t target = limit.rlim_max;
  if (target == RLIM_INFINITY) target = kernel_open_file_maximum();
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < target) {
    rlimit raised{target, limit.rlim_max};
    if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) return error_code(errno, boost::system::system_category());
  }
  return file_descriptor_limit();
}

std::uint64_t physical_memory() noexcept {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return 0;
  return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page_size);
}

}  // namespace p2p
