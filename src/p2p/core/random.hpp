// Injected randomness: cryptographic in production (OpenSSL RAND_bytes), seeded and
// repeatable in tests.
#pragma once

#include "p2p/core/bytes.hpp"

#include <cstdint>

namespace p2p {

class random {
 public:
  virtual ~random() = default;
  virtual void fill(mutable_bytes_view out) = 0;

  std::uint64_t next_u64() {
    std::uint8_t buffer[8];
    fill(buffer);
    std::uint64_t value = 0;
    for (auto b : buffer) value = value << 8 | b;
    return value;
  }
  bytes generate(std::size_t count) {
    bytes out(count);
    fill(out);
    return out;
  }
};

// Cryptographically secure; throws std::runtime_error only if the OS entropy source fails.
class system_random final : public random {
 public:
  void fill(mutable_bytes_view out) override;
};

// splitmix64 stream: deterministic, NOT secure. For tests and fuzzers only.
class seeded_random final : public random {
 public:
  explicit seeded_random(std::uint64_t seed) : state_(seed) {}
  void fill(mutable_bytes_view out) override;

 private:
  std::uint64_t state_;
};

}  // namespace p2p
