#include "p2p/negotiation/dialer.hpp"

#include <gtest/gtest.h>

namespace p2p::multistream {
namespace {

bytes operator+(bytes a, const bytes& b) {
  append(a, b);
  return a;
}

bytes msg(std::string_view text) { return encode_message(text); }

dialer make(std::vector<std::string> protocols) {
  auto d = dialer::create(std::move(protocols));
  EXPECT_TRUE(d);
  return std::move(*d);
}

// Feeds `input` a byte at a time, as wanted() allows, and returns how much was consumed.
std::size_t feed_bytewise(dialer& d, bytes_view input) {
  std::size_t used = 0;
  while (used < input.size() && d.wanted() > 0) {
    auto n = d.handle_data(input.subspan(used, 1));
    if (!n) break;
    used += *n;
  }
  return used;
}

// The spec's "Implementation Recommendations" exchange, byte for byte:
//   > /multistream/1.0.0\n/ipfs/kad/1.0.0\n
//   < /multistream/1.0.0\n/ipfs/kad/1.0.0\n
TEST(multistream_dialer, pipelined_success) {
  auto d = make({"/ipfs/kad/1.0.0"});
  bytes expected_out;
  from_hex("13", expected_out);
  append(expected_out, as_bytes("/multistream/1.0.0\n"));
  expected_out.push_back(0x10);
  append(expected_out, as_bytes("/ipfs/kad/1.0.0\n"));
  EXPECT_EQ(d.poll_output(), expected_out);
  EXPECT_TRUE(d.poll_output().empty());

  bytes answer = msg("/multistream/1.0.0") + msg("/ipfs/kad/1.0.0");
  bytes input = answer + to_bytes("app data");
  auto used = d.handle_data(input);
  ASSERT_TRUE(used);
  EXPECT_EQ(*used, answer.size());  // the application's bytes are left alone
  EXPECT_TRUE(d.is_done());
  EXPECT_EQ(d.selected(), "/ipfs/kad/1.0.0");
  EXPECT_EQ(d.wanted(), 0u);
  EXPECT_FALSE(d.error());
  auto after = d.handle_data(to_bytes("more"));
  ASSERT_TRUE(after);
  EXPECT_EQ(*after, 0u);
}

//   > /multistream/1.0.0\n/ipfs/kad/1.0.0\n
//   < /multistream/1.0.0\nna\n
//   > /ipfs/kad/0.2.3\n
//   < /ipfs/kad/0.2.3\n
TEST(multistream_dialer, falls_back_after_na) {
  auto d = make({"/ipfs/kad/1.0.0", "/ipfs/kad/0.2.3"});
  EXPECT_EQ(d.poll_output(), msg("/multistream/1.0.0") + msg("/ipfs/kad/1.0.0"));
  auto used = d.handle_data(msg("/multistream/1.0.0") + msg("na"));
  ASSERT_TRUE(used);
  EXPECT_FALSE(d.is_done());
  EXPECT_EQ(d.poll_output(), msg("/ipfs/kad/0.2.3"));
  ASSERT_TRUE(d.handle_data(msg("/ipfs/kad/0.2.3")));
  EXPECT_EQ(d.selected(), "/ipfs/kad/0.2.3");
}

TEST(multistream_dialer, bytewise_feeding_stops_exactly) {
  auto d = make({"/a", "/b"});
  d.poll_output();
  bytes answer = msg("/multistream/1.0.0") + msg("na") + msg("/b");
  bytes input = answer + msg("/after");
  EXPECT_EQ(feed_bytewise(d, input), answer.size());
  EXPECT_EQ(d.selected(), "/b");
  EXPECT_EQ(d.poll_output(), msg("/b"));
}

TEST(multistream_dialer, every_proposal_refused) {
  auto d = make({"/d", "/e"});
  d.poll_output();
  ASSERT_TRUE(d.handle_data(msg("/multistream/1.0.0") + msg("na")));
  EXPECT_EQ(d.poll_output(), msg("/e"));
  auto refused = d.handle_data(msg("na"));
  EXPECT_EQ(refused.error(), errc::protocol_not_supported);
  EXPECT_TRUE(d.is_done());
  EXPECT_FALSE(d.selected());
  EXPECT_EQ(d.error(), errc::protocol_not_supported);
  EXPECT_TRUE(d.poll_output().empty());
  EXPECT_EQ(d.handle_data(msg("/e")).error(), errc::protocol_not_supported);  // sticky
}

TEST(multistream_dialer, violations) {
  const std::vector<bytes> answers{
      msg("/multistream/2.0.0") + msg("/a"),   // wrong header
      msg("/a") + msg("/multistream/1.0.0"),   // header missing
      msg("/multistream/1.0.0") + msg("/b"),   // echo of something never proposed
      msg("/multistream/1.0.0") + msg("ls"),   // not an answer
      to_bytes("\x13/multistream/1.0.0X"),     // no trailing newline
      bytes{0x81, 0x08},                       // 1025-byte message
      bytes{0x83, 0x00},                       // non-minimal length prefix
      bytes{0x00},                             // empty message
      msg("HTTP/1.1 400 Bad Request\r\n"),   // a framed message, but not the header
  };
  for (const auto& answer : answers) {
    auto d = make({"/a"});
    d.poll_output();
    auto used = d.handle_data(answer);
    ASSERT_FALSE(used) << to_hex(answer);
    EXPECT_EQ(used.error(), errc::protocol_violation) << to_hex(answer);
    EXPECT_TRUE(d.is_done());
    EXPECT_EQ(d.wanted(), 0u);
  }
}

// Unframed text reads as a length prefix ('H' = 72) and a partial body: the dialer waits
// for the rest; a shell's timeout or the stream's end ends the wait.
TEST(multistream_dialer, unframed_text_is_a_partial_message) {
  auto d = make({"/a"});
  d.poll_output();
  auto used = d.handle_data(to_bytes("HTTP/1.1 400 Bad Request\r\n\r\n"));
  ASSERT_TRUE(used);
  EXPECT_EQ(*used, 28u);
  EXPECT_FALSE(d.is_done());
  EXPECT_EQ(d.wanted(), 72u - 27u);
}

TEST(multistream_dialer, create_rejects_bad_lists) {
  EXPECT_EQ(dialer::create({}).error(), errc::invalid_argument);
  EXPECT_EQ(dialer::create({""}).error(), errc::invalid_argument);
  EXPECT_EQ(dialer::create({"/a", "na"}).error(), errc::invalid_argument);
  EXPECT_EQ(dialer::create({std::string(1024, 'a')}).error(), errc::invalid_argument);
  EXPECT_TRUE(dialer::create({std::string(1023, 'a')}));
}

}  // namespace
}  // namespace p2p::multistream
