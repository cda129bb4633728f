// The OCR check of stored documents, page by page, on a pool of workers (one per core), each
// page under a hard deadline. Private to ingest/. See doc/OCR.md.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/file_io.h"
#include "common/status.h"
#include "ingest/worker.h"
#include "ocr/ocr.h"
#include "vault/vault.h"

namespace dossier::ingest::internal {

struct OcrJob {
  std::string doc_id;
  std::string kind;  // pdf | tiff | jpeg | png | heic | text (a HEIC photo also gets its JPEG copy)
  File bytes;        // the document, in a sealed memfd (memory, never disk)
  size_t item = 0;   // its line in the ingest report
};

struct OcrResult {
  size_t job = 0;
  int page_count = 0;
  std::vector<vault::PageRecord> pages;
  ocr::Verdict verdict = ocr::Verdict::kBlank;  // the worst page's (when no error)
  std::string advice;                           // for the patient; empty when every page is fine
  std::string error;  // why the document could not be analysed at all (then no pages)
  // A HEIC photo's JPEG copy (ocr::HeicToJpeg), checked to be one whole JPEG file; or why
  // none was made (one of the fixed reasons of a refused page).
  std::vector<uint8_t> jpeg_copy;
  std::string jpeg_copy_error;
};

// A page's verdict became known: first from a sample of its lines (`whole` false: its text is
// still being read; doc/OCR.md step 4b), then from the page read whole (`whole` true, always,
// with the page's final verdict). `seconds`: since the worker was asked for it.
using VerdictKnownFn =
    std::function<void(size_t job, int page, ocr::Verdict, bool whole, double seconds)>;

// Analyses every job; `done` is called once per job, in completion order, and may fail the
// run (a vault error). Worker crashes and timeouts cost a page (it is "unreadable"), never
// the run. `progress(pages_done, pages_known)` after each page; `verdict_known` as each
// page's verdict comes (a worker's verdict that is no verdict name stops it).
Status RunOcr(std::vector<OcrJob>& jobs, const WorkerOptions& options, int workers,
              const std::function<Status(OcrResult&&)>& done,
              const std::function<void(int, int)>& progress,
              const VerdictKnownFn& verdict_known = {});

}  // namespace dossier::ingest::internal
