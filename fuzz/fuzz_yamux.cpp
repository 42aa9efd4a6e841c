// Drives a yamux session core (either role) with an op-coded script: chunks of
// arbitrary wire bytes interleaved with application reads, writes, accepts, closes,
// resets, releases, timeouts and output drains. The session must never crash, and a
// peer must never make it buffer more than a stream's receive window.
//
// Input: byte 0 picks the role; then ops. Op byte % 8:
//   0-2  feed: next byte = length L, then L wire bytes
//   3    open_stream          4  write (stream selector, u16 length)
//   5    read (stream selector, u16 length)            6  accept
//   7    control: sub-op byte % 12 selects close_write / reset / release / time +
//        handle_timeout / poll_output / go_away / close / connection lost /
//        lend_read_buffer / cancel_loan / write_borrowed / adopt_borrowed
//
// The zero-copy APIs are checked with memory that lives exactly as long as their
// contracts say: a lent read buffer is freed when its loan ends (the next read of that
// stream, cancel_loan, release), a borrowed payload when output_generation() moves or
// after adopt_borrowed. Under AddressSanitizer any later use by the session is a
// heap-use-after-free. Bytes written into a lent buffer are checked by the read that
// ends the loan (the script's wire bytes are not known in advance, so only its length).
#include "p2p/muxer/yamux/session.hpp"
#include "fuzz_support.hpp"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <vector>

namespace {

using namespace p2p;
using namespace p2p::yamux;

using fuzz::check;
using fuzz::script;

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

  // At most one lent read buffer at a time (a shell lends one per waiting reader).
  std::unique_ptr<bytes> lent;
  stream_id lent_id = 0;
  auto end_loan = [&] { lent.reset(); };
  // Borrowed payloads, freed once the session no longer refers to them.
  std::vector<std::unique_ptr<bytes>> borrowed;
  std::uint64_t borrowed_generation = s.output_generation();
  // The writer loop: either overload of poll_output; the gather list's parts are read
  // (as a transport would) before the borrowed memory may go.
  session::output_batch batch;
  auto drain = [&](bool gather) {
    if (!gather) {
      s.poll_output(output);
      return;
    }
    if (!s.poll_output(batch)) return;
    std::size_t size = 0;
    std::uint64_t sum = 0;
    for (const bytes_view part : batch.parts) {
      for (const std::uint8_t b : part) sum += b;
      size += part.size();
    }
    check(sum <= 255 * std::uint64_t{size});
  };
  auto drop_borrowed_if_taken = [&] {
    if (s.output_generation() != borrowed_generation) {
      borrowed.clear();
      borrowed_generation = s.output_generation();
    }
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
        if (lent && id == lent_id) {
          // Reading with the lent buffer (or a shorter view of it) ends the loan.
          const std::size_t room = std::min(length, lent->size());
          const std::size_t filled = lent->size() - s.lent_room(id);
          auto n = s.read(id, mutable_bytes_view(*lent).first(room), now);
          if (n) check(*n <= room && (room < filled || *n >= filled));
          end_loan();
          break;
        }
        auto n = s.read(id, mutable_bytes_view(buffer).first(length), now);
        if (n) check(*n <= length);
        break;
      }
      case 6:
        if (auto id = s.accept()) ids.push_back(*id);
        break;
      case 7: {
        const std::uint8_t sub = in.byte();
        switch (sub % 12) {
          case 0:
            (void)s.close_write(pick());
            break;
          case 1:
            s.reset(pick());
            break;
          case 2: {
            const stream_id id = pick();
            if (lent && id == lent_id) s.cancel_loan(id), end_loan();  // as the shell's guard does
            s.release(id);
            std::erase(ids, id);
            break;
          }
          case 3:
            now += std::chrono::milliseconds(10 * (sub >> 3));
            s.handle_timeout(now);
            break;
          case 4:
            drain(sub & 0x80);
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
          case 8: {
            const stream_id id = pick();
            const std::size_t length = std::size_t{in.u16()} + 1;
            if (lent) break;
            auto candidate = std::make_unique<bytes>(length);
            if (s.lend_read_buffer(id, *candidate)) {
              check(s.lent_room(id) == length);
              lent = std::move(candidate);
              lent_id = id;
            }
            break;
          }
          case 9:
            if (lent) {
              s.cancel_loan(lent_id);
              check(s.lent_room(lent_id) == 0);
              end_loan();
            }
            break;
          case 10: {
            const stream_id id = pick();
            auto data = std::make_unique<bytes>(in.u16(), std::uint8_t{0xCD});
            auto n = s.write_borrowed(id, *data);
            if (n) check(*n <= data->size());
            drop_borrowed_if_taken();
            if (n && *n > 0) borrowed.push_back(std::move(data));
            break;
          }
          case 11:
            s.adopt_borrowed();
            borrowed.clear();
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
    if (op & 0x80) drain(op & 0x40);
    drop_borrowed_if_taken();
    if (lent) check(s.lent_room(lent_id) <= lent->size());
  }
  // A shell's writer loop: the output still pending is written, then the memory goes.
  drain(true);
  drop_borrowed_if_taken();
  check(borrowed.empty());
  return 0;
}
