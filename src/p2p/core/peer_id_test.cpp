#include "p2p/core/peer_id.hpp"

#include "p2p/core/key_test_vectors.hpp"
#include "p2p/core/multibase.hpp"
#include "p2p/core/multihash.hpp"

#include "hex.hpp"

#include <gtest/gtest.h>

#include <unordered_set>

namespace p2p {
namespace {

using p2p::testing::hex;

crypto::public_key key(std::string_view public_hex) {
  return crypto::public_key::from_protobuf(hex(public_hex)).value();
}

// Peer IDs of the peer-ids spec's test-vector keys. Expected strings were computed
// independently of this code (Python: hashlib + a textbook base58/base32).
struct id_case {
  const char* name;
  std::string_view public_hex;
  const char* base58;
  const char* cid;
  bool inlined;
};

const id_case id_cases[] = {
    {"ed25519", test_vectors::ed25519_public, "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq",
     "bafzaajaiaejcahwr5d5ofrfbis4l5d6uwr57hu5tjodrypfm6yaq6dsc2r2pzyt6", true},
    {"secp256k1", test_vectors::secp256k1_public, "16Uiu2HAmLhLvBoYaoZfaMUKuibM6ac163GwKY74c5kiSLg5KvLpY",
     "bafzaajiiaijcca3xo7uzjzcsyilaj6i54cj44qk7kqzpoao5rti2pjx6udtdbp6kte", true},
    {"ecdsa", test_vectors::ecdsa_public, "QmVMT29id3TUASyfZZ6k9hmNyc2nYabCo4uMSpDw4zrgDk",
     "bafzbeidigywdclqvl5hxfefwp5onbffcfife7pza57mmfb4tiqmtkdjw64", false},
    {"rsa", test_vectors::rsa_public, "QmaeANgBs1DTSxWSrPPtobgQuxW8XTfsS4ydbK4rCHzqxG",
     "bafzbeifwzcumbiyql7bhv7fe7mixg6i7aohegq75k234m63bnw6dbicmzu", false},
};

TEST(peer_id, spec_vector_keys) {
  for (const auto& c : id_cases) {
    SCOPED_TRACE(c.name);
    const auto k = key(c.public_hex);
    const peer_id id = peer_id::from_public_key(k);
    EXPECT_EQ(id.to_base58(), c.base58);
    EXPECT_EQ(id.to_string(), c.base58);
    EXPECT_EQ(id.to_cid_string(), c.cid);
    EXPECT_TRUE(id.matches(k));

    auto from_base58 = peer_id::parse(c.base58);
    ASSERT_TRUE(from_base58);
    EXPECT_EQ(*from_base58, id);
    auto from_cid = peer_id::parse(c.cid);
    ASSERT_TRUE(from_cid);
    EXPECT_EQ(*from_cid, id);

    auto extracted = id.extract_public_key();
    EXPECT_EQ(extracted.has_value(), c.inlined);
    if (extracted) {
      EXPECT_EQ(*extracted, k);
    }
    // The 42-byte rule: identity multihash iff the protobuf key fits.
    EXPECT_EQ(id.to_bytes()[0], c.inlined ? 0x00 : 0x12);
  }
}

TEST(peer_id, spec_examples) {
  // peer-ids spec "Decoding" examples: the same sha256 ID in two text forms, and an
  // Ed25519 (identity) ID.
  auto legacy = peer_id::parse("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N");
  auto cid = peer_id::parse("bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe");
  ASSERT_TRUE(legacy);
  ASSERT_TRUE(cid);
  EXPECT_EQ(*legacy, *cid);
  EXPECT_EQ(legacy->to_cid_string(), "bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe");
  EXPECT_EQ(cid->to_base58(), "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N");
  EXPECT_FALSE(legacy->extract_public_key());

  auto ed = peer_id::parse("12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA");
  ASSERT_TRUE(ed);
  EXPECT_EQ(to_hex(ed->to_bytes()), "0024080112202ffa35a99d3a3cfbb17bb7c1dc5561b18a8dcca4df38dc613ea859c37eb1336b");
  auto ed_key = ed->extract_public_key();
  ASSERT_TRUE(ed_key);
  EXPECT_EQ(ed_key->type(), crypto::key_type::ed25519);
  EXPECT_TRUE(ed->matches(*ed_key));
  EXPECT_EQ(ed->to_cid_string(), "bafzaajaiaejcal72gwuz2or47oyxxn6b3rkwdmmkrxgkjxzy3rqt5kczyn7lcm3l");
}

TEST(peer_id, other_multibase_cids) {
  // From go-multiaddr's test addresses: base36 CIDs of a sha256 and an Ed25519 ID.
  auto k2 = peer_id::parse("k2k4r8oqamigqdo6o7hsbfwd45y70oyynp98usk7zmyfrzpqxh1pohl7");
  ASSERT_TRUE(k2);
  EXPECT_EQ(k2->to_bytes()[0], 0x12);
  auto k51 = peer_id::parse("k51qzi5uqu5dhb6l8spkdx7yxafegfkee5by8h7lmjh2ehc2sgg34z7c15vzqs");
  ASSERT_TRUE(k51);
  EXPECT_TRUE(k51->extract_public_key());

  // The same ID in base16 and base58btc multibase.
  const auto id = peer_id::from_public_key(key(test_vectors::ed25519_public));
  bytes cid{0x01, 0x72};
  append(cid, id.to_bytes());
  for (auto b : {multibase::base::base16, multibase::base::base58btc, multibase::base::base36,
                 multibase::base::base64url, multibase::base::base32_upper}) {
    auto parsed = peer_id::parse(multibase::encode(b, cid));
    ASSERT_TRUE(parsed) << static_cast<char>(b);
    EXPECT_EQ(*parsed, id);
  }
}

TEST(peer_id, rejects_invalid_text) {
  const char* bad[] = {
      "",
      "Qm",
      "1",
      "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5",    // one character short
      "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N1",  // one character long
      "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx50",   // '0' is not base58
      // sha256 multihash with a digest longer than 32 bytes (go-multiaddr test case).
      "QmxoHT6iViN5xAjoz1VZ553cL31U9F94ht3QvWR1FrEbZY",
      // CID with the wrong codec (dag-pb, 0x70) and a bad multibase character.
      "k2jmtxwoe2phm1hbqp0e7nufqf6umvuu2e9qd7ana7h411a0haqj6i2z",
      "k2k4r8oqamigqdo6o7hsbfwd45y70oyynp98usk7zmyfrzpqxh1pohl-",
      "?unknownmultibase",
      // A CID one character short.
      "bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqx",
      "xyz",
  };
  for (const char* text : bad) EXPECT_FALSE(peer_id::parse(text)) << text;
  EXPECT_FALSE(peer_id::parse(std::string(200, 'Q')));
}

TEST(peer_id, cid_version_and_codec_are_checked) {
  const auto id = peer_id::from_public_key(key(test_vectors::ed25519_public));
  auto cid_with = [&](std::uint8_t version, std::uint8_t codec) {
    bytes cid{version, codec};
    append(cid, id.to_bytes());
    return multibase::encode(multibase::base::base32, cid);
  };
  EXPECT_TRUE(peer_id::parse(cid_with(1, 0x72)));
  EXPECT_FALSE(peer_id::parse(cid_with(0, 0x72)));
  EXPECT_FALSE(peer_id::parse(cid_with(2, 0x72)));
  EXPECT_FALSE(peer_id::parse(cid_with(1, 0x70)));
  // Trailing bytes after the multihash.
  bytes cid{1, 0x72};
  append(cid, id.to_bytes());
  cid.push_back(0);
  EXPECT_FALSE(peer_id::parse(multibase::encode(multibase::base::base32, cid)));
}

TEST(peer_id, from_bytes_validation) {
  // sha2-256 with 32 bytes: any digest is fine.
  EXPECT_TRUE(peer_id::from_bytes(multihash::encode(multihash::sha2_256, bytes(32, 1))));
  EXPECT_FALSE(peer_id::from_bytes(multihash::encode(multihash::sha2_256, bytes(31, 1))));
  EXPECT_FALSE(peer_id::from_bytes(multihash::encode(multihash::sha2_256, bytes(33, 1))));
  // Other hash functions are not peer IDs.
  EXPECT_EQ(peer_id::from_bytes(multihash::encode(0x13, bytes(64, 1))).error(), errc::invalid_peer_id);
  // Identity must hold a decodable, canonically encoded key of at most 42 bytes.
  const bytes ed = hex(test_vectors::ed25519_public);
  EXPECT_TRUE(peer_id::from_bytes(multihash::encode(multihash::identity, ed)));
  EXPECT_FALSE(peer_id::from_bytes(multihash::encode(multihash::identity, bytes(36, 1))));
  bytes padded = ed;
  padded.insert(padded.begin(), {0x38, 0x00});  // unknown field 7 first: valid protobuf, not canonical
  EXPECT_FALSE(peer_id::from_bytes(multihash::encode(multihash::identity, padded)));
  // An ECDSA key inlined (95 bytes > 42) is not what from_public_key() makes.
  EXPECT_FALSE(peer_id::from_bytes(multihash::encode(multihash::identity, hex(test_vectors::ecdsa_public))));
  // Framing.
  EXPECT_EQ(peer_id::from_bytes({}).error(), errc::truncated);
  const bytes good = multihash::encode(multihash::sha2_256, bytes(32, 1));
  EXPECT_EQ(peer_id::from_bytes(bytes_view(good).first(20)).error(), errc::truncated);
  bytes trailing = good;
  trailing.push_back(0);
  EXPECT_EQ(peer_id::from_bytes(trailing).error(), errc::invalid_peer_id);
}

TEST(peer_id, matches_only_its_key) {
  const auto a = crypto::private_key::generate_ed25519();
  const auto b = crypto::private_key::generate_ed25519();
  const auto id = peer_id::from_public_key(a.public_key());
  EXPECT_TRUE(id.matches(a.public_key()));
  EXPECT_FALSE(id.matches(b.public_key()));
  const auto rsa_id = peer_id::from_public_key(key(test_vectors::rsa_public));
  EXPECT_TRUE(rsa_id.matches(key(test_vectors::rsa_public)));
  EXPECT_FALSE(rsa_id.matches(a.public_key()));
}

TEST(peer_id, generated_ids_round_trip_through_text) {
  for (int i = 0; i < 4; ++i) {
    const auto id = peer_id::from_public_key(crypto::private_key::generate_ed25519().public_key());
    EXPECT_TRUE(id.to_base58().starts_with("12D3KooW"));
    EXPECT_TRUE(id.to_cid_string().starts_with("bafzaa"));
    EXPECT_EQ(peer_id::parse(id.to_base58()).value(), id);
    EXPECT_EQ(peer_id::parse(id.to_cid_string()).value(), id);
    EXPECT_EQ(peer_id::from_bytes(id.to_bytes()).value(), id);
  }
}

TEST(peer_id, ordering_and_hashing) {
  const auto a = peer_id::from_public_key(key(test_vectors::ed25519_public));
  const auto b = peer_id::from_public_key(key(test_vectors::secp256k1_public));
  EXPECT_NE(a, b);
  EXPECT_TRUE((a < b) != (b < a));
  std::unordered_set<peer_id> set{a, b, a};
  EXPECT_EQ(set.size(), 2u);
}

}  // namespace
}  // namespace p2p
