#include "p2p/core/multibase.hpp"

#include <gtest/gtest.h>

namespace p2p {
namespace {

struct vector_case {
  multibase::base base;
  std::string_view text;
};

// multiformats/multibase tests/basic.csv: "yes mani !".
const vector_case basic[] = {
    {multibase::base::base16, "f796573206d616e692021"},
    {multibase::base::base16_upper, "F796573206D616E692021"},
    {multibase::base::base32, "bpfsxgidnmfxgsibb"},
    {multibase::base::base32_upper, "BPFSXGIDNMFXGSIBB"},
    {multibase::base::base36, "k2lcpzo5yikidynfl"},
    {multibase::base::base36_upper, "K2LCPZO5YIKIDYNFL"},
    {multibase::base::base58btc, "z7paNL19xttacUY"},
    {multibase::base::base64, "meWVzIG1hbmkgIQ"},
    {multibase::base::base64url, "ueWVzIG1hbmkgIQ"},
};

// tests/leading_zero.csv: "\x00yes mani !".
const vector_case leading_zero[] = {
    {multibase::base::base16, "f00796573206d616e692021"},
    {multibase::base::base16_upper, "F00796573206D616E692021"},
    {multibase::base::base32, "bab4wk4zanvqw42jaee"},
    {multibase::base::base32_upper, "BAB4WK4ZANVQW42JAEE"},
    {multibase::base::base36, "k02lcpzo5yikidynfl"},
    {multibase::base::base36_upper, "K02LCPZO5YIKIDYNFL"},
    {multibase::base::base58btc, "z17paNL19xttacUY"},
    {multibase::base::base64, "mAHllcyBtYW5pICE"},
    {multibase::base::base64url, "uAHllcyBtYW5pICE"},
};

// tests/two_leading_zeros.csv: "\x00\x00yes mani !".
const vector_case two_leading_zeros[] = {
    {multibase::base::base16, "f0000796573206d616e692021"},
    {multibase::base::base32, "baaahszltebwwc3tjeaqq"},
    {multibase::base::base36, "k002lcpzo5yikidynfl"},
    {multibase::base::base58btc, "z117paNL19xttacUY"},
    {multibase::base::base64, "mAAB5ZXMgbWFuaSAh"},
    {multibase::base::base64url, "uAAB5ZXMgbWFuaSAh"},
};

template <std::size_t N>
void check_all(const vector_case (&cases)[N], const bytes& plain) {
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(multibase::encode(c.base, plain), c.text);
    auto decoded = multibase::decode(c.text);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, plain);
    EXPECT_EQ(multibase::from_prefix(c.text[0]), c.base);
  }
}

TEST(multibase, spec_vectors) {
  check_all(basic, to_bytes("yes mani !"));
  check_all(leading_zero, to_bytes(std::string_view("\0yes mani !", 11)));
  check_all(two_leading_zeros, to_bytes(std::string_view("\0\0yes mani !", 12)));
}

TEST(multibase, case_insensitive_bases_accept_either_case) {
  // tests/case_insensitivity.csv: non-canonical encodings of "hello world".
  const bytes hello = to_bytes("hello world");
  for (const char* text : {"f68656c6c6f20776F726C64", "F68656c6c6f20776F726C64", "bnbswy3dpeB3W64TMMQ",
                           "Bnbswy3dpeB3W64TMMQ", "kfUvrsIvVnfRbjWaJo", "KfUVrSIVVnFRbJWAJo"}) {
    auto decoded = multibase::decode(text);
    ASSERT_TRUE(decoded) << text;
    EXPECT_EQ(*decoded, hello) << text;
  }
  // base58 and base64 are case-sensitive: changing case changes the value.
  EXPECT_NE(multibase::decode("z7PANL19xttacUY").value(), to_bytes("yes mani !"));
}

TEST(multibase, raw_base58btc) {
  // Bitcoin's classic examples.
  EXPECT_EQ(multibase::encode_base58btc(to_bytes("Hello World!")), "2NEpo7TZRRrLZSi2U");
  EXPECT_EQ(multibase::encode_base58btc(bytes{0, 0, 0, 1}), "1112");
  EXPECT_EQ(multibase::encode_base58btc({}), "");
  EXPECT_EQ(multibase::decode_base58btc("2NEpo7TZRRrLZSi2U").value(), to_bytes("Hello World!"));
  EXPECT_EQ(multibase::decode_base58btc("111").value(), (bytes{0, 0, 0}));
  EXPECT_EQ(multibase::decode_base58btc("").value(), bytes{});
  for (const char* bad : {"0", "O", "I", "l", "2NEpo7TZRRrLZSi2U+", " "})
    EXPECT_EQ(multibase::decode_base58btc(bad).error(), errc::malformed) << bad;
}

TEST(multibase, empty_payloads) {
  for (auto b : {multibase::base::base16, multibase::base::base32, multibase::base::base36,
                 multibase::base::base58btc, multibase::base::base64url}) {
    const std::string text = multibase::encode(b, {});
    EXPECT_EQ(text.size(), 1u);
    auto decoded = multibase::decode(text);
    ASSERT_TRUE(decoded);
    EXPECT_TRUE(decoded->empty());
  }
}

TEST(multibase, rejects_bad_input) {
  EXPECT_EQ(multibase::decode("").error(), errc::malformed);
  EXPECT_EQ(multibase::decode("?abc").error(), errc::unknown_multicodec);
  EXPECT_EQ(multibase::decode("Mabc=").error(), errc::unknown_multicodec);  // base64pad: unsupported
  const char* malformed[] = {
      "f0",            // odd number of hex digits
      "f0g",           // not a hex digit
      "ba",            // 5 bits cannot hold a byte
      "bab4wk4zanvqw42jaee=",  // padding
      "bab4wk4zanvqw42jaef",   // non-zero trailing bits
      "b1",            // '1' is not base32
      "ma",            // 6 bits cannot hold a byte
      "mAB",           // non-zero trailing bits ("AA" is 0x00)
      "ueWVzIG1hbmkgIQ==",  // padding
      "meWVzIG1hbmkgI-",     // base64url digit in base64
      "ueWVzIG1hbmkgI+",     // base64 digit in base64url
      "z0",            // '0' is not base58
      "k-",
  };
  for (const char* text : malformed) EXPECT_EQ(multibase::decode(text).error(), errc::malformed) << text;
}

TEST(multibase, round_trips_all_lengths) {
  for (auto b : {multibase::base::base16, multibase::base::base16_upper, multibase::base::base32,
                 multibase::base::base32_upper, multibase::base::base36, multibase::base::base36_upper,
                 multibase::base::base58btc, multibase::base::base64, multibase::base::base64url}) {
    for (std::size_t length = 0; length < 40; ++length) {
      bytes data(length);
      for (std::size_t i = 0; i < length; ++i) data[i] = static_cast<std::uint8_t>(i * 37 + length);
      if (length > 2) data[0] = 0;  // exercise leading zeros
      const std::string text = multibase::encode(b, data);
      auto decoded = multibase::decode(text);
      ASSERT_TRUE(decoded) << text;
      EXPECT_EQ(*decoded, data) << text;
    }
  }
}

}  // namespace
}  // namespace p2p
