// The reference loop for the vault benchmark: read a file in 64 KiB chunks and encrypt it
// with crypto_secretstream_xchacha20poly1305, writing to OUT — nothing else. It is the
// ceiling for what the vault's store path can reach on this CPU.
//
//   secretstream_loop IN OUT        (OUT may be /dev/null)
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 3 || sodium_init() < 0) {
    std::fprintf(stderr, "usage: secretstream_loop IN OUT\n");
    return 1;
  }
  const int in = ::open(argv[1], O_RDONLY);
  const int out = ::open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (in < 0 || out < 0) return 1;
  unsigned char key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
  unsigned char header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
  crypto_secretstream_xchacha20poly1305_keygen(key);
  crypto_secretstream_xchacha20poly1305_state st;
  crypto_secretstream_xchacha20poly1305_init_push(&st, header, key);
  if (::write(out, header, sizeof(header)) != sizeof(header)) return 1;
  constexpr size_t kChunk = 64 * 1024;
  std::vector<unsigned char> buf(kChunk),
      enc(kChunk + crypto_secretstream_xchacha20poly1305_ABYTES);
  const auto t0 = std::chrono::steady_clock::now();
  unsigned long long total = 0;
  for (;;) {
    const ssize_t n = ::read(in, buf.data(), kChunk);
    if (n < 0) return 1;
    const unsigned char tag =
        n < static_cast<ssize_t>(kChunk) ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0;
    unsigned long long len = 0;
    crypto_secretstream_xchacha20poly1305_push(&st, enc.data(), &len, buf.data(),
                                               static_cast<size_t>(n), nullptr, 0, tag);
    if (::write(out, enc.data(), len) != static_cast<ssize_t>(len)) return 1;
    total += static_cast<unsigned long long>(n);
    if (tag != 0) break;
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("secretstream_loop: %llu bytes in %.3f s = %.0f MB/s\n", total, s, total / s / 1e6);
  return 0;
}
