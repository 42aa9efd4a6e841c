// Binary multiaddr decoder. Invariants for accepted input: the bytes are kept as
// given, the text form parses back to the same bytes, and the components rebuild
// the same address.
#include "p2p/core/multiaddr.hpp"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const p2p::bytes_view input(data, size);
  auto decoded = p2p::multiaddr::from_bytes(input);
  if (!decoded) return 0;
  const auto& binary = decoded->to_bytes();
  if (!std::equal(binary.begin(), binary.end(), input.begin(), input.end())) std::abort();

  auto reparsed = p2p::multiaddr::parse(decoded->to_string());
  if (!reparsed || *reparsed != *decoded) std::abort();
  if (p2p::multiaddr::from_components(decoded->components()) != *decoded) std::abort();

  // The helpers must keep the address valid.
  const auto bare = decoded->without_peer();
  if (!bare.empty() && !p2p::multiaddr::from_bytes(bare.to_bytes())) std::abort();
  if (auto id = decoded->peer()) {
    // Replacing the trailing peer ID with itself changes nothing.
    if (decoded->with_peer(*id) != *decoded) std::abort();
    if (decoded->to_bytes().size() <= bare.to_bytes().size()) std::abort();
  } else if (bare != *decoded) {
    std::abort();
  }
  return 0;
}
