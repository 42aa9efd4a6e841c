#include "p2p/security/noise/payload.hpp"

#include "p2p/core/protobuf.hpp"

#include <gtest/gtest.h>

namespace p2p::noise {
namespace {

TEST(noise_payload, round_trip_with_and_without_extensions) {
  handshake_payload payload{.identity_key = to_bytes("key"), .identity_sig = to_bytes("sig"), .extensions = {}};
  auto decoded = decode_payload(encode_payload(payload));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, payload);
  EXPECT_FALSE(decoded->extensions);

  payload.extensions = noise_extensions{{to_bytes("h1"), to_bytes("h2")}, {"/yamux/1.0.0", "/mplex/6.7.0"}};
  decoded = decode_payload(encode_payload(payload));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, payload);
}

TEST(noise_payload, exact_encoding) {
  handshake_payload payload{.identity_key = {1, 2}, .identity_sig = {3}, .extensions = noise_extensions{{}, {"/y"}}};
  // 0a 02 01 02 | 12 01 03 | 22 04 (12 02 2f 79)
  EXPECT_EQ(to_hex(encode_payload(payload)), "0a020102120103220412022f79");
}

TEST(noise_payload, skips_unknown_fields_and_merges_extensions) {
  protobuf::writer ext1;
  ext1.add_string(2, "/a");
  ext1.add_varint(9, 5);  // unknown inside extensions
  protobuf::writer ext2;
  ext2.add_string(2, "/b");
  ext2.add_bytes(1, to_bytes("hash"));
  protobuf::writer w;
  w.add_bytes(3, to_bytes("r0 libp2p_data"));  // field of an older spec revision
  w.add_bytes(1, to_bytes("old"));
  w.add_bytes(1, to_bytes("key"));  // last one wins
  w.add_bytes(4, ext1.data());
  w.add_fixed32(77, 1);
  w.add_bytes(2, to_bytes("sig"));
  w.add_bytes(4, ext2.data());
  auto decoded = decode_payload(w.data());
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->identity_key, to_bytes("key"));
  EXPECT_EQ(decoded->identity_sig, to_bytes("sig"));
  ASSERT_TRUE(decoded->extensions);
  EXPECT_EQ(decoded->extensions->stream_muxers, (std::vector<std::string>{"/a", "/b"}));
  EXPECT_EQ(decoded->extensions->webtransport_certhashes, std::vector<bytes>{to_bytes("hash")});
}

TEST(noise_payload, rejects_wrong_wire_types_and_broken_input) {
  protobuf::writer w;
  w.add_varint(1, 5);
  EXPECT_EQ(decode_payload(w.data()).error(), errc::malformed);

  protobuf::writer ext;
  ext.add_varint(2, 1);
  protobuf::writer w2;
  w2.add_bytes(4, ext.data());
  EXPECT_EQ(decode_payload(w2.data()).error(), errc::malformed);

  const bytes truncated = {0x0a, 0x05, 0x01};
  EXPECT_FALSE(decode_payload(truncated));
  const bytes extension_truncated = {0x22, 0x02, 0x12, 0x05};
  EXPECT_FALSE(decode_payload(extension_truncated));

  auto empty = decode_payload({});
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->identity_key.empty());
}

}  // namespace
}  // namespace p2p::noise
