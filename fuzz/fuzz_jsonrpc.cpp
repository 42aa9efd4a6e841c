// MCP JSON-RPC on arbitrary input, as every MCP stream of the node reads it: line_framer
// (any split frames the same as one feed, memory stays bounded) and parse_line on each
// frame (errors are well-formed single responses, never batches; every accepted message
// classifies as valid and encodes back to exactly one line that parses as one message).
//
// Input: byte 0 picks the chunk size of the split feed; the rest is the stream.
#include "mcp/jsonrpc/line_framer.hpp"
#include "fuzz_support.hpp"
#include "mcp/jsonrpc/message.hpp"

#include <cstdlib>
#include <string>
#include <vector>

namespace {

using namespace mcp::jsonrpc;

using fuzz::check;

constexpr std::size_t max_line = 256;

std::vector<std::string> frames_of(std::string_view input, std::size_t chunk) {
  line_framer framer(max_line);
  std::vector<std::string> out;
  auto drain = [&] {
    while (auto f = framer.poll()) {
      check(f->is_oversized() || (f->line.size() <= max_line && f->line.find('\n') == std::string::npos));
      out.push_back(f->is_oversized() ? "!" + std::to_string(f->size) + f->head + "|" + f->tail
                                      : f->line);
    }
    check(framer.buffered() <= max_line + 1);
  };
  for (std::size_t offset = 0; offset < input.size(); offset += chunk) {
    framer.feed(input.substr(offset, chunk));
    drain();
  }
  framer.finish();
  drain();
  return out;
}

void check_line(const json& message) {
  const std::string line = encode_line(message);
  check(!line.empty() && line.back() == '\n' && line.find('\n') == line.size() - 1);
  auto parsed = parse_line(std::string_view(line).substr(0, line.size() - 1));
  check(parsed.errors.empty() && parsed.messages.size() == 1 && !parsed.was_batch);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  // Framing does not depend on how the bytes are split.
  const std::size_t chunk = (data[0] % 16) + 1;
  const auto frames = frames_of(input, chunk);
  check(frames == frames_of(input, input.size() + 1));

  for (const auto& frame : frames) {
    if (!frame.empty() && frame[0] == '!') continue;  // oversized: dropped by the framer
    auto parsed = parse_line(frame);
    for (const json& error : parsed.errors) {
      check(error.is_object() && classify(error) == message_kind::response);
      check_line(error);
    }
    for (const json& message : parsed.messages) {
      check(classify(message) != message_kind::invalid);
      check_line(message);
    }
  }
  return 0;
}
