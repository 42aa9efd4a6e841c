// The libp2p Noise handshake payload decoder (NoiseHandshakePayload/NoiseExtensions).
// Invariant: whatever decodes re-encodes to something that decodes to the same value.
#include "p2p/security/noise/payload.hpp"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto decoded = p2p::noise::decode_payload(p2p::bytes_view(data, size));
  if (!decoded) return 0;
  auto again = p2p::noise::decode_payload(p2p::noise::encode_payload(*decoded));
  if (!again || !(*again == *decoded)) std::abort();
  return 0;
}
