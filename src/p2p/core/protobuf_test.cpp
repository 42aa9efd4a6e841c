#include "p2p/core/protobuf.hpp"

#include <gtest/gtest.h>

namespace p2p {
namespace {

TEST(protobuf, writer_and_reader_round_trip) {
  protobuf::writer w;
  w.add_varint(1, 150);
  w.add_string(2, "testing");
  w.add_fixed64(3, 0x0102030405060708ULL);
  w.add_fixed32(4, 0xdeadbeef);
  w.add_varint(5, ~0ULL);
  const bytes encoded = std::move(w).take();
  // Field 1 = 150 is the protobuf documentation's example: 08 96 01.
  ASSERT_GE(encoded.size(), 3u);
  EXPECT_EQ(encoded[0], 0x08);
  EXPECT_EQ(encoded[1], 0x96);
  EXPECT_EQ(encoded[2], 0x01);

  protobuf::reader r(encoded);
  auto f1 = r.next();
  ASSERT_TRUE(f1);
  EXPECT_EQ(f1->number, 1u);
  EXPECT_EQ(f1->integer, 150u);
  auto f2 = r.next();
  ASSERT_TRUE(f2);
  EXPECT_EQ(f2->text(), "testing");
  auto f3 = r.next();
  ASSERT_TRUE(f3);
  EXPECT_EQ(f3->integer, 0x0102030405060708ULL);
  auto f4 = r.next();
  ASSERT_TRUE(f4);
  EXPECT_EQ(f4->integer, 0xdeadbeefULL);
  auto f5 = r.next();
  ASSERT_TRUE(f5);
  EXPECT_EQ(f5->integer, ~0ULL);
  EXPECT_TRUE(r.at_end());
}

TEST(protobuf, rejects_broken_input) {
  EXPECT_EQ(protobuf::reader(bytes{0x0a, 0x05, 'a'}).next().error(), errc::truncated);
  EXPECT_EQ(protobuf::reader(bytes{0x0b}).next().error(), errc::malformed);  // group start
  EXPECT_EQ(protobuf::reader(bytes{0x00, 0x01}).next().error(), errc::malformed);  // field 0
  EXPECT_EQ(protobuf::reader(bytes{0x08}).next().error(), errc::truncated);
  EXPECT_EQ(protobuf::reader(bytes{0x09, 1, 2, 3}).next().error(), errc::truncated);
}

}  // namespace
}  // namespace p2p
