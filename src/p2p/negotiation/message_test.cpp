#include "p2p/negotiation/message.hpp"

#include "hex.hpp"

#include <gtest/gtest.h>

namespace p2p::multistream {
namespace {

using p2p::testing::hex;

bytes operator+(bytes a, const bytes& b) {
  append(a, b);
  return a;
}

// Feeds all of `input` and collects the messages; the first error stops it.
result<std::vector<std::string>> decode_all(message_decoder& decoder, bytes_view input) {
  std::vector<std::string> messages;
  while (!input.empty()) {
    auto message = decoder.feed(input);
    if (!message) return message.error();
    if (*message) messages.push_back(std::move(**message));
  }
  return messages;
}

// Spec vectors: libp2p/specs connections/README.md and the multistream-select README.
TEST(multistream_message, spec_vectors) {
  EXPECT_EQ(to_hex(encode_message("na")), "036e610a");
  EXPECT_EQ(to_hex(encode_message("ls")), "036c730a");
  // "/multistream/1.0.0" is 18 bytes, 19 with the newline.
  EXPECT_EQ(encode_message(protocol_id), hex("13") + to_bytes("/multistream/1.0.0\n"));
}

TEST(multistream_message, two_byte_length_prefix) {
  const std::string id(200, 'x');  // 201 with the newline: 0xc9 0x01
  auto encoded = encode_message(id);
  ASSERT_EQ(encoded.size(), 2 + 201u);
  EXPECT_EQ(encoded[0], 0xc9);
  EXPECT_EQ(encoded[1], 0x01);
  EXPECT_EQ(encoded.back(), '\n');
  message_decoder decoder;
  auto decoded = decode_all(decoder, encoded);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, std::vector<std::string>{id});
}

TEST(multistream_message, decodes_any_split) {
  bytes wire;
  encode_message(protocol_id, wire);
  encode_message("/ipfs/kad/1.0.0", wire);
  encode_message("na", wire);
  for (std::size_t chunk = 1; chunk <= wire.size(); ++chunk) {
    message_decoder decoder;
    std::vector<std::string> messages;
    for (std::size_t offset = 0; offset < wire.size(); offset += chunk) {
      bytes_view input = bytes_view(wire).subspan(offset, std::min(chunk, wire.size() - offset));
      while (!input.empty()) {
        auto message = decoder.feed(input);
        ASSERT_TRUE(message) << message.error().message();
        if (*message) messages.push_back(**message);
      }
    }
    EXPECT_EQ(messages, (std::vector<std::string>{std::string(protocol_id), "/ipfs/kad/1.0.0", "na"}))
        << "chunk " << chunk;
    EXPECT_TRUE(decoder.is_idle());
  }
}

TEST(multistream_message, stops_at_the_end_of_a_message) {
  bytes wire = encode_message("/a") + to_bytes("trailing");
  message_decoder decoder;
  bytes_view input = wire;
  auto message = decoder.feed(input);
  ASSERT_TRUE(message);
  ASSERT_TRUE(*message);
  EXPECT_EQ(**message, "/a");
  EXPECT_EQ(as_string(input), "trailing");
}

TEST(multistream_message, wanted_is_exact) {
  bytes wire = encode_message("/abc");  // 05 '/abc\n'
  message_decoder decoder;
  EXPECT_EQ(decoder.wanted(), 1u);
  bytes_view input = bytes_view(wire).first(1);
  ASSERT_TRUE(decoder.feed(input));
  EXPECT_EQ(decoder.wanted(), 5u);
  input = bytes_view(wire).subspan(1, 2);
  ASSERT_TRUE(decoder.feed(input));
  EXPECT_EQ(decoder.wanted(), 3u);
  input = bytes_view(wire).subspan(3);
  auto message = decoder.feed(input);
  ASSERT_TRUE(message && *message);
  EXPECT_EQ(decoder.wanted(), 1u);
}

TEST(multistream_message, limit_is_1024_including_newline) {
  message_decoder accepts;
  auto ok = decode_all(accepts, encode_message(std::string(1023, 'p')));
  ASSERT_TRUE(ok);
  EXPECT_EQ((*ok)[0].size(), 1023u);

  message_decoder refuses;
  auto too_long = decode_all(refuses, encode_message(std::string(1024, 'p')));
  EXPECT_EQ(too_long.error(), errc::message_too_large);
}

TEST(multistream_message, rejects_a_large_prefix_before_it_ends) {
  // 0x81 0x89 ... is at least 1 + 9 * 128 = 1153 whatever follows.
  message_decoder decoder;
  bytes wire = hex("8189");
  bytes_view input = wire;
  auto message = decoder.feed(input);
  EXPECT_EQ(message.error(), errc::message_too_large);
}

TEST(multistream_message, errors) {
  struct vector {
    const char* wire;
    errc expected;
  };
  const vector vectors[] = {
      {"00", errc::malformed},                         // empty: no room for the newline
      {"036e6161", errc::malformed},                   // "naa", no trailing newline
      {"83000a0a0a", errc::varint_not_minimal},        // 3 in two bytes
      {"8108", errc::message_too_large},               // 1025
      {"818008", errc::message_too_large},             // 1 + 8 * 16384
      {"ffffffffffffffffff01", errc::message_too_large},
  };
  for (const auto& v : vectors) {
    message_decoder decoder;
    auto decoded = decode_all(decoder, hex(v.wire));
    ASSERT_FALSE(decoded) << v.wire;
    EXPECT_EQ(decoded.error(), v.expected) << v.wire;
  }
  // Without a size limit only the varint rule stops a runaway prefix.
  message_decoder unlimited(SIZE_MAX);
  EXPECT_EQ(decode_all(unlimited, hex("808080808080808080")).error(), errc::varint_overflow);
  // 0x80 0x08 is 1024: allowed, then the body must follow.
  message_decoder at_limit;
  EXPECT_TRUE(decode_all(at_limit, hex("8008")));
  EXPECT_EQ(at_limit.wanted(), 1024u);
}

TEST(multistream_message, errors_are_sticky) {
  message_decoder decoder;
  bytes bad = hex("036e6161");
  bytes_view input = bad;
  EXPECT_EQ(decoder.feed(input).error(), errc::malformed);
  EXPECT_EQ(decoder.wanted(), 0u);
  bytes good = encode_message("na");
  bytes_view again = good;
  EXPECT_EQ(decoder.feed(again).error(), errc::malformed);
}

TEST(multistream_message, list_round_trip) {
  const std::vector<std::string> protocols{"/ipfs/kad/0.2.3", "/ipfs/kad/1.0.0", "/ipfs/bitswap/1.0.0"};
  bytes wire;
  encode_list(protocols, wire);
  message_decoder decoder;
  auto messages = decode_all(decoder, wire);
  ASSERT_TRUE(messages);
  ASSERT_EQ(messages->size(), 1u);
  auto decoded = decode_list((*messages)[0]);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, protocols);
}

// The "ls" answer as @libp2p/multistream-select's handle() writes it: each protocol as
// an embedded message, then the closing newline, all length-prefixed.
TEST(multistream_message, list_wire_format) {
  const std::vector<std::string> one{"/echo/1.0.0"};
  bytes wire;
  encode_list(one, wire);
  // 0x0e = 1 (inner prefix) + 12 ("/echo/1.0.0\n") + 1 ("\n")
  EXPECT_EQ(wire, hex("0e0c") + to_bytes("/echo/1.0.0\n\n"));

  bytes empty;
  encode_list({}, empty);
  EXPECT_EQ(to_hex(empty), "010a");
  auto none = decode_list("");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());

  EXPECT_EQ(decode_list("\x05/abc").error(), errc::truncated);
  EXPECT_EQ(decode_list("\x04/abc").error(), errc::malformed);
}

TEST(multistream_message, protocol_id_validity) {
  EXPECT_TRUE(is_valid_protocol_id("/yamux/1.0.0"));
  EXPECT_TRUE(is_valid_protocol_id(std::string(1023, 'a')));
  EXPECT_FALSE(is_valid_protocol_id(std::string(1024, 'a')));
  EXPECT_FALSE(is_valid_protocol_id(""));
  EXPECT_FALSE(is_valid_protocol_id("/a\n/b"));
  EXPECT_FALSE(is_valid_protocol_id("na"));
  EXPECT_FALSE(is_valid_protocol_id("ls"));
  EXPECT_FALSE(is_valid_protocol_id(protocol_id));
}

}  // namespace
}  // namespace p2p::multistream
