// SecureBuffer: a fixed-size byte buffer in sodium_malloc memory (guard pages, mlock'd,
// zeroed on free). Every key in Dossier lives in one. Move-only.
//
//   SecureBuffer key(crypto_secretstream_xchacha20poly1305_KEYBYTES);
//   crypto_secretstream_xchacha20poly1305_keygen(key.data());
//
// Thread-safety: none; a buffer is owned by one object at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace dossier {

// Initialises libsodium once; safe to call from anywhere, any number of times.
// Aborts the process if libsodium cannot initialise (no usable randomness).
void EnsureSodium();

class SecureBuffer {
 public:
  SecureBuffer() = default;
  explicit SecureBuffer(size_t size);  // zero-filled
  ~SecureBuffer();
  SecureBuffer(SecureBuffer&& other) noexcept;
  SecureBuffer& operator=(SecureBuffer&& other) noexcept;
  SecureBuffer(const SecureBuffer&) = delete;
  SecureBuffer& operator=(const SecureBuffer&) = delete;

  static SecureBuffer Random(size_t size);
  static SecureBuffer FromBytes(std::span<const uint8_t> bytes);

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<const uint8_t> span() const { return {data_, size_}; }
  // Views the bytes as text (for passphrases). No copy is made.
  std::string_view view() const { return {reinterpret_cast<const char*>(data_), size_}; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// A passphrase read from a file or a terminal; the same secure memory rules as keys.
using SecretString = SecureBuffer;

}  // namespace dossier
