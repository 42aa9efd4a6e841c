// Noise CipherState (Noise Protocol Framework rev 34, section 5.1) for ChaChaPoly:
// a 32-byte key and a 64-bit nonce; the 96-bit ChaCha20-Poly1305 nonce is 4 zero
// bytes followed by the counter in little-endian.
//
// One EVP_CIPHER_CTX is created with the key and reused for every message (only the
// nonce is re-set), so encrypting or decrypting a frame does not allocate.
// Sans-IO; no Asio. Never throws except std::bad_alloc from the constructor.
#pragma once

#include "p2p/core/bytes.hpp"
#include "p2p/core/error.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <span>

namespace p2p::noise {

inline constexpr std::size_t tag_length = 16;
inline constexpr std::size_t key_length = 32;

using cipher_key = std::array<std::uint8_t, key_length>;

class cipher_state {
 public:
  cipher_state() = default;  // HasKey() == false: encrypt/decrypt pass bytes through
  explicit cipher_state(const cipher_key& key);

  cipher_state(cipher_state&&) noexcept = default;
  cipher_state& operator=(cipher_state&&) noexcept = default;

  bool has_key() const noexcept { return ctx_ != nullptr; }
  std::uint64_t nonce() const noexcept { return nonce_; }
  // SetNonce(), for tests of nonce exhaustion.
  void set_nonce(std::uint64_t n) noexcept { nonce_ = n; }

  // EncryptWithAd: writes plaintext.size() + 16 bytes to `out` (which must be that
  // large; it may alias `plaintext` exactly for in-place use). Without a key, copies
  // the plaintext. Errors: resource_limit when the nonce is exhausted (n reached
  // 2^64-1; the session must end), invalid_argument when `out` is too small,
  // handshake_failed if OpenSSL itself fails (not expected).
  result<std::size_t> encrypt(bytes_view ad, bytes_view plaintext, mutable_bytes_view out) noexcept;
  // The same over the concatenation of `parts` (a gather write, so the caller need not
  // join them first); one message, one nonce. `out` may alias only a single part
  // exactly; with several parts it must not overlap them. Same errors.
  result<std::size_t> encrypt_parts(bytes_view ad, std::span<const bytes_view> parts, mutable_bytes_view out) noexcept;
  // DecryptWithAd: writes ciphertext.size() - 16 bytes to `out` (may alias exactly).
  // Errors: decrypt_failed for a bad tag or a ciphertext shorter than the tag (the
  // nonce is not advanced then), resource_limit when the nonce is exhausted.
  result<std::size_t> decrypt(bytes_view ad, bytes_view ciphertext, mutable_bytes_view out) noexcept;

 private:
  struct ctx_deleter {
    void operator()(void* ctx) const noexcept;
  };
  bool set_nonce_in_ctx(int encrypting) noexcept;

  std::unique_ptr<void, ctx_deleter> ctx_;  // EVP_CIPHER_CTX, keyed; null when no key
  std::uint64_t nonce_ = 0;
};

}  // namespace p2p::noise
