#include "p2p/core/random.hpp"

#include <openssl/rand.h>

#include <stdexcept>

namespace p2p {

void system_random::fill(mutable_bytes_view out) {
  if (out.empty()) return;
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1)
    throw std::runtime_error("the system random number generator failed");
}

void seeded_random::fill(mutable_bytes_view out) {
  for (auto& byte : out) {
    state_ += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    byte = static_cast<std::uint8_t>(z ^ (z >> 31));
  }
}

}  // namespace p2p
