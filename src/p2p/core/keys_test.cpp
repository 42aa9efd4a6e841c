#include "p2p/core/keys.hpp"

#include "p2p/core/key_test_vectors.hpp"
#include "p2p/core/protobuf.hpp"
#include "p2p/core/random.hpp"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "hex.hpp"

#include <gtest/gtest.h>

#include <set>

namespace p2p::crypto {
namespace {

using p2p::testing::hex;

bytes key_message(std::uint64_t type, bytes_view data) {
  protobuf::writer w;
  w.add_varint(1, type);
  w.add_bytes(2, data);
  return std::move(w).take();
}

struct spec_case {
  const char* name;
  key_type type;
  std::string_view private_hex;
  std::string_view public_hex;
};

const spec_case spec_cases[] = {
    {"ed25519", key_type::ed25519, test_vectors::ed25519_private, test_vectors::ed25519_public},
    {"secp256k1", key_type::secp256k1, test_vectors::secp256k1_private, test_vectors::secp256k1_public},
    {"ecdsa", key_type::ecdsa, test_vectors::ecdsa_private, test_vectors::ecdsa_public},
    {"rsa", key_type::rsa, test_vectors::rsa_private, test_vectors::rsa_public},
};

// --- spec test vectors ------------------------------------------------------

TEST(keys, spec_vectors_private_key_yields_public_key) {
  for (const auto& c : spec_cases) {
    SCOPED_TRACE(c.name);
    auto key = private_key::from_protobuf(hex(c.private_hex));
    ASSERT_TRUE(key) << key.error().message();
    EXPECT_EQ(key->type(), c.type);
    EXPECT_EQ(to_hex(key->public_key().to_protobuf()), to_hex(hex(c.public_hex)));
  }
}

TEST(keys, spec_vectors_private_key_round_trips) {
  for (const auto& c : spec_cases) {
    SCOPED_TRACE(c.name);
    auto key = private_key::from_protobuf(hex(c.private_hex));
    ASSERT_TRUE(key);
    EXPECT_EQ(to_hex(key->to_protobuf()), to_hex(hex(c.private_hex)));
  }
}

TEST(keys, spec_vectors_public_key_round_trips) {
  for (const auto& c : spec_cases) {
    SCOPED_TRACE(c.name);
    auto key = public_key::from_protobuf(hex(c.public_hex));
    ASSERT_TRUE(key) << key.error().message();
    EXPECT_EQ(key->type(), c.type);
    EXPECT_EQ(key->to_protobuf(), hex(c.public_hex));
    auto priv = private_key::from_protobuf(hex(c.private_hex));
    ASSERT_TRUE(priv);
    EXPECT_EQ(*key, priv->public_key());
  }
}

TEST(keys, spec_vectors_sign_and_verify) {
  const bytes message = to_bytes("libp2p signing test");
  for (const auto& c : spec_cases) {
    SCOPED_TRACE(c.name);
    auto priv = private_key::from_protobuf(hex(c.private_hex));
    auto pub = public_key::from_protobuf(hex(c.public_hex));
    ASSERT_TRUE(priv);
    ASSERT_TRUE(pub);
    auto signature = priv->sign(message);
    ASSERT_TRUE(signature);
    EXPECT_TRUE(pub->verify(message, *signature));

    bytes other_message = message;
    other_message.back() ^= 1;
    EXPECT_FALSE(pub->verify(other_message, *signature));
    bytes bad_signature = *signature;
    bad_signature[bad_signature.size() / 2] ^= 0x40;
    EXPECT_FALSE(pub->verify(message, bad_signature));
    EXPECT_FALSE(pub->verify(message, {}));
    EXPECT_FALSE(pub->verify(message, bytes(signature->begin(), signature->end() - 1)));
  }
}

TEST(keys, signature_from_one_type_does_not_verify_under_another) {
  const bytes message = to_bytes("cross");
  std::vector<private_key> keys;
  for (const auto& c : spec_cases) keys.push_back(private_key::from_protobuf(hex(c.private_hex)).value());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const bytes signature = keys[i].sign(message).value();
    for (std::size_t j = 0; j < keys.size(); ++j)
      EXPECT_EQ(keys[j].public_key().verify(message, signature), i == j) << i << " " << j;
  }
}

// --- Ed25519 -----------------------------------------------------------------

TEST(keys, ed25519_rfc8032_test_2) {
  // RFC 8032 section 7.1, TEST 2.
  auto key = private_key::ed25519_from_seed(hex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"));
  ASSERT_TRUE(key);
  EXPECT_EQ(to_hex(key->public_key().raw()), "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
  const bytes message = hex("72");
  const bytes expected = hex(
      "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
      "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
  auto signature = key->sign(message);
  ASSERT_TRUE(signature);
  EXPECT_EQ(*signature, expected);
  EXPECT_TRUE(key->public_key().verify(message, expected));
}

TEST(keys, ed25519_private_forms) {
  const bytes full = hex(test_vectors::ed25519_private);
  const bytes data(full.begin() + 4, full.end());  // 08 01 12 40 | seed || public
  ASSERT_EQ(data.size(), 64u);
  const bytes seed(data.begin(), data.begin() + 32);
  const bytes pub(data.begin() + 32, data.end());

  // 32-byte seed alone: accepted, written back as 64 bytes.
  auto from_seed = private_key::from_protobuf(key_message(1, seed));
  ASSERT_TRUE(from_seed);
  EXPECT_EQ(from_seed->to_protobuf(), full);

  // Old 96-byte form: seed || public || public.
  bytes legacy = data;
  append(legacy, pub);
  auto from_legacy = private_key::from_protobuf(key_message(1, legacy));
  ASSERT_TRUE(from_legacy);
  EXPECT_EQ(from_legacy->to_protobuf(), full);

  // The two public copies must agree.
  legacy.back() ^= 1;
  EXPECT_EQ(private_key::from_protobuf(key_message(1, legacy)).error(), errc::invalid_key);
  // The public half must belong to the seed.
  bytes mismatched = data;
  mismatched.back() ^= 1;
  EXPECT_EQ(private_key::from_protobuf(key_message(1, mismatched)).error(), errc::invalid_key);
  // Other lengths.
  EXPECT_EQ(private_key::from_protobuf(key_message(1, bytes(31))).error(), errc::invalid_key);
  EXPECT_EQ(private_key::from_protobuf(key_message(1, bytes(63))).error(), errc::invalid_key);
  EXPECT_FALSE(private_key::ed25519_from_seed(bytes(33)));
}

TEST(keys, ed25519_public_length_is_checked) {
  EXPECT_EQ(public_key::from_raw(key_type::ed25519, bytes(31)).error(), errc::invalid_key);
  EXPECT_EQ(public_key::from_raw(key_type::ed25519, bytes(33)).error(), errc::invalid_key);
  EXPECT_TRUE(public_key::from_raw(key_type::ed25519, bytes(32, 7)));
}

TEST(keys, generated_ed25519_keys_are_distinct_and_work) {
  std::set<bytes> seen;
  for (int i = 0; i < 8; ++i) {
    auto key = private_key::generate_ed25519();
    EXPECT_EQ(key.type(), key_type::ed25519);
    EXPECT_TRUE(seen.insert(key.public_key().raw()).second);
    const bytes message = to_bytes("generated");
    EXPECT_TRUE(key.public_key().verify(message, key.sign(message).value()));
    auto reloaded = private_key::from_protobuf(key.to_protobuf());
    ASSERT_TRUE(reloaded);
    EXPECT_EQ(reloaded->public_key(), key.public_key());
    EXPECT_EQ(reloaded->to_protobuf(), key.to_protobuf());
  }
}

TEST(keys, ed25519_from_injected_randomness_is_repeatable) {
  seeded_random a(42), b(42), c(43);
  const auto first = private_key::generate_ed25519(a);
  EXPECT_EQ(first.to_protobuf(), private_key::generate_ed25519(b).to_protobuf());
  EXPECT_NE(first.public_key(), private_key::generate_ed25519(c).public_key());
}

TEST(keys, ed25519_signs_empty_message) {
  auto key = private_key::generate_ed25519();
  auto signature = key.sign({});
  ASSERT_TRUE(signature);
  EXPECT_EQ(signature->size(), 64u);
  EXPECT_TRUE(key.public_key().verify({}, *signature));
}

// --- secp256k1 ---------------------------------------------------------------

TEST(keys, secp256k1_signatures_use_low_s) {
  auto key = private_key::from_protobuf(hex(test_vectors::secp256k1_private)).value();
  EC_GROUP* group = EC_GROUP_new_by_curve_name(NID_secp256k1);
  ASSERT_NE(group, nullptr);
  BIGNUM* half = BN_dup(EC_GROUP_get0_order(group));
  BN_rshift1(half, half);
  for (int i = 0; i < 32; ++i) {
    const bytes message = to_bytes("message " + std::to_string(i));
    const bytes signature = key.sign(message).value();
    EXPECT_TRUE(key.public_key().verify(message, signature));
    const unsigned char* cursor = signature.data();
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(signature.size()));
    ASSERT_NE(sig, nullptr);
    EXPECT_EQ(cursor, signature.data() + signature.size());
    EXPECT_LE(BN_cmp(ECDSA_SIG_get0_s(sig), half), 0) << i;
    ECDSA_SIG_free(sig);
  }
  BN_free(half);
  EC_GROUP_free(group);
}

TEST(keys, secp256k1_public_key_must_be_a_compressed_curve_point) {
  const bytes pb = hex(test_vectors::secp256k1_public);
  const bytes good(pb.begin() + 4, pb.end());
  ASSERT_EQ(good.size(), 33u);
  EXPECT_TRUE(public_key::from_raw(key_type::secp256k1, good));

  bytes wrong_prefix = good;
  wrong_prefix[0] = 0x04;
  EXPECT_EQ(public_key::from_raw(key_type::secp256k1, wrong_prefix).error(), errc::invalid_key);
  EXPECT_EQ(public_key::from_raw(key_type::secp256k1, bytes(good.begin(), good.end() - 1)).error(),
            errc::invalid_key);
  // x = p (>= field size) and x with no point on the curve.
  bytes x_is_p = hex("02fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f");
  EXPECT_EQ(public_key::from_raw(key_type::secp256k1, x_is_p).error(), errc::invalid_key);
  bool rejected_one = false;
  for (std::uint8_t x = 1; x < 16 && !rejected_one; ++x) {
    bytes candidate(33, 0);
    candidate[0] = 0x02;
    candidate[32] = x;
    rejected_one = !public_key::from_raw(key_type::secp256k1, candidate);
  }
  EXPECT_TRUE(rejected_one);  // about half of all x have no curve point
}

TEST(keys, secp256k1_private_scalar_range) {
  EXPECT_EQ(private_key::from_protobuf(key_message(2, bytes(32, 0))).error(), errc::invalid_key);
  // n itself and n + 1 are out of range; n - 1 is the largest valid scalar.
  const bytes n = hex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
  EXPECT_EQ(private_key::from_protobuf(key_message(2, n)).error(), errc::invalid_key);
  bytes n_minus_1 = n;
  n_minus_1.back() -= 1;
  EXPECT_TRUE(private_key::from_protobuf(key_message(2, n_minus_1)));
  EXPECT_EQ(private_key::from_protobuf(key_message(2, bytes(31, 1))).error(), errc::invalid_key);
  // Scalar 1: the public key is the generator point.
  bytes one(32, 0);
  one.back() = 1;
  auto key = private_key::from_protobuf(key_message(2, one));
  ASSERT_TRUE(key);
  EXPECT_EQ(to_hex(key->public_key().raw()), "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
}

// --- ECDSA and RSA -------------------------------------------------------------

bytes spki_of(EVP_PKEY* pkey) {
  unsigned char* out = nullptr;
  const int length = i2d_PUBKEY(pkey, &out);
  bytes result(out, out + length);
  OPENSSL_free(out);
  return result;
}

TEST(keys, ecdsa_public_key_checks) {
  const bytes pb = hex(test_vectors::ecdsa_public);
  const bytes spki(pb.begin() + 4, pb.end());
  EXPECT_TRUE(public_key::from_raw(key_type::ecdsa, spki));
  // Trailing garbage, truncation, and a P-256 key presented as RSA.
  bytes longer = spki;
  longer.push_back(0);
  EXPECT_EQ(public_key::from_raw(key_type::ecdsa, longer).error(), errc::invalid_key);
  EXPECT_EQ(public_key::from_raw(key_type::ecdsa, bytes(spki.begin(), spki.end() - 1)).error(), errc::invalid_key);
  EXPECT_EQ(public_key::from_raw(key_type::rsa, spki).error(), errc::invalid_key);
  EXPECT_EQ(public_key::from_raw(key_type::ecdsa, {}).error(), errc::invalid_key);

  // A secp256k1 SPKI is not an ECDSA key go-libp2p would accept.
  EVP_PKEY* k1 = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp256k1");
  ASSERT_NE(k1, nullptr);
  EXPECT_EQ(public_key::from_raw(key_type::ecdsa, spki_of(k1)).error(), errc::invalid_key);
  EVP_PKEY_free(k1);
  // P-384 is accepted (SHA-256 signatures regardless of curve).
  EVP_PKEY* p384 = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
  ASSERT_NE(p384, nullptr);
  EXPECT_TRUE(public_key::from_raw(key_type::ecdsa, spki_of(p384)));
  EVP_PKEY_free(p384);
}

TEST(keys, rsa_key_size_limits) {
  // go-libp2p's bounds: 2048 <= bits <= 8192.
  EVP_PKEY* small = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(1024));
  ASSERT_NE(small, nullptr);
  EXPECT_EQ(public_key::from_raw(key_type::rsa, spki_of(small)).error(), errc::invalid_key);
  EVP_PKEY_free(small);

  const bytes pb = hex(test_vectors::rsa_public);
  auto key = public_key::from_protobuf(pb);
  ASSERT_TRUE(key);
  // RSA's Type is 0 and is written anyway.
  ASSERT_GE(pb.size(), 2u);
  EXPECT_EQ(key->to_protobuf()[0], 0x08);
  EXPECT_EQ(key->to_protobuf()[1], 0x00);
}

TEST(keys, rsa_private_key_must_be_consistent) {
  bytes pb = hex(test_vectors::rsa_private);
  // 08 00 12 ae 12 | 30 82 09 2a 02 01 00 02 82 02 01 00 <modulus...>: flip a bit of
  // the modulus, which then no longer matches the primes.
  ASSERT_EQ(to_hex(bytes_view(pb).first(17)), "080012ae123082092a0201000282020100");
  pb[40] ^= 0x01;
  EXPECT_EQ(private_key::from_protobuf(pb).error(), errc::invalid_key);

  // Same for ECDSA: a stored public point (a valid one, of another key) that is not
  // the private scalar's. The SEC1 key ends with 03 42 00 04 <x> <y>.
  bytes ec = hex(test_vectors::ecdsa_private);
  EVP_PKEY* other = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  ASSERT_NE(other, nullptr);
  unsigned char point[65];
  std::size_t point_length = 0;
  ASSERT_EQ(EVP_PKEY_get_octet_string_param(other, "pub", point, sizeof point, &point_length), 1);
  EVP_PKEY_free(other);
  ASSERT_EQ(point_length, 65u);
  ASSERT_EQ(ec[ec.size() - 65], 0x04);
  std::copy(point, point + 65, ec.end() - 65);
  EXPECT_EQ(private_key::from_protobuf(ec).error(), errc::invalid_key);
}

// --- protobuf framing --------------------------------------------------------

TEST(keys, protobuf_framing_errors) {
  const bytes ed = hex(test_vectors::ed25519_public);
  const bytes data(ed.begin() + 4, ed.end());

  EXPECT_EQ(public_key::from_protobuf(key_message(4, data)).error(), errc::unsupported_key_type);
  EXPECT_EQ(public_key::from_protobuf(key_message(1u << 20, data)).error(), errc::unsupported_key_type);

  protobuf::writer only_data;
  only_data.add_bytes(2, data);
  EXPECT_EQ(public_key::from_protobuf(only_data.data()).error(), errc::malformed);

  protobuf::writer only_type;
  only_type.add_varint(1, 1);
  EXPECT_EQ(public_key::from_protobuf(only_type.data()).error(), errc::malformed);

  protobuf::writer twice;
  twice.add_varint(1, 1);
  twice.add_bytes(2, data);
  twice.add_bytes(2, data);
  EXPECT_EQ(public_key::from_protobuf(twice.data()).error(), errc::malformed);

  protobuf::writer wrong_wire_type;
  wrong_wire_type.add_bytes(1, bytes{1});
  wrong_wire_type.add_bytes(2, data);
  EXPECT_EQ(public_key::from_protobuf(wrong_wire_type.data()).error(), errc::malformed);

  EXPECT_EQ(public_key::from_protobuf(bytes(ed.begin(), ed.end() - 1)).error(), errc::truncated);
  EXPECT_FALSE(public_key::from_protobuf({}));
  EXPECT_FALSE(private_key::from_protobuf({}));
}

TEST(keys, protobuf_field_order_and_unknown_fields) {
  const bytes ed = hex(test_vectors::ed25519_public);
  const bytes data(ed.begin() + 4, ed.end());
  // Data before Type, plus an unknown field: parsed, and written back canonically.
  protobuf::writer w;
  w.add_bytes(2, data);
  w.add_varint(7, 42);
  w.add_varint(1, 1);
  auto key = public_key::from_protobuf(w.data());
  ASSERT_TRUE(key);
  EXPECT_EQ(key->to_protobuf(), ed);
}

TEST(keys, to_string_names) {
  EXPECT_STREQ(to_string(key_type::rsa), "RSA");
  EXPECT_STREQ(to_string(key_type::ed25519), "Ed25519");
  EXPECT_STREQ(to_string(key_type::secp256k1), "Secp256k1");
  EXPECT_STREQ(to_string(key_type::ecdsa), "ECDSA");
}

TEST(keys, default_constructed_key_verifies_nothing) {
  public_key none;
  EXPECT_FALSE(none.verify(to_bytes("m"), bytes(64)));
  private_key nothing;
  EXPECT_FALSE(nothing.sign(to_bytes("m")));
}

}  // namespace
}  // namespace p2p::crypto
