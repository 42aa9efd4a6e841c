// Shared by the fuzz targets: an invariant check that stops the run (libFuzzer reports
// the input), and a reader that turns the fuzzer's bytes into a script of operations.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

namespace fuzz {

// An invariant the code under test must keep; a violation is a finding.
inline void check(bool condition) {
  if (!condition) std::abort();
}

// Reads the input front to back; past the end every read yields zeros, so a script
// never needs bounds checks of its own.
class script {
 public:
  script(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool empty() const { return at_ >= size_; }
  std::uint8_t byte() { return at_ < size_ ? data_[at_++] : 0; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(byte() << 8 | byte()); }
  // Up to n of the next bytes (fewer at the end of the input).
  std::span<const std::uint8_t> take(std::size_t n) {
    n = std::min(n, size_ - std::min(at_, size_));
    std::span<const std::uint8_t> out(data_ + at_, n);
    at_ += n;
    return out;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

}  // namespace fuzz
