// Unpack workers: child processes that parse untrusted archives and PDFs so that a crash or a hang
// on hostile bytes costs one item, never the ingest (or, later, the server). Only the parent holds
// keys; a worker sees the upload, nothing else.
//
// A worker is the `dossier` binary re-executed as `dossier __unpack-worker`, with memory, CPU
// and core-dump limits (setrlimit) applied before exec, fed requests on stdin and answering
// on stdout in frames (internal/wire.h); each upload is passed to it as an open descriptor. The
// parent kills a worker that stays silent past the stall timeout and starts a fresh one for the
// next item.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/file_io.h"
#include "common/secure_buffer.h"
#include "common/status.h"
#include "ingest/unpack.h"

namespace dossier::ingest {

struct WorkerOptions {
  // Program to run as the worker; empty means this very executable (/proc/self/exe).
  std::string program;
  // Address-space limit of a worker (RLIMIT_AS). Default 2 GiB: a nested archive is held in
  // memory (UnpackLimits::nested_archive_bytes) and 7z dictionaries can be large.
  uint64_t memory_bytes = uint64_t{2} << 30;
  // CPU seconds a worker may use in its whole life (RLIMIT_CPU), a backstop: default 1 hour.
  uint64_t cpu_seconds = 3600;
  // A worker that sends nothing for this long is killed and its item rejected (default 60 s).
  int stall_seconds = 60;
  // The OCR check of one page may take this long (default 120 s), whatever Tesseract's own
  // deadlines do: a page of noise can keep its layout analysis busy for minutes.
  int page_seconds = 120;
  // One item (an archive, a disc image) may take this long in all (default 30 min: a DVD
  // image takes under a minute, a Blu-ray a few).
  int item_seconds = 1800;
  // What the child runs as (argv[1]), and a folder it may write in (passed as descriptor 3
  // and opened to it by Landlock; -1: none). Set by ExportWorker.
  std::string role = "__unpack-worker";
  int writable_dir_fd = -1;
};

// The descriptor a worker finds its writable folder on.
inline constexpr int kWritableDirFd = 3;

// Entry point of the worker process: confines itself (ConfineWorker), then serves requests
// until stdin closes. Returns the exit code.
int RunUnpackWorker();

// Takes away this process's access to the filesystem, but for reading /usr (locale data,
// iconv modules), with Landlock. Files reach a worker as descriptors, so it needs no more:
// a worker taken over by hostile bytes cannot read the vault or the passphrase file.
// Returns false where the kernel has no Landlock (Linux < 5.13): the worker then runs with
// its rlimits and a minimal environment only.
// `writable_dir` (a descriptor, or -1) is a folder the worker may also create and write
// files in: the export worker's output folder.
bool ConfineWorker(int writable_dir = -1);

// Entry point of the export worker: confined to reading /usr and writing in its folder
// (descriptor 3), it de-identifies instances it receives as sealed memfds and writes them
// there, then the DICOMDIR. It holds the export's UID key (it can only map UIDs) and no other.
int RunExportWorker();

// One running worker, owned by the parent. Move-only; kills the child on destruction.
// Starting the first worker sets SIGPIPE to be ignored in the calling process.
class UnpackWorker {
 public:
  static Result<UnpackWorker> Start(const WorkerOptions& options);
  UnpackWorker(UnpackWorker&& other) noexcept;
  UnpackWorker& operator=(UnpackWorker&& other) noexcept;
  UnpackWorker(const UnpackWorker&) = delete;
  UnpackWorker& operator=(const UnpackWorker&) = delete;
  ~UnpackWorker();

  pid_t pid() const { return pid_; }
  int reply_fd() const { return from_worker_; }
  int request_fd() const { return to_worker_; }
  // The worker receives `file` itself (a descriptor, never a path) and reads it from the start.
  Status SendUnpack(const File& file, const std::string& display, const UnpackLimits& limits);
  // Sends one file back as a single entry named `display`, summarised if it is DICOM.
  Status SendWhole(const File& file, const std::string& display);
  // A preview PNG of a DICOM instance ('Q', then 'F'; see dicom::Preview).
  Status SendPreview(const File& file);
  // Asks the worker to open a PDF with Poppler; it answers with one 'F' frame.
  Status SendCheckPdf(const File& file, uint64_t max_bytes);
  // The OCR check (ocr/): how many pages a document of `kind` has ('C', then 'F'), and the
  // analysis of one page as JSON ('G', then 'F').
  Status SendCountPages(const File& file, const std::string& kind);
  Status SendAnalyzePage(const File& file, const std::string& kind, int page);
  // Kills the child (SIGKILL) and reaps it; returns how it ended, e.g. "killed by signal 6".
  std::string Stop();

 private:
  UnpackWorker() = default;
  pid_t pid_ = -1;
  int to_worker_ = -1;
  int from_worker_ = -1;
};

// A case's DICOM instances de-identified into a folder by a confined worker process
// (`dossier dicom export`): the parent, which holds the keys, never parses them.
class ExportWorker {
 public:
  // Starts the worker, confined to `folder`, with the export's UID key (Vault::ExportUidKey).
  static Result<ExportWorker> Start(WorkerOptions options, const std::filesystem::path& folder,
                                    const SecureBuffer& uid_key);
  struct Written {
    uint64_t bytes = 0;
    bool recompressed = false;
    std::string kept_reason;
    bool burned_in = false;  // dicom::ExportedInstance::burned_in_annotation
  };
  // De-identifies `instance` (a sealed memfd of a stored DICOM document) into `file_id`
  // ("DICOM/S001/IM0001") of the folder. kRejected when the instance cannot be read.
  Result<Written> Write(const std::string& file_id, const File& instance,
                        const std::string& patient_name, const std::string& patient_id,
                        bool jpeg_ls);
  // The folder's DICOMDIR for the files written.
  Status WriteDicomdir(const std::vector<std::string>& file_ids);

 private:
  ExportWorker(UnpackWorker worker, int timeout_seconds)
      : worker_(std::move(worker)), timeout_seconds_(timeout_seconds) {}
  Status Finish(const std::string& what);
  UnpackWorker worker_;
  int timeout_seconds_;
};

}  // namespace dossier::ingest
