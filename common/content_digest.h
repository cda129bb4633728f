// The digest that identifies a document's bytes for duplicate detection: SHA-256 through
// OpenSSL's libcrypto, which uses the CPU's SHA extensions (1.7 GB/s on this project's
// machines, against 0.94 GB/s for libsodium's BLAKE2b: doc/PERFORMANCE.md). It is never
// stored as is; the vault keeps only a keyed MAC of it (doc/FORMAT.md).
#pragma once

#include <array>
#include <cstdint>
#include <span>

using EVP_MD_CTX = struct evp_md_ctx_st;

namespace dossier {

using ContentDigest = std::array<uint8_t, 32>;

class ContentHasher {
 public:
  ContentHasher();  // ready for Update()
  ~ContentHasher();
  ContentHasher(const ContentHasher&) = delete;
  ContentHasher& operator=(const ContentHasher&) = delete;

  void Update(std::span<const uint8_t> data);
  // The digest of everything since construction or the last Final(); starts over.
  ContentDigest Final();

 private:
  EVP_MD_CTX* ctx_;
};

}  // namespace dossier
