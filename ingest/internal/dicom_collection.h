// The DICOM of an upload: what the worker said of each DICOM entry, filed as it is stored —
// instances under their study and series (vault::AddDicomInstance) with the check against
// the case's patient, the series' problems tallied, the DICOMDIRs kept and cross-checked
// against the files around them — and, once the upload is committed, a preview of every
// series it added to. Owns the upload's IngestReport::series. Private to ingest/.
//
//   DicomCollection dicom(vault, case_id, patient, worker, log, sink, report);
//   DOSSIER_RETURN_IF_ERROR(dicom.Note(item, store.TakeDicom()));   // per entry, before Add
//   dicom.CrossCheck(first_line);                                   // per disc or folder
//   dicom.Finish();                                                 // problems into the report
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "dicom/dicom.h"
#include "ingest/ingest.h"
#include "ingest/internal/case_patient.h"
#include "ingest/internal/item.h"
#include "ingest/internal/unpack_reader.h"
#include "ingest/internal/worker_slot.h"
#include "vault/vault.h"

namespace dossier::ingest::internal {

class DicomCollection {
 public:
  // Keeps references to all of them; "missing" lines go to `sink`, series to `report`.
  DicomCollection(vault::Vault& vault, const std::string& case_id, CasePatient& patient,
                  WorkerSlot& worker, ItemLog& log, ItemSink& sink, IngestReport& report)
      : vault_(vault),
        case_id_(case_id),
        patient_(patient),
        worker_(worker),
        log_(log),
        sink_(sink),
        report_(report) {}

  // What the worker said of a DICOM entry that just ended (`summary`, if it sent one), before
  // `item`'s line is added to the log: a stored instance is filed under its study and series
  // and checked against the case's patient; a DICOMDIR's listing is kept for the cross-check
  // at the end of the disc. Errors are the vault's.
  Status Note(Item& item, std::optional<dicom::InstanceSummary> summary);

  // The DICOMDIRs stored since line `from`, checked against the files around them: files
  // they list that are not in the upload become "missing" lines; DICOM files they do not list
  // are said to be unlisted (they were read all the same). File IDs compare without case and
  // ISO 9660 ";1" suffixes.
  void CrossCheck(size_t from);

  // Each series' problems, counted: "… (3 of 20 instances)".
  void Finish();

  // A preview of each series this upload added to: its middle instance (by instance number),
  // decrypted into a sealed memfd and rendered by a worker, never by this process. A series
  // that cannot be rendered (JPEG 2000, no pixels) simply has none. Runs after the batch
  // commit: the objects must be on disk to be read back.
  Status MakePreviews();

 private:
  // The worker's PNG of a stored DICOM document; empty when there is none. Errors are the
  // vault's only.
  Result<std::vector<uint8_t>> RenderPreview(const std::string& doc_id);

  struct DicomdirListing {
    size_t item = 0;                 // the DICOMDIR's report line
    std::vector<std::string> files;  // its referenced file IDs
    bool checked = false;
  };

  vault::Vault& vault_;
  const std::string& case_id_;
  CasePatient& patient_;
  WorkerSlot& worker_;
  ItemLog& log_;
  ItemSink& sink_;
  IngestReport& report_;
  std::map<std::string, size_t> series_index_;  // series id → index into report_.series
  std::map<std::string, dicom::SeriesTally> tallies_;
  // series id → the patients its mismatching instances name (dicom::PatientOnDisc), each once
  std::map<std::string, std::vector<std::string>> on_disc_;
  std::vector<DicomdirListing> dicomdirs_;
};

}  // namespace dossier::ingest::internal
