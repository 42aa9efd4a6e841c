// Scripted frames against the sans-IO session: no Asio, manual time.
#include "p2p/muxer/yamux/session.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace p2p::yamux {
namespace {

using namespace std::chrono_literals;

const time_point t0{};

struct frame {
  frame_header header;
  bytes payload;
};

bytes encode(frame_type type, std::uint16_t flags, stream_id id, std::uint32_t length, bytes_view payload = {}) {
  bytes out;
  append_header(out, {protocol_version, type, flags, id, length});
  append(out, payload);
  return out;
}

bytes data_frame(stream_id id, bytes_view payload, std::uint16_t flags = 0) {
  return encode(frame_type::data, flags, id, static_cast<std::uint32_t>(payload.size()), payload);
}

bytes window_frame(stream_id id, std::uint32_t delta, std::uint16_t flags = 0) {
  return encode(frame_type::window_update, flags, id, delta);
}

// Splits everything the session wants to send into frames.
std::vector<frame> output_frames(session& s) {
  bytes out;
  std::vector<frame> frames;
  if (!s.poll_output(out)) return frames;
  std::size_t at = 0;
  while (at < out.size()) {
    auto header = decode_header(bytes_view(out).subspan(at));
    EXPECT_TRUE(header) << "the session wrote an undecodable header";
    if (!header) break;
    at += header_size;
    frame f{*header, {}};
    if (header->type == frame_type::data) {
      f.payload.assign(out.begin() + static_cast<std::ptrdiff_t>(at),
                       out.begin() + static_cast<std::ptrdiff_t>(at + header->length));
      at += header->length;
    }
    frames.push_back(std::move(f));
  }
  return frames;
}

std::vector<event> events(session& s) {
  std::vector<event> out;
  while (auto e = s.poll_event()) out.push_back(*e);
  return out;
}

bool has_event(const std::vector<event>& list, event_type type, stream_id id = 0) {
  for (const auto& e : list) {
    if (e.type == type && e.id == id) return true;
  }
  return false;
}

// No initial ping, no keepalive: output contains only what a test provokes.
config quiet() {
  config cfg;
  cfg.measure_rtt = false;
  cfg.keepalive_interval = duration::zero();
  return cfg;
}

void expect_violation(session& s) {
  EXPECT_TRUE(s.is_terminated());
  EXPECT_EQ(s.termination_reason(), errc::protocol_violation);
  auto frames = output_frames(s);
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.back().header.type, frame_type::go_away);
  EXPECT_EQ(frames.back().header.length, static_cast<std::uint32_t>(go_away_code::protocol_error));
  auto list = events(s);
  ASSERT_FALSE(list.empty());
  EXPECT_EQ(list.back().type, event_type::connection_error);
}

// A server session with one accepted inbound stream (ID 1) and empty output.
session server_with_stream(const config& cfg = quiet()) {
  session s(role::server, cfg, t0);
  s.handle_bytes(window_frame(1, 0, flag::syn), t0);
  EXPECT_EQ(s.accept(), std::optional<stream_id>(1));
  output_frames(s);
  events(s);
  return s;
}

TEST(yamux_session, client_streams_are_odd_server_streams_even) {
  session client(role::client, quiet(), t0);
  session server(role::server, quiet(), t0);
  EXPECT_EQ(*client.open_stream(), 1u);
  EXPECT_EQ(*client.open_stream(), 3u);
  EXPECT_EQ(*server.open_stream(), 2u);
  EXPECT_EQ(*server.open_stream(), 4u);
  auto frames = output_frames(client);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].header, (frame_header{0, frame_type::window_update, flag::syn, 1, 0}));
  EXPECT_EQ(frames[1].header.id, 3u);
}

TEST(yamux_session, larger_initial_window_rides_on_syn_and_ack) {
  config cfg = quiet();
  cfg.initial_window = 1024 * 1024;
  session client(role::client, cfg, t0);
  ASSERT_TRUE(client.open_stream());
  auto frames = output_frames(client);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].header.flags, flag::syn);
  EXPECT_EQ(frames[0].header.length, cfg.initial_window - default_window);

  session server(role::server, cfg, t0);
  server.handle_bytes(window_frame(1, frames[0].header.length, flag::syn), t0);
  ASSERT_EQ(server.accept(), std::optional<stream_id>(1));
  // The peer's SYN granted us 1 MiB; our ACK grants the same back.
  EXPECT_EQ(server.send_window(1), cfg.initial_window);
  auto ack = output_frames(server);
  ASSERT_EQ(ack.size(), 1u);
  EXPECT_EQ(ack[0].header, (frame_header{0, frame_type::window_update, flag::ack, 1, cfg.initial_window - default_window}));
}

TEST(yamux_session, inbound_stream_is_acknowledged_on_accept) {
  session s(role::client, quiet(), t0);
  s.handle_bytes(data_frame(2, as_bytes("hi"), flag::syn), t0);
  EXPECT_TRUE(has_event(events(s), event_type::inbound_stream, 2));
  EXPECT_FALSE(s.has_output()) << "no implicit ACK before the application accepts";
  ASSERT_EQ(s.accept(), std::optional<stream_id>(2));
  auto frames = output_frames(s);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].header, (frame_header{0, frame_type::window_update, flag::ack, 2, 0}));
  std::uint8_t buffer[8];
  auto n = s.read(2, buffer, t0);
  ASSERT_TRUE(n);
  EXPECT_EQ(as_string(bytes_view(buffer, *n)), "hi");
  EXPECT_FALSE(s.accept());
}

TEST(yamux_session, ping_is_answered_with_the_same_value) {
  session s(role::server, quiet(), t0);
  s.handle_bytes(encode(frame_type::ping, flag::syn, 0, 0xDEADBEEF), t0);
  auto frames = output_frames(s);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].header, (frame_header{0, frame_type::ping, flag::ack, 0, 0xDEADBEEF}));
  // A pong nobody asked for is ignored.
  s.handle_bytes(encode(frame_type::ping, flag::ack, 0, 99), t0);
  EXPECT_FALSE(s.is_terminated());
  EXPECT_FALSE(s.has_output());
}

TEST(yamux_session, initial_ping_measures_rtt) {
  config cfg = quiet();
  cfg.measure_rtt = true;
  session s(role::client, cfg, t0);
  auto frames = output_frames(s);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].header.type, frame_type::ping);
  EXPECT_EQ(frames[0].header.flags, flag::syn);
  EXPECT_FALSE(s.rtt());
  s.handle_bytes(encode(frame_type::ping, flag::ack, 0, frames[0].header.length), t0 + 25ms);
  ASSERT_TRUE(s.rtt());
  EXPECT_EQ(*s.rtt(), 25ms);
}

TEST(yamux_session, keepalive_pings_and_times_out) {
  config cfg = quiet();
  cfg.keepalive_interval = 30s;
  cfg.keepalive_timeout = 10s;
  session s(role::client, cfg, t0);
  ASSERT_EQ(s.poll_timeout(), std::optional<time_point>(t0 + 30s));
  s.handle_timeout(t0 + 29s);
  EXPECT_FALSE(s.has_output());
  s.handle_timeout(t0 + 30s);
  auto frames = output_frames(s);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].header.type, frame_type::ping);
  // Answered: the next ping is scheduled one interval later.
  s.handle_bytes(encode(frame_type::ping, flag::ack, 0, frames[0].header.length), t0 + 31s);
  EXPECT_EQ(s.poll_timeout(), std::optional<time_point>(t0 + 61s));
  s.handle_timeout(t0 + 61s);
  output_frames(s);
  EXPECT_EQ(s.poll_timeout(), std::optional<time_point>(t0 + 71s));
  s.handle_timeout(t0 + 71s);
  EXPECT_TRUE(s.is_terminated());
  EXPECT_EQ(s.termination_reason(), errc::timeout);
  EXPECT_FALSE(s.poll_timeout());
}

TEST(yamux_session, send_window_limits_writes_until_updated) {
  session s(role::client, quiet(), t0);
  const stream_id id = *s.open_stream();
  output_frames(s);
  const bytes big(default_window + 1000, 0x5A);
  std::size_t sent = 0;
  while (sent < big.size()) {
    auto n = s.write(id, bytes_view(big).subspan(sent));
    ASSERT_TRUE(n);
    if (*n == 0) break;
    sent += *n;
    output_frames(s);
  }
  EXPECT_EQ(sent, default_window);
  EXPECT_EQ(s.send_window(id), 0u);
  s.handle_bytes(window_frame(id, 500, flag::ack), t0);
  EXPECT_TRUE(has_event(events(s), event_type::writable, id));
  EXPECT_EQ(*s.write(id, bytes_view(big).subspan(sent)), 500u);
  auto frames = output_frames(s);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].header.type, frame_type::data);
  EXPECT_EQ(frames[0].header.flags, 0);
  EXPECT_EQ(frames[0].payload.size(), 500u);
}

TEST(yamux_session, data_frames_are_split_at_max_frame_payload) {
  config cfg = quiet();
  cfg.max_frame_payload = 1000;
  session s(role::client, cfg, t0);
  const stream_id id = *s.open_stream();
  output_frames(s);
  const bytes data(2500, 1);
  EXPECT_EQ(*s.write(id, data), 2500u);
  auto frames = output_frames(s);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].payload.size(), 1000u);
  EXPECT_EQ(frames[2].payload.size(), 500u);
}

TEST(yamux_session, output_buffer_limit_applies_backpressure) {
  config cfg = quiet();
  cfg.max_output_buffer = 4096;
  session s(role::client, cfg, t0);
  const stream_id id = *s.open_stream();
  const bytes data(10000, 2);
  auto first = s.write(id, data);
  ASSERT_TRUE(first);
  EXPECT_GT(*first, 0u);
  EXPECT_LT(*first, 4096u);
  EXPECT_EQ(*s.write(id, bytes_view(data).subspan(*first)), 0u);
  events(s);
  output_frames(s);
  EXPECT_TRUE(has_event(events(s), event_type::writable, id));
  EXPECT_GT(*s.write(id, bytes_view(data).subspan(*first)), 0u);
}

TEST(yamux_session, receive_window_is_enforced) {
  session s = server_with_stream();
  const bytes full(default_window, 7);
  s.handle_bytes(data_frame(1, full), t0);
  EXPECT_FALSE(s.is_terminated());
  EXPECT_EQ(s.buffered(1), default_window);
  s.handle_bytes(data_frame(1, as_bytes("x")), t0);
  expect_violation(s);
}

TEST(yamux_session, window_update_after_half_the_window_is_read) {
  session s = server_with_stream();
  const bytes full(default_window, 7);
  s.handle_bytes(data_frame(1, full), t0);
  bytes buffer(default_window / 2 - 1);
  EXPECT_EQ(*s.read(1, buffer, t0 + 1s), buffer.size());
  EXPECT_FALSE(s.has_output()) << "less than half the window consumed: no update yet";
  std::uint8_t one[1];
  // Slow reader (a second since the last update): the window keeps its size.
  EXPECT_EQ(*s.read(1, one, t0 + 1s), 1u);
  auto frames = output_frames(s);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].header, (frame_header{0, frame_type::window_update, 0, 1, default_window / 2}));
  EXPECT_EQ(s.receive_window(1), default_window);
}

TEST(yamux_session, fast_reader_doubles_the_window_up_to_the_maximum) {
  config cfg = quiet();
  cfg.max_window = 1024 * 1024;
  session s = server_with_stream(cfg);
  bytes buffer(4 * 1024 * 1024);
  std::uint32_t granted = default_window;  // what the peer may send
  std::vector<std::uint32_t> windows;
  for (int round = 0; round < 6; ++round) {
    const bytes chunk(granted, static_cast<std::uint8_t>(round));
    s.handle_bytes(data_frame(1, chunk), t0);
    ASSERT_FALSE(s.is_terminated());
    // Read everything at once, immediately: well within 4 RTTs.
    EXPECT_EQ(*s.read(1, buffer, t0), chunk.size());
    auto frames = output_frames(s);
    ASSERT_EQ(frames.size(), 1u);
    granted = frames[0].header.length;
    windows.push_back(s.receive_window(1));
    EXPECT_EQ(granted, s.receive_window(1)) << "an empty buffer gets the whole window back";
  }
  EXPECT_EQ(windows, (std::vector<std::uint32_t>{512 * 1024, 1024 * 1024, 1024 * 1024, 1024 * 1024, 1024 * 1024,
                                                 1024 * 1024}));
}

TEST(yamux_session, window_growth_respects_the_connection_budget) {
  config cfg = quiet();
  cfg.connection_window_budget = 100 * 1024;
  session s = server_with_stream(cfg);
  s.handle_bytes(data_frame(1, bytes(default_window, 1)), t0);
  bytes buffer(default_window);
  EXPECT_EQ(*s.read(1, buffer, t0), default_window);
  EXPECT_EQ(s.receive_window(1), default_window + 100 * 1024);
}

TEST(yamux_session, byte_by_byte_input_gives_the_same_result) {
  session s(role::server, quiet(), t0);
  bytes wire = data_frame(1, as_bytes("hello"), flag::syn);
  append(wire, data_frame(1, as_bytes(" world"), flag::fin));
  append(wire, encode(frame_type::ping, flag::syn, 0, 5));
  for (std::uint8_t b : wire) s.handle_bytes(bytes_view(&b, 1), t0);
  ASSERT_FALSE(s.is_terminated());
  ASSERT_EQ(s.accept(), std::optional<stream_id>(1));
  bytes buffer(64);
  std::string got;
  for (;;) {
    auto n = s.read(1, buffer, t0);
    if (!n) {
      EXPECT_EQ(n.error(), errc::closed);
      break;
    }
    ASSERT_GT(*n, 0u);
    got += as_string(bytes_view(buffer).first(*n));
  }
  EXPECT_EQ(got, "hello world");
  auto frames = output_frames(s);
  ASSERT_EQ(frames.size(), 2u);  // pong, ACK
  EXPECT_EQ(frames[0].header.type, frame_type::ping);
}

TEST(yamux_session, fin_half_closes) {
  session s = server_with_stream();
  s.handle_bytes(data_frame(1, as_bytes("bye"), flag::fin), t0);
  auto list = events(s);
  EXPECT_TRUE(has_event(list, event_type::readable, 1));
  EXPECT_TRUE(has_event(list, event_type::stream_closed, 1));
  std::uint8_t buffer[8];
  EXPECT_EQ(*s.read(1, buffer, t0), 3u);
  EXPECT_EQ(s.read(1, buffer, t0).error(), errc::closed);
  // We can still write, then close our side.
  EXPECT_EQ(*s.write(1, as_bytes("ok")), 2u);
  ASSERT_TRUE(s.close_write(1));
  EXPECT_EQ(s.write(1, as_bytes("more")).error(), errc::closed);
  auto frames = output_frames(s);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1].header, (frame_header{0, frame_type::window_update, flag::fin, 1, 0}));
  // Both sides closed: releasing sends nothing.
  s.release(1);
  EXPECT_FALSE(s.has_output());
  EXPECT_EQ(s.stream_count(), 0u);
}

TEST(yamux_session, rst_resets_the_stream) {
  session s = server_with_stream();
  s.handle_bytes(data_frame(1, as_bytes("lost")), t0);
  s.handle_bytes(window_frame(1, 0, flag::rst), t0);
  EXPECT_TRUE(has_event(events(s), event_type::stream_reset, 1));
  std::uint8_t buffer[8];
  EXPECT_EQ(s.read(1, buffer, t0).error(), errc::stream_reset);
  EXPECT_EQ(s.write(1, as_bytes("x")).error(), errc::stream_reset);
  EXPECT_EQ(s.close_write(1).error(), errc::stream_reset);
  s.release(1);
  EXPECT_FALSE(s.has_output()) << "no RST back for a stream the peer reset";
}

TEST(yamux_session, local_reset_and_release_send_rst) {
  session s(role::client, quiet(), t0);
  const stream_id a = *s.open_stream();
  const stream_id b = *s.open_stream();
  output_frames(s);
  s.reset(a);
  s.release(b);
  auto frames = output_frames(s);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].header, (frame_header{0, frame_type::window_update, flag::rst, a, 0}));
  EXPECT_EQ(frames[1].header, (frame_header{0, frame_type::window_update, flag::rst, b, 0}));
  // Frames racing with our RST are ignored, payload included.
  s.handle_bytes(data_frame(b, as_bytes("late data"), flag::ack), t0);
  s.handle_bytes(data_frame(a, as_bytes("late data"), flag::ack), t0);
  s.handle_bytes(window_frame(b, 100), t0);
  EXPECT_FALSE(s.is_terminated());
  std::uint8_t buffer[8];
  EXPECT_EQ(s.read(a, buffer, t0).error(), errc::stream_reset);
}

TEST(yamux_session, reset_before_accept_drops_the_stream) {
  session s(role::server, quiet(), t0);
  s.handle_bytes(window_frame(1, 0, flag::syn), t0);
  s.handle_bytes(window_frame(1, 0, flag::rst), t0);
  EXPECT_FALSE(s.accept());
  EXPECT_EQ(s.stream_count(), 0u);
  EXPECT_FALSE(s.is_terminated());
}

TEST(yamux_session, data_after_fin_resets_the_stream) {
  session s = server_with_stream();
  s.handle_bytes(window_frame(1, 0, flag::fin), t0);
  s.handle_bytes(data_frame(1, as_bytes("zombie")), t0);
  EXPECT_FALSE(s.is_terminated());
  auto frames = output_frames(s);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].header.flags, flag::rst);
}

TEST(yamux_session, data_after_fin_before_accept_drops_the_stream) {
  session s(role::server, quiet(), t0);
  s.handle_bytes(window_frame(1, 0, flag::syn | flag::fin), t0);
  s.handle_bytes(data_frame(1, as_bytes("zombie")), t0);
  EXPECT_FALSE(s.accept());
  EXPECT_EQ(s.stream_count(), 0u);
  auto frames = output_frames(s);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].header, (frame_header{0, frame_type::window_update, flag::rst, 1, 0}));
}

TEST(yamux_session, go_away_received) {
  session s = server_with_stream();
  s.handle_bytes(encode(frame_type::go_away, 0, 0, 0), t0);
  auto list = events(s);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].type, event_type::go_away);
  EXPECT_EQ(list[0].code, 0u);
  EXPECT_EQ(s.open_stream().error(), errc::connection_closed);
  EXPECT_FALSE(s.can_open_stream());
  // Running streams continue.
  EXPECT_EQ(*s.write(1, as_bytes("still here")), 10u);
  EXPECT_FALSE(s.is_terminated());
}

TEST(yamux_session, go_away_with_error_ends_the_session) {
  session s = server_with_stream();
  s.handle_bytes(encode(frame_type::go_away, 0, 0, 2), t0);
  EXPECT_TRUE(s.is_terminated());
  EXPECT_EQ(s.termination_reason(), errc::connection_closed);
  std::uint8_t buffer[4];
  EXPECT_EQ(s.read(1, buffer, t0).error(), errc::connection_closed);
  EXPECT_EQ(s.write(1, as_bytes("x")).error(), errc::connection_closed);
}

TEST(yamux_session, local_go_away_refuses_new_streams) {
  session s = server_with_stream();
  s.go_away();
  s.go_away();  // sent once
  auto frames = output_frames(s);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].header, (frame_header{0, frame_type::go_away, 0, 0, 0}));
  s.handle_bytes(window_frame(3, 0, flag::syn), t0);
  frames = output_frames(s);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].header, (frame_header{0, frame_type::window_update, flag::rst, 3, 0}));
  EXPECT_FALSE(s.accept());
  EXPECT_EQ(*s.write(1, as_bytes("ok")), 2u) << "existing streams continue";
}

TEST(yamux_session, close_sends_go_away_and_terminates) {
  session s = server_with_stream();
  s.close();
  EXPECT_TRUE(s.is_terminated());
  EXPECT_EQ(s.termination_reason(), errc::closed);
  auto frames = output_frames(s);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].header.type, frame_type::go_away);
  EXPECT_EQ(frames[0].header.length, 0u);
  s.handle_bytes(window_frame(3, 0, flag::syn), t0);
  EXPECT_FALSE(s.has_output()) << "input after close is ignored";
}

TEST(yamux_session, accept_backlog_and_inbound_limit_reset_extra_streams) {
  config cfg = quiet();
  cfg.accept_backlog = 2;
  cfg.max_inbound_streams = 3;
  session s(role::server, cfg, t0);
  for (stream_id id : {1u, 3u, 5u}) s.handle_bytes(window_frame(id, 0, flag::syn), t0);
  auto frames = output_frames(s);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].header, (frame_header{0, frame_type::window_update, flag::rst, 5, 0}));
  ASSERT_TRUE(s.accept());
  ASSERT_TRUE(s.accept());
  s.handle_bytes(window_frame(7, 0, flag::syn), t0);  // third concurrent stream: fits
  s.handle_bytes(window_frame(9, 0, flag::syn), t0);  // fourth: over the inbound limit
  frames = output_frames(s);
  ASSERT_EQ(frames.size(), 3u);  // two ACKs, one RST
  EXPECT_EQ(frames[2].header, (frame_header{0, frame_type::window_update, flag::rst, 9, 0}));
  // Finishing a stream frees its slot.
  s.handle_bytes(window_frame(1, 0, flag::rst), t0);
  s.handle_bytes(window_frame(11, 0, flag::syn), t0);
  EXPECT_FALSE(s.has_output());
  EXPECT_EQ(s.accept(), std::optional<stream_id>(7));
  EXPECT_EQ(s.accept(), std::optional<stream_id>(11));
}

TEST(yamux_session, ack_backlog_limits_unacknowledged_streams) {
  config cfg = quiet();
  cfg.max_ack_backlog = 2;
  session s(role::client, cfg, t0);
  ASSERT_TRUE(s.open_stream());
  ASSERT_TRUE(s.open_stream());
  EXPECT_FALSE(s.can_open_stream());
  EXPECT_EQ(s.open_stream().error(), errc::resource_limit);
  s.handle_bytes(window_frame(3, 0, flag::ack), t0);
  EXPECT_TRUE(has_event(events(s), event_type::open_ready));
  EXPECT_TRUE(s.can_open_stream());
  EXPECT_EQ(*s.open_stream(), 5u);
}

TEST(yamux_session, outbound_limit) {
  config cfg = quiet();
  cfg.max_outbound_streams = 1;
  session s(role::client, cfg, t0);
  const stream_id id = *s.open_stream();
  EXPECT_EQ(s.open_stream().error(), errc::resource_limit);
  s.reset(id);
  EXPECT_TRUE(s.open_stream());
}

TEST(yamux_session, violations_end_the_session) {
  {
    session s(role::server, quiet(), t0);
    bytes wire = window_frame(1, 0, flag::syn);
    wire[0] = 1;  // version
    s.handle_bytes(wire, t0);
    expect_violation(s);
  }
  {
    session s(role::server, quiet(), t0);
    bytes wire = window_frame(1, 0, flag::syn);
    wire[1] = 9;  // type
    s.handle_bytes(wire, t0);
    expect_violation(s);
  }
  {
    session s(role::server, quiet(), t0);
    s.handle_bytes(data_frame(0, as_bytes("x")), t0);  // stream 0 is the session
    expect_violation(s);
  }
  {
    session s(role::server, quiet(), t0);
    s.handle_bytes(window_frame(2, 0, flag::syn), t0);  // a server's ID from the client
    expect_violation(s);
  }
  {
    session s = server_with_stream();
    s.handle_bytes(window_frame(1, 0, flag::syn), t0);  // duplicate SYN
    expect_violation(s);
  }
  {
    session s = server_with_stream();
    s.handle_bytes(window_frame(5, 0, flag::syn), t0);
    s.handle_bytes(window_frame(3, 0, flag::syn), t0);  // IDs must grow
    expect_violation(s);
  }
  {
    session s(role::server, quiet(), t0);
    s.handle_bytes(data_frame(7, as_bytes("x")), t0);  // never opened
    expect_violation(s);
  }
  {
    session s(role::server, quiet(), t0);
    s.handle_bytes(window_frame(4, 10), t0);  // our parity, never opened by us
    expect_violation(s);
  }
  {
    session s(role::server, quiet(), t0);
    // Longer than any window we could grant, even for a forgotten stream.
    s.handle_bytes(encode(frame_type::data, flag::syn, 1, 17 * 1024 * 1024), t0);
    expect_violation(s);
  }
  {
    session s = server_with_stream();
    s.handle_bytes(window_frame(1, 0xFFFFFFFF), t0);  // send window overflow
    expect_violation(s);
  }
}

TEST(yamux_session, connection_lost_keeps_data_that_arrived) {
  session s = server_with_stream();
  s.handle_bytes(window_frame(3, 0, flag::syn), t0);
  ASSERT_EQ(s.accept(), std::optional<stream_id>(3));
  s.handle_bytes(data_frame(1, as_bytes("done"), flag::fin), t0);
  s.handle_bytes(data_frame(3, as_bytes("partial")), t0);
  s.handle_connection_lost();
  EXPECT_FALSE(s.has_output());
  std::uint8_t buffer[16];
  EXPECT_EQ(*s.read(1, buffer, t0), 4u);
  EXPECT_EQ(s.read(1, buffer, t0).error(), errc::closed) << "stream 1 ended cleanly before the loss";
  EXPECT_EQ(*s.read(3, buffer, t0), 7u);
  EXPECT_EQ(s.read(3, buffer, t0).error(), errc::connection_closed);
  EXPECT_EQ(s.open_stream().error(), errc::connection_closed);
  EXPECT_FALSE(s.accept());
}


TEST(yamux_session, lent_buffer_receives_payload_without_a_second_copy) {
  session s = server_with_stream();
  bytes lent(8, 0);
  ASSERT_TRUE(s.lend_read_buffer(1, lent));
  // Split across frames and across handle_bytes calls; the overflow is buffered.
  s.handle_bytes(data_frame(1, as_bytes("hello")), t0);
  EXPECT_EQ(as_string(bytes_view(lent).first(5)), "hello") << "payload went straight into the lent buffer";
  EXPECT_EQ(s.buffered(1), 5u) << "lent bytes count against the receive window";
  s.handle_bytes(data_frame(1, as_bytes(" world")), t0);
  EXPECT_TRUE(has_event(events(s), event_type::readable, 1));
  EXPECT_EQ(s.buffered(1), 11u);
  EXPECT_EQ(as_string(lent), "hello wo");
  EXPECT_EQ(*s.read(1, lent, t0), 8u) << "the same buffer: the bytes are already in place";
  bytes rest(16);
  EXPECT_EQ(*s.read(1, rest, t0), 3u);
  EXPECT_EQ(as_string(bytes_view(rest).first(3)), "rld");
  EXPECT_EQ(*s.read(1, rest, t0), 0u);
  // A buffer is lent only while nothing is buffered.
  s.handle_bytes(data_frame(1, as_bytes("x")), t0);
  EXPECT_FALSE(s.lend_read_buffer(1, lent));
  EXPECT_FALSE(s.lend_read_buffer(7, lent)) << "unknown stream";
  EXPECT_EQ(*s.read(1, rest, t0), 1u);
  EXPECT_FALSE(s.lend_read_buffer(1, mutable_bytes_view{})) << "empty buffer";
}

TEST(yamux_session, cancelled_loan_keeps_the_bytes_in_order) {
  session s = server_with_stream();
  bytes lent(4, 0);
  ASSERT_TRUE(s.lend_read_buffer(1, lent));
  s.handle_bytes(data_frame(1, as_bytes("abcdef")), t0);
  s.cancel_loan(1);
  lent.assign(4, 0);  // the reader may reuse its buffer once the loan ended
  s.handle_bytes(data_frame(1, as_bytes("gh")), t0);
  bytes out(3);
  std::string got;
  for (;;) {
    auto n = s.read(1, out, t0);
    ASSERT_TRUE(n);
    if (*n == 0) break;
    got += as_string(bytes_view(out).first(*n));
  }
  EXPECT_EQ(got, "abcdefgh");
  s.cancel_loan(1);  // no loan: nothing happens
  s.cancel_loan(9);  // unknown stream: ignored
}

TEST(yamux_session, read_into_another_buffer_ends_the_loan) {
  session s = server_with_stream();
  bytes lent(16, 0);
  ASSERT_TRUE(s.lend_read_buffer(1, lent));
  s.handle_bytes(data_frame(1, as_bytes("payload")), t0);
  bytes small(3);
  EXPECT_EQ(*s.read(1, small, t0), 3u);
  EXPECT_EQ(as_string(small), "pay");
  bytes rest(16);
  EXPECT_EQ(*s.read(1, rest, t0), 4u);
  EXPECT_EQ(as_string(bytes_view(rest).first(4)), "load");
}

TEST(yamux_session, loan_ends_with_fin_and_reset) {
  {
    session s = server_with_stream();
    bytes lent(16, 0);
    ASSERT_TRUE(s.lend_read_buffer(1, lent));
    s.handle_bytes(data_frame(1, as_bytes("last"), flag::fin), t0);
    EXPECT_EQ(*s.read(1, lent, t0), 4u);
    EXPECT_EQ(s.read(1, lent, t0).error(), errc::closed);
    EXPECT_FALSE(s.lend_read_buffer(1, lent)) << "nothing more can arrive after FIN";
  }
  {
    session s = server_with_stream();
    bytes lent(16, 0);
    ASSERT_TRUE(s.lend_read_buffer(1, lent));
    s.handle_bytes(data_frame(1, as_bytes("lost")), t0);
    s.handle_bytes(window_frame(1, 0, flag::rst), t0);
    EXPECT_EQ(s.read(1, lent, t0).error(), errc::stream_reset);
    s.handle_bytes(data_frame(1, as_bytes("late")), t0);  // ignored: stream is reset
    EXPECT_EQ(s.buffered(1), 0u);
  }
  {
    session s = server_with_stream();
    bytes lent(16, 0);
    ASSERT_TRUE(s.lend_read_buffer(1, lent));
    s.reset(1);
    s.handle_bytes(data_frame(1, as_bytes("late")), t0);
    EXPECT_EQ(lent, bytes(16, 0)) << "no write into a buffer after the stream was reset";
    EXPECT_EQ(s.read(1, lent, t0).error(), errc::stream_reset);
  }
}

TEST(yamux_session, lent_bytes_trigger_window_updates_like_buffered_ones) {
  session s = server_with_stream();
  bytes lent(default_window, 0);
  ASSERT_TRUE(s.lend_read_buffer(1, lent));
  s.handle_bytes(data_frame(1, bytes(default_window, 3)), t0);
  EXPECT_FALSE(s.has_output());
  EXPECT_EQ(*s.read(1, lent, t0 + 1s), default_window);
  auto frames = output_frames(s);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].header, (frame_header{0, frame_type::window_update, 0, 1, default_window}));
  EXPECT_EQ(lent, bytes(default_window, 3));
}

}  // namespace
}  // namespace p2p::yamux
