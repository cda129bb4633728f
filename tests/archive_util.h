// Builds real archives for tests with libarchive's writer (ZIP, 7z, tar + gzip/xz/zstd,
// ISO-9660 with Joliet / Rock Ridge).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace dossier::testing {

struct Entry {
  enum Type { kFile, kDir, kSymlink, kHardlink, kFifo, kCharDevice };
  std::string name;
  std::string content;  // for kFile
  uint64_t zeros = 0;   // for kFile: this many zero bytes after `content`, streamed
  Type type = kFile;
  std::string link;  // for links: the target
};

// format: "zip", "7zip", "pax", "iso9660"; filter: "" or "gzip", "xz", "zstd";
// options: libarchive option string, e.g. "zip:hdrcharset=CP866", "iso9660:rockridge".
void WriteArchive(const std::filesystem::path& path, const std::string& format,
                  const std::string& filter, const std::string& options,
                  const std::vector<Entry>& entries);

// A RAR 5 archive of stored (uncompressed) files, written by hand from RARLAB's published
// format description: Debian has no RAR writer, and RAR is what many Russian users send.
std::string MakeRar5(const std::vector<Entry>& files);

// Every regular file under `dir` as an entry named by its path relative to `dir`.
std::vector<Entry> EntriesFromDir(const std::filesystem::path& dir);

}  // namespace dossier::testing
