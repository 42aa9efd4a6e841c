// The SSE decoder against scripted streams: the WHATWG examples, every line ending, every
// split down to one byte, the byte order mark, ids, retry, comments, and the limits.
#include "mcp/gateway/client/sse_parser.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

namespace mcp::gateway::client {
namespace {

using namespace std::string_literals;

std::vector<sse_event> parse_all(std::string_view stream, std::size_t piece = 0,
                                 std::size_t limit = default_max_message_size) {
  sse_parser parser(limit);
  if (piece == 0) {
    parser.feed(stream);
  } else {
    for (std::size_t at = 0; at < stream.size(); at += piece) parser.feed(stream.substr(at, piece));
  }
  std::vector<sse_event> events;
  while (auto event = parser.poll()) events.push_back(std::move(*event));
  return events;
}

std::vector<std::string> data_of(const std::vector<sse_event>& events) {
  std::vector<std::string> out;
  for (const auto& event : events) out.push_back(event.data);
  return out;
}

TEST(SseParser, WhatwgExamples) {
  // "data: YHOO / +2 / 10" is one event with three lines.
  auto events = parse_all("data: YHOO\ndata: +2\ndata: 10\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "YHOO\n+2\n10");
  EXPECT_EQ(events[0].type, "message");

  // Comments, an id, and an event after it keeps the id.
  events = parse_all(": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].data, "first event");
  EXPECT_EQ(events[0].id, "1");
  EXPECT_EQ(events[1].data, "second event");
  EXPECT_EQ(events[1].id, "");  // "id" without value resets it
  EXPECT_EQ(events[2].data, " third event");  // only one space is removed

  // "data" alone is an empty data line; the last block never ends, so it is dropped.
  events = parse_all("data\n\ndata\ndata\n\ndata:");
  EXPECT_EQ(data_of(events), (std::vector<std::string>{"", "\n"}));

  // "data:test" and "data: test" are the same.
  events = parse_all("data:test\n\ndata: test\n\n");
  EXPECT_EQ(data_of(events), (std::vector<std::string>{"test", "test"}));

  // Event types.
  events = parse_all("event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, "add");
  EXPECT_EQ(events[1].type, "remove");
  EXPECT_EQ(events[2].data, "113411");
}

TEST(SseParser, McpMessagesAsTheGatewaySendsThem) {
  const std::string stream =
      "event: message\nid: 0-0\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n"
      ": keep-alive\n\n"
      "event: message\nid: 0-1\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n";
  for (std::size_t piece : {0, 1, 2, 3, 7, 64}) {
    SCOPED_TRACE(piece);
    const auto events = parse_all(stream, piece);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].id, "0-0");
    EXPECT_EQ(events[0].data, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}");
    EXPECT_EQ(events[1].id, "0-1");
    EXPECT_EQ(events[1].data, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}");
    EXPECT_FALSE(events[1].oversized);
  }
}

TEST(SseParser, EveryLineEndingAndSplit) {
  for (std::string_view eol : {"\n", "\r\n", "\r"}) {
    std::string stream;
    for (const char* line : {"event: a", "data: one", "data: two", "", ": c", "id: 7", "data: three", ""}) {
      stream += line;
      stream += eol;
    }
    for (std::size_t piece = 0; piece <= 5; ++piece) {
      SCOPED_TRACE(std::to_string(eol.size()) + "/" + std::to_string(piece));
      const auto events = parse_all(stream, piece);
      ASSERT_EQ(events.size(), 2u);
      EXPECT_EQ(events[0].type, "a");
      EXPECT_EQ(events[0].data, "one\ntwo");
      EXPECT_EQ(events[1].type, "message");
      EXPECT_EQ(events[1].data, "three");
      EXPECT_EQ(events[1].id, "7");
    }
  }
  // CR then LF in separate feeds is one line end, not an empty line between.
  sse_parser parser;
  parser.feed("data: x\r");
  parser.feed("\ndata: y\r");
  parser.feed("\n\r");
  parser.feed("\n");
  const auto event = parser.poll();
  ASSERT_TRUE(event);
  EXPECT_EQ(event->data, "x\ny");
  EXPECT_FALSE(parser.poll());
  // Mixed: "\r\r" is two line ends (an empty line dispatches).
  EXPECT_EQ(data_of(parse_all("data: a\r\rdata: b\n\n")), (std::vector<std::string>{"a", "b"}));
}

TEST(SseParser, ByteOrderMarkOnlyAtTheStart) {
  const std::string bom = "\xEF\xBB\xBF";
  for (std::size_t piece : {0, 1, 2}) {
    EXPECT_EQ(data_of(parse_all(bom + "data: x\n\n", piece)), (std::vector<std::string>{"x"}));
  }
  // A second mark is content: the line's field name is "\xEF\xBB\xBF" + "data", unknown.
  EXPECT_TRUE(parse_all(bom + bom + "data: x\n\n").empty());
  // Bytes that only start like a mark are content.
  auto events = parse_all("\xEF\xBB" "data: x\n\n");
  EXPECT_TRUE(events.empty());
  events = parse_all("\xEF" "\n" "data: y\n\n", 1);
  EXPECT_EQ(data_of(events), (std::vector<std::string>{"y"}));
  // After finish(), a new stream may start with a mark again.
  sse_parser parser;
  parser.feed(bom + "data: a\n\n");
  EXPECT_FALSE(parser.finish());
  parser.feed(bom + "data: b\n\n");
  EXPECT_EQ(parser.poll()->data, "a");
  EXPECT_EQ(parser.poll()->data, "b");
}

TEST(SseParser, FieldsIdsAndRetry) {
  sse_parser parser;
  parser.feed("retry: 2500\nunknown: x\nid: a\0b\ndata: 1\n\n"s);
  auto event = parser.poll();
  ASSERT_TRUE(event);
  EXPECT_EQ(event->id, "");  // an id containing NUL is ignored
  EXPECT_EQ(parser.retry(), 2500u);
  parser.feed("retry: 12x\nretry:\nretry: -1\nid: \xc3\xa9t\xc3\xa9\ndata: 2\n\n");
  event = parser.poll();
  EXPECT_EQ(parser.retry(), 2500u);  // not only digits: ignored
  EXPECT_EQ(event->id, "\xc3\xa9t\xc3\xa9");
  parser.feed("data: 3\n\n");
  EXPECT_EQ(parser.poll()->id, "\xc3\xa9t\xc3\xa9");  // ids persist
  EXPECT_EQ(parser.last_event_id(), "\xc3\xa9t\xc3\xa9");
  parser.feed("id: " + std::string(max_id_length + 1, 'i') + "\ndata: 4\n\n");
  EXPECT_EQ(parser.poll()->id, "\xc3\xa9t\xc3\xa9");  // over-long id ignored
  parser.feed("retry: 99999999999999999999999999\n\n");
  EXPECT_EQ(parser.retry(), std::numeric_limits<std::uint64_t>::max());
  // An id without data dispatches nothing but still becomes the last event id.
  parser.feed("id: z\n\n");
  EXPECT_FALSE(parser.poll());
  EXPECT_EQ(parser.last_event_id(), "z");
  // A type without data is forgotten at the empty line.
  parser.feed("event: ping\n\ndata: 5\n\n");
  EXPECT_EQ(parser.poll()->type, "message");
}

TEST(SseParser, FinishDiscardsAnIncompleteEvent) {
  sse_parser parser;
  parser.feed("data: complete\n\ndata: half");
  EXPECT_TRUE(parser.finish());
  EXPECT_EQ(parser.poll()->data, "complete");
  EXPECT_FALSE(parser.poll());
  parser.feed("data: x\n");  // a line, but no empty line
  EXPECT_TRUE(parser.finish());
  EXPECT_FALSE(parser.poll());
  parser.feed("data: y\n\n");
  EXPECT_FALSE(parser.finish());
  EXPECT_EQ(parser.poll()->data, "y");
  EXPECT_FALSE(parser.finish());
}

TEST(SseParser, EventSizeLimit) {
  constexpr std::size_t limit = 100;
  // Exactly at the limit: delivered; one more byte: oversized.
  auto events = parse_all("data: " + std::string(limit, 'a') + "\n\n", 0, limit);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_FALSE(events[0].oversized);
  EXPECT_EQ(events[0].data.size(), limit);
  // Two lines: 49 + LF + 50 = 100 fits, 49 + LF + 51 does not.
  events = parse_all("data: " + std::string(49, 'a') + "\ndata: " + std::string(50, 'b') + "\n\n", 0, limit);
  EXPECT_FALSE(events.at(0).oversized);
  events = parse_all("data: " + std::string(49, 'a') + "\ndata: " + std::string(51, 'b') + "\n\n", 0, limit);
  EXPECT_TRUE(events.at(0).oversized);
  EXPECT_EQ(events[0].size, 101u);

  const std::string big = "{\"id\":42,\"jsonrpc\":\"2.0\",\"result\":{\"text\":\"" + std::string(1000, 'x') + "\"}}";
  for (std::size_t piece : {0, 1, 13}) {
    SCOPED_TRACE(piece);
    events = parse_all("id: 9\ndata: " + big + "\n\ndata: after\n\n", piece, limit);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_TRUE(events[0].oversized);
    EXPECT_TRUE(events[0].data.empty());
    EXPECT_EQ(events[0].size, big.size());
    EXPECT_EQ(events[0].id, "9");
    EXPECT_EQ(events[0].head, big.substr(0, oversized_event_head));
    EXPECT_EQ(events[0].tail, big.substr(big.size() - oversized_event_tail));
    EXPECT_FALSE(events[1].oversized);
    EXPECT_EQ(events[1].data, "after");
  }
  // A long data line after a short one: the head starts with the short one.
  events = parse_all("data: {\ndata: " + big + "\n\n", 0, limit);
  EXPECT_TRUE(events.at(0).oversized);
  EXPECT_EQ(events[0].head.substr(0, 2), "{\n");
  EXPECT_EQ(events[0].size, 2 + big.size());
}

TEST(SseParser, LongLinesThatAreNotDataAreIgnoredWithBoundedMemory) {
  constexpr std::size_t limit = 1000;
  sse_parser parser(limit);
  const std::string filler(4096, 'c');
  parser.feed(":");
  for (int i = 0; i < 1000; ++i) {  // a 4 MB comment
    parser.feed(filler);
    ASSERT_LE(parser.buffered(), limit + 64);
  }
  parser.feed("\nid:");
  for (int i = 0; i < 100; ++i) parser.feed(filler);
  parser.feed("\nevent:");
  for (int i = 0; i < 100; ++i) parser.feed(filler);
  parser.feed("\ndata: ok\n\n");
  auto event = parser.poll();
  ASSERT_TRUE(event);
  EXPECT_EQ(event->data, "ok");
  EXPECT_EQ(event->type, "message");
  EXPECT_EQ(event->id, "");
  // A data line of 4 MB: oversized, memory stays bounded.
  parser.feed("data:");
  for (int i = 0; i < 1000; ++i) {
    parser.feed(filler);
    ASSERT_LE(parser.buffered(), limit + 64);
  }
  parser.feed("\n\n");
  event = parser.poll();
  ASSERT_TRUE(event);
  EXPECT_TRUE(event->oversized);
  EXPECT_EQ(event->size, 1000 * filler.size());
}

}  // namespace
}  // namespace mcp::gateway::client
