// DICOM knowledge of Dossier: recognising DICOM bytes, and summarising an instance parsed
// from memory with DCMTK (codecs registered once). Runs on untrusted bytes: call it inside a
// worker process. DCMTK types never appear in this header.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"

namespace dossier::dicom {

// True when `head` (the first bytes of a file, ideally ≥ 132) is DICOM: either the Part 10
// preamble + "DICM", or a bare data set starting with a group 0002/0008 element in explicit
// or implicit little-endian VR (as some discs store files without a meta header).
bool LooksLikeDicom(std::span<const uint8_t> head);

// "DCMTK 3.6.7" — the library this build links.
std::string LibraryVersion();

// What one DICOM instance is, all text in UTF-8 whatever SpecificCharacterSet the disc used
// (ISO_IR 144, ISO_IR 192, ISO 2022 IR 144/6, the default repertoire, …).
struct InstanceSummary {
  std::string sop_class_uid;
  std::string sop_class;  // "CT Image Storage", or the UID when DCMTK has no name
  std::string sop_instance_uid;
  std::string transfer_syntax_uid;  // of the data set as stored
  std::string transfer_syntax;      // "JPEG-LS Lossless", …
  bool meta_header = true;          // false: a bare data set (Dossier adds one when storing)
  // Patient
  std::string patient_name;  // as written, "Иванов^Иван"
  std::string patient_id;
  std::string birth_date;  // YYYYMMDD as written, or ""
  std::string sex;
  // Study and series
  std::string study_uid, study_date, study_description, accession;
  std::string series_uid, modality, series_description, body_part;
  int series_number = 0;
  int instance_number = 0;
  // Image
  int rows = 0, columns = 0, frames = 0;
  // "image", "rt plan", "rt structure set", "rt dose", "structured report", "waveform",
  // "presentation state", "other" (non-images are kept and labelled)
  std::string object_kind;
  // What a manager should know: missing UIDs, pixel data this DCMTK cannot decode, …
  std::vector<std::string> problems;
};

// Parses one instance from memory (transfer syntax detected; files without a Part 10 meta
// header included). kRejected with a reason a patient can act on when the bytes are not a
// readable DICOM instance: truncated, not DICOM, stray bytes before the data set.
Result<InstanceSummary> Summarize(std::span<const uint8_t> bytes);

}  // namespace dossier::dicom
