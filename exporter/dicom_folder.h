// `dossier dicom export`: a case's DICOM series as a new, de-identified folder for the operator
// — no clinic, no consent — that any DICOM viewer opens: DICOMDIR plus DICOM/S001/IM0001… The
// instances go through the same imaging code as `dossier export --deidentify` (imaging.h):
// decrypted into sealed memfds here, de-identified (and re-compressed) by the confined imaging
// worker, which writes them and the DICOMDIR inside the folder it is confined to
// (doc/DICOM.md). Audited as one `dicom.export` event before the first instance is read.
//
//   DicomFolderRequest r{.case_id = "case_…", .out = "/media/usb/ct", .jpeg_ls = true};
//   DOSSIER_RETURN_IF_ERROR(CheckDicomFolderRequest(r));   // before the vault is unlocked
//   DOSSIER_ASSIGN_OR_RETURN(DicomFolderReport rep, ExportDicomFolder(vault, r));
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "exporter/imaging.h"
#include "sandbox/worker.h"
#include "vault/vault.h"

namespace dossier::exporter {

struct DicomFolderRequest {
  std::string case_id;
  std::vector<std::string> series;  // ser_… ids; empty: all of the case's series
  std::string out;                  // the new folder (written as OUT.partial first)
  std::string pseudonym;            // the patient's name and ID as shown; "": CASE^<case id>
  bool jpeg_ls = false;             // lossless JPEG-LS where it helps
  bool allow_mismatch = false;      // series flagged as possibly another patient's too
  sandbox::Confinement confinement = sandbox::Confinement::kRequired;
  // Told once, before the first instance, why the worker runs unconfined.
  std::function<void(const std::string& why)> unconfined;
  // Instances done of the total.
  std::function<void(size_t done, size_t total)> progress;
};

struct DicomFolderReport {
  size_t series = 0;
  std::string patient_name;  // as the clinic sees it
  ImagingStats imaging;
};

// What needs no vault: a pseudonym of the letters PN allows (kInvalidArgument), an output
// folder that is new or empty (kRejected).
Status CheckDicomFolderRequest(const DicomFolderRequest& request);

// Refusals, each before anything is read: kNotFound for a series not the case's or a case
// without series; kRejected for a series flagged as another patient's (naming every one)
// without allow_mismatch, or a leftover OUT.partial; and CheckDicomFolderRequest's. On any
// failure the folder is removed.
Result<DicomFolderReport> ExportDicomFolder(vault::Vault& vault, const DicomFolderRequest& request);

}  // namespace dossier::exporter
