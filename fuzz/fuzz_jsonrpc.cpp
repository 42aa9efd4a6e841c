// MCP JSON-RPC on arbitrary input: line_framer (any split frames the same as one feed),
// parse_line (errors are well-formed responses, never batches) and id_router fed as two
// clients and two upstreams at once, with time passing and channels failing. Checks that
// every output encodes to exactly one line that parses back as one valid message, that a
// response only ever reaches a channel with a request of that id, and that limits hold.
//
// Input: byte 0 picks the framer check's chunk size; then records of
//   op, [length, payload]   op % 8: 0-3 bytes from client 1, 2 / upstream 10, 11;
//                           4 advance time; 5 fail an upstream; 6 fail a client;
//                           7 end of input on a channel.
#include "mcp/jsonrpc/id_router.hpp"
#include "mcp/jsonrpc/line_framer.hpp"
#include "mcp/jsonrpc/message.hpp"

#include <array>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace mcp::jsonrpc;

void check(bool condition) {
  if (!condition) std::abort();
}

constexpr std::size_t max_line = 256;
constexpr std::array<channel_id, 2> clients = {1, 2};
constexpr std::array<channel_id, 2> upstreams = {10, 11};

std::string key(const json& id) { return id.dump(-1, ' ', false, json::error_handler_t::replace); }

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

struct harness {
  router_config config = [] {
    router_config c;
    c.max_pending_per_client = 8;
    c.max_pending_per_upstream = 4;
    c.max_events = 16;
    c.request_timeout = std::chrono::seconds(20);
    c.max_request_duration = std::chrono::seconds(100);
    c.server_request_timeout = std::chrono::seconds(50);
    return c;
  }();
  id_router router{config};
  time_point now = time_point{} + std::chrono::hours(1);
  std::map<std::pair<side, channel_id>, line_framer> framers;
  // Ids each channel has used in requests (including ids recovered from oversized lines).
  std::map<std::pair<side, channel_id>, std::set<std::string>> sent_ids;

  line_framer& framer(side s, channel_id c) {
    return framers.try_emplace({s, c}, max_line).first->second;
  }

  void drain() {
    while (auto out = router.poll_output()) {
      check_line(out->message);
      check(classify(out->message) != message_kind::invalid);
      if (classify(out->message) == message_kind::response && !out->message["id"].is_null()) {
        check(sent_ids[{out->to, out->channel}].contains(key(out->message["id"])));
      }
    }
    while (router.poll_event()) {
    }
    for (channel_id c : clients) check(router.pending_from(side::client, c) <= config.max_pending_per_client);
    for (channel_id u : upstreams) check(router.pending_from(side::upstream, u) <= config.max_pending_per_upstream);
    check(router.pending_count() == 0 || router.poll_timeout());
  }

  void deliver(side from, channel_id channel, json message, std::size_t selector) {
    if (from == side::client) {
      auto rest = router.handle_client_message(channel, std::move(message), now);
      if (rest && classify(*rest) == message_kind::request) {
        sent_ids[{from, channel}].insert(key((*rest)["id"]));
        request_options options;
        if (selector % 3 == 0) options.timeout = std::chrono::seconds(selector % 7);
        router.route_request(channel, std::move(*rest), upstreams[selector % 2], now, options);
      }
    } else {
      auto rest = router.handle_upstream_message(channel, std::move(message), now);
      if (rest && classify(*rest) == message_kind::request) {
        sent_ids[{from, channel}].insert(key((*rest)["id"]));
        auto waiting = router.clients_waiting_on(channel);
        const channel_id client = waiting.empty() ? clients[selector % 2] : waiting.front();
        router.route_server_request(channel, std::move(*rest), client, now);
      }
    }
  }

  void process(side from, channel_id channel) {
    line_framer& f = framer(from, channel);
    std::size_t selector = 0;
    while (auto next = f.poll()) {
      ++selector;
      if (next->is_oversized()) {
        const auto hint = sniff_message(next->head, next->tail);
        if (hint.id) sent_ids[{from, channel}].insert(key(*hint.id));
        router.handle_oversized(from, channel, *next, max_line);
        drain();
        continue;
      }
      auto parsed = parse_line(next->line);
      for (const json& error : parsed.errors) {
        check(error.is_object() && classify(error) == message_kind::response);
        check_line(error);
      }
      for (json& message : parsed.messages) {
        check(classify(message) != message_kind::invalid);
        deliver(from, channel, std::move(message), selector + next->line.size());
        drain();
      }
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  // Framing does not depend on how the bytes are split.
  const std::size_t chunk = (data[0] % 16) + 1;
  check(frames_of(input, chunk) == frames_of(input, input.size() + 1));

  harness h;
  std::size_t pos = 0;
  auto next_byte = [&]() -> std::uint8_t { return pos < input.size() ? static_cast<std::uint8_t>(input[pos++]) : 0; };
  while (pos < input.size()) {
    const std::uint8_t op = next_byte();
    const side s = (op % 8) < 2 ? side::client : side::upstream;
    const channel_id channel = (op % 8) < 2 ? clients[op % 2] : upstreams[op % 2];
    switch (op % 8) {
      case 0:
      case 1:
      case 2:
      case 3: {
        std::size_t length = next_byte();
        if (length == 0) length = input.size() - pos;  // 0: the rest of the input
        length = std::min(length, input.size() - pos);
        h.framer(s, channel).feed(input.substr(pos, length));
        pos += length;
        h.process(s, channel);
        break;
      }
      case 4:
        h.now += std::chrono::seconds(next_byte());
        h.router.handle_timeout(h.now);
        h.drain();
        break;
      case 5:
        h.router.fail_upstream(upstreams[next_byte() % 2], "upstream went away");
        h.drain();
        break;
      case 6:
        h.router.fail_client(clients[next_byte() % 2], "client went away");
        h.drain();
        break;
      case 7: {
        const std::uint8_t which = next_byte();
        const side end_side = which % 2 ? side::client : side::upstream;
        const channel_id end_channel = end_side == side::client ? clients[(which / 2) % 2] : upstreams[(which / 2) % 2];
        h.framer(end_side, end_channel).finish();
        h.process(end_side, end_channel);
        break;
      }
    }
  }
  // Everything pending eventually ends (infinite deadlines are not used here).
  h.router.handle_timeout(time_point::max());
  h.drain();
  check(h.router.pending_count() == 0);
  return 0;
}
