#include "exporter/zip_part.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>

namespace dossier::exporter {
namespace {

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct ReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

std::string ArchiveError(archive* a) {
  const char* m = archive_error_string(a);
  return m != nullptr ? m : "unknown libarchive error";
}

}  // namespace

struct ZipPartWriter::State {
  File file;
  std::unique_ptr<archive, ArchiveDeleter> a;
  int64_t mtime = 0;
  uint64_t written = 0;  // bytes of the archive on disk so far
  Status io_error;       // the first write error, which libarchive only sees as -1
  // The current entry.
  std::string name;
  uint64_t expected = 0, got = 0;
  std::optional<ContentHasher> hash;
  bool closed = false;
};

ZipPartWriter::ZipPartWriter(std::unique_ptr<State> s) : s_(std::move(s)) {}

ZipPartWriter::~ZipPartWriter() = default;

Result<std::unique_ptr<ZipPartWriter>> ZipPartWriter::Create(const std::filesystem::path& path,
                                                             const std::string& password,
                                                             int64_t mtime) {
  auto s = std::make_unique<State>();
  DOSSIER_ASSIGN_OR_RETURN(s->file, File::CreateExclusive(path));
  s->mtime = mtime;
  s->a.reset(archive_write_new());
  archive* a = s->a.get();
  auto fail = [&](const char* what) {
    return Internal(fmt::format("cannot set up the ZIP writer ({}): {}", what, ArchiveError(a)));
  };
  if (archive_write_set_format_zip(a) != ARCHIVE_OK) return fail("format");
  if (archive_write_set_format_option(a, "zip", "compression", "store") != ARCHIVE_OK) {
    return fail("store");
  }
  if (archive_write_set_format_option(a, "zip", "hdrcharset", "UTF-8") != ARCHIVE_OK) {
    return fail("UTF-8 names");
  }
  if (!password.empty()) {
    if (archive_write_set_format_option(a, "zip", "encryption", "aes256") != ARCHIVE_OK) {
      return fail("AES-256: this libarchive was built without crypto");
    }
    if (archive_write_set_passphrase(a, password.c_str()) != ARCHIVE_OK) return fail("password");
  }
  // Whole 64 KiB blocks, and the last one short: no padding.
  archive_write_set_bytes_per_block(a, 64 * 1024);
  archive_write_set_bytes_in_last_block(a, 1);
  State* st = s.get();
  auto write_cb = [](archive*, void* data, const void* buf, size_t n) -> la_ssize_t {
    auto* state = static_cast<State*>(data);
    Status w = state->file.WriteAll({static_cast<const uint8_t*>(buf), n});
    if (!w.ok()) {
      if (state->io_error.ok()) state->io_error = w;
      return -1;
    }
    state->written += n;
    return static_cast<la_ssize_t>(n);
  };
  if (archive_write_open2(a, st, nullptr, write_cb, nullptr, nullptr) != ARCHIVE_OK) {
    return fail("open");
  }
  return std::unique_ptr<ZipPartWriter>(new ZipPartWriter(std::move(s)));
}

Status ZipPartWriter::BeginEntry(const std::string& name, uint64_t size) {
  std::unique_ptr<archive_entry, EntryDeleter> e(archive_entry_new());
  archive_entry_set_pathname_utf8(e.get(), name.c_str());
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0644);
  archive_entry_set_mtime(e.get(), s_->mtime, 0);
  if (archive_write_header(s_->a.get(), e.get()) != ARCHIVE_OK) {
    if (!s_->io_error.ok()) return s_->io_error;
    return Internal(fmt::format("cannot add {} to the part: {}", name, ArchiveError(s_->a.get())));
  }
  s_->name = name;
  s_->expected = size;
  s_->got = 0;
  s_->hash.emplace();
  return Status::Ok();
}

Status ZipPartWriter::Write(std::span<const uint8_t> data) {
  s_->hash->Update(data);
  s_->got += data.size();
  while (!data.empty()) {
    const la_ssize_t n = archive_write_data(s_->a.get(), data.data(), data.size());
    if (n <= 0) {
      if (!s_->io_error.ok()) return s_->io_error;
      return Internal(fmt::format("cannot write {} into the part: {}", s_->name,
                                  ArchiveError(s_->a.get())));
    }
    data = data.subspan(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Result<ContentDigest> ZipPartWriter::EndEntry() {
  if (s_->got != s_->expected) {
    return Internal(fmt::format("{}: {} bytes were written, {} planned", s_->name, s_->got,
                                s_->expected));
  }
  if (archive_write_finish_entry(s_->a.get()) != ARCHIVE_OK) {
    if (!s_->io_error.ok()) return s_->io_error;
    return Internal(fmt::format("cannot finish {}: {}", s_->name, ArchiveError(s_->a.get())));
  }
  ContentDigest d = s_->hash->Final();
  s_->hash.reset();
  return d;
}

Result<ContentDigest> ZipPartWriter::AddEntry(const std::string& name,
                                              std::span<const uint8_t> data) {
  DOSSIER_RETURN_IF_ERROR(BeginEntry(name, data.size()));
  DOSSIER_RETURN_IF_ERROR(Write(data));
  return EndEntry();
}

Result<uint64_t> ZipPartWriter::Close() {
  if (archive_write_close(s_->a.get()) != ARCHIVE_OK) {
    if (!s_->io_error.ok()) return s_->io_error;
    return Internal("cannot finish the part: " + ArchiveError(s_->a.get()));
  }
  DOSSIER_RETURN_IF_ERROR(s_->file.Sync());
  DOSSIER_RETURN_IF_ERROR(s_->file.Close());
  s_->closed = true;
  return s_->written;
}

uint64_t EntryOverhead(const std::string& name) {
  // Local header 30 + central record 46, the name twice, their extra fields (extended
  // timestamp, Unix owner, ZIP64 and the AES field: at most ~90 bytes each), the AES salt,
  // password check and authentication code (28), and a ZIP64 data descriptor (24).
  return 30 + 46 + 2 * name.size() + 2 * 90 + 28 + 24;
}

Result<ReadBack> ReadBackPart(const std::filesystem::path& path, const std::string& password,
                              const std::vector<std::string>& keep) {
  const std::string part = path.filename().string();
  std::unique_ptr<archive, ReadDeleter> a(archive_read_new());
  archive_read_support_format_zip(a.get());
  if (!password.empty()) archive_read_add_passphrase(a.get(), password.c_str());
  auto corrupt = [&](const std::string& where) {
    return Corrupt(fmt::format("part {} failed its read-back{}: {}", part, where,
                               ArchiveError(a.get())));
  };
  if (archive_read_open_filename(a.get(), path.c_str(), 64 * 1024) != ARCHIVE_OK) {
    return corrupt("");
  }
  ReadBack out;
  std::vector<uint8_t> buf(256 * 1024);
  for (;;) {
    archive_entry* e = nullptr;
    const int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK) return corrupt("");
    ZipEntryDigest d;
    const char* name = archive_entry_pathname_utf8(e);
    d.name = name != nullptr ? name : "";
    const bool kept = std::find(keep.begin(), keep.end(), d.name) != keep.end();
    std::vector<uint8_t> bytes;
    ContentHasher h;
    for (;;) {
      const la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
      if (n < 0) return corrupt(" at " + d.name);
      if (n == 0) break;
      h.Update({buf.data(), static_cast<size_t>(n)});
      if (kept) bytes.insert(bytes.end(), buf.begin(), buf.begin() + n);
      d.size += static_cast<uint64_t>(n);
    }
    d.sha256 = h.Final();
    if (kept) out.kept.emplace_back(d.name, std::move(bytes));
    out.entries.push_back(std::move(d));
  }
  return out;
}

}  // namespace dossier::exporter
