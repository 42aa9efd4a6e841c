#include "p2p/core/keys.hpp"

#include "p2p/core/protobuf.hpp"
#include "p2p/core/random.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <stdexcept>

namespace p2p::crypto {

struct public_key::handle {
  explicit handle(EVP_PKEY* owned) noexcept : pkey(owned) {}
  handle(const handle&) = delete;
  handle& operator=(const handle&) = delete;
  ~handle() { EVP_PKEY_free(pkey); }
  EVP_PKEY* pkey;
};

struct private_key::handle {
  explicit handle(EVP_PKEY* owned) noexcept : pkey(owned) {}
  handle(const handle&) = delete;
  handle& operator=(const handle&) = delete;
  ~handle() { EVP_PKEY_free(pkey); }
  EVP_PKEY* pkey;
};

namespace {

struct pkey_deleter {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct pkey_ctx_deleter {
  void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
};
struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
struct bn_deleter {
  void operator()(BIGNUM* p) const noexcept { BN_free(p); }
};
struct bn_ctx_deleter {
  void operator()(BN_CTX* p) const noexcept { BN_CTX_free(p); }
};
struct group_deleter {
  void operator()(EC_GROUP* p) const noexcept { EC_GROUP_free(p); }
};
struct point_deleter {
  void operator()(EC_POINT* p) const noexcept { EC_POINT_free(p); }
};
struct ecdsa_sig_deleter {
  void operator()(ECDSA_SIG* p) const noexcept { ECDSA_SIG_free(p); }
};
struct param_bld_deleter {
  void operator()(OSSL_PARAM_BLD* p) const noexcept { OSSL_PARAM_BLD_free(p); }
};
struct params_deleter {
  void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); }
};
struct openssl_deleter {
  void operator()(unsigned char* p) const noexcept { OPENSSL_free(p); }
};

using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;
using pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_deleter>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_deleter>;
using bn_ptr = std::unique_ptr<BIGNUM, bn_deleter>;
using bn_ctx_ptr = std::unique_ptr<BN_CTX, bn_ctx_deleter>;
using group_ptr = std::unique_ptr<EC_GROUP, group_deleter>;
using point_ptr = std::unique_ptr<EC_POINT, point_deleter>;
using ecdsa_sig_ptr = std::unique_ptr<ECDSA_SIG, ecdsa_sig_deleter>;
using param_bld_ptr = std::unique_ptr<OSSL_PARAM_BLD, param_bld_deleter>;
using params_ptr = std::unique_ptr<OSSL_PARAM, params_deleter>;
using openssl_bytes_ptr = std::unique_ptr<unsigned char, openssl_deleter>;

constexpr std::size_t ed25519_key_length = 32;
constexpr std::size_t secp256k1_public_length = 33;
constexpr std::size_t secp256k1_private_length = 32;
// go-libp2p's bounds: smaller keys are too weak to trust, bigger ones make a
// handshake an easy CPU-exhaustion attack.
constexpr int min_rsa_bits = 2048;
constexpr int max_rsa_bits = 8192;

// OpenSSL records failures in a per-thread queue; a failed parse of untrusted bytes
// must not leave entries behind for the next unrelated OpenSSL caller to trip over.
struct clear_errors_on_exit {
  ~clear_errors_on_exit() { ERR_clear_error(); }
};

// OpenSSL may dereference the pointer even for zero-length input.
const unsigned char* data_or_dummy(bytes_view data) noexcept {
  static const unsigned char dummy = 0;
  return data.empty() ? &dummy : data.data();
}

bytes der_public(EVP_PKEY* pkey) {
  unsigned char* out = nullptr;
  const int length = i2d_PUBKEY(pkey, &out);
  if (length <= 0) return {};
  openssl_bytes_ptr owner(out);
  return bytes(out, out + length);
}

bytes der_private(EVP_PKEY* pkey) {
  unsigned char* out = nullptr;
  const int length = i2d_PrivateKey(pkey, &out);
  if (length <= 0) return {};
  openssl_bytes_ptr owner(out);
  return bytes(out, out + length);
}

std::optional<std::string> group_name(EVP_PKEY* pkey) {
  char name[64];
  std::size_t length = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &length) != 1)
    return std::nullopt;
  return std::string(name, length);
}

// go-libp2p accepts ECDSA keys on the NIST curves it knows; signatures always hash
// with SHA-256 whatever the curve.
bool is_supported_ecdsa_curve(EVP_PKEY* pkey) {
  const auto name = group_name(pkey);
  return name && (*name == SN_X9_62_prime256v1 || *name == SN_secp384r1 || *name == SN_secp521r1);
}

bool is_supported_rsa(EVP_PKEY* pkey) {
  if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) return false;
  const int bits = EVP_PKEY_get_bits(pkey);
  return bits >= min_rsa_bits && bits <= max_rsa_bits;
}

// Signs a probe with the private half and verifies it with the public half: a
// corrupt key file fails here instead of in every later handshake. (OpenSSL's
// EVP_PKEY_pairwise_check tests RSA primes for primality, which takes hundreds of
// milliseconds for a 4096-bit key.)
bool pairwise_consistent(EVP_PKEY* pkey) {
  static constexpr unsigned char probe[] = "libp2p private key self-test";
  md_ctx_ptr sign_ctx(EVP_MD_CTX_new());
  if (!sign_ctx || EVP_DigestSignInit(sign_ctx.get(), nullptr, EVP_sha256(), nullptr, pkey) != 1) return false;
  std::size_t length = 0;
  if (EVP_DigestSign(sign_ctx.get(), nullptr, &length, probe, sizeof probe) != 1) return false;
  bytes signature(length);
  if (EVP_DigestSign(sign_ctx.get(), signature.data(), &length, probe, sizeof probe) != 1) return false;
  md_ctx_ptr verify_ctx(EVP_MD_CTX_new());
  return verify_ctx && EVP_DigestVerifyInit(verify_ctx.get(), nullptr, EVP_sha256(), nullptr, pkey) == 1 &&
         EVP_DigestVerify(verify_ctx.get(), signature.data(), length, probe, sizeof probe) == 1;
}

// Parses a DER SubjectPublicKeyInfo and insists that it is the canonical encoding
// of the key, so that one key has exactly one protobuf form (and one peer ID).
pkey_ptr parse_spki(bytes_view der) {
  if (der.empty()) return nullptr;
  const unsigned char* cursor = der.data();
  pkey_ptr pkey(d2i_PUBKEY(nullptr, &cursor, static_cast<long>(der.size())));
  if (!pkey || cursor != der.data() + der.size()) return nullptr;
  const bytes again = der_public(pkey.get());
  if (!std::equal(again.begin(), again.end(), der.begin(), der.end())) return nullptr;
  return pkey;
}

group_ptr secp256k1_group() { return group_ptr(EC_GROUP_new_by_curve_name(NID_secp256k1)); }

// Builds an EC EVP_PKEY on secp256k1 from a public point (any octet form) and,
// for private keys, the scalar.
pkey_ptr secp256k1_from_data(bytes_view public_point, const BIGNUM* scalar) {
  param_bld_ptr builder(OSSL_PARAM_BLD_new());
  if (!builder) return nullptr;
  if (OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, SN_secp256k1, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, public_point.data(),
                                       public_point.size()) != 1)
    return nullptr;
  if (scalar && OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_PRIV_KEY, scalar) != 1) return nullptr;
  params_ptr params(OSSL_PARAM_BLD_to_param(builder.get()));
  if (!params) return nullptr;
  pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return nullptr;
  EVP_PKEY* raw = nullptr;
  const int selection = scalar ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, selection, params.get()) != 1) return nullptr;
  return pkey_ptr(raw);
}

// Compressed SEC1 encoding of `point`, or empty on failure.
bytes compress_point(const EC_GROUP* group, const EC_POINT* point, BN_CTX* bn) {
  bytes out(secp256k1_public_length);
  const std::size_t length =
      EC_POINT_point2oct(group, point, POINT_CONVERSION_COMPRESSED, out.data(), out.size(), bn);
  if (length != out.size()) return {};
  return out;
}

pkey_ptr secp256k1_public(bytes_view data) {
  if (data.size() != secp256k1_public_length || (data[0] != 0x02 && data[0] != 0x03)) return nullptr;
  const auto group = secp256k1_group();
  bn_ctx_ptr bn(BN_CTX_new());
  if (!group || !bn) return nullptr;
  point_ptr point(EC_POINT_new(group.get()));
  if (!point || EC_POINT_oct2point(group.get(), point.get(), data.data(), data.size(), bn.get()) != 1)
    return nullptr;
  // OpenSSL reduces an x coordinate >= p modulo p; only the canonical form is a key.
  const bytes again = compress_point(group.get(), point.get(), bn.get());
  if (!std::equal(again.begin(), again.end(), data.begin(), data.end())) return nullptr;
  return secp256k1_from_data(data, nullptr);
}

struct secp256k1_private_parts {
  pkey_ptr pkey;
  bytes public_point;  // compressed
};

std::optional<secp256k1_private_parts> secp256k1_private(bytes_view scalar_bytes) {
  if (scalar_bytes.size() != secp256k1_private_length) return std::nullopt;
  const auto group = secp256k1_group();
  bn_ctx_ptr bn(BN_CTX_new());
  if (!group || !bn) return std::nullopt;
  bn_ptr scalar(BN_bin2bn(scalar_bytes.data(), static_cast<int>(scalar_bytes.size()), nullptr));
  if (!scalar) return std::nullopt;
  // A private key is a scalar in [1, n-1].
  if (BN_is_zero(scalar.get()) || BN_cmp(scalar.get(), EC_GROUP_get0_order(group.get())) >= 0)
    return std::nullopt;
  point_ptr point(EC_POINT_new(group.get()));
  if (!point || EC_POINT_mul(group.get(), point.get(), scalar.get(), nullptr, nullptr, bn.get()) != 1)
    return std::nullopt;
  bytes compressed = compress_point(group.get(), point.get(), bn.get());
  if (compressed.empty()) return std::nullopt;
  auto pkey = secp256k1_from_data(compressed, scalar.get());
  if (!pkey) return std::nullopt;
  return secp256k1_private_parts{std::move(pkey), std::move(compressed)};
}

// BIP-62 wants the low-S form of a secp256k1 signature; OpenSSL may return either.
bytes secp256k1_low_s(bytes signature) {
  const unsigned char* cursor = signature.data();
  ecdsa_sig_ptr sig(d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(signature.size())));
  const auto group = secp256k1_group();
  if (!sig || !group) return signature;
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  const BIGNUM* order = EC_GROUP_get0_order(group.get());
  bn_ptr half(BN_dup(order));
  if (!half || BN_rshift1(half.get(), half.get()) != 1) return signature;
  if (BN_cmp(s, half.get()) <= 0) return signature;
  bn_ptr new_r(BN_dup(r));
  bn_ptr new_s(BN_new());
  if (!new_r || !new_s || BN_sub(new_s.get(), order, s) != 1) return signature;
  if (ECDSA_SIG_set0(sig.get(), new_r.get(), new_s.get()) != 1) return signature;
  new_r.release();
  new_s.release();
  unsigned char* out = nullptr;
  const int length = i2d_ECDSA_SIG(sig.get(), &out);
  if (length <= 0) return signature;
  openssl_bytes_ptr owner(out);
  return bytes(out, out + length);
}

// Ed25519 signs the message itself; every other type signs its SHA-256.
const EVP_MD* digest_for(key_type type) noexcept {
  return type == key_type::ed25519 ? nullptr : EVP_sha256();
}

struct key_message {
  key_type type;
  bytes_view data;
};

// Reads { Type = 1 (varint), Data = 2 (bytes) }. Both fields are required and may
// appear once; unknown fields are skipped as protobuf requires.
result<key_message> parse_key_message(bytes_view encoded) {
  protobuf::reader reader(encoded);
  std::optional<std::uint64_t> type;
  std::optional<bytes_view> data;
  while (!reader.at_end()) {
    auto field = reader.next();
    if (!field) return field.error();
    if (field->number == 1) {
      if (field->type != protobuf::wire_type::varint || type) return errc::malformed;
      type = field->integer;
    } else if (field->number == 2) {
      if (field->type != protobuf::wire_type::length_delimited || data) return errc::malformed;
      data = field->data;
    }
  }
  if (!type || !data) return errc::malformed;
  if (*type > static_cast<std::uint64_t>(key_type::ecdsa)) return errc::unsupported_key_type;
  return key_message{static_cast<key_type>(*type), *data};
}

bytes encode_key_message(key_type type, bytes_view data) {
  protobuf::writer writer;
  // Type is written even when it is 0 (RSA): the encoding must be deterministic
  // and complete.
  writer.add_varint(1, static_cast<std::uint64_t>(type));
  writer.add_bytes(2, data);
  return std::move(writer).take();
}

}  // namespace

const char* to_string(key_type type) noexcept {
  switch (type) {
    case key_type::rsa: return "RSA";
    case key_type::ed25519: return "Ed25519";
    case key_type::secp256k1: return "Secp256k1";
    case key_type::ecdsa: return "ECDSA";
  }
  return "unknown";
}

// ---- public_key -------------------------------------------------------------

result<public_key> public_key::from_protobuf(bytes_view encoded) {
  auto message = parse_key_message(encoded);
  if (!message) return message.error();
  return from_raw(message->type, message->data);
}

result<public_key> public_key::from_raw(key_type type, bytes_view data) {
  clear_errors_on_exit clear;
  pkey_ptr pkey;
  switch (type) {
    case key_type::ed25519:
      if (data.size() != ed25519_key_length) return errc::invalid_key;
      pkey.reset(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, data.data(), data.size()));
      break;
    case key_type::secp256k1:
      pkey = secp256k1_public(data);
      break;
    case key_type::ecdsa:
      pkey = parse_spki(data);
      if (pkey && (EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_EC || !is_supported_ecdsa_curve(pkey.get())))
        pkey.reset();
      break;
    case key_type::rsa:
      pkey = parse_spki(data);
      if (pkey && !is_supported_rsa(pkey.get())) pkey.reset();
      break;
    default:
      return errc::unsupported_key_type;
  }
  if (!pkey) return errc::invalid_key;
  public_key key;
  key.type_ = type;
  key.data_.assign(data.begin(), data.end());
  key.key_ = std::make_shared<handle>(pkey.release());
  return key;
}

bytes public_key::to_protobuf() const { return encode_key_message(type_, data_); }

bool public_key::verify(bytes_view message, bytes_view signature) const noexcept {
  if (!key_) return false;
  clear_errors_on_exit clear;
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, digest_for(type_), nullptr, key_->pkey) != 1) return false;
  return EVP_DigestVerify(ctx.get(), data_or_dummy(signature), signature.size(), data_or_dummy(message),
                          message.size()) == 1;
}

// ---- private_key ------------------------------------------------------------

private_key private_key::generate_ed25519() {
  pkey_ptr pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  std::array<std::uint8_t, ed25519_key_length> seed{};
  std::size_t length = seed.size();
  if (!pkey || EVP_PKEY_get_raw_private_key(pkey.get(), seed.data(), &length) != 1 || length != seed.size()) {
    ERR_clear_error();
    throw std::runtime_error("could not generate an Ed25519 key (OpenSSL failure)");
  }
  auto key = ed25519_from_seed(seed);
  OPENSSL_cleanse(seed.data(), seed.size());
  if (!key) throw std::runtime_error("could not generate an Ed25519 key (OpenSSL failure)");
  return std::move(*key);
}

private_key private_key::generate_ed25519(random& source) {
  std::array<std::uint8_t, ed25519_key_length> seed{};
  source.fill(seed);
  auto key = ed25519_from_seed(seed);
  OPENSSL_cleanse(seed.data(), seed.size());
  if (!key) throw std::runtime_error("could not derive an Ed25519 key (OpenSSL failure)");
  return std::move(*key);
}

result<private_key> private_key::ed25519_from_seed(bytes_view seed32) {
  if (seed32.size() != ed25519_key_length) return errc::invalid_key;
  clear_errors_on_exit clear;
  pkey_ptr pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed32.data(), seed32.size()));
  std::array<std::uint8_t, ed25519_key_length> public_bytes{};
  std::size_t length = public_bytes.size();
  if (!pkey || EVP_PKEY_get_raw_public_key(pkey.get(), public_bytes.data(), &length) != 1 ||
      length != public_bytes.size())
    return errc::invalid_key;
  auto pub = public_key::from_raw(key_type::ed25519, public_bytes);
  if (!pub) return pub.error();
  private_key key;
  // go-libp2p's layout: seed || public key.
  key.data_.assign(seed32.begin(), seed32.end());
  append(key.data_, public_bytes);
  key.public_key_ = std::move(*pub);
  key.key_ = std::make_shared<handle>(pkey.release());
  return key;
}

result<private_key> private_key::from_protobuf(bytes_view encoded) {
  auto message = parse_key_message(encoded);
  if (!message) return message.error();
  const bytes_view data = message->data;
  clear_errors_on_exit clear;

  switch (message->type) {
    case key_type::ed25519: {
      // 32: seed; 64: seed || public; 96: seed || public || public (old go-libp2p).
      if (data.size() != 32 && data.size() != 64 && data.size() != 96) return errc::invalid_key;
      const bytes_view seed = data.first(ed25519_key_length);
      auto key = ed25519_from_seed(seed);
      if (!key) return key.error();
      const bytes& derived = key->public_key_.raw();
      for (std::size_t offset = 32; offset < data.size(); offset += 32) {
        const bytes_view stored = data.subspan(offset, 32);
        if (!std::equal(stored.begin(), stored.end(), derived.begin(), derived.end())) return errc::invalid_key;
      }
      return key;
    }
    case key_type::secp256k1: {
      auto parts = secp256k1_private(data);
      if (!parts) return errc::invalid_key;
      auto pub = public_key::from_raw(key_type::secp256k1, parts->public_point);
      if (!pub) return pub.error();
      private_key key;
      key.data_.assign(data.begin(), data.end());
      key.public_key_ = std::move(*pub);
      key.key_ = std::make_shared<handle>(parts->pkey.release());
      return key;
    }
    case key_type::ecdsa:
    case key_type::rsa: {
      // ECDSA: SEC1 ECPrivateKey (what go-libp2p writes, despite the spec's
      // "PKIX" wording); RSA: PKCS#1 RSAPrivateKey.
      if (data.empty()) return errc::invalid_key;
      const int openssl_type = message->type == key_type::rsa ? EVP_PKEY_RSA : EVP_PKEY_EC;
      const unsigned char* cursor = data.data();
      pkey_ptr pkey(d2i_PrivateKey(openssl_type, nullptr, &cursor, static_cast<long>(data.size())));
      if (!pkey || cursor != data.data() + data.size()) return errc::invalid_key;
      if (EVP_PKEY_get_base_id(pkey.get()) != openssl_type) return errc::invalid_key;
      if (openssl_type == EVP_PKEY_RSA ? !is_supported_rsa(pkey.get()) : !is_supported_ecdsa_curve(pkey.get()))
        return errc::invalid_key;
      if (openssl_type == EVP_PKEY_EC) {
        // The public key must be written uncompressed, as go's x509 package does.
        EVP_PKEY_set_utf8_string_param(pkey.get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                       OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED);
      }
      // A stored public half that does not belong to the private half is corrupt.
      if (!pairwise_consistent(pkey.get())) return errc::invalid_key;
      auto pub = public_key::from_raw(message->type, der_public(pkey.get()));
      if (!pub) return errc::invalid_key;
      bytes canonical = der_private(pkey.get());
      if (canonical.empty()) return errc::invalid_key;
      private_key key;
      key.data_ = std::move(canonical);
      key.public_key_ = std::move(*pub);
      key.key_ = std::make_shared<handle>(pkey.release());
      return key;
    }
  }
  return errc::unsupported_key_type;
}

bytes private_key::to_protobuf() const { return encode_key_message(type(), data_); }

result<bytes> private_key::sign(bytes_view message) const {
  if (!key_) return errc::invalid_key;
  clear_errors_on_exit clear;
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, digest_for(type()), nullptr, key_->pkey) != 1)
    return errc::invalid_key;
  std::size_t length = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &length, data_or_dummy(message), message.size()) != 1)
    return errc::invalid_key;
  bytes signature(length);
  if (EVP_DigestSign(ctx.get(), signature.data(), &length, data_or_dummy(message), message.size()) != 1)
    return errc::invalid_key;
  signature.resize(length);
  if (type() == key_type::secp256k1) return secp256k1_low_s(std::move(signature));
  return signature;
}

}  // namespace p2p::crypto
