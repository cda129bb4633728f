// DICOM knowledge of Dossier: recognising DICOM bytes, and summarising an instance parsed
// from memory with DCMTK (codecs registered once). Runs on untrusted bytes: call it inside a
// worker process. DCMTK types never appear in this header.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
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
  std::string study_time;  // HHMMSS[.F…] as written, or ""
  std::string study_id;    // the modality's StudyID (SH), or ""; not Dossier's study id
  std::string series_uid, modality, series_description, body_part;
  int series_number = 0;
  int instance_number = 0;
  // Image
  int rows = 0, columns = 0, frames = 0;
  // "image", "rt plan", "rt structure set", "rt dose", "structured report", "waveform",
  // "presentation state", "directory" (a DICOMDIR), "other" (non-images are kept and labelled)
  std::string object_kind;
  // What a DICOMDIR record of the instance needs beyond the above (PS3.3 F.5, BuildDicomdir),
  // as written, "" where the file has none (and in summaries stored before they were kept).
  struct RecordKeys {
    std::string content_date, content_time;  // any instance (a study date's last resort)
    // RT plans: RTPlanLabel, RTPlanDate, RTPlanTime; RT structure sets: StructureSetLabel,
    // StructureSetDate, StructureSetTime
    std::string rt_label, rt_date, rt_time;
    std::string dose_summation_type;  // RT doses
    // Structured reports and key object selections: the document title (the root's
    // ConceptNameCodeSequence), completion and verification
    std::string title_code_value, title_coding_scheme, title_code_meaning;
    std::string completion_flag, verification_flag;
    std::string verification_datetime;  // of the last verifying observer
    bool title_modifiers = false;       // the root has HAS CONCEPT MOD content items
  };
  RecordKeys record_keys;
  // A DICOMDIR's referenced file IDs, found by a flat walk of all its directory records (the
  // record tree misses images on some discs), '/'-separated as written: "DICOM/S001/IM0001".
  std::vector<std::string> referenced_files;
  // What a manager should know: missing UIDs, pixel data this DCMTK cannot decode, …
  std::vector<std::string> problems;
};

// Parses one instance from memory (transfer syntax detected; files without a Part 10 meta
// header included). kRejected with a reason a patient can act on when the bytes are not a
// readable DICOM instance: truncated, not DICOM, stray bytes before the data set.
Result<InstanceSummary> Summarize(std::span<const uint8_t> bytes);

// A bare data set (Summarize said meta_header = false) as a proper Part 10 file: preamble,
// "DICM" and a meta header naming its SOP class, instance and transfer syntax, then the data
// set as DCMTK re-encodes it (the same elements and values, written with explicit lengths;
// elements stored as UN take their dictionary VR). kRejected as Summarize would be.
Result<std::vector<uint8_t>> WithMetaHeader(std::span<const uint8_t> bytes);

// A summary as JSON (for the worker's reply and the catalog) and back. FromJson trusts
// nothing: a missing or mistyped field, an oversized value or list is kCorrupt.
std::string ToJson(const InstanceSummary& s);
Result<InstanceSummary> FromJson(std::string_view json);

// Why the patient of a DICOM instance may not be the case's patient (`name` in any script,
// `birth_date` YYYY-MM-DD), or "" when nothing says so. Names are compared through
// transliteration (Иванов = IVANOV = Ivanoff): the disc's family name must be the first or
// the last word of the patient's name. Empty values on either side prove nothing.
std::string PatientMismatch(const InstanceSummary& s, std::string_view name,
                            std::string_view birth_date);

// The patient an instance names, as a person reads it: "Ivanov Ivan Petrovich, born
// 1980-02-01" (PersonFacts of common/text.h: components joined by spaces, the birth date
// written YYYY-MM-DD). Personal data: for the terminal and sealed fields only.
std::string PatientOnDisc(const InstanceSummary& s);

// What an operator needs to resolve a mismatch: "on the disc: Ivanov Petr, born 1970-05-05;
// the case's patient: Иванов Иван, born 1980-02-01". `on_disc` holds PatientOnDisc of the
// instances, each once (two or more are joined by " | ").
std::string MismatchFacts(const std::vector<std::string>& on_disc, std::string_view name,
                          std::string_view birth_date);

// What a series' instances have to say, counted, for a manager: each instance's problems,
// a meta header that had to be added, two files with one SOP Instance UID.
class SeriesTally {
 public:
  void Add(const InstanceSummary& instance);
  // A problem found outside the summary (e.g. "not listed in the disc's DICOMDIR").
  void AddProblem(const std::string& problem);
  int instances() const { return instances_; }
  // "pixel data in JPEG 2000 … (3 of 20 instances)", in first-seen order.
  std::vector<std::string> Problems() const;

 private:
  int instances_ = 0;
  std::vector<std::pair<std::string, int>> problems_;
  std::vector<std::string> uids_;  // sorted
};

// --- Exports (dicom/export.cc) ---

// De-identification by DICOM PS3.15 Annex E, Basic Application Level Confidentiality Profile,
// with the Retain Longitudinal Temporal Information (Full Dates) and Retain Patient
// Characteristics options; optionally, lossless JPEG-LS re-compression.
struct ExportOptions {
  // What the clinic sees instead of the patient's name and ID (a pseudonym it can quote).
  std::string patient_name = "ANONYMOUS";
  std::string patient_id = "ANONYMOUS";
  // Re-compress pixel data to JPEG-LS lossless where that loses nothing (8–16 bit data that
  // is not already lossy); keep the original encoding otherwise.
  bool jpeg_ls = false;
};

struct ExportedInstance {
  std::vector<uint8_t> bytes;  // a Part 10 file
  std::string sop_class_uid;
  std::string sop_instance_uid;  // the new one
  std::string transfer_syntax_uid;
  // Names may be written into the pixels themselves, which no attribute-level
  // de-identification removes: BurnedInAnnotation = YES, or not stated for a kind of image
  // that often has text in it (secondary capture, US, XA, ES, OT). Look before sending.
  bool burned_in_annotation = false;
  bool recompressed = false;  // JPEG-LS was applied
  std::string kept_reason;    // with jpeg_ls: why the original encoding was kept, or ""
};

// Maps an original UID to its replacement: the same UID must always map to the same
// replacement (within an export, and for the same study across exports).
using UidMap = std::function<std::string(const std::string& uid)>;

// De-identifies one instance (see ExportOptions). Private elements, overlays and curves are
// removed; names, IDs and addresses removed or emptied (type 2 attributes are emptied, not
// removed, so the result stays valid); every instance-specific UID is replaced through
// `map_uid`; dates, times and patient characteristics (sex, age, size, weight) are kept; the
// result says so (PatientIdentityRemoved, DeidentificationMethod and its code sequence).
// kRejected as Summarize would be.
Result<ExportedInstance> Deidentify(std::span<const uint8_t> bytes, const ExportOptions& options,
                                    const UidMap& map_uid);

// Lossless JPEG-LS re-compression alone, for an export that is not de-identified: the
// instance as it was, but for its pixel data's encoding and the meta header that names it
// (UIDs and every other element unchanged). Where JPEG-LS cannot help (ExportOptions::jpeg_ls)
// the bytes come back exactly as given, kept_reason saying why. burned_in_annotation is not
// judged (false). kRejected as Summarize would be.
Result<ExportedInstance> RecompressJpegLs(std::span<const uint8_t> bytes);

// "2.25." and the 128-bit number in decimal: a UID from 16 random (or keyed-hash) bytes, as
// PS3.5 B.2 allows without a registered root.
std::string UidFromBytes(std::span<const uint8_t, 16> bytes);

// The export UID map of a key (Vault::ExportUidKey): UidFromBytes of the keyed BLAKE2b-128 of
// the UID. Deterministic: the same key and UID always give the same replacement. The key is
// copied.
UidMap KeyedUidMap(std::span<const uint8_t> key);

// Writes `folder`/DICOMDIR for the files `file_ids` ("DICOM/S001/IM0001": upper case, at most
// 8 characters per component, already in `folder`). General Purpose CD-R profile when every
// file is Explicit VR Little Endian, else STD-GEN-MIME (which allows compressed syntaxes).
Status WriteDicomdir(const std::filesystem::path& folder, const std::vector<std::string>& file_ids,
                     const std::string& fileset_id);

// One instance of a DICOMDIR built in memory: where it is in the file-set, and what it is.
struct DicomdirEntry {
  std::string file_id;      // "DICOM/S001/IM0001": upper case, at most 8 characters per component
  InstanceSummary summary;  // as stored by the vault
};

// The bytes of a DICOMDIR for `entries`, built in memory from their summaries: nothing is
// read from or written to disk, so it suits file-sets whose instances are only ever in memory
// (encrypted export parts). A Part 10 file (Media Storage Directory Storage, Explicit VR
// Little Endian, a fresh 2.25 MediaStorageSOPInstanceUID), FileSetID `fileset_id` (0–16
// characters A–Z, 0–9, _), FileSetConsistencyFlag 0. Entries may be any part of a series.
//
// Records: PATIENT → STUDY → SERIES → one record per instance, of the type DCMTK's
// DicomDirInterface gives its SOP class: IMAGE, RT DOSE, RT STRUCTURE SET, RT PLAN,
// SR DOCUMENT, KEY OBJECT DOC, WAVEFORM. Grouped by patient ID (by name when it is empty),
// study UID and series UID, in first-seen order; series ordered by series number, instances by
// instance number (those without one last). Each record carries the type 1 and 2 keys of PS3.3
// F.5, text in UTF-8: SpecificCharacterSet ISO_IR 192 on every record with a text key. Empty
// type 1 keys are filled as `dcmmkdir --invent` fills them (see doc/DICOM.md): PatientID
// "DCMTKPAT000000"…, StudyID "DCMTKSTUDY000000"…, study date and time from the content's else
// now; a missing (0) series number 0, 1, …, instance number 1, 2, … (images and RT objects).
//
// kInvalidArgument, naming the entry's file ID, for a bad file ID, a file ID or SOP Instance
// UID given twice, a missing SOP class, SOP instance, transfer syntax, study or series UID or
// modality, an object with no record type here (presentation states, "other", DICOMDIRs), or
// a type 1 key of its record that its summary lacks (RTPlanLabel, an SR's ContentDate, …, as
// in summaries stored before they were kept); kInvalidArgument for a bad `fileset_id`.
// Thread-safe.
Result<std::vector<uint8_t>> BuildDicomdir(const std::vector<DicomdirEntry>& entries,
                                           const std::string& fileset_id);

// A preview of an instance for the web portal: its middle frame as an 8-bit PNG of at most
// `max_side` pixels a side, windowed (the file's first VOI window, else min–max).
// kRejected when there is no image to show or this DCMTK cannot decode it.
Result<std::vector<uint8_t>> Preview(std::span<const uint8_t> bytes, int max_side = 256);

// "IM0001" … "IM9999", then "I0010000": an instance's file ID component, at most 8 characters.
std::string InstanceFileId(size_t n);

// A DICOMDIR file ID or a path on a disc as compared with each other: ASCII upper case,
// "/"-separated, each component without an ISO 9660 version suffix (";1").
std::string FileIdKey(std::string_view path);

}  // namespace dossier::dicom
