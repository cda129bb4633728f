// `dossier export`: a case's documents and imaging for a clinic, behind the consent gate, in
// self-contained encrypted parts under a size limit, each read back before the export counts
// (doc/EXPORT.md). The CLI only parses options and prints.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/category.h"
#include "common/clock.h"
#include "common/status.h"
#include "exporter/age.h"
#include "exporter/imaging.h"
#include "sandbox/worker.h"
#include "vault/vault.h"

namespace dossier::exporter {

inline constexpr uint64_t kDefaultMaxPart = 18'000'000;  // "18MB"

struct ExportRequest {
  std::string case_id;
  std::string recipient;           // clinic id or exact name
  std::filesystem::path out;       // a new folder
  std::vector<std::string> docs;   // doc_… and ser_… ids; empty: the whole case
  std::optional<Purpose> purpose;  // default: the consent's, when it has exactly one
  bool urgent = false;             // answer due in 24 hours instead of 5 working days
  uint64_t max_part = kDefaultMaxPart;
  std::string max_part_text = "18MB";        // as given, for messages
  std::string password;                      // empty: unencrypted parts (--no-encryption, or age)
  std::vector<AgeRecipient> age_recipients;  // parts are age files for these (ZIP inside)
  bool inventory_only = false;               // one part listing what the consent covers
  bool include_handwritten = false;          // handwritten, unreadable and blank documents too
  const Clock* clock = nullptr;              // default: the system clock
  // Imaging (imaging.h): --deidentify applies the DICOM PS3.15 Basic Profile (the patient
  // shown as CASE^<case id>); --jpeg-ls re-compresses losslessly. Either one transforms every
  // instance in the confined imaging worker before the plan, which then uses their new sizes.
  bool deidentify = false;
  bool jpeg_ls = false;
  sandbox::Confinement confinement = sandbox::Confinement::kRequired;  // of that worker
};

struct ExportedPart {
  std::string name;  // file name in `out`
  uint64_t size = 0;
  std::string sha256_hex;
  int documents = 0;  // files under DOCS/
  int instances = 0;  // DICOM instances under DICOM/
};

struct ExportReport {
  std::string request_id, export_id, consent_id, clinic_id;
  Purpose purpose = Purpose::kSecondOpinion;
  std::string due;  // YYYY-MM-DD, or a UTC time when urgent
  std::vector<ExportedPart> parts;
  std::vector<std::string> sent;      // doc ids in the parts
  std::vector<std::string> warnings;  // left out, and why (ids only)
  ImagingStats imaging;               // with --deidentify or --jpeg-ls
};

// Progress: the part being written (1-based), how many, bytes done of the total.
using ExportProgress = std::function<void(int part, int parts, uint64_t done, uint64_t total)>;

// Refusals: kRejected from the consent gate (audited as `export.refused`, nothing written),
// kNotFound for an unknown case, clinic or document, kRejected for a document too large for
// any part or an existing output folder, kInvalidArgument for a --docs id of the wrong kind
// or --deidentify / --jpeg-ls with an inventory (which holds no images).
Result<ExportReport> Export(vault::Vault& vault, const ExportRequest& request,
                            const ExportProgress& progress = nullptr);

// What `export --json` says of an export: {request_id, export_id, consent_id, clinic_id,
// purpose, due, parts: [{name, size, sha256, documents, dicom_instances}], documents,
// warnings}.
nlohmann::json ExportReportJson(const ExportReport& rep);

// A strong password for the parts (about 120 bits), for the manager to send by another channel.
std::string GeneratePassword();

}  // namespace dossier::exporter
