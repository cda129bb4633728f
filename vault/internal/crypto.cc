#include "vault/internal/crypto.h"

#include <sodium.h>

#include <cstring>

namespace dossier::vault::internal {

Result<SecureBuffer> DeriveKek(std::string_view passphrase, std::span<const uint8_t> salt,
                               uint64_t opslimit, size_t memlimit) {
  EnsureSodium();
  if (salt.size() != crypto_pwhash_SALTBYTES) return Corrupt("key file salt has the wrong size");
  SecureBuffer kek(kKeyBytes);
  if (crypto_pwhash(kek.data(), kek.size(), passphrase.data(), passphrase.size(), salt.data(),
                    opslimit, memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Internal("Argon2id ran out of memory (needs " + std::to_string(memlimit >> 20) +
                    " MiB)");
  }
  return kek;
}

Bytes Seal(const SecureBuffer& key, std::span<const uint8_t> plaintext, std::string_view ad) {
  EnsureSodium();
  constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  Bytes out(kNonce + plaintext.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  randombytes_buf(out.data(), kNonce);
  unsigned long long len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      out.data() + kNonce, &len, plaintext.data(), plaintext.size(),
      reinterpret_cast<const uint8_t*>(ad.data()), ad.size(), nullptr, out.data(), key.data());
  out.resize(kNonce + len);
  return out;
}

Bytes SealText(const SecureBuffer& key, std::string_view text, std::string_view ad) {
  return Seal(key, AsBytes(text), ad);
}

Result<SecureBuffer> Open(const SecureBuffer& key, std::span<const uint8_t> sealed,
                          std::string_view ad) {
  constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  constexpr size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;
  if (sealed.size() < kNonce + kTag) return Corrupt("sealed value too short");
  SecureBuffer out(sealed.size() - kNonce - kTag);
  unsigned long long len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          out.data(), &len, nullptr, sealed.data() + kNonce, sealed.size() - kNonce,
          reinterpret_cast<const uint8_t*>(ad.data()), ad.size(), sealed.data(), key.data()) != 0) {
    return Corrupt("authentication failed");
  }
  return out;
}

Result<std::string> OpenText(const SecureBuffer& key, std::span<const uint8_t> sealed,
                             std::string_view ad) {
  // Straight into the string the caller gets anyway: a SecureBuffer in between (mmap, guard
  // pages, mlock per value) made listing 10,000 names cost 300 ms, and serialised threads on
  // the process's memory map.
  constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  constexpr size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;
  if (sealed.size() < kNonce + kTag) return Corrupt("sealed value too short");
  std::string out(sealed.size() - kNonce - kTag, '\0');
  unsigned long long len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<uint8_t*>(out.data()), &len, nullptr, sealed.data() + kNonce,
          sealed.size() - kNonce, reinterpret_cast<const uint8_t*>(ad.data()), ad.size(),
          sealed.data(), key.data()) != 0) {
    return Corrupt("authentication failed");
  }
  out.resize(len);
  return out;
}

SecureBuffer DeriveSubkey(const SecureBuffer& key, uint64_t id, const char (&ctx)[9]) {
  SecureBuffer sub(kKeyBytes);
  crypto_kdf_derive_from_key(sub.data(), sub.size(), id, ctx, key.data());
  return sub;
}

Bytes Sha256(std::span<const uint8_t> data) {
  Bytes out(crypto_hash_sha256_BYTES);
  crypto_hash_sha256(out.data(), data.data(), data.size());
  return out;
}

}  // namespace dossier::vault::internal
