// Drives a yamux session core (either role) with an op-coded script: chunks of
// arbitrary wire bytes interleaved with application reads, writes, accepts, closes,
// resets, releases, timeouts and output drains. The session must never crash, and a
// peer must never make it buffer more than a stream's receive window.
//
// Input: byte 0 picks the role; then ops. Op byte % 8:
//   0-2  feed: next byte = length L, then L wire bytes
//   3    open_stream          4  write (stream selector, u16 length)
//   5    read (stream selector, u16 length)            6  accept
//   7    control: sub-op byte selects close_write / reset / release / time +
//        handle_timeout / poll_output / go_away / close / connection lost
#include "p2p/muxer/yamux/session.hpp"

#include <cstdint>
#include <cstdlib>
#include <vector>

namespace {

using namespace p2p;
using namespace p2p::yamux;

class script {
 public:
  script(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool empty() const { return at_ >= size_; }
  std::uint8_t byte() { return at_ < size_ ? data_[at_++] : 0; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(byte() << 8 | byte()); }
  bytes_view take(std::size_t n) {
    n = std::min(n, size_ - at_);
    bytes_view out(data_ + at_, n);
    at_ += n;
    return out;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  script in(data, size);
  const role local = in.byte() & 1 ? role::server : role::client;

  config cfg;
  cfg.max_window = 1024 * 1024;  // reachable by a small input
  cfg.connection_window_budget = 2 * 1024 * 1024;
  cfg.max_inbound_streams = 8;
  cfg.max_outbound_streams = 8;
  cfg.accept_backlog = 4;
  cfg.max_ack_backlog = 4;
  cfg.max_frame_payload = 1000;
  cfg.max_output_buffer = 8 * 1024;
  cfg.keepalive_interval = std::chrono::seconds(1);
  cfg.keepalive_timeout = std::chrono::seconds(2);

  time_point now{};
  session s(local, cfg, now);
  std::vector<stream_id> ids;  // streams handed to the "application"
  bytes output;
  bytes buffer(70000);
  const bytes payload(70000, 0xAB);

  auto pick = [&]() -> stream_id {
    if (ids.empty()) return in.byte();  // also exercise unknown IDs
    return ids[in.byte() % ids.size()];
  };

  while (!in.empty()) {
    const std::uint8_t op = in.byte();
    switch (op % 8) {
      case 0:
      case 1:
      case 2: {
        const std::size_t length = in.byte();
        s.handle_bytes(in.take(length), now);
        break;
      }
      case 3:
        if (auto id = s.open_stream()) ids.push_back(*id);
        break;
      case 4: {
        const stream_id id = pick();
        const std::size_t length = in.u16();
        auto n = s.write(id, bytes_view(payload).first(length));
        if (n) check(*n <= length);
        break;
      }
      case 5: {
        const stream_id id = pick();
        const std::size_t length = in.u16();
        auto n = s.read(id, mutable_bytes_view(buffer).first(length), now);
        if (n) check(*n <= length);
        break;
      }
      case 6:
        if (auto id = s.accept()) ids.push_back(*id);
        break;
      case 7: {
        const std::uint8_t sub = in.byte();
        switch (sub % 8) {
          case 0:
            (void)s.close_write(pick());
            break;
          case 1:
            s.reset(pick());
            break;
          case 2: {
            const stream_id id = pick();
            s.release(id);
            std::erase(ids, id);
            break;
          }
          case 3:
            now += std::chrono::milliseconds(10 * (sub >> 3));
            s.handle_timeout(now);
            break;
          case 4:
            s.poll_output(output);
            break;
          case 5:
            s.go_away(static_cast<go_away_code>(sub >> 3));
            break;
          case 6:
            s.close();
            break;
          case 7:
            if (sub >> 3 == 0) s.handle_connection_lost();
            break;
        }
        break;
      }
    }
    while (auto e = s.poll_event()) {
      if (e->type == event_type::connection_error) check(s.is_terminated());
    }
    for (stream_id id : ids) {
      check(s.buffered(id) <= s.receive_window(id));
      check(s.receive_window(id) <= cfg.max_window);
    }
    // Keep memory bounded the way a shell would: drain output now and then.
    if (op & 0x80) s.poll_output(output);
  }
  return 0;
}
