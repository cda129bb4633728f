// The OCR check of an upload's stored documents (doc/OCR.md): each PDF, JPEG, PNG and TIFF
// stored waits, as a sealed memfd (memory, never disk), until enough bytes wait or the upload
// ends; then all are checked page by page on a pool of workers (ocr_pool.h), each verdict
// recorded in the vault and on the document's report line, with the check that the text
// names the case's patient. Private to ingest/.
//
//   OcrQueue ocr(vault, options, log, patient, progress);
//   ocr.Queue(line, std::move(bytes));              // after the line is added
//   if (ocr.full()) DOSSIER_RETURN_IF_ERROR(ocr.Run());
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "ingest/ingest.h"
#include "ingest/internal/case_patient.h"
#include "ingest/internal/item.h"
#include "ingest/internal/ocr_pool.h"
#include "ingest/internal/progress.h"
#include "vault/vault.h"

namespace dossier::ingest::internal {

class OcrQueue {
 public:
  // Keeps references to all of them.
  OcrQueue(vault::Vault& vault, const IngestOptions& options, ItemLog& log, CasePatient& patient,
           Progress& progress)
      : vault_(vault), options_(options), log_(log), patient_(patient), progress_(progress) {}

  // The document of line `line` (stored), `bytes` its plaintext, waits for the check — or,
  // when too many bytes wait already or no memfd can hold it, its line says it was not
  // checked.
  void Queue(size_t line, std::vector<uint8_t> bytes);
  // Half of IngestOptions::ocr_pending_bytes waits: time to Run().
  bool full() const { return pending_ >= options_.ocr_pending_bytes / 2; }
  // Checks every queued document, page by page on all cores, and records the verdicts.
  // Errors are the vault's.
  Status Run();

 private:
  Status Record(OcrResult&& r);
  // Page `page` of `item`'s document has its verdict (RunOcr's VerdictKnownFn): its PageCheck
  // and the progress say so.
  void PageKnown(Item& item, int page, const std::string& verdict, bool whole,
                 double analysis_seconds);
  // The wrong-patient check: a readable document of some length that names neither the
  // first nor the last word of the patient's name (surname first or last), in any script or
  // common transliteration, is probably someone else's.
  Result<bool> LooksLikeThePatients(const OcrResult& r);

  vault::Vault& vault_;
  const IngestOptions& options_;
  ItemLog& log_;
  CasePatient& patient_;
  Progress& progress_;
  std::vector<OcrJob> jobs_;  // stored documents awaiting the check
  uint64_t pending_ = 0;      // their bytes
};

}  // namespace dossier::ingest::internal
