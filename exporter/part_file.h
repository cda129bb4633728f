// One part file of an export as it is written: a ZIP archive (AES-256 inside, or unencrypted
// inside an age stream for the clinic's age recipients), its size on disk kept under the limit,
// and read back before the export counts. Private to exporter/.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "exporter/age.h"
#include "exporter/zip_part.h"

namespace dossier::exporter {

// How parts are sealed: a ZIP password (empty: none), or age recipients (then the ZIP inside
// has no password).
struct PartSealing {
  std::string password;
  std::vector<AgeRecipient> age_recipients;
  bool age() const { return !age_recipients.empty(); }
  // ".zip", or ".zip.age".
  std::string Extension() const { return age() ? ".zip.age" : ".zip"; }
  // The largest archive whose part file stays within `max_part` bytes on disk.
  uint64_t ArchiveLimit(uint64_t max_part) const;
};

class PartFile {
 public:
  // Creates `path` (O_EXCL, mode 0600).
  static Result<std::unique_ptr<PartFile>> Create(const std::filesystem::path& path,
                                                  const PartSealing& sealing, int64_t mtime);
  ~PartFile();
  ZipPartWriter& zip() { return *zip_; }
  // Finishes the archive and the age stream, fsyncs and closes the file; its size on disk.
  Result<uint64_t> Close();
  // Reads the closed part back (ReadBackPart), on any thread; holds what it needs.
  std::function<Result<exporter::ReadBack>()> Verifier(const std::vector<std::string>& keep) const;

 private:
  PartFile() = default;
  struct Out;
  std::filesystem::path path_;
  std::string password_;
  std::unique_ptr<Out> out_;
  std::unique_ptr<AgeWriter> age_;
  std::unique_ptr<ZipPartWriter> zip_;
  std::shared_ptr<const AgeFileKey> age_key_;
};

}  // namespace dossier::exporter
