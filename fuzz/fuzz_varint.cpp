#include "p2p/core/varint.hpp"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto decoded = p2p::varint::decode(p2p::bytes_view(data, size));
  if (decoded) {
    // A decoded value re-encodes to exactly the bytes consumed (minimal encoding).
    auto again = p2p::varint::encode(decoded->value);
    if (again.size() != decoded->length || !std::equal(again.begin(), again.end(), data)) std::abort();
  }
  return 0;
}
