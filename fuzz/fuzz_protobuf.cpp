#include "p2p/core/protobuf.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  p2p::protobuf::reader reader(p2p::bytes_view(data, size));
  while (!reader.at_end()) {
    auto field = reader.next();
    if (!field) break;
  }
  return 0;
}
