// Identify message decoder: must never crash on any input, and whatever it accepts
// must survive encode -> decode unchanged.
#include "p2p/protocols/identify/message.hpp"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto decoded = p2p::identify::decode(p2p::bytes_view(data, size));
  if (!decoded) return 0;
  const p2p::bytes encoded = p2p::identify::encode(*decoded);
  auto again = p2p::identify::decode(encoded);
  if (!again || !(*again == *decoded)) std::abort();
  p2p::identify::message known;
  p2p::identify::merge_push(known, *decoded);
  return 0;
}
