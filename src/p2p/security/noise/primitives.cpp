#include "p2p/security/noise/primitives.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace p2p::noise {

digest sha256(bytes_view data) noexcept {
  digest out{};
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &length, EVP_sha256(), nullptr);
  return out;
}

digest sha256(bytes_view first, bytes_view second) noexcept {
  digest out{};
  unsigned int length = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1) {
    EVP_DigestUpdate(ctx, first.data(), first.size());
    EVP_DigestUpdate(ctx, second.data(), second.size());
    EVP_DigestFinal_ex(ctx, out.data(), &length);
  }
  EVP_MD_CTX_free(ctx);
  return out;
}

digest hmac_sha256(bytes_view key, bytes_view data) noexcept {
  digest out{};
  unsigned int length = 0;
  // A zero-length key is legal for HMAC; OpenSSL needs a non-null pointer for it.
  static const std::uint8_t empty = 0;
  HMAC(EVP_sha256(), key.empty() ? &empty : key.data(), static_cast<int>(key.size()),
       data.empty() ? &empty : data.data(), data.size(), out.data(), &length);
  return out;
}

std::pair<digest, digest> hkdf2(const digest& chaining_key, bytes_view input_key_material) noexcept {
  const digest temp_key = hmac_sha256(chaining_key, input_key_material);
  const std::uint8_t one = 0x01;
  const digest output1 = hmac_sha256(temp_key, bytes_view(&one, 1));
  std::uint8_t second_input[hash_length + 1];
  std::copy(output1.begin(), output1.end(), second_input);
  second_input[hash_length] = 0x02;
  const digest output2 = hmac_sha256(temp_key, second_input);
  return {output1, output2};
}

struct x25519_key_pair::handle {
  EVP_PKEY* key = nullptr;
  ~handle() { EVP_PKEY_free(key); }
};

result<x25519_key_pair> x25519_key_pair::from_secret(bytes_view secret) {
  if (secret.size() != dh_length) return errc::invalid_key;
  auto h = std::make_shared<handle>();
  h->key = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, secret.data(), secret.size());
  if (!h->key) {
    ERR_clear_error();
    return errc::invalid_key;
  }
  x25519_key_pair pair;
  std::size_t length = dh_length;
  if (EVP_PKEY_get_raw_public_key(h->key, pair.public_.data(), &length) != 1 || length != dh_length)
    return errc::invalid_key;
  pair.key_ = std::move(h);
  return pair;
}

result<dh_output> x25519_key_pair::dh(bytes_view remote_public) const noexcept {
  if (!key_ || remote_public.size() != dh_length) return errc::handshake_failed;
  EVP_PKEY* peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, remote_public.data(), dh_length);
  if (!peer) {
    ERR_clear_error();
    return errc::handshake_failed;
  }
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key_->key, nullptr);
  dh_output out{};
  std::size_t length = out.size();
  // OpenSSL's X25519 derive fails on an all-zero shared secret, which is how Noise's
  // "invalid public key" case (low-order points) surfaces here.
  const bool ok = ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
                  EVP_PKEY_derive(ctx, out.data(), &length) == 1 && length == dh_length;
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(peer);
  if (!ok) {
    ERR_clear_error();  // leave no stale entries on this thread's OpenSSL error queue
    return errc::handshake_failed;
  }
  return out;
}

}  // namespace p2p::noise
