// Helpers shared by the test binaries: a fresh temp dir per test, running the real `dossier`
// binary, deterministic test files, and snapshots of a directory's bytes.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/file_io.h"
#include "vault/vault.h"

namespace dossier::testing {

namespace fs = std::filesystem;

inline constexpr const char* kPassphrase = "correct horse battery staple";
inline const fs::path kPydicomFiles = "/usr/lib/python3/dist-packages/pydicom/data/test_files";

// Collects everything written to it.
class StringSink final : public ByteSink {
 public:
  Status Write(std::span<const uint8_t> d) override {
    data.append(reinterpret_cast<const char*>(d.data()), d.size());
    return Status::Ok();
  }
  std::string data;
};

// A test fixture owning a fresh temp directory, removed afterwards.
// (VaultTestBase below adds an unlocked vault with one patient.)
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  fs::path dir_;
};

// A fresh temp dir with a new vault in dir_/vault, unlocked as v_, holding one patient.
class VaultTestBase : public TempDirTest {
 protected:
  void SetUp() override;
  std::unique_ptr<vault::Vault> v_;
  std::string patient_;
};

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `dossier args...` with DOSSIER_VAULT=vault and DOSSIER_PASSPHRASE_FILE=pass_file
// (if non-empty), no terminal, stdin from /dev/null.
RunResult RunDossier(const fs::path& vault, const fs::path& pass_file,
                     const std::vector<std::string>& args);

// The real `dossier` binary on a vault in dir_/vault with the test passphrase in dir_/pass.
class CliTestBase : public TempDirTest {
 protected:
  void SetUp() override;
  RunResult Run(const std::vector<std::string>& args) { return RunDossier(vault_, pass_, args); }
  // `dossier --json args…`, which must succeed, parsed.
  nlohmann::json Json(const std::vector<std::string>& args);
  fs::path vault_, pass_;
};

// The same with `input` as its standard input (/dev/null when nullopt).
RunResult RunDossierWithInput(const fs::path& vault, const fs::path& pass_file,
                              const std::vector<std::string>& args,
                              const std::optional<std::string>& input);

// Starts `dossier args...` without waiting; returns the pid.
int SpawnDossier(const fs::path& vault, const fs::path& pass_file,
                 const std::vector<std::string>& args, const fs::path& log);

void WriteFile(const fs::path& path, std::string_view content);
// Runs `sql` on a catalog as an attacker with file access would (no Dossier code involved);
// a failing statement fails the test.
void RunSql(const fs::path& catalog, const std::string& sql);
// The first column of the first row of `sql` on a catalog, read-only, as text ("" for none
// or NULL).
std::string QueryText(const fs::path& catalog, const std::string& sql);
std::string ReadFile(const fs::path& path);
// `size` bytes of deterministic pseudo-random data from `seed`.
std::string PseudoRandom(size_t size, uint64_t seed);
// Writes a large file of pseudo-random data in blocks (never all in memory).
void WriteLargeFile(const fs::path& path, uint64_t size, uint64_t seed);
// SHA-256 of a file, hex.
std::string FileSha256(const fs::path& path);

// Every regular file under `dir` with its full contents (for "nothing changed" checks).
std::map<std::string, std::string> Snapshot(const fs::path& dir);
// Files under `dir` whose bytes contain `needle`.
std::vector<std::string> FilesContaining(const fs::path& dir, std::string_view needle);

// Runs `command` through the shell; its exit code and everything it printed (stdout and
// stderr together).
std::pair<int, std::string> Shell(const std::string& command);
// The error lines of dciodvfy's and dcentvfy's output ("Error - …", and "Abort - …" when
// it could not check at all); an exit code above 1 means the tool itself failed.
std::vector<std::string> ErrorLines(const std::string& output);

// Flips one bit of the byte at `offset` in `path`.
void FlipByte(const fs::path& path, uint64_t offset);

// A small but real PDF page with `text` (Helvetica).
std::string MinimalPdf(std::string_view text);  // TextPdf of one page
// A born-digital PDF: one page per text, Helvetica 14 pt, one line (no wrapping).
std::string TextPdf(const std::vector<std::string>& texts);
// An iPhone-like photo of `image` as the real encoder makes it: a JPEG at quality 90 (`jpeg`,
// written by PIL) turned into HEIC at quality 90 by `heif-enc` (`heic`). Both paths are
// written; a test assertion fails if either tool does.
void MakeHeicPhoto(const fs::path& image, const fs::path& jpeg, const fs::path& heic);
// (width, height) from a baseline JPEG's SOF0 segment; (0, 0) if there is none.
std::pair<int, int> JpegSize(const std::string& jpeg);
// A scanned page as scanner software makes it: a grey JPEG at 300 DPI filling the page, and
// over it invisible text (render mode 3) that may claim something else.
std::string ScannedPdf(const std::string& jpeg, const std::string& hidden_text);
// A PDF of the given objects (numbered from 1; object 1 is the catalog), with a correct xref.
std::string PdfFromObjects(const std::vector<std::string>& objs);

}  // namespace dossier::testing
