// Text multiaddr parser. Invariants for accepted input: the canonical text
// (to_string) parses to the same binary and is a fixed point, and the binary form
// decodes.
#include "p2p/core/multiaddr.hpp"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 2048) return 0;  // base58/base36 peer IDs and certhashes decode in O(n^2)
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = p2p::multiaddr::parse(text);
  if (!parsed) return 0;
  const std::string canonical = parsed->to_string();
  auto again = p2p::multiaddr::parse(canonical);
  if (!again || *again != *parsed) std::abort();
  if (again->to_string() != canonical) std::abort();
  auto decoded = p2p::multiaddr::from_bytes(parsed->to_bytes());
  if (!decoded || *decoded != *parsed) std::abort();
  return 0;
}
