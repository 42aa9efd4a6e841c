#include "p2p/negotiation/listener.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace p2p::multistream {
namespace {

bytes operator+(bytes a, const bytes& b) {
  append(a, b);
  return a;
}

bytes msg(std::string_view text) { return encode_message(text); }

listener::predicate serving(std::vector<std::string> protocols) {
  return [protocols = std::move(protocols)](std::string_view id) {
    return std::find(protocols.begin(), protocols.end(), id) != protocols.end();
  };
}

TEST(multistream_listener, sends_its_header_first) {
  listener l(serving({"/a"}));
  EXPECT_EQ(to_hex(l.poll_output()), "13" + to_hex(as_bytes("/multistream/1.0.0\n")));
  EXPECT_TRUE(l.poll_output().empty());
  EXPECT_EQ(l.wanted(), 1u);
}

// @libp2p/multistream-select listener.spec.ts "should reject unhandled protocols": the
// dialer pipelines everything, application data included.
TEST(multistream_listener, refuses_then_accepts_and_leaves_the_rest) {
  listener l(serving({"/echo/1.0.0"}));
  l.poll_output();
  bytes negotiation = msg("/multistream/1.0.0") + msg("/not/supported/1.0.0") +
                      msg("/also/not/supported/1.0.0") + msg("/echo/1.0.0");
  bytes input = negotiation + msg("application") + to_bytes("raw");
  auto used = l.handle_data(input);
  ASSERT_TRUE(used);
  EXPECT_EQ(*used, negotiation.size());
  EXPECT_EQ(l.selected(), "/echo/1.0.0");
  EXPECT_EQ(l.poll_output(), msg("na") + msg("na") + msg("/echo/1.0.0"));
  EXPECT_EQ(l.wanted(), 0u);
}

TEST(multistream_listener, bytewise) {
  listener l(serving({"/b"}));
  l.poll_output();
  bytes negotiation = msg("/multistream/1.0.0") + msg("/a") + msg("/b");
  bytes input = negotiation + bytes(10, 0xee);
  std::size_t used = 0;
  while (l.wanted() > 0) {
    ASSERT_LT(used, input.size());
    auto n = l.handle_data(bytes_view(input).subspan(used, 1));
    ASSERT_TRUE(n);
    used += *n;
  }
  EXPECT_EQ(used, negotiation.size());
  EXPECT_EQ(l.selected(), "/b");
  EXPECT_EQ(l.poll_output(), msg("na") + msg("/b"));
}

TEST(multistream_listener, answers_ls_when_listing) {
  const std::vector<std::string> protocols{"/echo/1.0.0", "/ping/1.0.0"};
  listener l(serving(protocols), protocols);
  l.poll_output();
  ASSERT_TRUE(l.handle_data(msg("/multistream/1.0.0") + msg("ls")));
  bytes expected;
  encode_list(protocols, expected);
  EXPECT_EQ(l.poll_output(), expected);
  EXPECT_FALSE(l.is_done());
  ASSERT_TRUE(l.handle_data(msg("/ping/1.0.0")));
  EXPECT_EQ(l.selected(), "/ping/1.0.0");
}

TEST(multistream_listener, refuses_ls_without_a_list) {
  listener l(serving({"ls", "na", "/multistream/1.0.0"}));  // reserved words are never served
  l.poll_output();
  ASSERT_TRUE(l.handle_data(msg("/multistream/1.0.0") + msg("ls") + msg("na") + msg("/multistream/1.0.0") +
                            msg("")));
  EXPECT_EQ(l.poll_output(), msg("na") + msg("na") + msg("na") + msg("na"));
  EXPECT_FALSE(l.is_done());
}

TEST(multistream_listener, predicate_only_sees_valid_ids) {
  std::vector<std::string> asked;
  listener l([&](std::string_view id) {
    asked.emplace_back(id);
    return false;
  });
  l.poll_output();
  // @libp2p/multistream-select test "should reject when unsupported protocols are
  // ignored": a message with an extra newline inside is not a valid id.
  ASSERT_TRUE(l.handle_data(msg("/multistream/1.0.0") + msg("/not/supported/1.0.0\n") + msg("/x")));
  EXPECT_EQ(asked, std::vector<std::string>{"/x"});
  EXPECT_EQ(l.poll_output(), msg("na") + msg("na"));
}

TEST(multistream_listener, violations) {
  const std::vector<bytes> inputs{
      msg("/a"),                                  // no header
      msg("/multistream/2.0.0"),                  // another version
      msg("/multistream/1.0.0") + bytes{0x81, 0x08},  // oversized proposal
      msg("/multistream/1.0.0") + to_bytes("\x03/ab"),  // no trailing newline
      msg("/multistream/1.0.0") + bytes{0x80, 0x00},
      to_bytes("\x10GET / HTTP/1.1\r\n"),  // framed, but not the header
      bytes{0x00},
  };
  for (const auto& input : inputs) {
    listener l(serving({"/a"}));
    l.poll_output();
    auto used = l.handle_data(input);
    ASSERT_FALSE(used) << to_hex(input);
    EXPECT_EQ(used.error(), errc::protocol_violation);
    EXPECT_TRUE(l.is_done());
    EXPECT_FALSE(l.selected());
    EXPECT_TRUE(l.poll_output().empty());
    EXPECT_EQ(l.handle_data(msg("/a")).error(), errc::protocol_violation);
  }
}

TEST(multistream_listener, no_predicate_refuses_everything) {
  listener l(nullptr);
  l.poll_output();
  ASSERT_TRUE(l.handle_data(msg("/multistream/1.0.0") + msg("/a")));
  EXPECT_EQ(l.poll_output(), msg("na"));
}

}  // namespace
}  // namespace p2p::multistream
