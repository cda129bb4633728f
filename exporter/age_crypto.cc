#include "exporter/age_crypto.h"

#include <sodium.h>

#include <cstring>
#include <initializer_list>

namespace dossier::exporter::age_internal {
namespace {

// HMAC-SHA-256 of the concatenation of `parts` under `key`; the state is wiped afterwards.
void Hmac(std::span<const uint8_t> key, std::initializer_list<std::span<const uint8_t>> parts,
          uint8_t out[crypto_auth_hmacsha256_BYTES]) {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, key.data(), key.size());
  for (auto part : parts) crypto_auth_hmacsha256_update(&state, part.data(), part.size());
  crypto_auth_hmacsha256_final(&state, out);
  sodium_memzero(&state, sizeof state);
}

}  // namespace

SecureBuffer Hkdf(std::span<const uint8_t> salt, std::span<const uint8_t> ikm,
                  std::string_view info) {
  // Extract: PRK = HMAC(salt, IKM); an empty salt is HashLen zero bytes, which HMAC pads to
  // the same key as no bytes at all. Expand: one block is 32 bytes, T(1) = HMAC(PRK, info || 1).
  SecureBuffer prk(crypto_auth_hmacsha256_BYTES);
  Hmac(salt, {ikm}, prk.data());
  SecureBuffer okm(kKeySize);
  static constexpr uint8_t kCounter = 1;
  Hmac(prk.span(), {AsBytes(info), {&kCounter, 1}}, okm.data());
  return okm;
}

std::array<uint8_t, 12> ChunkNonce(uint64_t index, bool last) {
  std::array<uint8_t, 12> nonce{};
  for (int i = 10; i >= 3; --i) {  // the top three counter bytes stay 0 below 2^64 chunks
    nonce[i] = static_cast<uint8_t>(index & 0xFF);
    index >>= 8;
  }
  nonce[11] = last ? 1 : 0;
  return nonce;
}

namespace {

SecureBuffer WrapKey(std::span<const uint8_t> shared, std::span<const uint8_t> share,
                     std::span<const uint8_t> recipient) {
  std::array<uint8_t, 2 * kKeySize> salt{};
  std::memcpy(salt.data(), share.data(), kKeySize);
  std::memcpy(salt.data() + kKeySize, recipient.data(), kKeySize);
  return Hkdf(salt, shared, kX25519Info);
}

constexpr std::array<uint8_t, crypto_aead_chacha20poly1305_ietf_NPUBBYTES> kZeroNonce{};

}  // namespace

Result<X25519Stanza> WrapFileKey(std::span<const uint8_t> file_key,
                                 std::span<const uint8_t> recipient) {
  EnsureSodium();
  X25519Stanza stanza;
  SecureBuffer ephemeral = SecureBuffer::Random(crypto_scalarmult_SCALARBYTES);
  SecureBuffer shared(crypto_scalarmult_BYTES);
  if (crypto_scalarmult_base(stanza.share.data(), ephemeral.data()) != 0 ||
      crypto_scalarmult(shared.data(), ephemeral.data(), recipient.data()) != 0) {
    return Internal("age: X25519 with the recipient's key gave no shared secret");
  }
  SecureBuffer wrap_key = WrapKey(shared.span(), stanza.share, recipient);
  unsigned long long body_len = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(stanza.body.data(), &body_len, file_key.data(),
                                            file_key.size(), nullptr, 0, nullptr, kZeroNonce.data(),
                                            wrap_key.data());
  return stanza;
}

Result<std::optional<SecureBuffer>> UnwrapFileKey(std::span<const uint8_t> identity,
                                                  std::span<const uint8_t> share,
                                                  std::span<const uint8_t> body) {
  EnsureSodium();
  SecureBuffer shared(crypto_scalarmult_BYTES);
  if (crypto_scalarmult(shared.data(), identity.data(), share.data()) != 0) {
    return Corrupt("an X25519 stanza's share is a low-order point (no shared secret)");
  }
  std::array<uint8_t, kKeySize> own_public{};
  crypto_scalarmult_base(own_public.data(), identity.data());
  SecureBuffer wrap_key = WrapKey(shared.span(), share, own_public);
  SecureBuffer file_key(kFileKeySize);
  unsigned long long len = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(file_key.data(), &len, nullptr, body.data(),
                                                body.size(), nullptr, 0, kZeroNonce.data(),
                                                wrap_key.data()) != 0 ||
      len != kFileKeySize) {
    return std::optional<SecureBuffer>();
  }
  return std::optional<SecureBuffer>(std::move(file_key));
}

std::array<uint8_t, kKeySize> HeaderMac(std::span<const uint8_t> file_key,
                                        std::string_view header) {
  SecureBuffer key = Hkdf({}, file_key, "header");
  std::array<uint8_t, kKeySize> mac{};
  Hmac(key.span(), {AsBytes(header)}, mac.data());
  return mac;
}

SecureBuffer PayloadKey(std::span<const uint8_t> file_key, std::span<const uint8_t> nonce) {
  return Hkdf(nonce, file_key, "payload");
}

}  // namespace dossier::exporter::age_internal
