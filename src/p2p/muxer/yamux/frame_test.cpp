#include "p2p/muxer/yamux/frame.hpp"

#include <gtest/gtest.h>

namespace p2p::yamux {
namespace {

TEST(yamux_frame, encodes_big_endian_fields) {
  bytes out;
  append_header(out, {protocol_version, frame_type::window_update, flag::syn | flag::fin, 0x01020304, 0xA0B0C0D0});
  EXPECT_EQ(to_hex(out), "0001000501020304a0b0c0d0");
}

TEST(yamux_frame, spec_examples) {
  // Opening stream 1 with a window update carrying SYN and no extra window.
  bytes open;
  append_header(open, {protocol_version, frame_type::window_update, flag::syn, 1, 0});
  EXPECT_EQ(to_hex(open), "000100010000000100000000");
  // Ping request with opaque value 7 on the session (stream 0).
  bytes ping;
  append_header(ping, {protocol_version, frame_type::ping, flag::syn, 0, 7});
  EXPECT_EQ(to_hex(ping), "000200010000000000000007");
  // GoAway with "protocol error".
  bytes go_away;
  append_header(go_away, {protocol_version, frame_type::go_away, 0, 0, 1});
  EXPECT_EQ(to_hex(go_away), "000300000000000000000001");
}

TEST(yamux_frame, decode_round_trips) {
  const frame_header header{protocol_version, frame_type::data, flag::ack | flag::rst, 0xFFFFFFFF, 12345};
  bytes out;
  append_header(out, header);
  auto decoded = decode_header(out);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, header);
  EXPECT_TRUE(decoded->has(flag::ack));
  EXPECT_TRUE(decoded->has(flag::rst));
  EXPECT_FALSE(decoded->has(flag::syn));
}

TEST(yamux_frame, decode_rejects_bad_headers) {
  bytes good;
  from_hex("000000000000000100000000", good);
  EXPECT_TRUE(decode_header(good));
  EXPECT_EQ(decode_header(bytes_view(good).first(11)).error(), errc::truncated);

  bytes bad_version = good;
  bad_version[0] = 1;
  EXPECT_EQ(decode_header(bad_version).error(), errc::malformed);

  bytes bad_type = good;
  bad_type[1] = 4;
  EXPECT_EQ(decode_header(bad_type).error(), errc::malformed);

  // Unknown flag bits are carried, not rejected.
  bytes odd_flags = good;
  odd_flags[2] = 0x80;
  auto decoded = decode_header(odd_flags);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->flags, 0x8000);
}

}  // namespace
}  // namespace p2p::yamux
