#include "p2p/core/varint.hpp"

#include <gtest/gtest.h>

namespace p2p {
namespace {

struct vector_case {
  std::uint64_t value;
  bytes encoded;
};

// Examples from the multiformats/unsigned-varint README.
const vector_case spec_vectors[] = {
    {1, {0x01}},
    {127, {0x7f}},
    {128, {0x80, 0x01}},
    {255, {0xff, 0x01}},
    {300, {0xac, 0x02}},
    {16384, {0x80, 0x80, 0x01}},
    {(1ULL << 63) - 1, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}},
};

TEST(varint, spec_vectors_round_trip) {
  for (const auto& c : spec_vectors) {
    EXPECT_EQ(varint::encode(c.value), c.encoded) << c.value;
    EXPECT_EQ(varint::encoded_length(c.value), c.encoded.size());
    auto decoded = varint::decode(c.encoded);
    ASSERT_TRUE(decoded) << c.value;
    EXPECT_EQ(decoded->value, c.value);
    EXPECT_EQ(decoded->length, c.encoded.size());
  }
}

TEST(varint, decodes_prefix_only) {
  const bytes input{0xac, 0x02, 0xff};
  auto decoded = varint::decode(input);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->value, 300u);
  EXPECT_EQ(decoded->length, 2u);
}

TEST(varint, rejects_truncated) {
  EXPECT_EQ(varint::decode(bytes{}).error(), errc::truncated);
  EXPECT_EQ(varint::decode(bytes{0x80}).error(), errc::truncated);
  EXPECT_EQ(varint::decode(bytes{0xff, 0xff}).error(), errc::truncated);
}

TEST(varint, rejects_non_minimal) {
  EXPECT_EQ(varint::decode(bytes{0x81, 0x00}).error(), errc::varint_not_minimal);
  EXPECT_EQ(varint::decode(bytes{0x80, 0x80, 0x00}).error(), errc::varint_not_minimal);
  // A lone zero byte is the minimal encoding of 0.
  EXPECT_EQ(varint::decode(bytes{0x00})->value, 0u);
}

TEST(varint, rejects_more_than_nine_bytes) {
  const bytes ten(10, 0xff);
  EXPECT_EQ(varint::decode(ten).error(), errc::varint_overflow);
  const bytes nine_continuing(9, 0x80);
  EXPECT_EQ(varint::decode(nine_continuing).error(), errc::varint_overflow);
}

}  // namespace
}  // namespace p2p
