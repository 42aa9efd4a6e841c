// Multibase decoder. Invariants for accepted text: re-encoding in the same base
// gives the text back (up to letter case for the case-insensitive bases) and
// decodes to the same bytes.
#include "p2p/core/multibase.hpp"

#include <cctype>
#include <cstdlib>

namespace {

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 2048) return 0;  // base36/base58 are quadratic
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto decoded = p2p::multibase::decode(text)) {
    const auto base = *p2p::multibase::from_prefix(text.front());
    const std::string encoded = p2p::multibase::encode(base, *decoded);
    const bool case_sensitive = base == p2p::multibase::base::base58btc || base == p2p::multibase::base::base64 ||
                                base == p2p::multibase::base::base64url;
    if (case_sensitive ? encoded != text : !equal_ignoring_case(encoded, text)) std::abort();
    auto again = p2p::multibase::decode(encoded);
    if (!again || *again != *decoded) std::abort();
  }

  if (auto raw = p2p::multibase::decode_base58btc(text)) {
    if (p2p::multibase::encode_base58btc(*raw) != text) std::abort();
  }
  return 0;
}
