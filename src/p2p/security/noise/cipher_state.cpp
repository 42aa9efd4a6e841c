#include "p2p/security/noise/cipher_state.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <cstring>
#include <limits>
#include <new>

namespace p2p::noise {
namespace {

// The maximum nonce is reserved by the Noise spec; reaching it ends the session.
constexpr std::uint64_t max_nonce = std::numeric_limits<std::uint64_t>::max();

const EVP_CIPHER* chacha20_poly1305() noexcept {
  // Fetch once: EVP_chacha20_poly1305() would make OpenSSL 3 look up the provider
  // implementation on every (re)initialisation.
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
  return cipher;
}

}  // namespace

void cipher_state::ctx_deleter::operator()(void* ctx) const noexcept {
  EVP_CIPHER_CTX_free(static_cast<EVP_CIPHER_CTX*>(ctx));
}

cipher_state::cipher_state(const cipher_key& key) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (!ctx) throw std::bad_alloc();
  ctx_.reset(ctx);
  // Key the context once; every message then only sets its nonce. The direction is
  // chosen per message (EVP_CipherInit_ex's last argument).
  if (!chacha20_poly1305() || EVP_CipherInit_ex(ctx, chacha20_poly1305(), nullptr, key.data(), nullptr, 1) != 1)
    throw std::bad_alloc();
}

bool cipher_state::set_nonce_in_ctx(int encrypting) noexcept {
  std::uint8_t iv[12] = {};
  for (int i = 0; i < 8; ++i) iv[4 + i] = static_cast<std::uint8_t>(nonce_ >> (8 * i));
  return EVP_CipherInit_ex(static_cast<EVP_CIPHER_CTX*>(ctx_.get()), nullptr, nullptr, nullptr, iv, encrypting) == 1;
}

result<std::size_t> cipher_state::encrypt(bytes_view ad, bytes_view plaintext, mutable_bytes_view out) noexcept {
  return encrypt_parts(ad, std::span<const bytes_view>(&plaintext, 1), out);
}

result<std::size_t> cipher_state::encrypt_parts(bytes_view ad, std::span<const bytes_view> parts,
                                                mutable_bytes_view out) noexcept {
  std::size_t plain = 0;
  for (const bytes_view part : parts) plain += part.size();
  const std::size_t total = plain + (has_key() ? tag_length : 0);
  if (out.size() < total) return errc::invalid_argument;
  if (!has_key()) {
    std::size_t at = 0;
    for (const bytes_view part : parts) {
      if (!part.empty() && out.data() + at != part.data()) std::memmove(out.data() + at, part.data(), part.size());
      at += part.size();
    }
    return plain;
  }
  if (nonce_ == max_nonce) return errc::resource_limit;
  auto* ctx = static_cast<EVP_CIPHER_CTX*>(ctx_.get());
  int length = 0;
  if (!set_nonce_in_ctx(1)) return errc::handshake_failed;
  if (!ad.empty() && EVP_EncryptUpdate(ctx, nullptr, &length, ad.data(), static_cast<int>(ad.size())) != 1)
    return errc::handshake_failed;
  // ChaCha20-Poly1305 is a stream cipher: feeding the parts one by one gives the same
  // ciphertext and tag as feeding their concatenation.
  std::size_t at = 0;
  for (const bytes_view part : parts) {
    if (part.empty()) continue;
    if (EVP_EncryptUpdate(ctx, out.data() + at, &length, part.data(), static_cast<int>(part.size())) != 1)
      return errc::handshake_failed;
    at += static_cast<std::size_t>(length);
  }
  if (EVP_EncryptFinal_ex(ctx, out.data() + at, &length) != 1) return errc::handshake_failed;
  if (at + static_cast<std::size_t>(length) != plain) return errc::handshake_failed;
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, tag_length, out.data() + plain) != 1)
    return errc::handshake_failed;
  ++nonce_;
  return total;
}

result<std::size_t> cipher_state::decrypt(bytes_view ad, bytes_view ciphertext, mutable_bytes_view out) noexcept {
  if (!has_key()) {
    if (out.size() < ciphertext.size()) return errc::invalid_argument;
    if (!ciphertext.empty() && out.data() != ciphertext.data())
      std::memmove(out.data(), ciphertext.data(), ciphertext.size());
    return ciphertext.size();
  }
  if (ciphertext.size() < tag_length) return errc::decrypt_failed;
  const std::size_t plain = ciphertext.size() - tag_length;
  if (out.size() < plain) return errc::invalid_argument;
  if (nonce_ == max_nonce) return errc::resource_limit;
  auto* ctx = static_cast<EVP_CIPHER_CTX*>(ctx_.get());
  // The tag is copied first: decrypting in place overwrites nothing past `plain`, but
  // OpenSSL wants the expected tag set before Final.
  std::uint8_t tag[tag_length];
  std::memcpy(tag, ciphertext.data() + plain, tag_length);
  int length = 0;
  if (!set_nonce_in_ctx(0)) return errc::decrypt_failed;
  if (!ad.empty() && EVP_DecryptUpdate(ctx, nullptr, &length, ad.data(), static_cast<int>(ad.size())) != 1)
    return errc::decrypt_failed;
  if (plain > 0 && EVP_DecryptUpdate(ctx, out.data(), &length, ciphertext.data(), static_cast<int>(plain)) != 1)
    return errc::decrypt_failed;
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, tag_length, tag) != 1) return errc::decrypt_failed;
  if (EVP_DecryptFinal_ex(ctx, out.data() + plain, &length) != 1) {
    // Never hand out unauthenticated plaintext.
    if (plain > 0) std::memset(out.data(), 0, plain);
    ERR_clear_error();
    return errc::decrypt_failed;
  }
  ++nonce_;
  return plain;
}

}  // namespace p2p::noise
