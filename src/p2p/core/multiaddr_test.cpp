#include "p2p/core/multiaddr.hpp"

#include "p2p/core/key_test_vectors.hpp"

#include "hex.hpp"

#include <gtest/gtest.h>

namespace p2p {
namespace {

using p2p::testing::hex;

multiaddr addr(std::string_view text) {
  auto parsed = multiaddr::parse(text);
  EXPECT_TRUE(parsed) << text << ": " << (parsed ? "" : parsed.error().message());
  return parsed ? *parsed : multiaddr{};
}

struct vector_case {
  std::string_view text;
  std::string_view binary;
};

// Canonical text <-> binary. The first three are go-multiaddr's TestStringToBytes /
// TestBytesToString vectors and the ip6zone one is its TestZone; the rest were
// encoded by an independent Python encoder written from protocols.csv.
const vector_case vectors[] = {
    {"/ip4/127.0.0.1/udp/1234",
     "047f000001910204d2"},
    {"/ip4/127.0.0.1/tcp/4321",
     "047f0000010610e1"},
    {"/ip4/127.0.0.1/udp/1234/ip4/127.0.0.1/tcp/4321",
     "047f000001910204d2047f0000010610e1"},
    {"/ip6zone/eth0/ip6/::1",
     "2a04657468302900000000000000000000000000000001"},
    {"/ip6/2001:db8::1/tcp/4001",
     "2920010db8000000000000000000000001060fa1"},
    {"/ip6/::ffff:127.0.0.1/tcp/111",
     "2900000000000000000000ffff7f00000106006f"},
    {"/ip6/::/udp/0/quic-v1",
     "290000000000000000000000000000000091020000cd03"},
    {"/dns4/example.com/tcp/443/wss",
     "360b6578616d706c652e636f6d0601bbde03"},
    {"/dns6/ipv6.example.org/udp/4001/quic-v1",
     "3710697076362e6578616d706c652e6f726791020fa1cd03"},
    {"/dns/localhost/tcp/80/ws",
     "35096c6f63616c686f7374060050dd03"},
    {"/dnsaddr/bootstrap.libp2p.io/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN",
     "3813626f6f7473747261702e6c69627032702e696fa50322122006b3608aa000274049eb28ad8e793a26ff6fab281a7d3bd77cd18eb745dfaabb"},
    {"/ip4/192.0.2.1/tcp/4001/tls/sni/example.com/ws",
     "04c0000201060fa1c003c1030b6578616d706c652e636f6ddd03"},
    {"/ip4/1.2.3.4/tcp/4001/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA",
     "0401020304060fa1a503260024080112202ffa35a99d3a3cfbb17bb7c1dc5561b18a8dcca4df38dc613ea859c37eb1336b"},
    {"/ip4/1.2.3.4/tcp/4001/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N/p2p-circuit/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA",
     "0401020304060fa1a5032212209dff3b17d74cf4d38a50d8b6383e92d181a10395a5e73a726dcccbd21bf6f0b9a202a503260024080112202ffa35a99d3a3cfbb17bb7c1dc5561b18a8dcca4df38dc613ea859c37eb1336b"},
    {"/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash/uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE8g",
     "047f000001910204d2cd03d103d203221220c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2"},
    {"/ip4/0.0.0.0/tcp/0",
     "0400000000060000"},
    {"/ip4/255.255.255.255/udp/65535/quic",
     "04ffffffff9102ffffcc03"},
    {"/ip4/10.0.0.1/tcp/9090/http",
     "040a000001062382e003"},
    {"/ip4/10.0.0.1/tcp/1/noise",
     "040a000001060001c603"},
    {"/ip4/10.0.0.1/udp/9090/webrtc-direct/certhash/uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE8g",
     "040a000001910223829802d203221220c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2"},
    {"/p2p-circuit/webrtc",
     "a2029902"},
    // memory (777): a u64 in 8 bytes, big-endian, as go- and rust-multiaddr write it.
    {"/memory/1234",
     "890600000000000004d2"},
    {"/memory/18446744073709551615",
     "8906ffffffffffffffff"},
};

TEST(multiaddr, text_binary_vectors) {
  for (const auto& c : vectors) {
    SCOPED_TRACE(c.text);
    auto parsed = multiaddr::parse(c.text);
    ASSERT_TRUE(parsed) << parsed.error().message();
    EXPECT_EQ(to_hex(parsed->to_bytes()), c.binary);
    EXPECT_EQ(parsed->to_string(), c.text);
    auto decoded = multiaddr::from_bytes(hex(c.binary));
    ASSERT_TRUE(decoded) << decoded.error().message();
    EXPECT_EQ(decoded->to_string(), c.text);
    EXPECT_EQ(*decoded, *parsed);
    EXPECT_EQ(multiaddr::from_components(decoded->components()), *decoded);
  }
}

// go-multiaddr TestConstructSucceeds, restricted to the protocols we support.
TEST(multiaddr, go_multiaddr_good_addresses) {
  const char* good[] = {
      "/ip4/1.2.3.4",
      "/ip4/0.0.0.0",
      "/ip6/::1",
      "/ip6/2601:9:4f81:9700:803e:ca65:66e8:c21",
      "/ip6/2601:9:4f81:9700:803e:ca65:66e8:c21/udp/1234/quic",
      "/ip6/2601:9:4f81:9700:803e:ca65:66e8:c21/udp/1234/quic-v1",
      "/ip6zone/x/ip6/fe80::1",
      "/ip6zone/x%y/ip6/fe80::1",
      "/ip6zone/x%y/ip6/::",
      "/ip6zone/x/ip6/fe80::1/udp/1234/quic",
      "/ip6zone/x/ip6/fe80::1/udp/1234/quic-v1",
      "/udp/0",
      "/tcp/0",
      "/udp/1234",
      "/tcp/1234",
      "/udp/65535",
      "/tcp/65535",
      "/ipfs/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC",
      "/ipfs/k2k4r8oqamigqdo6o7hsbfwd45y70oyynp98usk7zmyfrzpqxh1pohl7",
      "/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC",
      "/p2p/k2k4r8oqamigqdo6o7hsbfwd45y70oyynp98usk7zmyfrzpqxh1pohl7",
      "/p2p/bafzbeigvf25ytwc3akrijfecaotc74udrhcxzh2cx3we5qqnw5vgrei4bm",
      "/p2p/12D3KooWCryG7Mon9orvQxcS1rYZjotPgpwoJNHHKcLLfE4Hf5mV",
      "/p2p/k51qzi5uqu5dhb6l8spkdx7yxafegfkee5by8h7lmjh2ehc2sgg34z7c15vzqs",
      "/p2p/bafzaajaiaejcalj543iwv2d7pkjt7ykvefrkfu7qjfi6sduakhso4lay6abn2d5u",
      "/tcp/1234/http",
      "/tcp/1234/tls/http",
      "/ipfs/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC/tcp/1234",
      "/ipfs/k2k4r8oqamigqdo6o7hsbfwd45y70oyynp98usk7zmyfrzpqxh1pohl7/tcp/1234",
      "/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC/tcp/1234",
      "/p2p/k2k4r8oqamigqdo6o7hsbfwd45y70oyynp98usk7zmyfrzpqxh1pohl7/tcp/1234",
      "/ip4/127.0.0.1/udp/1234",
      "/ip4/127.0.0.1/udp/0",
      "/ip4/127.0.0.1/tcp/1234",
      "/ip4/127.0.0.1/tcp/1234/",
      "/ip4/127.0.0.1/udp/1234/quic",
      "/ip4/127.0.0.1/udp/1234/quic-v1",
      "/ip4/127.0.0.1/udp/1234/quic-v1/webtransport",
      "/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash/b2uaraocy6yrdblb4sfptaddgimjmmpy",
      "/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash/b2uaraocy6yrdblb4sfptaddgimjmmpy/certhash/"
      "zQmbWTwYGcmdyK9CYfNBcfs9nhZs17a6FQ4Y8oea278xx41",
      "/ip4/127.0.0.1/ipfs/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC",
      "/ip4/127.0.0.1/ipfs/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC/tcp/1234",
      "/ip4/127.0.0.1/ipfs/k2k4r8oqamigqdo6o7hsbfwd45y70oyynp98usk7zmyfrzpqxh1pohl7",
      "/ip4/127.0.0.1/ipfs/k2k4r8oqamigqdo6o7hsbfwd45y70oyynp98usk7zmyfrzpqxh1pohl7/tcp/1234",
      "/ip4/127.0.0.1/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC",
      "/ip4/127.0.0.1/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC/tcp/1234",
      "/ip4/127.0.0.1/p2p/k2k4r8oqamigqdo6o7hsbfwd45y70oyynp98usk7zmyfrzpqxh1pohl7",
      "/ip4/127.0.0.1/p2p/k2k4r8oqamigqdo6o7hsbfwd45y70oyynp98usk7zmyfrzpqxh1pohl7/tcp/1234",
      "/ip4/127.0.0.1/tcp/127/ws",
      "/ip4/127.0.0.1/tcp/127/tls",
      "/ip4/127.0.0.1/tcp/127/tls/ws",
      "/ip4/127.0.0.1/tcp/127/noise",
      "/ip4/127.0.0.1/tcp/127/wss",
      "/ip4/127.0.0.1/tcp/127/webrtc-direct",
      "/ip4/127.0.0.1/tcp/127/webrtc",
      "/ip4/127.0.0.1/tcp/443/tls/sni/example.com/http",
  };
  for (const char* text : good) {
    auto parsed = multiaddr::parse(text);
    ASSERT_TRUE(parsed) << text << ": " << parsed.error().message();
    // Text re-parses to the same binary; binary re-decodes identically.
    auto again = multiaddr::parse(parsed->to_string());
    ASSERT_TRUE(again) << parsed->to_string();
    EXPECT_EQ(*again, *parsed) << text;
    auto decoded = multiaddr::from_bytes(parsed->to_bytes());
    ASSERT_TRUE(decoded) << text;
    EXPECT_EQ(*decoded, *parsed);
  }
}

// go-multiaddr TestConstructFails (the entries about protocols we support, and a
// few about ones we do not), plus our own.
TEST(multiaddr, rejects_invalid_text) {
  const char* bad[] = {
      "/ip4",
      "/ip4/::1",
      "/ip4/fdpsofodsajfdoisa",
      "/ip6",
      "/ip6zone",
      "/ip6zone/",
      "/ip6zone//ip6/fe80::1",
      "/udp",
      "/tcp",
      "/sctp",
      "/udp/65536",
      "/tcp/65536",
      "/memory",
      "/memory/-1",
      "/memory/01",
      "/memory/0x10",
      "/memory/18446744073709551616",
      "/quic/65536",
      "/quic-v1/65536",
      "/onion/timaq4ygg2iegci7:80",
      "/ip4/127.0.0.1/udp/jfodsajfidosajfoidsa",
      "/ip4/127.0.0.1/udp",
      "/ip4/127.0.0.1/tcp/jfodsajfidosajfoidsa",
      "/ip4/127.0.0.1/tcp",
      "/ip4/127.0.0.1/quic/1234",
      "/ip4/127.0.0.1/quic-v1/1234",
      "/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash",
      "/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash/b2uaraocy6yrdblb4sfptaddgimjmmp",
      "/ip4/127.0.0.1/ipfs",
      "/ip4/127.0.0.1/ipfs/tcp",
      "/ip4/127.0.0.1/p2p",
      "/ip4/127.0.0.1/p2p/tcp",
      "/unix",
      "/ip4/1.2.3.4/tcp/-1",
      "/",
      "",
      "/p2p/QmxoHT6iViN5xAjoz1VZ553cL31U9F94ht3QvWR1FrEbZY",
      // go-multiaddr TestInvalidP2PAddrString.
      "/p2p/k2k4r8oqamigqdo6o7hsbfwd45y70oyynp98usk7zmyfrzpqxh1pohl-",
      "/p2p/?unknownmultibase",
      "/p2p/k2jmtxwoe2phm1hbqp0e7nufqf6umvuu2e9qd7ana7h411a0haqj6i2z",
      // go-multiaddr TestStringToProtocols failures.
      "////////ip4/tcp/21432141/////////",
      "////////ip4///////tcp/////////",
      // Ours.
      "ip4/1.2.3.4",
      "//ip4/1.2.3.4",
      "/ip4/1.2.3.4//tcp/80",
      "/ip4/1.2.3",
      "/ip4/1.2.3.4.5",
      "/ip4/01.2.3.4",
      "/ip4/256.0.0.1",
      "/ip4/1.2.3.4 ",
      "/ip6/::1::2",
      "/ip6/12345::",
      "/ip6/" "0000:0000:0000:0000:0000:0000:0000:0000:0000:0000",
      "/tcp/080",
      "/tcp/+80",
      "/tcp/ 80",
      "/tcp/99999999999999999999",
      "/dns4/",
      "/dns4//tcp/80",
      "/sni",
      "/certhash/uAA",           // one byte 00: a multihash code without a length
      "/certhash/notmultibase",
      "/certhash/f1220",         // sha2-256 multihash without its digest
      "/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5S",
      "/IP4/1.2.3.4",
      "/ip4/1.2.3.4/tcp/80/unknown",
      "/ws/ws/p2p-circuit/x",
  };
  for (const char* text : bad) EXPECT_FALSE(multiaddr::parse(text)) << text;
  // Over-long values for the quadratic decoders are refused outright.
  EXPECT_FALSE(multiaddr::parse("/certhash/z" + std::string(600, '2')));
  EXPECT_FALSE(multiaddr::parse("/p2p/Qm" + std::string(600, '2')));
  EXPECT_EQ(multiaddr::parse("/onion/timaq4ygg2iegci7:80").error(), errc::unknown_multicodec);
  EXPECT_EQ(multiaddr::parse("/tcp/65536").error(), errc::invalid_multiaddr);
}

TEST(multiaddr, text_normalisation) {
  EXPECT_EQ(addr("/ipfs/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC").to_string(),
            "/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC");
  EXPECT_EQ(addr("/p2p/bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe").to_string(),
            "/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N");
  EXPECT_EQ(addr("/ip6/2001:0db8:0000:0000:0000:0000:0000:0001").to_string(), "/ip6/2001:db8::1");
  EXPECT_EQ(addr("/ip6/2001:DB8::1").to_string(), "/ip6/2001:db8::1");
  EXPECT_EQ(addr("/ip4/1.2.3.4/tcp/80///").to_string(), "/ip4/1.2.3.4/tcp/80");
  // certhash text is written in base64url whatever base it was given in.
  EXPECT_EQ(addr("/certhash/b2uaraocy6yrdblb4sfptaddgimjmmpy").to_string(), "/certhash/u1QEQOFj2IjCsPJFfMAxmQxLGPw");
  EXPECT_EQ(addr("/certhash/f1220c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2").to_string(),
            "/certhash/uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE8g");
}

TEST(multiaddr, rejects_invalid_binary) {
  struct bad_case {
    std::string_view binary;
    errc error;
  };
  const bad_case bad[] = {
      {"", errc::invalid_multiaddr},
      {"04", errc::truncated},                      // ip4 without address
      {"047f0000", errc::truncated},                // 3 of 4 bytes
      {"047f00000106", errc::truncated},            // tcp without port
      {"047f0000010600", errc::truncated},          // half a port
      {"890600000000", errc::truncated},            // memory: 4 of 8 bytes
      {"ff", errc::truncated},                      // unfinished varint code
      {"8000", errc::malformed},                    // non-minimal varint code
      {"ffffffffffffffffff01", errc::malformed},    // oversized varint code
      {"07", errc::unknown_multicodec},
      {"bc030010c0439831b48218480050", errc::unknown_multicodec},  // onion: unsupported
      {"36", errc::truncated},                      // dns4 without length
      {"3605616263", errc::truncated},              // dns4 length past the end
      {"3600", errc::invalid_multiaddr},            // empty dns4
      {"36032f6162", errc::invalid_multiaddr},      // dns4 containing '/'
      {"c10300", errc::invalid_multiaddr},          // empty sni
      // go-multiaddr TestInvalidP2PAddrBytes: sha2-256 peer ID with a 33-byte digest.
      {"a503221221c05877cbae039d70a5e600ea02c6f9f2942439285c9e344e26f8d280c850fad6", errc::invalid_multiaddr},
      {"a50300", errc::invalid_multiaddr},          // empty peer ID
      {"a503021300", errc::invalid_multiaddr},      // sha2-512 code: not a peer ID
      {"d20300", errc::invalid_multiaddr},          // empty certhash
      {"d203021220", errc::invalid_multiaddr},      // certhash sha2-256 without digest
      {"d2030400010000", errc::invalid_multiaddr},  // certhash with trailing byte inside
      {"a50380", errc::truncated},                  // length varint unfinished
      {"a50280", errc::unknown_multicodec},         // code 293
  };
  for (const auto& c : bad) {
    auto decoded = multiaddr::from_bytes(hex(c.binary));
    ASSERT_FALSE(decoded) << c.binary;
    EXPECT_EQ(decoded.error(), c.error) << c.binary;
  }
}

TEST(multiaddr, go_dns_bytes_round_trip) {
  // go-multiaddr TestDNS: arbitrary bytes as a dns6 name survive binary -> text -> binary.
  const bytes binary = to_bytes("7*000000000000000000000000000000000000000000");
  auto decoded = multiaddr::from_bytes(binary);
  ASSERT_TRUE(decoded);
  auto again = multiaddr::parse(decoded->to_string());
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *decoded);
}

TEST(multiaddr, components_and_values) {
  const auto a = addr("/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA");
  const auto parts = a.components();
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].code, protocol_code::ip4);
  EXPECT_EQ(parts[0].name(), "ip4");
  EXPECT_EQ(parts[0].value, (bytes{127, 0, 0, 1}));
  EXPECT_EQ(parts[0].value_string(), "127.0.0.1");
  EXPECT_EQ(parts[1].code, protocol_code::tcp);
  EXPECT_EQ(parts[1].value, (bytes{0x0f, 0xa1}));
  EXPECT_EQ(parts[1].value_string(), "4001");
  EXPECT_EQ(parts[2].name(), "p2p");
  EXPECT_EQ(parts[2].value_string(), "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA");

  EXPECT_EQ(a.value_for(protocol_code::tcp), "4001");
  EXPECT_EQ(a.value_for(protocol_code::udp), std::nullopt);
  EXPECT_TRUE(a.has(protocol_code::p2p));
  EXPECT_FALSE(a.has(protocol_code::ws));

  const auto ws = addr("/ip4/1.2.3.4/tcp/80/ws");
  EXPECT_EQ(ws.components().back().code, protocol_code::ws);
  EXPECT_TRUE(ws.components().back().value.empty());
  EXPECT_EQ(ws.components().back().value_string(), "");
}

TEST(multiaddr, protocol_names_and_codes) {
  // Codes from multiformats/multiaddr protocols.csv.
  EXPECT_EQ(static_cast<int>(protocol_code::quic_v1), 461);
  EXPECT_EQ(static_cast<int>(protocol_code::quic), 460);
  EXPECT_EQ(static_cast<int>(protocol_code::webtransport), 465);
  EXPECT_EQ(static_cast<int>(protocol_code::certhash), 466);
  EXPECT_EQ(static_cast<int>(protocol_code::p2p), 421);
  EXPECT_EQ(static_cast<int>(protocol_code::p2p_circuit), 290);
  EXPECT_EQ(protocol_name(protocol_code::quic_v1), "quic-v1");
  EXPECT_EQ(protocol_name(protocol_code::p2p_circuit), "p2p-circuit");
  EXPECT_EQ(protocol_name(static_cast<protocol_code>(9999)), "unknown");
  EXPECT_EQ(protocol_from_name("ipfs"), protocol_code::p2p);
  EXPECT_EQ(protocol_from_name("dnsaddr"), protocol_code::dnsaddr);
  EXPECT_EQ(protocol_from_name("onion3"), std::nullopt);
}

TEST(multiaddr, peer_helpers) {
  const auto id = peer_id::parse("12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA").value();
  const auto relay = peer_id::parse("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N").value();
  const auto base = addr("/ip4/1.2.3.4/tcp/4001");

  EXPECT_EQ(base.peer(), std::nullopt);
  EXPECT_EQ(base.without_peer(), base);

  const auto with = base.with_peer(id);
  EXPECT_EQ(with.to_string(), "/ip4/1.2.3.4/tcp/4001/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA");
  EXPECT_EQ(with.peer(), id);
  EXPECT_EQ(with.without_peer(), base);
  // with_peer replaces a trailing peer ID instead of stacking a second one.
  EXPECT_EQ(with.with_peer(relay).to_string(), "/ip4/1.2.3.4/tcp/4001/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N");

  const auto circuit = base.with_peer(relay).encapsulate(addr("/p2p-circuit"));
  EXPECT_EQ(circuit.peer(), std::nullopt);  // ends in p2p-circuit: no peer named
  EXPECT_EQ(circuit.without_peer(), circuit);
  const auto target = circuit.with_peer(id);
  EXPECT_EQ(target.peer(), id);
  EXPECT_EQ(target.without_peer(), circuit);

  EXPECT_EQ(base.encapsulate(addr("/ws")).to_string(), "/ip4/1.2.3.4/tcp/4001/ws");
  EXPECT_EQ(base.encapsulate(multiaddr{}), base);
  EXPECT_TRUE(multiaddr{}.empty());
  EXPECT_EQ(multiaddr{}.to_string(), "");
  EXPECT_EQ(multiaddr{}.peer(), std::nullopt);
}

TEST(multiaddr, from_components_builds_wire_form) {
  const auto id = peer_id::parse("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N").value();
  const auto built = multiaddr::from_components({
      {protocol_code::dns4, to_bytes("example.com")},
      {protocol_code::tcp, {0x01, 0xbb}},
      {protocol_code::wss, {}},
      {protocol_code::p2p, id.to_bytes()},
  });
  EXPECT_EQ(built.to_string(), "/dns4/example.com/tcp/443/wss/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N");
  EXPECT_TRUE(multiaddr::from_bytes(built.to_bytes()));
}

TEST(multiaddr, ordering) {
  const auto a = addr("/ip4/1.2.3.4/tcp/1");
  const auto b = addr("/ip4/1.2.3.4/tcp/2");
  EXPECT_LT(a, b);
  EXPECT_NE(a, b);
  EXPECT_EQ(a, addr("/ip4/1.2.3.4/tcp/1/"));
}

}  // namespace
}  // namespace p2p
