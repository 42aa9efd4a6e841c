// Hex literals for test vectors: hex("0a1b...") -> bytes; a malformed literal fails
// the test that wrote it.
#pragma once

#include "p2p/core/bytes.hpp"

#include <gtest/gtest.h>

#include <string_view>

namespace p2p::testing {

inline bytes hex(std::string_view text) {
  bytes out;
  EXPECT_TRUE(from_hex(text, out)) << text;
  return out;
}

}  // namespace p2p::testing
