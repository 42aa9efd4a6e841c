// What the machine gives this process: open-file descriptors and physical memory.
// Used at start-up (raise the soft descriptor limit) and to scale the resource
// manager's default limits. Reads process state; no I/O beyond getrlimit/sysconf.
#pragma once

#include "p2p/core/error.hpp"

#include <cstdint>

namespace p2p {

struct file_descriptor_limits {
  std::uint64_t soft = 0;  // what the process may open now
  std::uint64_t hard = 0;  // how far the soft limit may be raised without privileges
};

// The current RLIMIT_NOFILE (RLIM_INFINITY reads as UINT64_MAX).
file_descriptor_limits file_descriptor_limit() noexcept;

// Raises the soft RLIMIT_NOFILE to the hard limit (an unlimited hard limit is
// capped at the kernel's per-process maximum, /proc/sys/fs/nr_open, or 1 Mi).
// Returns the limits in force afterwards; the system's error when setrlimit fails
// (the old limits then stay).
result<file_descriptor_limits> raise_file_descriptor_limit() noexcept;

// Physical memory of the machine in bytes (sysconf); 0 when unknown.
std::uint64_t physical_memory() noexcept;

}  // namespace p2p
