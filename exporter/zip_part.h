// One part of an export: a ZIP archive, AES-256 encrypted (WinZip AE-2, which 7-Zip, WinRAR
// and WinZip open), entries stored uncompressed so that the plan's sizes are exact, names
// flagged UTF-8, ZIP64 records when a size or offset passes 4 GiB or there are 65,535 entries.
// Written front to back into a new file; read back whole to verify it before the export counts.
// Private to exporter/.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/content_digest.h"
#include "common/file_io.h"
#include "common/status.h"

namespace dossier::exporter {

class EntryKeys;
class AgeFileKey;

// Where one entry of a part lies, as written.
struct ZipEntryLayout {
  std::string name;
  uint64_t size = 0, stored = 0, offset = 0;
  uint32_t crc = 0;  // unencrypted entries only (AE-2 has none)
  bool encrypted = false;
};

// What the writer knows of a finished part: each entry's place, and the keys each encrypted
// entry was written with (derived from the password and the entry's salt; wiped when the last
// holder lets go). The read-back checks the part against it — and uses the keys instead of
// running PBKDF2 again for every entry, as long as the salt on disk is the one drawn.
struct WrittenPart {
  std::vector<std::unique_ptr<EntryKeys>> keys;
  std::vector<ZipEntryLayout> entries;
  uint64_t cd_offset = 0;
  WrittenPart();
  ~WrittenPart();
};

class ZipPartWriter final : public ByteSink {
 public:
  // Creates `path` (O_EXCL, mode 0600). An empty `password` writes an unencrypted archive
  // (only when the manager asked for --no-encryption).
  static Result<std::unique_ptr<ZipPartWriter>> Create(const std::filesystem::path& path,
                                                       const std::string& password, int64_t mtime);
  // Writes the archive into `out` instead (an age stream); Close() then leaves syncing to the
  // caller.
  static Result<std::unique_ptr<ZipPartWriter>> Create(ByteSink& out, const std::string& password,
                                                       int64_t mtime);
  ~ZipPartWriter() override;

  // One entry of `size` bytes, written through Write() until complete, then EndEntry()
  // returns the SHA-256 of what was written. kInternal when the count differs.
  Status BeginEntry(const std::string& name, uint64_t size);
  Status Write(std::span<const uint8_t> data) override;
  Result<ContentDigest> EndEntry();
  // A whole small entry at once.
  Result<ContentDigest> AddEntry(const std::string& name, std::span<const uint8_t> data);
  // Finishes the archive (and fsyncs the file it made); returns the archive's size.
  Result<uint64_t> Close();
  // The layout and keys, for ReadBackPart (complete after Close).
  std::shared_ptr<const WrittenPart> Written() const;

  struct State;

 private:
  explicit ZipPartWriter(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

struct ZipEntryDigest {
  std::string name;
  uint64_t size = 0;
  ContentDigest sha256{};
};

// Reads every entry of the part at `path`, decrypting and authenticating each (the AES
// authentication code, or CRC-32 when unencrypted); the entries' names, sizes and SHA-256s in
// archive order. `keep` names entries whose bytes are also returned (MANIFEST.json, DICOMDIR).
// With `written`, the part must be laid out as written (its central directory is checked
// against it at the end of one front-to-back pass); without it, the central directory on disk
// says what to expect. With `age`, the file is an age stream holding the archive, decrypted
// with the file key its writer used (`written` is then required). kCorrupt naming the part and
// the entry on any failure.
struct ReadBack {
  ContentDigest file_sha256{};  // of the part file itself (the .age file), in the same pass
  std::vector<ZipEntryDigest> entries;
  std::vector<std::pair<std::string, std::vector<uint8_t>>> kept;
};
Result<ReadBack> ReadBackPart(const std::filesystem::path& path, const std::string& password,
                              const std::vector<std::string>& keep,
                              const WrittenPart* written = nullptr,
                              const AgeFileKey* age = nullptr);

// Upper bound of the bytes one entry named `name` adds to a part beside its content: local
// header, AES salt and authentication code or data descriptor, central directory record and
// their extra fields. Checked against real output by the tests.
uint64_t EntryOverhead(const std::string& name);
// Bytes every archive adds once (end of central directory records).
inline constexpr uint64_t kArchiveOverhead = 22 + 56 + 20 + 64;

}  // namespace dossier::exporter
