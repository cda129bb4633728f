#include "ingest/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <clocale>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <vector>

#include "common/encoding.h"
#include "common/file_io.h"
#include "ingest/internal/entry_names.h"
#include "ingest/sniff.h"
#include "ocr/ocr.h"

namespace dossier::ingest {
namespace {

using internal::Lower;
using internal::PrintableName;
using internal::StreamName;

struct ArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveFree>;

void SupportFilters(archive* a) {
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_bzip2(a);
  archive_read_support_filter_xz(a);
  archive_read_support_filter_zstd(a);
}

// What an item's first bytes say it is, where that is sure: a disc image or a tar archive,
// which are read front to back, so an upload still arriving can be read as it comes.
enum class Known { kUnknown, kIso9660, kTar };

Known KnownByHead(std::span<const uint8_t> head) {
  auto at = [&](size_t offset, std::string_view magic) {
    return head.size() >= offset + magic.size() &&
           std::equal(magic.begin(), magic.end(), head.begin() + static_cast<long>(offset),
                      [](char m, uint8_t h) { return static_cast<uint8_t>(m) == h; });
  };
  // ISO 9660's first volume descriptor (ECMA-119 §8.1) at sector 16; POSIX tar's magic, in
  // a first header whose checksum holds (the sum of its bytes, the checksum field counted as
  // spaces, in octal at 148).
  if (at(32769, "CD001")) return Known::kIso9660;
  if (!at(257, "ustar") || head.size() < 512) return Known::kUnknown;
  unsigned sum = 0;
  for (size_t b = 0; b < 512; ++b) sum += (b >= 148 && b < 156) ? ' ' : head[b];
  unsigned stored = 0;
  size_t i = 148;
  while (i < 156 && head[i] == ' ') ++i;  // some writers pad it with leading spaces
  for (; i < 156 && head[i] >= '0' && head[i] <= '7'; ++i) {
    stored = stored * 8 + (head[i] - '0');
  }
  return sum == stored ? Known::kTar : Known::kUnknown;
}

ArchivePtr NewReader(Known known = Known::kUnknown) {
  ArchivePtr a(archive_read_new());
  SupportFilters(a.get());
  // A format the first bytes name is the only one offered: the other formats' bidders would
  // read elsewhere first (ZIP's looks for a central directory at the end), which, for an
  // upload still arriving, means waiting for its last byte.
  if (known == Known::kIso9660) {
    archive_read_support_format_iso9660(a.get());
    return a;
  }
  if (known == Known::kTar) {
    archive_read_support_format_tar(a.get());
    return a;
  }
  // Exactly the formats Dossier accepts; "support_format_all" would also parse cpio, cab, xar,
  // lha, mtree, warc… — attack surface with no use here.
  archive_read_support_format_zip(a.get());
  archive_read_support_format_7zip(a.get());
  archive_read_support_format_rar(a.get());
  archive_read_support_format_rar5(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_iso9660(a.get());
  return a;
}

std::string LibError(archive* a) {
  const char* e = archive_error_string(a);
  return e != nullptr ? e : "unknown libarchive error";
}

// Whether a failure message speaks of encryption. Only an archive that opened may also be
// asked archive_read_has_encrypted_entries(): after a failed open libarchive's format
// pointer is left dangling, and the call jumps through it (a crash on every single-file
// .gz or .xz, issue 11).
bool MentionsEncryption(const std::string& message) {
  const std::string m = Lower(message);
  return m.find("encrypt") != std::string::npos || m.find("passphrase") != std::string::npos ||
         m.find("password") != std::string::npos;
}

bool LooksEncrypted(archive* opened, const std::string& message) {
  return archive_read_has_encrypted_entries(opened) > 0 || MentionsEncryption(message);
}

// A compressed stream (gzip, xz, zstd, bzip2) by its first bytes.
bool IsCompressedStream(std::span<const uint8_t> head) {
  auto starts = [&](std::string_view magic) {
    return head.size() >= magic.size() &&
           std::equal(magic.begin(), magic.end(), head.begin(),
                      [](char m, uint8_t h) { return static_cast<uint8_t>(m) == h; });
  };
  return starts("\x1F\x8B") || starts(std::string_view("\xFD\x37\x7A\x58\x5A\x00", 6)) ||
         starts("\x28\xB5\x2F\xFD") || starts("BZh");
}

// A single compressed file (note.txt.gz, zipMR.gz) holds no archive: no format bids on what
// the filter gives. It is read with libarchive's "raw" format instead — one entry, which
// libarchive names "data" or nothing; it is named after the item without its suffix.
ArchivePtr NewRawReader() {
  ArchivePtr a(archive_read_new());
  SupportFilters(a.get());
  archive_read_support_format_raw(a.get());
  return a;
}

// An item as libarchive reads it: in blocks of 1 MiB from a RandomInput, skipping and
// seeking without reading (ZIP's central directory is at the end, 7z's header too).
class ArchiveInput {
 public:
  explicit ArchiveInput(RandomInput& input) : input_(input), block_(kBlock) {}

  // Opens `a` on the input, from its start (ReadArchive may open it twice).
  int Open(archive* a) {
    pos_ = 0;
    archive_read_set_callback_data(a, this);
    archive_read_set_read_callback(a, &ArchiveInput::ReadBlock);
    archive_read_set_skip_callback(a, &ArchiveInput::Skip);
    archive_read_set_seek_callback(a, &ArchiveInput::Seek);
    return archive_read_open1(a);
  }

 private:
  static constexpr size_t kBlock = size_t{1} << 20;

  static la_ssize_t ReadBlock(archive* a, void* data, const void** out) {
    auto* self = static_cast<ArchiveInput*>(data);
    auto n = self->input_.ReadAt(self->pos_, self->block_);
    if (!n.ok()) {
      archive_set_error(a, EIO, "%s", n.status().message().c_str());
      return ARCHIVE_FATAL;
    }
    self->pos_ += *n;
    *out = self->block_.data();
    return static_cast<la_ssize_t>(*n);
  }
  static la_int64_t Skip(archive*, void* data, la_int64_t request) {
    auto* self = static_cast<ArchiveInput*>(data);
    const uint64_t left = self->input_.size() - std::min(self->pos_, self->input_.size());
    const uint64_t skip = std::min(static_cast<uint64_t>(std::max<la_int64_t>(request, 0)), left);
    self->pos_ += skip;
    return static_cast<la_int64_t>(skip);
  }
  static la_int64_t Seek(archive*, void* data, la_int64_t offset, int whence) {
    auto* self = static_cast<ArchiveInput*>(data);
    const la_int64_t base = whence == SEEK_SET   ? 0
                            : whence == SEEK_CUR ? static_cast<la_int64_t>(self->pos_)
                                                 : static_cast<la_int64_t>(self->input_.size());
    if (offset < -base || offset > std::numeric_limits<la_int64_t>::max() - base) {
      return ARCHIVE_FATAL;
    }
    self->pos_ = static_cast<uint64_t>(base + offset);
    return static_cast<la_int64_t>(self->pos_);
  }

  RandomInput& input_;
  std::vector<uint8_t> block_;
  uint64_t pos_ = 0;
};

// While a nested archive or a PDF is held in memory, the parent hears from the worker every
// this many bytes, so its stall watchdog only fires on a worker that is really stuck.
constexpr size_t kHeartbeatBytes = 32 << 20;
constexpr const char* kPasswordReason = "protected by a password: send it without one";

// One upload item's shared budget, across every nesting level.
struct Budget {
  const UnpackLimits& limits;
  uint64_t item_size;
  uint64_t produced = 0;
  uint64_t entries = 0;

  Status Add(uint64_t n) {
    produced += n;
    if (produced > limits.total_bytes) {
      return LimitExceeded(
          fmt::format("unpacks to more than {} GiB: split the upload", limits.total_bytes >> 30));
    }
    if (produced > limits.ratio_floor &&
        produced > limits.ratio * std::max<uint64_t>(item_size, 1)) {
      return LimitExceeded(
          fmt::format("expands to more than {}× its size: a compression bomb, refused for safety",
                      limits.ratio));
    }
    return Status::Ok();
  }
};

class Reader {
 public:
  Reader(const UnpackLimits& limits, Budget& budget, UnpackSink& sink)
      : limits_(limits), budget_(budget), sink_(sink), buf_(1 << 20) {}

  // Opens an archive with `open` (which reads it from its start; it may be called twice)
  // and reads every entry under `prefix`. A single compressed file (`compressed`: its first
  // bytes say so) is one entry named `single_name`. A failure of the archive as a whole is
  // returned as kRejected, `resend` telling the patient what to do.
  Status ReadArchive(const std::function<int(archive*)>& open, bool compressed,
                     const std::string& prefix, const std::string& single_name, int depth,
                     const char* resend, Known known = Known::kUnknown) {
    ArchivePtr a = NewReader(compressed ? Known::kUnknown : known);
    if (open(a.get()) == ARCHIVE_OK) return ReadAll(a.get(), prefix, depth);
    const std::string msg = LibError(a.get());
    if (MentionsEncryption(msg)) return Rejected(kPasswordReason);
    if (compressed) {
      ArchivePtr raw = NewRawReader();
      if (open(raw.get()) == ARCHIVE_OK) return ReadAll(raw.get(), prefix, depth, single_name);
    }
    return Rejected(fmt::format("not a readable archive ({}): {}", msg, resend));
  }

 private:
  // Reads every entry of `a` (already opened); `prefix` ends in "/". `single_name`, when
  // given, names the one entry of a raw stream.
  Status ReadAll(archive* a, const std::string& prefix, int depth,
                 const std::string& single_name = "") {
    archive_entry* entry = nullptr;
    uint64_t seen = 0;
    for (;;) {
      const int rc = archive_read_next_header(a, &entry);
      if (rc == ARCHIVE_EOF) return Status::Ok();
      if (rc < ARCHIVE_WARN) {
        const std::string msg = LibError(a);
        if (LooksEncrypted(a, msg)) return Rejected(kPasswordReason);
        if (seen == 0) {
          return Rejected("not a readable archive (" + msg +
                          "): send the file again, or its "
                          "contents unpacked");
        }
        return Rejected(
            fmt::format("damaged or truncated after {} entries ({}): send it again", seen, msg));
      }
      ++seen;
      DOSSIER_RETURN_IF_ERROR(ReadEntry(a, entry, prefix, depth, single_name));
    }
  }

  Status ReadEntry(archive* a, archive_entry* entry, const std::string& prefix, int depth,
                   const std::string& single_name) {
    // Every header counts, refused ones and folders too: a million symlinks is a bomb as well.
    if (++budget_.entries > limits_.entries) {
      return LimitExceeded(
          fmt::format("holds more than {} files: split the upload", limits_.entries));
    }
    const mode_t type = archive_entry_filetype(entry);
    if (type == AE_IFDIR) return Status::Ok();  // folders are implied by paths; "." on ISOs
    const char* raw_name =
        single_name.empty() ? archive_entry_pathname(entry) : single_name.c_str();
    const auto name = SafeEntryPath(raw_name != nullptr ? raw_name : "");
    if (!name.ok()) {
      return sink_.Refused(prefix + PrintableName(raw_name != nullptr ? raw_name : "?"),
                           name.status().message());
    }
    const std::string path = prefix + *name;
    if (archive_entry_hardlink(entry) != nullptr) {
      return sink_.Refused(path, "hard link: not followed — include the file itself");
    }
    switch (type) {
      case AE_IFREG:
        break;
      case AE_IFLNK:
        return sink_.Refused(path, "symbolic link: not followed — include the file itself");
      case AE_IFCHR:
      case AE_IFBLK:
        return sink_.Refused(path, "device file: not a document");
      case AE_IFIFO:
        return sink_.Refused(path, "named pipe (FIFO): not a document");
      default:
        return sink_.Refused(path, "not a regular file");
    }
    if (archive_entry_is_encrypted(entry)) return sink_.Refused(path, kPasswordReason);
    if (const std::string group = SkipGroupForName(path); !group.empty()) {
      // Drained through the counted path: skipped bytes still come out of a decompressor.
      Status broken;
      uint64_t entry_bytes = 0;
      for (;;) {
        DOSSIER_ASSIGN_OR_RETURN(size_t n, Pull(a, entry_bytes, broken));
        if (n == 0) break;
      }
      return sink_.Skipped(path, group);
    }

    // Read the head to decide: a nested archive is opened, anything else is streamed out.
    std::vector<uint8_t> head;
    bool eof = false;
    Status broken;
    uint64_t entry_bytes = 0;
    while (head.size() < kSniffBytes && !eof) {
      auto pulled = Pull(a, entry_bytes, broken);
      if (!pulled.ok()) {  // a limit of the whole item: say which entry hit it, then stop
        (void)sink_.Refused(path, pulled.status().message());
        return pulled.status();
      }
      const size_t n = *pulled;
      eof = n == 0;
      head.insert(head.end(), buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(n));
      if (!broken.ok()) break;
    }
    const Sniffed sniffed = Sniff(head, eof ? head.size() : head.size() + 1);
    if (broken.ok() && !sniffed.container.empty()) {
      if (depth >= limits_.depth) {
        return sink_.Refused(path, fmt::format("archive nested more than {} levels deep: unpack "
                                               "it and send the files inside",
                                               limits_.depth));
      }
      return ReadNested(a, path, depth, std::move(head), eof, entry_bytes);
    }
    if (broken.ok() && sniffed.kind == "pdf") {
      return ReadPdf(a, path, std::move(head), eof, entry_bytes);
    }
    DOSSIER_RETURN_IF_ERROR(sink_.BeginEntry(path));
    if (!head.empty()) DOSSIER_RETURN_IF_ERROR(sink_.EntryData(head));
    while (!eof && broken.ok()) {
      auto pulled = Pull(a, entry_bytes, broken);
      if (!pulled.ok()) {
        (void)sink_.EndEntry(pulled.status());
        return pulled.status();
      }
      eof = *pulled == 0;
      if (*pulled > 0) DOSSIER_RETURN_IF_ERROR(sink_.EntryData({buf_.data(), *pulled}));
    }
    return sink_.EndEntry(broken);
  }

  // Reads the next piece of the current entry into buf_. A damaged entry sets `broken` (the
  // item goes on); a limit of the whole item is returned as an error (the item stops).
  Result<size_t> Pull(archive* a, uint64_t& entry_bytes, Status& broken) {
    const la_ssize_t n = archive_read_data(a, buf_.data(), buf_.size());
    if (n < 0) {
      const std::string msg = LibError(a);
      broken = LooksEncrypted(a, msg) ? Rejected(kPasswordReason)
                                      : Rejected("damaged (" + msg + "): send the file again");
      return size_t{0};
    }
    entry_bytes += static_cast<uint64_t>(n);
    if (entry_bytes > limits_.entry_bytes) {
      broken = LimitExceeded(
          fmt::format("larger than the limit of {} GiB for one file", limits_.entry_bytes >> 30));
      return size_t{0};
    }
    DOSSIER_RETURN_IF_ERROR(budget_.Add(static_cast<uint64_t>(n)));
    return static_cast<size_t>(n);
  }

  // A PDF is read whole (up to pdf_check_bytes) and opened with Poppler before it is passed
  // on: one that will not open is refused here, not discovered by a clinic.
  Status ReadPdf(archive* a, const std::string& path, std::vector<uint8_t> bytes, bool eof,
                 uint64_t entry_bytes) {
    Status broken;
    bool checkable = true;
    DOSSIER_RETURN_IF_ERROR(sink_.BeginEntry(path));
    auto flush = [&]() -> Status {
      for (size_t off = 0; off < bytes.size(); off += buf_.size()) {
        DOSSIER_RETURN_IF_ERROR(
            sink_.EntryData({bytes.data() + off, std::min(buf_.size(), bytes.size() - off)}));
      }
      bytes.clear();
      return Status::Ok();
    };
    while (!eof && broken.ok()) {
      auto pulled = Pull(a, entry_bytes, broken);
      if (!pulled.ok()) {
        (void)sink_.EndEntry(pulled.status());
        return pulled.status();
      }
      eof = *pulled == 0;
      if (checkable && bytes.size() + *pulled > limits_.pdf_check_bytes) {
        checkable = false;  // too large to hold: pass it on unchecked
      }
      bytes.insert(bytes.end(), buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(*pulled));
      if (!checkable && !bytes.empty()) DOSSIER_RETURN_IF_ERROR(flush());
      if (checkable && bytes.size() % kHeartbeatBytes < *pulled) {
        DOSSIER_RETURN_IF_ERROR(sink_.Heartbeat());
      }
    }
    if (broken.ok() && checkable) broken = ocr::CheckPdf(bytes);
    if (broken.ok()) DOSSIER_RETURN_IF_ERROR(flush());
    return sink_.EndEntry(broken);
  }

  Status ReadNested(archive* a, const std::string& path, int depth, std::vector<uint8_t> bytes,
                    bool eof, uint64_t entry_bytes) {
    Status broken;
    while (!eof) {
      auto pulled = Pull(a, entry_bytes, broken);
      if (!pulled.ok()) {
        (void)sink_.Refused(path, pulled.status().message());
        return pulled.status();
      }
      const size_t n = *pulled;
      if (!broken.ok()) return sink_.Refused(path, broken.message());
      eof = n == 0;
      if (bytes.size() + n > limits_.nested_archive_bytes) {
        return sink_.Refused(path, fmt::format("archive inside an archive larger than {} MiB: "
                                               "unpack it and send the files inside",
                                               limits_.nested_archive_bytes >> 20));
      }
      bytes.insert(bytes.end(), buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(n));
      if (bytes.size() % kHeartbeatBytes < n) DOSSIER_RETURN_IF_ERROR(sink_.Heartbeat());
    }
    const Status st = ReadArchive(
        [&](archive* inner) { return archive_read_open_memory(inner, bytes.data(), bytes.size()); },
        IsCompressedStream(bytes), path + "/", StreamName(path), depth + 1, "send it again");
    if (st.code() == StatusCode::kRejected) return sink_.Refused(path, st.message());
    return st;
  }

  const UnpackLimits& limits_;
  Budget& budget_;
  UnpackSink& sink_;
  std::vector<uint8_t> buf_;
};

}  // namespace

Status CheckPdfInput(RandomInput& input, uint64_t max_bytes) {
  if (input.size() > max_bytes) return Status::Ok();  // too large to hold: stored unchecked
  std::vector<uint8_t> bytes(input.size());
  for (size_t at = 0; at < bytes.size();) {
    DOSSIER_ASSIGN_OR_RETURN(size_t n, input.ReadAt(at, {bytes.data() + at, bytes.size() - at}));
    if (n == 0) break;
    at += n;
  }
  return ocr::CheckPdf(bytes);
}

Status Unpack(RandomInput& input, const std::string& display, const UnpackLimits& limits,
              UnpackSink& sink) {
  // libarchive converts entry names to the locale's charset; make that UTF-8.
  static const bool locale_set = std::setlocale(LC_CTYPE, "C.UTF-8") != nullptr;
  (void)locale_set;
  Budget budget{limits, input.size()};
  std::vector<uint8_t> head(32774);
  auto got = input.ReadAt(0, head);
  const std::span<const uint8_t> read(head.data(), got.ok() ? *got : 0);
  const bool compressed = IsCompressedStream(read);
  Reader reader(limits, budget, sink);
  ArchiveInput source(input);
  return reader.ReadArchive([&](archive* a) { return source.Open(a); }, compressed, display + "/",
                            StreamName(display), 0, "send the file again", KnownByHead(read));
}

}  // namespace dossier::ingest
