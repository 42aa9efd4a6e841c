// Peer IDs from binary multihashes and from text. Invariants: an accepted ID keeps
// its bytes, both text forms parse back to it, and an inlined key matches it.
#include "p2p/core/peer_id.hpp"

#include <cstdlib>

namespace {

void check(const p2p::peer_id& id) {
  auto from_base58 = p2p::peer_id::parse(id.to_base58());
  if (!from_base58 || *from_base58 != id) std::abort();
  auto from_cid = p2p::peer_id::parse(id.to_cid_string());
  if (!from_cid || *from_cid != id) std::abort();
  auto from_bytes = p2p::peer_id::from_bytes(id.to_bytes());
  if (!from_bytes || *from_bytes != id) std::abort();
  if (auto key = id.extract_public_key(); key && !id.matches(*key)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const p2p::bytes_view input(data, size);
  if (auto id = p2p::peer_id::from_bytes(input)) {
    const auto& binary = id->to_bytes();
    if (!std::equal(binary.begin(), binary.end(), input.begin(), input.end())) std::abort();
    check(*id);
  }
  if (auto id = p2p::peer_id::parse(p2p::as_string(input))) check(*id);
  return 0;
}
