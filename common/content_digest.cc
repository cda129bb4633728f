#include "common/content_digest.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace dossier {
namespace {

// A failure here means libcrypto itself is broken (out of memory): nothing sensible to return.
void Check(int ok) {
  if (ok != 1) std::abort();
}

}  // namespace

ContentHasher::ContentHasher() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr) std::abort();
  Check(EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr));
}

ContentHasher::~ContentHasher() { EVP_MD_CTX_free(ctx_); }

void ContentHasher::Update(std::span<const uint8_t> data) {
  Check(EVP_DigestUpdate(ctx_, data.data(), data.size()));
}

ContentDigest ContentHasher::Final() {
  ContentDigest out{};
  unsigned int len = 0;
  Check(EVP_DigestFinal_ex(ctx_, out.data(), &len));
  Check(EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr));
  return out;
}

}  // namespace dossier
