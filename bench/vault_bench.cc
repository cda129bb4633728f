// Store and read back one file through the vault library, timing each direction and
// measuring the peak RSS of the streaming itself: the kernel's high-water mark is reset
// (/proc/self/clear_refs = 5) after the passphrase is derived, so Argon2id's 256 MiB — paid
// once per open, whatever the file — is reported apart.
//
//   DOSSIER_PASSPHRASE_FILE=pass vault_bench VAULT CASE_ID FILE
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "common/file_io.h"
#include "vault/vault.h"

namespace {

long PeakRssKb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

void ResetPeakRss() { std::ofstream("/proc/self/clear_refs") << "5"; }

class NullSink final : public dossier::ByteSink {
 public:
  dossier::Status Write(std::span<const uint8_t> d) override {
    bytes += d.size();
    return dossier::Status::Ok();
  }
  uint64_t bytes = 0;
};

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dossier;
  if (argc != 4 || std::getenv("DOSSIER_PASSPHRASE_FILE") == nullptr) {
    std::fprintf(stderr, "usage: DOSSIER_PASSPHRASE_FILE=F vault_bench VAULT CASE_ID FILE\n");
    return 1;
  }
  auto pass = ReadSmallFile(std::getenv("DOSSIER_PASSPHRASE_FILE"));
  while (!pass->empty() && pass->back() == '\n') pass->pop_back();
  auto t0 = std::chrono::steady_clock::now();
  auto v = vault::Vault::Open(argv[1], *pass, {"bench", "operator"});
  if (!v.ok()) return std::fprintf(stderr, "%s\n", v.status().message().c_str()), 1;
  const double open_s = Since(t0);
  const long open_peak = PeakRssKb();

  ResetPeakRss();
  t0 = std::chrono::steady_clock::now();
  const double cpu0 = CpuSeconds();
  auto w = (*v)->BeginDocument({argv[2], "bench.bin", "other", "other", false, "", ""});
  auto file = File::OpenRead(argv[3]);
  if (!w.ok() || !file.ok()) return 1;
  std::vector<uint8_t> buf(1 << 20);
  for (;;) {
    auto n = file->ReadFull(buf);
    if (!n.ok()) return 1;
    if (*n == 0) break;
    if (!(*w)->Write({buf.data(), *n}).ok()) return 1;
  }
  auto stored = (*w)->Commit();
  if (!stored.ok()) return std::fprintf(stderr, "%s\n", stored.status().message().c_str()), 1;
  const double store_s = Since(t0);
  const double store_cpu = CpuSeconds() - cpu0;
  const long store_peak = PeakRssKb();

  ResetPeakRss();
  t0 = std::chrono::steady_clock::now();
  NullSink sink;
  if (!(*v)->ReadDocument(stored->doc_id, sink).ok()) return 1;
  const double read_s = Since(t0);
  const long read_peak = PeakRssKb();
  const double mb = stored->size / 1e6;
  std::printf("open (Argon2id MODERATE): %.2f s, peak RSS %ld KiB\n", open_s, open_peak);
  std::printf("store %.0f MB (encrypt + fsync + commit): %.2f s = %.0f MB/s, peak RSS %ld KiB\n",
              mb, store_s, mb / store_s, store_peak);
  std::printf("store CPU time (user + system): %.2f s = %.0f MB/s of CPU\n", store_cpu,
              mb / store_cpu);
  std::printf("read back (decrypt + authenticate): %.2f s = %.0f MB/s, peak RSS %ld KiB\n", read_s,
              mb / read_s, read_peak);
  return 0;
}
