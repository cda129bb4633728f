// What each part says about itself: README.TXT (Russian and English), INDEX.HTM (readable
// offline), MANIFEST.json (machine-readable, with every file's SHA-256) — and the upper
// bounds of their sizes that the plan reserves. Private to exporter/.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace dossier::exporter {

struct BundleHeader {
  std::string request_id, export_id, consent_id;
  std::string clinic_id, clinic_name;
  std::string sender;  // the operator's name (vault settings), or ""
  std::string purpose;
  bool urgent = false;
  bool encrypted = true;
  bool deidentified = false;  // the imaging went through --deidentify
  bool jpeg_ls = false;       // and/or --jpeg-ls
  std::string created_at;     // UTC
  int part = 1;               // this part, 1-based
  // Every part: its file name and what it holds ("4 documents; series S001 (CT, 120 images)").
  std::vector<std::pair<std::string, std::string>> parts;
};

struct ManifestFile {
  std::string path;  // DOCS/D0001.PDF, DICOM/S001/IM0001
  std::string doc_id;
  std::string category;
  std::string title;  // the document's own name; for imaging, modality and description
  int pages = 0;
  std::string verdict;
  uint64_t size = 0;
  std::string sha256_hex;
  std::string series;  // S001 for DICOM instances, else ""
};

struct IndexSeries {
  std::string label, modality, description, study_date;
  int here = 0;   // instances in this part
  int total = 0;  // instances in the export
};

struct PartSummary {
  std::string name;
  int documents = 0, instances = 0;
  std::set<std::string> series;
};
std::string Describe(const PartSummary& p);

std::string Readme(const BundleHeader& h);
std::string IndexHtml(const BundleHeader& h, const std::vector<ManifestFile>& files,
                      const std::vector<IndexSeries>& series);
std::string Manifest(const BundleHeader& h, const std::vector<ManifestFile>& files);

// --inventory-only: what the consent covers, and only counts of the rest.
struct InventoryDocument {
  std::string doc_id, category, date;
  int pages = 0;
  std::string verdict;
};
struct InventoryStudy {
  std::string study_id, date, modalities;
  int series = 0, images = 0;
};
struct Inventory {
  std::vector<InventoryDocument> documents;
  std::vector<InventoryStudy> studies;
  int other_documents = 0;  // of categories the consent does not cover
  int other_images = 0;
};
std::string InventoryHtml(const BundleHeader& h, const Inventory& inv);
std::string InventoryManifest(const BundleHeader& h, const Inventory& inv);

// Upper bounds for the plan: what one file adds to its part's INDEX.HTM, MANIFEST.json,
// DICOMDIR and archive; what a series adds (its DICOMDIR series, study and patient records,
// its INDEX.HTM line); what a part of an export of `parts` parts holds besides (README.TXT,
// the headers and part lists, the archive's end records).
uint64_t ItemOverhead(const std::string& path, const std::string& title);
inline constexpr uint64_t kGroupOverhead = 8192;
uint64_t PartOverhead(size_t parts);

}  // namespace dossier::exporter
