// Minimal leveled logging to stderr: "2026-11-25T14:03:22.123Z INFO  host: message".
// The level is process-wide (set once at start-up from --log-level / P2PMCP_LOG).
#pragma once

#include <chrono>
#include <cstdint>
#include <fmt/format.h>
#include <string_view>

namespace p2p::log {

enum class level { trace = 0, debug, info, warn, error, off };

void set_level(level l) noexcept;
level current_level() noexcept;
// Parses "trace|debug|info|warn|error|off"; false on an unknown name.
bool parse_level(std::string_view name, level& out) noexcept;
void write(level l, std::string_view component, std::string_view message);

inline bool enabled(level l) noexcept { return l >= current_level(); }

template <class... Args>
void emit(level l, std::string_view component, fmt::format_string<Args...> fmt, Args&&... args) {
  if (enabled(l)) write(l, component, fmt::format(fmt, std::forward<Args>(args)...));
}

template <class... Args>
void debug(std::string_view c, fmt::format_string<Args...> f, Args&&... a) { emit(level::debug, c, f, std::forward<Args>(a)...); }
template <class... Args>
void info(std::string_view c, fmt::format_string<Args...> f, Args&&... a) { emit(level::info, c, f, std::forward<Args>(a)...); }
template <class... Args>
void warn(std::string_view c, fmt::format_string<Args...> f, Args&&... a) { emit(level::warn, c, f, std::forward<Args>(a)...); }
template <class... Args>
void error(std::string_view c, fmt::format_string<Args...> f, Args&&... a) { emit(level::error, c, f, std::forward<Args>(a)...); }

// One log line per period for an event that can repeat thousands of times a second
// (a refused connection under a flood): admit() counts the event and says whether to
// write a line now; the line reports count() events (this one included), then the
// count starts again.
class throttle {
 public:
  explicit throttle(std::chrono::steady_clock::duration period) : period_(period) {}
  bool admit(std::chrono::steady_clock::time_point now) noexcept {
    ++count_;
    if (written_ && now - last_ < period_) return false;
    written_ = true;
    last_ = now;
    return true;
  }
  // Events since the last line written (call after admit() said yes, then reset()).
  std::uint64_t count() const noexcept { return count_; }
  void reset() noexcept { count_ = 0; }

 private:
  std::chrono::steady_clock::duration period_;
  std::chrono::steady_clock::time_point last_{};
  std::uint64_t count_ = 0;
  bool written_ = false;
};

}  // namespace p2p::log
