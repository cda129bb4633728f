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
