// age v1 encryption (https://age-encryption.org/v1) for export parts: X25519 recipients only,
// written and read as streams, so that `age -d -i key.txt part.zip.age` opens what Dossier
// writes and Dossier reads what `age -r age1…` writes.
//
//   DOSSIER_ASSIGN_OR_RETURN(AgeRecipient r, ParseAgeRecipient("age1…"));
//   std::vector<AgeRecipient> recipients = {r};
//   DOSSIER_ASSIGN_OR_RETURN(auto writer, AgeWriter::Create(file_sink, recipients));
//   DOSSIER_RETURN_IF_ERROR(writer->Write(zip_bytes));   // any number of times
//   DOSSIER_RETURN_IF_ERROR(writer->Finish());
//   AgeFileKey key = writer->ReadBackKey();                // to verify what was written
//   AgeReader reader = AgeReader::WithFileKey(check_sink, key);
//   DOSSIER_RETURN_IF_ERROR(reader.ReadAll(part_file));   // Write()… + Finish()
//
// The crypto is libsodium's: X25519 (crypto_scalarmult), ChaCha20-Poly1305 IETF, and
// HKDF-SHA-256 built on its HMAC-SHA-256. Every secret (file key, ephemeral X25519 secret,
// identity, derived keys, the plaintext chunk) lives in sodium_malloc memory (guard pages,
// mlock'd) and is wiped when its owner goes. No message carries a secret or plaintext; an
// identity's text is never repeated in an error.
//
// Layout of what AgeWriter writes (doc/FORMAT.md, "age parts"):
//   age-encryption.org/v1\n                               22 bytes
//   per recipient: -> X25519 <share, 43 chars>\n          54 bytes
//                  <wrapped file key, 43 chars>\n         44 bytes
//   --- <header MAC, 43 chars>\n                          48 bytes
//   payload nonce                                         16 bytes
//   STREAM chunks of 64 KiB plaintext + 16-byte tag, the last one flagged (and short, or
//   empty only when the whole payload is)
//
// Thread-safety: none; each object is used by one thread at a time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/file_io.h"
#include "common/secure_buffer.h"
#include "common/status.h"

namespace dossier::exporter {

inline constexpr size_t kAgeChunkSize = 64 * 1024;  // plaintext bytes per STREAM chunk
inline constexpr size_t kAgeTagSize = 16;           // Poly1305 tag after each chunk

// An X25519 recipient: the 32-byte public key of an `age1…` line.
struct AgeRecipient {
  std::array<uint8_t, 32> public_key{};
  // The canonical `age1…` text (lower-case Bech32, HRP "age").
  std::string ToString() const;
  bool operator==(const AgeRecipient&) const = default;
};

// "age1" + 58 lower-case Bech32 characters (BIP173 Bech32, not Bech32m) holding a 32-byte
// key, as `age-keygen -y key.txt` prints it; no surrounding white space. Anything else is
// kInvalidArgument, exactly
//   not an age recipient: "TEXT" (REASON); an age recipient is the age1… line that
//   `age-keygen -y KEYFILE` prints
// with TEXT as given (bytes outside printable ASCII as \xNN) and REASON one of: it is empty /
// contains white space / is an ssh key… / is not all lower case / is a plugin or post-quantum
// recipient (HRP) / does not start with age1 / has a character outside Bech32's alphabet /
// is too short to hold a checksum / its checksum does not match… / holds N bytes, not the 32
// of an X25519 key / its data is not canonical Bech32 / is not a usable X25519 key (a
// low-order point).
Result<AgeRecipient> ParseAgeRecipient(std::string_view text);

// An X25519 identity (secret key). Move-only; the scalar lives in secure memory.
class AgeIdentity {
 public:
  AgeRecipient Recipient() const;  // its public key

 private:
  friend Result<AgeIdentity> ParseAgeIdentity(std::string_view text);
  friend class AgeReader;
  explicit AgeIdentity(SecureBuffer scalar) : scalar_(std::move(scalar)) {}
  SecureBuffer scalar_;
};

// "AGE-SECRET-KEY-1" + 58 upper-case Bech32 characters, the key line of an age-keygen key
// file (comment lines are the caller's to skip). kInvalidArgument saying what is wrong, which
// never repeats the text (it is a secret).
Result<AgeIdentity> ParseAgeIdentity(std::string_view text);

// The 16-byte file key of one age file, in secure memory. Move-only.
class AgeFileKey {
 public:
  static constexpr size_t kSize = 16;

 private:
  friend class AgeWriter;
  friend class AgeReader;
  explicit AgeFileKey(SecureBuffer key) : key_(std::move(key)) {}
  SecureBuffer key_;
};

// The exact size of the age file AgeWriter writes for `plain_size` bytes to `recipients`
// X25519 recipients (every header line has a fixed length):
//   22 + 98 × recipients + 48 + 16 + plain_size + 16 × max(1, ⌈plain_size / 64 KiB⌉).
uint64_t AgeEncryptedSize(uint64_t plain_size, size_t recipients);

// Encrypts a stream to age v1. Create() draws a fresh file key and writes the header to
// `out`; Write() encrypts, Finish() writes the last chunk. Memory stays at one 64 KiB chunk
// whatever the payload. `out` must outlive the writer. After an error (or Finish()) every
// further call fails. A writer destroyed without Finish() leaves an incomplete file that
// every age reader rejects.
class AgeWriter final : public ByteSink {
 public:
  // kInvalidArgument for no recipients; otherwise what writing the header to `out` returned.
  static Result<std::unique_ptr<AgeWriter>> Create(ByteSink& out,
                                                   std::span<const AgeRecipient> recipients);
  ~AgeWriter() override;
  AgeWriter(const AgeWriter&) = delete;
  AgeWriter& operator=(const AgeWriter&) = delete;

  Status Write(std::span<const uint8_t> data) override;
  Status Finish();

  // A copy of this file's key, in its own secure memory, for reading back the file just
  // written (AgeReader::WithFileKey) before it counts. Keep it no longer than that check;
  // never store or print it: it opens this one file.
  AgeFileKey ReadBackKey() const;

  struct State;

 private:
  explicit AgeWriter(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

// Decrypts an age v1 stream to `out`, either with an X25519 identity (the stanza addressed to
// it is unwrapped) or with the file key itself (read-back). Fed by Write() with the file's
// bytes in any slicing, then Finish(); or ReadAll() for an open file. Plaintext reaches `out`
// only chunk by chunk, each after its tag verified — but a file that fails later has already
// delivered its earlier chunks, so `out` must discard everything on error.
//
// Errors, each naming what failed and never any plaintext or key:
//   kCorrupt: not an age v1 file, a malformed header or X25519 stanza, the header MAC does
//     not match, a chunk fails authentication (changed, or cut short), an empty last chunk
//     after a full one, bytes after the last chunk, a file that ends early;
//   kAuthFailed: no X25519 stanza of the file opens with this identity;
//   kLimitExceeded: a header longer than kMaxHeaderBytes.
class AgeReader final : public ByteSink {
 public:
  // A header this long is not one a real age writer makes (~100 bytes per recipient).
  static constexpr size_t kMaxHeaderBytes = 1 << 20;

  static AgeReader WithIdentity(ByteSink& out, const AgeIdentity& identity);  // copies it
  static AgeReader WithFileKey(ByteSink& out, const AgeFileKey& key);         // copies it
  ~AgeReader() override;
  AgeReader(AgeReader&&) noexcept;
  AgeReader& operator=(AgeReader&&) = delete;

  Status Write(std::span<const uint8_t> data) override;
  Status Finish();
  // Reads `in` from its current offset to its end through Write(), then Finish().
  Status ReadAll(File& in);

  struct State;

 private:
  explicit AgeReader(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

}  // namespace dossier::exporter
