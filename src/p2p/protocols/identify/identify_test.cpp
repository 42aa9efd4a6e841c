#include "p2p/protocols/identify/identify.hpp"

#include "memory_stream.hpp"
#include "run.hpp"

#include "p2p/core/protobuf.hpp"
#include "p2p/core/varint.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <gtest/gtest.h>

namespace p2p::identify {
namespace {

using namespace boost::asio::experimental::awaitable_operators;
using testing::make_memory_stream_pair;
using testing::memory_stream_options;
using testing::run;

// Hex with optional spaces between bytes, for readable test vectors.
bytes hex(std::string_view text) {
  std::string compact;
  for (char c : text) {
    if (c != ' ') compact.push_back(c);
  }
  bytes out;
  if (!from_hex(compact, out)) throw std::invalid_argument("bad hex in test");
  return out;
}

multiaddr addr(std::string_view text) { return multiaddr::parse(text).value(); }

// A real Identify response captured from a Kusama node (parity-polkadot v0.7.18) by
// the emeraldpay polkadot crawler's mplex test: varint length prefix (310) + message.
// It carries protocolVersion, agentVersion, an Ed25519 publicKey, five listenAddrs
// (one dns4), an observedAddr and six protocols; no signedPeerRecord (it predates it).
constexpr std::string_view kusama_identify_hex =
    "b602"
    "2a0e2f7375627374726174652f312e30"
    "323b7061726974792d706f6c6b61646f742f76302e372e31382d66633130306536352d7838365f36342d6c"
    "696e75782d676e752028756e6b6e6f776e29"
    "0a2408011220a2aa2a4251027b5ef2d1c79700aa20eebf47c493df4ebfd7c1aa71f202bc28c9"
    "121d36187032702e6363332d322e6b7573616d612e6e6574776f726b067594"
    "12080422d90d3b067594"
    "1208040a0a0a01067594"
    "1208047f000001067594"
    "1208040a000173067594"
    "2208040a000188066364"
    "1a132f7375627374726174652f6b736d6363332f35"
    "1a132f7375627374726174652f6b736d6363332f34"
    "1a132f7375627374726174652f6b736d6363332f33"
    "1a102f697066732f70696e672f312e302e30"
    "1a0e2f697066732f69642f312e302e30"
    "1a0f2f697066732f6b61642f312e302e30";

void expect_kusama_message(const message& m) {
  EXPECT_EQ(m.protocol_version, "/substrate/1.0");
  EXPECT_EQ(m.agent_version, "parity-polkadot/v0.7.18-fc100e65-x86_64-linux-gnu (unknown)");
  EXPECT_EQ(m.public_key, hex("08011220a2aa2a4251027b5ef2d1c79700aa20eebf47c493df4ebfd7c1aa71f202bc28c9"));
  // The capture has five listenAddrs (field 2) and one observedAddr (field 4,
  // "/ip4/10.0.1.136/tcp/25444") between them.
  const std::vector<multiaddr> listen = {
      addr("/dns4/p2p.cc3-2.kusama.network/tcp/30100"), addr("/ip4/34.217.13.59/tcp/30100"),
      addr("/ip4/10.10.10.1/tcp/30100"), addr("/ip4/127.0.0.1/tcp/30100"), addr("/ip4/10.0.1.115/tcp/30100")};
  EXPECT_EQ(m.listen_addrs, listen);
  EXPECT_EQ(m.observed_addr, addr("/ip4/10.0.1.136/tcp/25444"));
  const std::vector<std::string> protocols = {"/substrate/ksmcc3/5", "/substrate/ksmcc3/4", "/substrate/ksmcc3/3",
                                              "/ipfs/ping/1.0.0",    "/ipfs/id/1.0.0",      "/ipfs/kad/1.0.0"};
  EXPECT_EQ(m.protocols, protocols);
  EXPECT_TRUE(m.signed_peer_record.empty());
}

TEST(identify_decode, real_world_message) {
  const bytes framed = hex(kusama_identify_hex);
  ASSERT_EQ(framed.size(), 312u);
  auto m = decode(bytes_view(framed).subspan(2));
  ASSERT_TRUE(m) << m.error().message();
  expect_kusama_message(*m);

  // The key inside is a valid Ed25519 key, and it is the key of the peer it names.
  auto key = crypto::public_key::from_protobuf(m->public_key);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->type(), crypto::key_type::ed25519);
  const peer_id owner = peer_id::from_public_key(*key);
  auto verified = verify_public_key(*m, owner);
  ASSERT_TRUE(verified);
  EXPECT_EQ(*verified, *key);
}

TEST(identify_decode, real_world_message_read_byte_by_byte) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [sender, receiver] = make_memory_stream_pair(ex, {.max_read = 1, .capacity = 3});
    const bytes framed = hex(kusama_identify_hex);
    auto send = [&]() -> task<void> {
      EXPECT_TRUE(co_await sender->write(framed));
      EXPECT_TRUE(co_await sender->close_write());
    };
    auto receive = [&]() -> task<void> {
      auto m = co_await read_message(*receiver);
      EXPECT_TRUE(m) << (m ? "" : m.error().message());
      if (m) {
        expect_kusama_message(*m);
      }
    };
    co_await (send() && receive());
  });
}

// Hand-assembled from the spec's field table, every field present, in an order no
// encoder would pick, with unknown fields and odd values mixed in.
TEST(identify_decode, every_field_and_unknown_fields) {
  const bytes encoded = hex(
      "2a0a6970667321302e312e30"            // 5 protocolVersion "ipfs!0.1.0"
      "3a0478797a7a"                        // 7 unknown, length-delimited
      "0a0401020304"                        // 1 publicKey (opaque here)
      "12080406060606060fa1"                // 2 /ip4/6.6.6.6/tcp/4001
      "3805"                                // 7 unknown varint
      "1a102f697066732f70696e672f312e302e30"  // 3 "/ipfs/ping/1.0.0"
      "2208047f000001060050"                // 4 /ip4/127.0.0.1/tcp/80
      "3203616263"                          // 6 agentVersion "abc"
      "4d01020304"                          // 9 unknown fixed32
      "4203ababab"                          // 8 signedPeerRecord
      "490102030405060708"                  // 9 unknown fixed64
      "1a00");                              // 3 "" (an empty protocol string is kept)
  auto m = decode(encoded);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->protocol_version, "ipfs!0.1.0");
  EXPECT_EQ(m->agent_version, "abc");
  EXPECT_EQ(m->public_key, hex("01020304"));
  EXPECT_EQ(m->listen_addrs, std::vector<multiaddr>{addr("/ip4/6.6.6.6/tcp/4001")});
  EXPECT_EQ(m->observed_addr, addr("/ip4/127.0.0.1/tcp/80"));
  EXPECT_EQ(m->protocols, (std::vector<std::string>{"/ipfs/ping/1.0.0", ""}));
  EXPECT_EQ(m->signed_peer_record, hex("ababab"));
}

TEST(identify_decode, empty_message_has_nothing) {
  auto m = decode({});
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, message{});
}

TEST(identify_decode, invalid_addresses_are_skipped_not_fatal) {
  const bytes encoded = hex(
      "1203ffff03"            // 2 unknown multicodec 0xffff
      "1200"                  // 2 empty
      "120204ff"              // 2 ip4 cut short
      "12080406060606060fa1"  // 2 valid
      "12020406"              // 2 ip4 cut short again, after a valid one
      "1a0161");
  auto m = decode(encoded);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->listen_addrs, std::vector<multiaddr>{addr("/ip4/6.6.6.6/tcp/4001")});
  EXPECT_EQ(m->protocols, std::vector<std::string>{"a"});
}

TEST(identify_decode, invalid_observed_address_reads_as_absent) {
  auto m = decode(hex("2208047f0000010600502203ffffff"));  // valid, then an invalid one wins
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->observed_addr);
  auto only_bad = decode(hex("2200"));
  ASSERT_TRUE(only_bad);
  EXPECT_FALSE(only_bad->observed_addr);
}

TEST(identify_decode, known_field_with_wrong_wire_type_is_skipped) {
  auto m = decode(hex("2801" "0d01020304" "320178"));  // 5 as varint, 1 as fixed32, then 6 "x"
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->protocol_version);
  EXPECT_TRUE(m->public_key.empty());
  EXPECT_EQ(m->agent_version, "x");
}

TEST(identify_decode, later_scalars_win_and_lists_append) {
  auto m = decode(hex("2a0161" "1a0170" "2a0162" "1a0171"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->protocol_version, "b");
  EXPECT_EQ(m->protocols, (std::vector<std::string>{"p", "q"}));
}

TEST(identify_decode, broken_protobuf_is_rejected) {
  EXPECT_EQ(decode(hex("0a05010203")).error(), errc::truncated);      // length past the end
  EXPECT_EQ(decode(hex("2a")).error(), errc::truncated);              // tag without value
  EXPECT_EQ(decode(hex("0f")).error(), errc::malformed);              // wire type 7
  EXPECT_EQ(decode(hex("0b")).error(), errc::malformed);              // group start
  EXPECT_EQ(decode(hex("02")).error(), errc::malformed);              // field number 0
  EXPECT_EQ(decode(hex("1a0161" "ff")).error(), errc::truncated);     // good field, then junk
}

TEST(identify_encode, round_trip_and_field_order) {
  message m;
  m.protocol_version = "ipfs/0.1.0";
  m.agent_version = "p2pmcp/0.1.0";
  m.public_key = hex("080112200000000000000000000000000000000000000000000000000000000000000000");
  m.listen_addrs = {addr("/ip4/1.2.3.4/tcp/4001"), addr("/ip6/::1/udp/4001/quic-v1")};
  m.observed_addr = addr("/ip4/5.6.7.8/tcp/1234");
  m.protocols = {"/ipfs/id/1.0.0", "/ipfs/ping/1.0.0"};
  m.signed_peer_record = hex("0102");
  const bytes encoded = encode(m);
  auto back = decode(encoded);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, m);
  // Fields in field-number order: 1, 2, 2, 3, 3, 4, 5, 6, 8.
  std::vector<std::uint32_t> order;
  protobuf::reader reader(encoded);
  while (!reader.at_end()) order.push_back(reader.next().value().number);
  EXPECT_EQ(order, (std::vector<std::uint32_t>{1, 2, 2, 3, 3, 4, 5, 6, 8}));
}

TEST(identify_encode, absent_fields_are_left_out) {
  EXPECT_TRUE(encode(message{}).empty());
  message m;
  m.agent_version = "";
  EXPECT_EQ(encode(m), hex("3200"));  // present but empty is still sent
}

TEST(identify_merge_push, only_carried_fields_replace) {
  message known;
  known.protocol_version = "ipfs/0.1.0";
  known.agent_version = "old";
  known.public_key = hex("01");
  known.listen_addrs = {addr("/ip4/1.1.1.1/tcp/1")};
  known.protocols = {"/a", "/b"};
  message update;
  update.agent_version = "new";
  update.protocols = {"/c"};
  merge_push(known, update);
  EXPECT_EQ(known.protocol_version, "ipfs/0.1.0");
  EXPECT_EQ(known.agent_version, "new");
  EXPECT_EQ(known.public_key, hex("01"));
  EXPECT_EQ(known.listen_addrs, std::vector<multiaddr>{addr("/ip4/1.1.1.1/tcp/1")});
  EXPECT_EQ(known.protocols, std::vector<std::string>{"/c"});
  EXPECT_FALSE(known.observed_addr);
  update = {};
  update.listen_addrs = {addr("/ip4/2.2.2.2/tcp/2")};
  update.signed_peer_record = hex("aa");
  merge_push(known, update);
  EXPECT_EQ(known.listen_addrs, std::vector<multiaddr>{addr("/ip4/2.2.2.2/tcp/2")});
  EXPECT_EQ(known.signed_peer_record, hex("aa"));
  EXPECT_EQ(known.protocols, std::vector<std::string>{"/c"});
}

TEST(identify_verify_public_key, matches_mismatches_and_garbage) {
  auto alice = crypto::private_key::ed25519_from_seed(bytes(32, 1)).value();
  auto bob = crypto::private_key::ed25519_from_seed(bytes(32, 2)).value();
  const peer_id alice_id = peer_id::from_public_key(alice.public_key());
  message m;
  EXPECT_EQ(verify_public_key(m, alice_id).error(), errc::invalid_key);  // absent
  m.public_key = alice.public_key().to_protobuf();
  auto ok = verify_public_key(m, alice_id);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, alice.public_key());
  m.public_key = bob.public_key().to_protobuf();
  EXPECT_EQ(verify_public_key(m, alice_id).error(), errc::peer_id_mismatch);
  m.public_key = hex("0801");  // a PublicKey without Data
  EXPECT_FALSE(verify_public_key(m, alice_id));
}

// --- the stream shells -------------------------------------------------------------

message sample_message() {
  message m;
  m.protocol_version = "ipfs/0.1.0";
  m.agent_version = "p2pmcp/test";
  m.public_key = crypto::private_key::ed25519_from_seed(bytes(32, 7)).value().public_key().to_protobuf();
  m.listen_addrs = {addr("/ip4/192.0.2.1/tcp/4001"), addr("/ip4/192.0.2.1/udp/4001/quic-v1")};
  m.observed_addr = addr("/ip4/198.51.100.7/tcp/50000");
  m.protocols = {std::string(protocol_id), std::string(push_protocol_id), "/ipfs/ping/1.0.0"};
  m.signed_peer_record = bytes(300, 0x5a);
  return m;
}

class identify_streams : public ::testing::TestWithParam<memory_stream_options> {};

TEST_P(identify_streams, write_then_read_closes_both_sides) {
  run([options = GetParam()](boost::asio::any_io_executor ex) -> task<void> {
    auto [responder, requester] = make_memory_stream_pair(ex, options);
    const message sent = sample_message();
    auto respond = [&]() -> task<void> {
      EXPECT_TRUE(co_await write_message(*responder, sent));
      // The requester closes its side once it has the message.
      std::uint8_t one[1];
      auto eof = co_await responder->read_some(one);
      EXPECT_EQ(eof.error(), errc::closed);
    };
    auto request = [&]() -> task<void> {
      auto got = co_await read_message(*requester);
      EXPECT_TRUE(got) << (got ? "" : got.error().message());
      if (got) {
        EXPECT_EQ(*got, sent);
      }
    };
    co_await (respond() && request());
    EXPECT_EQ(responder->bytes_written(), encode(sent).size() + 2);  // 2-byte length prefix
  });
}

INSTANTIATE_TEST_SUITE_P(stream_shapes, identify_streams,
                         ::testing::Values(memory_stream_options{},
                                           memory_stream_options{.max_read = 1, .capacity = 1},
                                           memory_stream_options{.max_read = 7, .capacity = 16}));

// Feeds `wire` to read_message through a byte-by-byte stream and returns its result.
result<message> read_scripted(const bytes& wire, std::size_t limit = default_max_size, bool close = true) {
  result<message> outcome = errc::io_error;
  run([&](boost::asio::any_io_executor ex) -> task<void> {
    auto [sender, receiver] = make_memory_stream_pair(ex, {.max_read = 1});
    EXPECT_TRUE(co_await sender->write(wire));
    if (close) {
      EXPECT_TRUE(co_await sender->close_write());
    } else {
      sender->reset();
    }
    outcome = co_await read_message(*receiver, limit);
  });
  return outcome;
}

bytes framed(const bytes& body) {
  bytes out = varint::encode(body.size());
  append(out, body);
  return out;
}

TEST(identify_read, parts_merge_like_go_chunked_messages) {
  // go-libp2p sends a large signedPeerRecord as a second part.
  message first = sample_message();
  first.signed_peer_record.clear();
  message second;
  second.signed_peer_record = bytes(3000, 0x77);
  bytes wire = framed(encode(first));
  append(wire, framed(encode(second)));
  auto got = read_scripted(wire);
  ASSERT_TRUE(got) << got.error().message();
  message expected = first;
  expected.signed_peer_record = second.signed_peer_record;
  EXPECT_EQ(*got, expected);
}

TEST(identify_read, later_part_overrides_scalars_and_extends_lists) {
  message a;
  a.agent_version = "first";
  a.protocols = {"/x"};
  message b;
  b.agent_version = "second";
  b.protocols = {"/y"};
  bytes wire = framed(encode(a));
  append(wire, framed(encode(b)));
  append(wire, framed({}));  // an empty part is a valid (empty) message
  auto got = read_scripted(wire);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->agent_version, "second");
  EXPECT_EQ(got->protocols, (std::vector<std::string>{"/x", "/y"}));
}

TEST(identify_read, empty_message_is_fine) {
  auto got = read_scripted(hex("00"));
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, message{});
}

TEST(identify_read, no_message_at_all_is_a_protocol_violation) {
  EXPECT_EQ(read_scripted({}).error(), errc::protocol_violation);
}

TEST(identify_read, too_many_parts) {
  bytes wire;
  for (std::size_t i = 0; i < max_parts; ++i) append(wire, hex("00"));
  EXPECT_TRUE(read_scripted(wire));
  append(wire, hex("00"));
  EXPECT_EQ(read_scripted(wire).error(), errc::protocol_violation);
}

TEST(identify_read, oversize_part_and_oversize_total) {
  // A prefix over the limit is refused before any body byte is read.
  EXPECT_EQ(read_scripted(hex("8180 04"), default_max_size).error(), errc::message_too_large);
  bytes body(100, 0);
  body[0] = 0x1a;  // field 3, length 98
  body[1] = 98;
  EXPECT_TRUE(read_scripted(framed(body), 100));
  EXPECT_EQ(read_scripted(framed(body), 99).error(), errc::message_too_large);
  bytes two = framed(body);
  append(two, framed(body));
  EXPECT_TRUE(read_scripted(two, 200));
  EXPECT_EQ(read_scripted(two, 199).error(), errc::message_too_large);
}

TEST(identify_read, eof_inside_prefix_or_body_is_truncated) {
  EXPECT_EQ(read_scripted(hex("80")).error(), errc::truncated);
  EXPECT_EQ(read_scripted(hex("05 1a0161")).error(), errc::truncated);
  EXPECT_EQ(read_scripted(hex("03 1a0161 05 1a")).error(), errc::truncated);
}

TEST(identify_read, bad_prefixes) {
  EXPECT_EQ(read_scripted(hex("808080808080808080")).error(), errc::varint_overflow);
  EXPECT_EQ(read_scripted(hex("8000")).error(), errc::varint_not_minimal);
}

TEST(identify_read, broken_protobuf_inside_a_frame) {
  EXPECT_EQ(read_scripted(hex("02 0a05")).error(), errc::truncated);
  EXPECT_EQ(read_scripted(hex("01 0f")).error(), errc::malformed);
}

TEST(identify_read, reset_midway) {
  EXPECT_EQ(read_scripted(hex("05 1a01"), default_max_size, false).error(), errc::stream_reset);
}

TEST(identify_read, errors_reset_the_stream) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [sender, receiver] = make_memory_stream_pair(ex);
    const bytes oversize = hex("ffff03");
    EXPECT_TRUE(co_await sender->write(oversize));
    auto got = co_await read_message(*receiver, 1024);
    EXPECT_EQ(got.error(), errc::message_too_large);
    const bytes more(1, 0);
    auto w = co_await sender->write(more);
    EXPECT_EQ(w.error(), errc::stream_reset);
  });
}

TEST(identify_write, write_after_remote_reset_fails) {
  run([](boost::asio::any_io_executor ex) -> task<void> {
    auto [responder, requester] = make_memory_stream_pair(ex);
    requester->reset();
    auto r = co_await write_message(*responder, sample_message());
    EXPECT_EQ(r.error(), errc::stream_reset);
  });
}

}  // namespace
}  // namespace p2p::identify
