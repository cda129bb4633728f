// The unpack worker: `dossier __unpack-worker`, an analysis worker (sandbox/worker.h) that
// parses untrusted archives, PDFs, images and DICOM, so that a crash, a hang or a take-over
// by hostile bytes costs one item, never the ingest. Only the parent holds keys; a worker
// sees the upload, nothing else, and is confined as sandbox/confine.h says. Requests and
// replies: doc/FORMAT.md, "Unpack worker protocol". The parent kills a worker that stays
// silent past the stall timeout and starts a fresh one for the next item.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/file_io.h"
#include "common/secure_buffer.h"
#include "common/status.h"
#include "ingest/unpack.h"
#include "sandbox/worker.h"

namespace dossier::ingest {

// How ingest runs its workers: the sandbox's limits and confinement, and its own deadlines.
struct WorkerOptions : sandbox::WorkerOptions {
  // A worker that sends nothing for this long is killed and its item rejected (default 60 s).
  int stall_seconds = 60;
  // The OCR check of one page may take this long (default 120 s), whatever Tesseract's own
  // deadlines do: a page of noise can keep its layout analysis busy for minutes.
  int page_seconds = 120;
  // One item (an archive, a disc image) may take this long in all (default 30 min: a DVD
  // image takes under a minute, a Blu-ray a few).
  int item_seconds = 1800;
};

// Entry point of the worker process: confines itself (sandbox::EnterWorker), then serves
// requests until stdin closes. Returns the exit code (5 when it could not be confined).
int RunUnpackWorker();

// One running unpack worker, owned by the parent: a sandbox::Worker and the requests it
// understands. Move-only; kills the child on destruction.
class UnpackWorker {
 public:
  // kInternal when the worker cannot start or cannot be confined (sandbox::Worker::Start).
  static Result<UnpackWorker> Start(const WorkerOptions& options);

  pid_t pid() const { return worker_.pid(); }
  int reply_fd() const { return worker_.reply_fd(); }
  int request_fd() const { return worker_.request_fd(); }
  // Why the worker runs unconfined (only with sandbox::Confinement::kBestEffort), or "".
  const std::string& unconfined() const { return worker_.unconfined(); }
  // The worker receives `file` itself (a descriptor, never a path) and reads it from the start
  // — or, `channel` set, `file` is the worker's end of a range channel over that many bytes,
  // on which it asks this process for them (doc/FORMAT.md, "Range channel"; the caller
  // serves the other end and closes its copy of this one once sent).
  Status SendUnpack(const File& file, const std::string& display, const UnpackLimits& limits,
                    std::optional<uint64_t> channel = std::nullopt);
  // Sends one file back as a single entry named `display`, summarised if it is DICOM.
  Status SendWhole(const File& file, const std::string& display,
                   std::optional<uint64_t> channel = std::nullopt);
  // A preview PNG of a DICOM instance ('Q', then 'F'; see dicom::Preview).
  Status SendPreview(const File& file);
  // Asks the worker to open a PDF with Poppler; it answers with one 'F' frame.
  Status SendCheckPdf(const File& file, uint64_t max_bytes,
                      std::optional<uint64_t> channel = std::nullopt);
  // The OCR check (ocr/): how many pages a document of `kind` has ('C', then 'F'), and the
  // analysis of one page as JSON ('G', then 'F'); `verdict_first`: its verdict alone where a
  // sample of its lines makes it sure ("text_pending"), its text when asked again.
  Status SendCountPages(const File& file, const std::string& kind);
  Status SendAnalyzePage(const File& file, const std::string& kind, int page,
                         bool verdict_first = false);
  // A JPEG copy of a stored HEIC photo (ocr::HeicToJpeg): 'D' frames of at most 1 MiB, then
  // 'F' (empty, or the refusal).
  Status SendJpegCopy(const File& file);
  // Kills the child (SIGKILL) and reaps it; returns how it ended, e.g. "stopped by signal 6".
  std::string Stop() { return worker_.Stop(); }

 private:
  explicit UnpackWorker(sandbox::Worker worker) : worker_(std::move(worker)) {}
  Status Send(char type, std::string_view payload, const File& file);
  sandbox::Worker worker_;
};

}  // namespace dossier::ingest
