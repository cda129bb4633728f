#include "tests/archive_util.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <clocale>

#include "tests/test_util.h"

namespace dossier::testing {

void WriteArchive(const std::filesystem::path& path, const std::string& format,
                  const std::string& filter, const std::string& options,
                  const std::vector<Entry>& entries) {
  std::setlocale(LC_CTYPE, "C.UTF-8");  // names below are UTF-8
  archive* a = archive_write_new();
  ASSERT_EQ(archive_write_set_format_by_name(a, format.c_str()), ARCHIVE_OK) << format;
  if (!filter.empty()) ASSERT_EQ(archive_write_add_filter_by_name(a, filter.c_str()), ARCHIVE_OK);
  if (!options.empty()) {
    ASSERT_EQ(archive_write_set_options(a, options.c_str()), ARCHIVE_OK) << archive_error_string(a);
  }
  ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK) << archive_error_string(a);
  const std::string zeros(1 << 20, '\0');
  for (const Entry& e : entries) {
    archive_entry* ae = archive_entry_new();
    archive_entry_set_pathname(ae, e.name.c_str());
    archive_entry_set_perm(ae, 0644);
    archive_entry_set_mtime(ae, 1763800000, 0);
    switch (e.type) {
      case Entry::kFile:
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_size(ae, static_cast<la_int64_t>(e.content.size() + e.zeros));
        break;
      case Entry::kDir:
        archive_entry_set_filetype(ae, AE_IFDIR);
        break;
      case Entry::kSymlink:
        archive_entry_set_filetype(ae, AE_IFLNK);
        archive_entry_set_symlink(ae, e.link.c_str());
        break;
      case Entry::kHardlink:
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_hardlink(ae, e.link.c_str());
        archive_entry_set_size(ae, 0);
        break;
      case Entry::kFifo:
        archive_entry_set_filetype(ae, AE_IFIFO);
        break;
      case Entry::kCharDevice:
        archive_entry_set_filetype(ae, AE_IFCHR);
        archive_entry_set_rdev(ae, 0x0103);
        break;
    }
    ASSERT_EQ(archive_write_header(a, ae), ARCHIVE_OK) << e.name << ": " << archive_error_string(a);
    if (e.type == Entry::kFile) {
      if (!e.content.empty()) {
        ASSERT_EQ(archive_write_data(a, e.content.data(), e.content.size()),
                  static_cast<la_ssize_t>(e.content.size()));
      }
      if (e.zeros > 0) {
        for (uint64_t done = 0; done < e.zeros;) {
          const size_t n = static_cast<size_t>(std::min<uint64_t>(zeros.size(), e.zeros - done));
          ASSERT_EQ(archive_write_data(a, zeros.data(), n), static_cast<la_ssize_t>(n));
          done += n;
        }
      }
    }
    archive_entry_free(ae);
  }
  ASSERT_EQ(archive_write_close(a), ARCHIVE_OK) << archive_error_string(a);
  archive_write_free(a);
}

namespace {

uint32_t Crc32(std::string_view data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

std::string Vint(uint64_t v) {
  std::string out;
  do {
    uint8_t b = v & 0x7F;
    v >>= 7;
    if (v != 0) b |= 0x80;
    out += static_cast<char>(b);
  } while (v != 0);
  return out;
}

std::string U32(uint32_t v) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[static_cast<size_t>(i)] = static_cast<char>(v >> (8 * i));
  return out;
}

// One block: CRC32 of (size field + header), the header size as a vint, then the header.
std::string Block(const std::string& header) {
  const std::string sized = Vint(header.size()) + header;
  return U32(Crc32(sized)) + sized;
}

}  // namespace

std::string MakeRar5(const std::vector<Entry>& files) {
  std::string rar("Rar!\x1A\x07\x01\x00", 8);
  rar += Block(Vint(1) + Vint(0) + Vint(0));  // main header: type 1, no flags, archive flags 0
  for (const Entry& f : files) {
    std::string h = Vint(2) + Vint(0x0002) + Vint(f.content.size());  // file, data follows
    h += Vint(0x0004);            // file flags: data CRC32 present
    h += Vint(f.content.size());  // unpacked size
    h += Vint(0100644);           // attributes: a Unix mode, regular file rw-r--r--
    h += U32(Crc32(f.content));   // data CRC32
    h += Vint(0);                 // compression: version 0, method 0 (store)
    h += Vint(1);                 // host OS: Unix
    h += Vint(f.name.size()) + f.name;
    rar += Block(h) + f.content;
  }
  rar += Block(Vint(5) + Vint(0) + Vint(0));  // end of archive
  return rar;
}

std::vector<Entry> EntriesFromDir(const std::filesystem::path& dir) {
  std::vector<Entry> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    out.push_back({e.path().lexically_relative(dir).string(), ReadFile(e.path())});
  }
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return out;
}

}  // namespace dossier::testing
