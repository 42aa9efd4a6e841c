// The MCP client's text/event-stream decoder (mcp/gateway/client/sse_parser) and gateway
// URL parser on arbitrary input. Checks that feeding the stream in pieces gives the same
// events as one feed, that memory stays bounded by the event limit whatever arrives, and
// that every event obeys the decoder's contract: data within the limit and free of CR,
// type and id without line breaks (id also without NUL and within max_id_length),
// oversized events with size over the limit and bounded head/tail.
//
// Input: byte 0 picks the event limit (16, 100, 1000 or 65536 bytes), byte 1 the piece
// size (1..64); the rest is the stream. The whole input is also given to parse_url.
#include "mcp/gateway/client/gateway_url.hpp"
#include "fuzz_support.hpp"
#include "mcp/gateway/client/sse_parser.hpp"

#include <array>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace {

using namespace mcp::gateway::client;

using fuzz::check;

struct run_result {
  std::vector<sse_event> events;
  bool discarded = false;
  std::optional<std::uint64_t> retry;
  std::string last_event_id;
};

bool same(const sse_event& a, const sse_event& b) {
  return a.type == b.type && a.data == b.data && a.id == b.id && a.oversized == b.oversized && a.size == b.size &&
         a.head == b.head && a.tail == b.tail;
}

run_result decode(std::string_view stream, std::size_t limit, std::size_t piece) {
  sse_parser parser(limit);
  run_result out;
  for (std::size_t at = 0; at < stream.size(); at += piece) {
    parser.feed(stream.substr(at, piece));
    // The line in progress, the data so far and the type: each bounded by the limit.
    check(parser.buffered() <= 2 * limit + 64 + 256 + 8);
    while (auto event = parser.poll()) out.events.push_back(std::move(*event));
  }
  out.discarded = parser.finish();
  while (auto event = parser.poll()) out.events.push_back(std::move(*event));
  check(parser.buffered() == 0);
  out.retry = parser.retry();
  out.last_event_id = parser.last_event_id();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  {
    std::string why;
    auto url = parse_url(input, &why);
    if (url) {
      check(!url->address.empty() && url->port != 0 && !url->target.empty() && url->target.front() == '/');
      check(url->host_header.find(':') != std::string::npos);
    } else {
      check(!why.empty());
    }
  }
  if (size < 2) return 0;
  constexpr std::array<std::size_t, 4> limits = {16, 100, 1000, 65536};
  const std::size_t limit = limits[data[0] & 3];
  const std::size_t piece = 1 + data[1] % 64;
  const std::string_view stream = input.substr(2);

  const run_result whole = decode(stream, limit, stream.size() + 1);
  const run_result split = decode(stream, limit, piece);
  check(whole.events.size() == split.events.size());
  for (std::size_t i = 0; i < whole.events.size(); ++i) check(same(whole.events[i], split.events[i]));
  check(whole.discarded == split.discarded);
  check(whole.retry == split.retry);
  check(whole.last_event_id == split.last_event_id);

  for (const sse_event& event : whole.events) {
    check(!event.type.empty() && event.type.size() <= 256);
    check(event.type.find_first_of("\r\n") == std::string::npos);
    check(event.id.size() <= max_id_length);
    check(event.id.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos);
    if (event.oversized) {
      check(event.data.empty() && event.size > limit);
      check(event.head.size() <= oversized_event_head && event.tail.size() <= oversized_event_tail);
    } else {
      check(event.data.size() <= limit && event.size == event.data.size());
      check(event.data.find('\r') == std::string::npos);
      check(event.head.empty() && event.tail.empty());
    }
  }
  return 0;
}
