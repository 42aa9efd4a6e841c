#include "mcp/jsonrpc/line_framer.hpp"

#include "mcp/jsonrpc/json.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mcp::jsonrpc {
namespace {

// A frame as text: the line, or "<oversized N>".
std::string show(const frame& f) {
  if (f.is_oversized()) return "<oversized " + std::to_string(f.size) + ">";
  return f.line;
}

std::vector<std::string> drain(line_framer& framer) {
  std::vector<std::string> out;
  while (auto f = framer.poll()) out.push_back(show(*f));
  return out;
}

std::vector<std::string> feed_in_chunks(std::string_view input, std::size_t chunk,
                                        std::size_t limit = default_max_line_length) {
  line_framer framer(limit);
  std::vector<std::string> out;
  for (std::size_t offset = 0; offset < input.size(); offset += chunk) {
    framer.feed(input.substr(offset, chunk));
    EXPECT_LE(framer.buffered(), limit + 1);
    for (auto& line : drain(framer)) out.push_back(std::move(line));
  }
  framer.finish();
  for (auto& line : drain(framer)) out.push_back(std::move(line));
  return out;
}

TEST(line_framer, splits_lines) {
  line_framer framer;
  framer.feed(std::string_view(R"({"a":1})" "\n" R"({"b":2})" "\n" R"({"c")"));
  EXPECT_EQ(drain(framer), (std::vector<std::string>{R"({"a":1})", R"({"b":2})"}));
  EXPECT_EQ(framer.buffered(), 4u);
  framer.feed(std::string_view(":3}\n"));
  EXPECT_EQ(drain(framer), (std::vector<std::string>{R"({"c":3})"}));
  EXPECT_EQ(framer.buffered(), 0u);
}

TEST(line_framer, any_split_gives_the_same_lines) {
  const std::string input =
      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\r\n"
      "\n"
      "   \r\n"
      "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n"
      "{\"x\":\"a\\rb\"}\r\n";
  const std::vector<std::string> expected = {
      R"({"jsonrpc":"2.0","id":1,"method":"ping"})",
      R"({"jsonrpc":"2.0","method":"notifications/initialized"})",
      R"({"x":"a\rb"})",
  };
  for (std::size_t chunk = 1; chunk <= input.size(); ++chunk) {
    EXPECT_EQ(feed_in_chunks(input, chunk), expected) << "chunk " << chunk;
  }
}

TEST(line_framer, crlf_is_stripped_and_lone_cr_kept) {
  line_framer framer;
  framer.feed(std::string_view("a\rb\r\nc\r\r\n"));
  // Only the "\r" just before "\n" is a terminator.
  EXPECT_EQ(drain(framer), (std::vector<std::string>{"a\rb", "c\r"}));
}

TEST(line_framer, oversized_line_is_reported_and_framing_resumes) {
  const std::string input = "short\n" + std::string(40, 'a') + "\nnext\n";
  const std::vector<std::string> expected = {"short", "<oversized 40>", "next"};
  for (std::size_t chunk = 1; chunk <= input.size(); ++chunk) {
    EXPECT_EQ(feed_in_chunks(input, chunk, 16), expected) << "chunk " << chunk;
  }
}

TEST(line_framer, limit_is_inclusive_and_excludes_the_terminator) {
  const std::string at_limit(16, 'x');
  EXPECT_EQ(feed_in_chunks(at_limit + "\n", 1, 16), std::vector<std::string>{at_limit});
  EXPECT_EQ(feed_in_chunks(at_limit + "\r\n", 1, 16), std::vector<std::string>{at_limit});
  EXPECT_EQ(feed_in_chunks(at_limit + "y\n", 1, 16), std::vector<std::string>{"<oversized 17>"});
  EXPECT_EQ(feed_in_chunks(at_limit + "y\n", 100, 16), std::vector<std::string>{"<oversized 17>"});
  EXPECT_EQ(feed_in_chunks(at_limit + "yz\r\n", 1, 16), std::vector<std::string>{"<oversized 19>"});
}

TEST(line_framer, oversized_frame_keeps_head_and_tail) {
  std::string line;
  for (int i = 0; line.size() < 5000; ++i) line += std::to_string(i) + ",";
  for (std::size_t chunk : {1u, 7u, 1000u, 10000u}) {
    line_framer framer(1000);
    const std::string input = line + "\n{}\n";
    for (std::size_t offset = 0; offset < input.size(); offset += chunk) {
      framer.feed(std::string_view(input).substr(offset, chunk));
    }
    auto report = framer.poll();
    ASSERT_TRUE(report);
    ASSERT_TRUE(report->is_oversized());
    EXPECT_EQ(report->error, p2p::errc::message_too_large);
    EXPECT_EQ(report->size, line.size());
    EXPECT_EQ(report->head, line.substr(0, oversized_head_length));
    EXPECT_EQ(report->tail, line.substr(line.size() - oversized_tail_length));
    auto next = framer.poll();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->line, "{}");
  }
}

TEST(line_framer, memory_stays_bounded_while_discarding) {
  line_framer framer(64);
  for (int i = 0; i < 1000; ++i) {
    framer.feed(std::string(1000, 'z'));
    EXPECT_EQ(framer.buffered(), 0u);
    EXPECT_FALSE(framer.has_frame());
  }
  framer.feed(std::string_view("\n"));
  auto report = framer.poll();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->size, 1000u * 1000u);
  EXPECT_EQ(report->head.size(), oversized_head_length);
  EXPECT_EQ(report->tail.size(), oversized_tail_length);
}

TEST(line_framer, finish_flushes_a_last_line_without_newline) {
  line_framer framer(16);
  framer.feed(std::string_view("{\"a\":1}\r"));
  EXPECT_FALSE(framer.has_frame());
  framer.finish();
  EXPECT_EQ(drain(framer), std::vector<std::string>{"{\"a\":1}"});
  framer.feed(std::string(20, 'q'));
  framer.finish();
  EXPECT_EQ(drain(framer), std::vector<std::string>{"<oversized 20>"});
  framer.feed(std::string_view("ok\n"));
  EXPECT_EQ(drain(framer), std::vector<std::string>{"ok"});
}

TEST(line_framer, bytes_overload) {
  line_framer framer;
  framer.feed(p2p::as_bytes("x\n"));
  EXPECT_EQ(drain(framer), std::vector<std::string>{"x"});
}

TEST(line_framer, encode_line_never_embeds_newlines) {
  json message = {{"jsonrpc", "2.0"}, {"method", "m"}, {"params", {{"text", "a\nb\r\nc\u2028"}}}};
  const std::string line = encode_line(message);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  EXPECT_EQ(line.find('\r'), std::string::npos);
  EXPECT_EQ(json::parse(line), message);
}

TEST(line_framer, encode_line_replaces_invalid_utf8_instead_of_throwing) {
  json message = {{"s", std::string("bad \xff\xfe end")}};
  std::string line;
  ASSERT_NO_THROW(line = encode_line(message));
  EXPECT_NE(line.find("\xef\xbf\xbd"), std::string::npos);  // U+FFFD
  std::string out = "prefix\n";
  append_line(out, json{{"a", 1}});
  EXPECT_EQ(out, "prefix\n{\"a\":1}\n");
}

}  // namespace
}  // namespace mcp::jsonrpc
