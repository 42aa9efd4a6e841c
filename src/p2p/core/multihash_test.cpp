#include "p2p/core/multihash.hpp"

#include "hex.hpp"

#include <gtest/gtest.h>

namespace p2p {
namespace {

using p2p::testing::hex;

TEST(multihash, sha256_known_answers) {
  // FIPS 180-2 examples.
  EXPECT_EQ(to_hex(multihash::sha256(to_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(to_hex(multihash::sha256({})), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(multihash, sha2_256_of_matches_multihash_readme_example) {
  // multiformats/multihash README: sha2-256 of "multihash".
  EXPECT_EQ(to_hex(multihash::sha2_256_of(to_bytes("multihash"))),
            "12209cbc07c3f991725836a3aa2a581ca2029198aa420b9d99bc0e131d9f3e2cbe47");
}

TEST(multihash, encode_and_decode) {
  const bytes identity = multihash::encode(multihash::identity, to_bytes("hi"));
  EXPECT_EQ(identity, hex("00026869"));
  auto decoded = multihash::decode(identity);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->code, multihash::identity);
  EXPECT_EQ(as_string(decoded->digest), "hi");
  EXPECT_EQ(decoded->length, identity.size());

  // Two-byte code and length varints.
  const bytes long_digest(200, 0xab);
  const bytes encoded = multihash::encode(0x1b0, long_digest);
  EXPECT_EQ(to_hex(bytes_view(encoded).first(4)), "b003c801");
  auto long_decoded = multihash::decode(encoded);
  ASSERT_TRUE(long_decoded);
  EXPECT_EQ(long_decoded->code, 0x1b0u);
  EXPECT_EQ(long_decoded->digest.size(), 200u);

  // Empty identity digest is legal.
  EXPECT_TRUE(multihash::decode(hex("0000")));
}

TEST(multihash, decode_prefix_leaves_trailing_bytes) {
  bytes input = multihash::encode(multihash::identity, to_bytes("abc"));
  input.push_back(0xff);
  auto decoded = multihash::decode_prefix(input);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->length, 5u);
  EXPECT_EQ(multihash::decode(input).error(), errc::malformed);
}

TEST(multihash, rejects_bad_input) {
  EXPECT_EQ(multihash::decode({}).error(), errc::truncated);
  EXPECT_EQ(multihash::decode(hex("12")).error(), errc::truncated);
  EXPECT_EQ(multihash::decode(hex("1220")).error(), errc::truncated);
  EXPECT_EQ(multihash::decode(hex("0005616263")).error(), errc::truncated);
  EXPECT_EQ(multihash::decode(hex("8000")).error(), errc::varint_not_minimal);   // code 0 in two bytes
  EXPECT_EQ(multihash::decode(hex("0081")).error(), errc::truncated);            // length varint unfinished
  EXPECT_EQ(multihash::decode(hex("008100")).error(), errc::varint_not_minimal);  // length 0 in two bytes
  EXPECT_EQ(multihash::decode(hex("00ffffffffffffffff7f")).error(), errc::truncated);  // huge length
  EXPECT_EQ(multihash::decode(hex("ffffffffffffffffff01")).error(), errc::varint_overflow);
  // sha2-256 digests are exactly 32 bytes.
  EXPECT_EQ(multihash::decode(multihash::encode(multihash::sha2_256, bytes(20))).error(), errc::malformed);
  EXPECT_TRUE(multihash::decode(multihash::encode(multihash::sha2_256, bytes(32))));
}

}  // namespace
}  // namespace p2p
