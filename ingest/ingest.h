// Ingest: takes what a patient uploads — files, folders, ZIP/7z/RAR/tar archives, ISO disc
// images — decides what each file is from its bytes, stores what is useful in the vault and
// explains what it refused.
//
//   IngestReport r;
//   Status st = IngestPaths(vault, case_id, {"/media/upload"}, IngestOptions{}, r, on_progress);
//   for (const auto& item : r.items) ...;   // path, kind, size, status, reason, doc_id
//
// Archives and disc images are unpacked in memory by a worker process (worker.h); nothing is
// extracted to disk. Every file is either stored whole (object durable, catalog row + audit
// event committed) or not at all; a refused file never stops the others.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "ingest/unpack.h"
#include "ingest/worker.h"
#include "vault/vault.h"

namespace dossier::ingest {

struct IngestOptions {
  // Largest single file accepted, counted as bytes arrive (a growing file or a lying archive
  // header cannot sneak past it). Default 8 GiB: a dual-layer DVD image fits.
  uint64_t max_file_bytes = uint64_t{8} << 30;
  // Most files one upload may hold on disk (folders walked; default 100,000).
  size_t max_files = 100000;
  // Limits for what archives and disc images unpack to (see unpack.h).
  UnpackLimits unpack;
  // How unpack workers run (see worker.h).
  WorkerOptions worker;
  // The OCR check (doc/OCR.md) of every stored PDF, JPEG, PNG and TIFF, and the reading of
  // every plain-text document (so that search finds it): run, how many workers (0: one per
  // core), the largest document checked, the largest text file read (default 16 MiB: a
  // letter or a lab export is a few KiB; what is larger is stored, not read), and how many
  // bytes of documents may wait for the check in memory (checked after each uploaded item).
  bool ocr = true;
  int ocr_workers = 0;
  uint64_t ocr_max_document_bytes = uint64_t{256} << 20;
  uint64_t text_max_bytes = uint64_t{16} << 20;
  uint64_t ocr_pending_bytes = uint64_t{1} << 30;
  // Non-empty: the upload is a clinic's reply to this request (its request id "req_…" or
  // export id "exp_…", of the same case). Checked before anything is read
  // (Vault::ReplyTarget); every document stored is then filed as `clinic-reply`, linked to
  // the request, which the first one marks answered (vault::NewDocument::reply_to). Ingest
  // does everything else as for any upload: limits, confinement, the OCR check.
  std::string reply_to;
};

// One page of a stored document as the OCR check came to know it (doc/OCR.md step 4b), times
// in seconds from the start of the ingest.
struct PageCheck {
  int page = 0;         // 1-based
  std::string verdict;  // the page's final verdict
  // The verdict was known from a sample of the page's lines, before its text was read whole.
  bool from_sample = false;
  double verdict_seconds = 0;  // when its verdict was known
  double text_seconds = 0;     // when its text was (the page's analysis ended)
  // How long its analysis took to reach the verdict, from asking a worker for it (0 for a
  // page whose analysis failed).
  double analysis_seconds = 0;
};

struct ItemReport {
  std::string path;  // as given, or folder/archive name + path inside it
  std::string kind;  // sniffed kind, "" if unknown
  uint64_t size = 0;
  // stored | duplicate | skipped | rejected, or missing: a file the disc's DICOMDIR lists
  // that is not in the upload
  std::string status;
  std::string reason;  // why rejected or skipped, or what it duplicates
  std::string doc_id;  // the stored document (or the one it duplicates)
  // The OCR check of a stored document: its verdict (empty if not checked), its pages, and
  // what the patient should do about it (empty when nothing).
  std::string verdict;
  int pages = 0;
  std::string advice;
  // A stored DICOM instance: the series it was filed under (IngestReport::series).
  std::string series;
  // "jpeg" when a copy a clinic can open was kept beside the document as uploaded (a HEIC
  // photo's, made with its OCR check: vault::Vault::StoreRendition), else "".
  std::string rendition;
  // The OCR check of each page, by page number (empty when not checked).
  std::vector<PageCheck> page_checks;
};

// A DICOM series that received instances in this upload (doc/DICOM.md).
struct SeriesReport {
  std::string id;  // the vault's series id, "ser_…"
  std::string modality, description, date, object_kind;
  int instances = 0;  // stored by this upload
  // Why it may be another patient's disc ("" when nothing says so): said loudly, every
  // reason any instance gave.
  std::string mismatch;
  // With a mismatch, the facts to resolve it (dicom::MismatchFacts): the patient named on the
  // disc beside the case's. Personal data: for the operator's terminal, never a log.
  std::string mismatch_facts;
  // What a manager should know: "2 instances: pixel data in JPEG 2000 …", in first-seen order.
  std::vector<std::string> problems;
};

struct IngestReport {
  std::vector<ItemReport> items;
  std::vector<SeriesReport> series;
  // For the operator: each analysis worker that crashed, "the unpacker stopped by signal 11"
  // (the item's line says only that Dossier could not read it), in report order.
  std::vector<std::string> worker_crashes;
  // Why analysis workers ran unconfined (sandbox::Confinement::kBestEffort only), or "".
  std::string unconfined_workers;
  size_t Count(std::string_view status) const;
  bool all_accepted() const { return Count("rejected") == 0; }
};

struct IngestProgress {
  uint64_t bytes_done = 0, bytes_total = 0;
  size_t items_done = 0, items_total = 0;
  int pages_done = 0, pages_total = 0;  // the OCR check, while it runs
  // Pages of this upload whose verdict is known, by verdict name ("printed": 7), often before
  // their text: the verdict comes first where a sample of the page's lines makes it sure.
  std::map<std::string, int> verdicts;
  // The item being read: its path as the report shows it (the user's own file name: for their
  // screen, never a log).
  std::string current;
};
using IngestProgressFn = std::function<void(const IngestProgress&)>;

// The bytes of an upload that is not a file on disk — the server's encrypted spool
// (server/internal/spool.h) — read at any offset and decrypted as they are read. Called from
// one thread at a time, not always the one that made it.
class UploadSource {
 public:
  virtual ~UploadSource() = default;
  virtual uint64_t size() const = 0;
  // Fills `out` with the bytes from `offset`, fewer only at the end; kIoError or kCorrupt
  // when the bytes cannot be had (the item is then rejected with that message).
  virtual Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> out) = 0;
};

// One file of an upload through the server: its path as the user's computer had it,
// relative and "/"-separated ("scan.jpg", "CD/DICOM/IM0001"; checked safe by the caller),
// and its bytes.
struct UploadFile {
  std::string path;
  std::shared_ptr<UploadSource> source;
};

// Ingests `paths` into `case_id`. Returns an error only when the vault itself fails (I/O,
// integrity), the case does not exist or is closed, `reply_to` names no request of the case,
// or a path given is missing, unreadable, a link or neither a file nor a folder — all of
// which is checked before anything is stored, and then nothing is (kNotFound / kRejected
// naming the request or every bad path). Refused files are reported in
// `report`, which holds every item handled before a failure.
Status IngestPaths(vault::Vault& vault, const std::string& case_id,
                   const std::vector<std::filesystem::path>& paths, const IngestOptions& options,
                   IngestReport& report, const IngestProgressFn& progress = nullptr);

// Why `path`, an uploaded file's path, cannot be used as given — "is absolute", "leads
// outside the upload (\"..\")", … — or "" when it can: relative, "/"-separated, UTF-8,
// without control characters, backslashes, or empty, "." or ".." folder names. The rule of
// IngestUploads, which the server applies before it takes a byte.
std::string UploadPathProblem(const std::string& path);

// As IngestPaths, for files that arrive through the server. The files of one call are one
// upload: files whose paths share a first folder form one group, as a folder given to
// IngestPaths does (its DICOMDIR cross-checked, its viewer software skipped together); files
// are handled in the order of their paths. The unpack worker reads each through this process
// (doc/FORMAT.md, "Range channel"): nothing is written to disk, whatever the format, and this
// process holds at most a few MiB of each file at a time, whatever its size — one 1 MiB
// buffer serving the worker's requests (at most 1 MiB each), one 1 MiB buffer for what it
// stores itself. A source that fails rejects its file with the source's message; the others
// go on. kInvalidArgument for an unsafe or duplicate path, naming each (nothing stored); the
// rest as IngestPaths.
Status IngestUploads(vault::Vault& vault, const std::string& case_id,
                     const std::vector<UploadFile>& files, const IngestOptions& options,
                     IngestReport& report, const IngestProgressFn& progress = nullptr);

// As IngestUploads, for files whose bytes are still arriving (the server ingests a large
// upload as it comes in, doc/API.md §Uploads): all or nothing. Their sources wait for the
// bytes, and return an error when they stop waiting. Everything goes into one batch that
// commits only at the end (vault::Vault::BatchMode::kWhole). When the ingest cannot finish
// whole — `give_up` says so once the files are read, the batch gave way to another write,
// the ingest or its commit failed, or the case closed — nothing is kept: `kept` is false,
// `report` untouched, and the files are to be ingested again, by IngestUploads, once
// complete. Otherwise `kept` is true and the rest is as IngestUploads. Errors only as
// IngestUploads's checks before anything is read.
Status IngestArriving(vault::Vault& vault, const std::string& case_id,
                      const std::vector<UploadFile>& files, const IngestOptions& options,
                      IngestReport& report, const std::function<bool()>& give_up, bool& kept,
                      const IngestProgressFn& progress = nullptr);

}  // namespace dossier::ingest
