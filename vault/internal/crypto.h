// Crypto primitives of the vault, all libsodium. Private to vault/. Formats in doc/FORMAT.md.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/encoding.h"
#include "common/secure_buffer.h"
#include "common/status.h"

namespace dossier::vault::internal {

inline constexpr size_t kKeyBytes = 32;

// Argon2id13 → 32-byte key-encryption key.
Result<SecureBuffer> DeriveKek(std::string_view passphrase, std::span<const uint8_t> salt,
                               uint64_t opslimit, size_t memlimit);

// XChaCha20-Poly1305-IETF: returns nonce(24) || ciphertext || tag(16). `ad` binds the
// ciphertext to where it lives (a row id, an object id) so a moved value fails to open.
Bytes Seal(const SecureBuffer& key, std::span<const uint8_t> plaintext, std::string_view ad);
Bytes SealText(const SecureBuffer& key, std::string_view text, std::string_view ad);
// kCorrupt when the tag does not verify (wrong key, modified or moved ciphertext).
Result<SecureBuffer> Open(const SecureBuffer& key, std::span<const uint8_t> sealed,
                          std::string_view ad);
Result<std::string> OpenText(const SecureBuffer& key, std::span<const uint8_t> sealed,
                             std::string_view ad);

// crypto_kdf subkey `id` of a 32-byte key; ctx is exactly 8 characters.
SecureBuffer DeriveSubkey(const SecureBuffer& key, uint64_t id, const char (&ctx)[9]);

// SHA-256.
Bytes Sha256(std::span<const uint8_t> data);

}  // namespace dossier::vault::internal
