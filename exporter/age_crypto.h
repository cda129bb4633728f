// The primitives of age v1 shared by AgeWriter and AgeReader (exporter/age.h): HKDF-SHA-256 on
// libsodium's HMAC-SHA-256, the STREAM chunk nonce, the X25519 stanza's key
// wrapping, and the header MAC. Private to exporter/.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/encoding.h"
#include "common/secure_buffer.h"
#include "common/status.h"

namespace dossier::exporter::age_internal {

inline constexpr std::string_view kVersionLine = "age-encryption.org/v1";
inline constexpr std::string_view kX25519Info = "age-encryption.org/v1/X25519";
inline constexpr size_t kKeySize = 32;           // X25519 keys, derived keys, the header MAC
inline constexpr size_t kFileKeySize = 16;       // the file key
inline constexpr size_t kPayloadNonceSize = 16;  // after the header
inline constexpr size_t kColumns = 64;           // stanza bodies are wrapped here

// HKDF-SHA-256 (RFC 5869) with 32 bytes of output: Extract with `salt`, Expand with `info`.
SecureBuffer Hkdf(std::span<const uint8_t> salt, std::span<const uint8_t> ikm,
                  std::string_view info);

// The 12-byte nonce of STREAM chunk `index`: 11-byte big-endian counter, then 1 for the last.
std::array<uint8_t, 12> ChunkNonce(uint64_t index, bool last);

// The X25519 stanza for `recipient`: a fresh ephemeral secret (secure memory, wiped), its
// share, and the file key sealed under HKDF(share || recipient, shared secret). kInternal
// when the recipient is a low-order point (ParseAgeRecipient refuses those).
struct X25519Stanza {
  std::array<uint8_t, kKeySize> share{};
  std::array<uint8_t, kFileKeySize + 16> body{};
};
Result<X25519Stanza> WrapFileKey(std::span<const uint8_t> file_key,
                                 std::span<const uint8_t> recipient);

// Opens a stanza's body with an identity's scalar: the file key, or nullopt when the body is
// not sealed for this identity. kCorrupt when the share is a low-order point (shared secret
// all zero), which the age specification says to abort on.
Result<std::optional<SecureBuffer>> UnwrapFileKey(std::span<const uint8_t> identity,
                                                  std::span<const uint8_t> share,
                                                  std::span<const uint8_t> body);

// HMAC-SHA-256 under HKDF(empty, file key, "header") of `header` (up to and including `---`).
std::array<uint8_t, kKeySize> HeaderMac(std::span<const uint8_t> file_key, std::string_view header);

// The payload key: HKDF(nonce, file key, "payload").
SecureBuffer PayloadKey(std::span<const uint8_t> file_key, std::span<const uint8_t> nonce);

}  // namespace dossier::exporter::age_internal
