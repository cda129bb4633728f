// Unpacking archives and disc images in memory with libarchive, under limits.
//
// This is the code that touches hostile bytes; in production it runs inside an unpack worker
// process (worker.h), never in the process that holds the vault's keys.
//
//   UnpackLimits limits;                       // documented defaults below
//   Status st = Unpack(input, "disc.iso", limits, sink);   // input: a RandomInput
//
// Only ZIP (incl. Zip64), 7z, RAR (v4 and v5), tar (plain, gzip, xz, zstd, bzip2) and
// ISO-9660 (with Joliet and Rock Ridge) are enabled — never libarchive's "all".
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "common/file_io.h"
#include "common/status.h"

namespace dossier::ingest {

struct UnpackLimits {
  // Bytes produced by one upload item across every nesting level (counted as they come out of
  // the decompressor, never from sizes the archive declares). Default 32 GiB: a Blu-ray disc.
  uint64_t total_bytes = uint64_t{32} << 30;
  // Bytes of one entry. Default 8 GiB.
  uint64_t entry_bytes = uint64_t{8} << 30;
  // Entries (files) in one item, all levels together. Default 100,000.
  uint64_t entries = 100000;
  // Output may exceed `ratio` × the item's size on disk only up to `ratio_floor` bytes:
  // legitimate scans and DICOM compress 2–20×, zip bombs 1,000×–1,000,000×.
  // Defaults 100× and 256 MiB.
  uint64_t ratio = 100;
  uint64_t ratio_floor = uint64_t{256} << 20;
  // Archives inside archives are unpacked this many levels deep (default 2: a ZIP in a ZIP in
  // the upload). Deeper ones are refused.
  int depth = 2;
  // A nested archive is held in memory to be opened; this bounds it (default 256 MiB; two
  // levels plus a PDF stay well inside the worker's 2 GiB).
  uint64_t nested_archive_bytes = uint64_t{256} << 20;
  // PDFs up to this size are opened with Poppler before they are passed on, and refused if
  // they do not open (default 256 MiB; larger ones pass unchecked).
  uint64_t pdf_check_bytes = uint64_t{256} << 20;
};

// Receives what Unpack() finds, in order. Paths are UTF-8, "/"-separated, prefixed by the
// item's display name (e.g. "upload.zip/scans/Выписка.pdf").
class UnpackSink {
 public:
  virtual ~UnpackSink() = default;
  // A regular file: Begin, then its bytes in pieces, then End (ok, or why it broke midway —
  // the bytes already sent must then be discarded).
  virtual Status BeginEntry(const std::string& path) = 0;
  virtual Status EntryData(std::span<const uint8_t> data) = 0;
  virtual Status EndEntry(const Status& outcome) = 0;
  // An entry refused without reading it (unsafe path, link, device, password, too deep…).
  virtual Status Refused(const std::string& path, const std::string& reason) = 0;
  // Skipped by design, not stored, not an error: `group` is kViewerSoftware or kSystemClutter.
  virtual Status Skipped(const std::string& path, const std::string& group) = 0;
  // Still working (holding a large nested archive or PDF in memory): no news to report.
  virtual Status Heartbeat() { return Status::Ok(); }
};

// The bytes of one item as a worker reads them, at any offset: the descriptor it was handed
// (read with pread), or a range channel on which it asks its parent for them, at most 1 MiB
// at a time (internal/random_input.h; doc/FORMAT.md, "Range channel"). One thread at a time.
class RandomInput {
 public:
  virtual ~RandomInput() = default;
  virtual uint64_t size() const = 0;
  // Fills `out` with the bytes from `offset`, fewer only at the end (0 at or past it);
  // kIoError when they cannot be had (the message says why: the parent's, for a channel).
  virtual Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> out) = 0;
};

// Unpacks the archive in `input` (libarchive reads it 1 MiB at a time: ISO and tar in order,
// ZIP and 7z with seeks). Entry problems are reported
// through the sink; the returned status is an error only when the archive as a whole cannot be read
// any further (not an archive, truncated, encrypted headers, a limit for the whole item): its
// message says why, in words a patient can act on, and the sink has already received every entry
// read before.
Status Unpack(RandomInput& input, const std::string& display, const UnpackLimits& limits,
              UnpackSink& sink);

inline constexpr const char* kViewerSoftware = "disc viewer software";
inline constexpr const char* kSystemClutter = "system files (.DS_Store, Thumbs.db, __MACOSX)";

// The skip group of a path inside an upload, or "" if it is to be looked at: viewer software
// shipped on imaging discs (.exe, .dll, autorun.inf, .jar, .app bundles, …) or files that
// operating systems leave behind.
std::string SkipGroupForName(const std::string& path);

// Checks the PDF in `input` with Poppler (see ocr::CheckPdf) if it is at most `max_bytes`
// (larger ones pass unchecked), read into memory whole. Untrusted parsing: call it only
// inside a worker.
Status CheckPdfInput(RandomInput& input, uint64_t max_bytes);

// Entry names as archives store them → safe UTF-8 relative path, or the reason it is unsafe.
// Undecodable bytes are read as CP866 (Russian Windows ZIPs without the UTF-8 flag).
Result<std::string> SafeEntryPath(const std::string& raw);

}  // namespace dossier::ingest
