// The records of a DICOMDIR built from summaries: record types as DicomDirInterface assigns
// them from the SOP class, the keys of PS3.3 F.5, and DicomDirInterface's answers for empty
// type 1 keys (its invent mode, or refusing the file).
#include "dicom/internal/directory_records.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcvrda.h>
#include <dcmtk/dcmdata/dcvrtm.h>
#include <fmt/format.h>

#include <algorithm>
#include <optional>

namespace dossier::dicom::internal {
namespace {

// Every text key is written in UTF-8, whatever the instance's own character set was: the
// summaries hold UTF-8.
constexpr const char* kUtf8 = "ISO_IR 192";

enum class Leaf { kImage, kRtDose, kRtStructureSet, kRtPlan, kSrDocument, kKeyObject, kWaveform };

struct LeafKind {
  std::optional<Leaf> leaf;
  std::string refused;  // why there is none
};

LeafKind LeafOf(const InstanceSummary& s) {
  const std::string& kind = s.object_kind;
  if (kind == "image") return {Leaf::kImage, ""};
  if (kind == "rt dose") return {Leaf::kRtDose, ""};
  if (kind == "rt structure set") return {Leaf::kRtStructureSet, ""};
  if (kind == "rt plan") return {Leaf::kRtPlan, ""};
  if (kind == "waveform") return {Leaf::kWaveform, ""};
  if (kind == "structured report") {
    return {s.sop_class_uid == UID_KeyObjectSelectionDocumentStorage ? Leaf::kKeyObject
                                                                     : Leaf::kSrDocument,
            ""};
  }
  if (kind == "presentation state") {
    return {std::nullopt,
            "a presentation state's record needs the series it references, which its summary "
            "does not keep"};
  }
  if (kind == "directory") return {std::nullopt, "it is a DICOMDIR itself"};
  return {std::nullopt, "it has no record type here (" + (kind.empty() ? "no kind" : kind) + ", " +
                            s.sop_class + ")"};
}

const char* RecordTypeName(Leaf leaf) {
  switch (leaf) {
    case Leaf::kImage:
      return "IMAGE";
    case Leaf::kRtDose:
      return "RT DOSE";
    case Leaf::kRtStructureSet:
      return "RT STRUCTURE SET";
    case Leaf::kRtPlan:
      return "RT PLAN";
    case Leaf::kSrDocument:
      return "SR DOCUMENT";
    case Leaf::kKeyObject:
      return "KEY OBJECT DOC";
    case Leaf::kWaveform:
      return "WAVEFORM";
  }
  return "";
}

// The type 1 key of the leaf record that the summary leaves empty, or "". As in
// DicomDirInterface: instance numbers of images and RT objects are invented, those of the
// other objects are required.
std::string MissingLeafKey(Leaf leaf, const InstanceSummary& s) {
  const InstanceSummary::RecordKeys& k = s.record_keys;
  const bool numbered = s.instance_number != 0;
  const bool dated = !k.content_date.empty() && !k.content_time.empty();
  const bool titled = !k.title_code_value.empty() && !k.title_coding_scheme.empty() &&
                      !k.title_code_meaning.empty();
  switch (leaf) {
    case Leaf::kImage:
      return "";
    case Leaf::kRtDose:
      return k.dose_summation_type.empty() ? "DoseSummationType" : "";
    case Leaf::kRtStructureSet:
      return k.rt_label.empty() ? "StructureSetLabel" : "";
    case Leaf::kRtPlan:
      return k.rt_label.empty() ? "RTPlanLabel" : "";
    case Leaf::kWaveform:
      if (!numbered) return "InstanceNumber";
      return dated ? "" : "ContentDate and ContentTime";
    case Leaf::kKeyObject:
    case Leaf::kSrDocument:
      if (!numbered) return "InstanceNumber";
      if (!dated) return "ContentDate and ContentTime";
      if (!titled) return "ConceptNameCodeSequence";
      // Type 1C: the document title's modifiers, which the summary does not keep.
      if (k.title_modifiers) return "the ContentSequence of its title's modifiers";
      if (leaf == Leaf::kKeyObject) return "";
      if (k.completion_flag.empty()) return "CompletionFlag";
      if (k.verification_flag.empty()) return "VerificationFlag";
      if (k.verification_flag == "VERIFIED" && k.verification_datetime.empty()) {
        return "VerificationDateTime";
      }
      return "";
  }
  return "";
}

// Why `id` is no file ID for a DICOMDIR ("" when it is one): 1–8 components of 1–8
// characters A–Z, 0–9 and "_", separated by "/" (PS3.10 8.2, PS3.12 ISO 9660 level 1).
std::string FileIdProblem(const std::string& id) {
  if (id.empty()) return "an empty file ID";
  if (id == "DICOMDIR") return "the DICOMDIR's own name";
  int components = 0;
  size_t start = 0;
  while (start <= id.size()) {
    size_t end = id.find('/', start);
    if (end == std::string::npos) end = id.size();
    const size_t n = end - start;
    if (n == 0) return "an empty component";
    if (n > 8) return "a component longer than 8 characters";
    for (size_t i = start; i < end; ++i) {
      const char c = id[i];
      if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
        return "a character other than A-Z, 0-9 and _";
      }
    }
    ++components;
    start = end + 1;
  }
  if (components > 8) return "more than 8 components";
  return "";
}

void PutText(DcmItem& item, const DcmTagKey& tag, const std::string& value) {
  item.putAndInsertOFStringArray(tag, OFString(value.data(), value.size()));
}

// The summary's series and instance numbers are 0 when the file had none (or, rarely, 0).
std::string NumberOr(int number, int& invented) {
  return std::to_string(number != 0 ? number : invented++);
}

// DicomDirInterface's convention: SpecificCharacterSet on each record that has a key of a VR
// it applies to (PN, LO, SH, ST, LT, UC, UT, at any depth), type 1C in PS3.3 F.5.
void DeclareCharacterSet(DcmItem& record) {
  if (record.isAffectedBySpecificCharacterSet()) {
    record.putAndInsertString(DCM_SpecificCharacterSet, kUtf8);
  }
}

// The document title of a structured report or key object selection (one code item).
void PutTitle(DcmItem& record, const InstanceSummary::RecordKeys& k) {
  DcmItem* code = nullptr;
  if (record.findOrCreateSequenceItem(DCM_ConceptNameCodeSequence, code, 0).good()) {
    PutText(*code, DCM_CodeValue, k.title_code_value);
    PutText(*code, DCM_CodingSchemeDesignator, k.title_coding_scheme);
    PutText(*code, DCM_CodeMeaning, k.title_code_meaning);
  }
}

}  // namespace

std::string EntryProblem(const DicomdirEntry& e) {
  if (const std::string bad = FileIdProblem(e.file_id); !bad.empty()) {
    return "not a DICOMDIR file ID: " + bad;
  }
  const InstanceSummary& s = e.summary;
  for (const auto& [value, what] : {std::pair{&s.sop_class_uid, "SOP Class UID"},
                                    {&s.sop_instance_uid, "SOP Instance UID"},
                                    {&s.transfer_syntax_uid, "Transfer Syntax UID"},
                                    {&s.study_uid, "Study Instance UID"},
                                    {&s.series_uid, "Series Instance UID"}}) {
    if (value->empty()) return std::string("no ") + what;
  }
  // Type 1 in the series record and in every instance: DicomDirInterface refuses the file.
  if (s.modality.empty()) return "no Modality";
  const LeafKind kind = LeafOf(s);
  if (!kind.leaf) return kind.refused;
  if (const std::string key = MissingLeafKey(*kind.leaf, s); !key.empty()) {
    return fmt::format("its {} record needs {}, which its summary lacks",
                       RecordTypeName(*kind.leaf), key);
  }
  return "";
}

const char* LeafRecordType(const InstanceSummary& s) {
  const LeafKind kind = LeafOf(s);
  return kind.leaf ? RecordTypeName(*kind.leaf) : "";
}

void FillPatient(DcmItem& r, const InstanceSummary& s, Invented& invented) {
  PutText(r, DCM_PatientName, s.patient_name);
  PutText(
      r, DCM_PatientID,
      !s.patient_id.empty() ? s.patient_id : fmt::format("DCMTKPAT{:06d}", invented.patient_ids++));
  DeclareCharacterSet(r);
}

void FillStudy(DcmItem& r, const InstanceSummary& s, Invented& invented) {
  // An empty study date or time: DicomDirInterface takes the series', the acquisition's,
  // then the content's, then now. The summary keeps the content's only.
  OFString now;
  DcmDate::getCurrentDate(now);
  const std::string today(now.c_str());
  DcmTime::getCurrentTime(now);
  const std::string this_time(now.c_str());
  const InstanceSummary::RecordKeys& k = s.record_keys;
  PutText(r, DCM_StudyDate,
          !s.study_date.empty()     ? s.study_date
          : !k.content_date.empty() ? k.content_date
                                    : today);
  PutText(r, DCM_StudyTime,
          !s.study_time.empty()     ? s.study_time
          : !k.content_time.empty() ? k.content_time
                                    : this_time);
  PutText(r, DCM_StudyDescription, s.study_description);
  PutText(r, DCM_StudyInstanceUID, s.study_uid);
  PutText(r, DCM_StudyID,
          !s.study_id.empty() ? s.study_id : fmt::format("DCMTKSTUDY{:06d}", invented.study_ids++));
  PutText(r, DCM_AccessionNumber, s.accession);
  DeclareCharacterSet(r);
}

void FillSeries(DcmItem& r, const InstanceSummary& s, Invented& invented) {
  PutText(r, DCM_Modality, s.modality);
  PutText(r, DCM_SeriesInstanceUID, s.series_uid);
  PutText(r, DCM_SeriesNumber, NumberOr(s.series_number, invented.series_numbers));
  DeclareCharacterSet(r);
}

void FillLeaf(DcmItem& r, const DicomdirEntry& e, Invented& invented) {
  const InstanceSummary& s = e.summary;
  const InstanceSummary::RecordKeys& k = s.record_keys;
  std::string components = e.file_id;
  std::replace(components.begin(), components.end(), '/', '\\');
  PutText(r, DCM_ReferencedFileID, components);
  PutText(r, DCM_ReferencedSOPClassUIDInFile, s.sop_class_uid);
  PutText(r, DCM_ReferencedSOPInstanceUIDInFile, s.sop_instance_uid);
  PutText(r, DCM_ReferencedTransferSyntaxUIDInFile, s.transfer_syntax_uid);
  PutText(r, DCM_InstanceNumber, NumberOr(s.instance_number, invented.instance_numbers));
  switch (LeafOf(s).leaf.value_or(Leaf::kImage)) {
    case Leaf::kImage:
      break;
    case Leaf::kRtDose:
      PutText(r, DCM_DoseSummationType, k.dose_summation_type);
      break;
    case Leaf::kRtStructureSet:
      PutText(r, DCM_StructureSetLabel, k.rt_label);
      PutText(r, DCM_StructureSetDate, k.rt_date);
      PutText(r, DCM_StructureSetTime, k.rt_time);
      break;
    case Leaf::kRtPlan:
      PutText(r, DCM_RTPlanLabel, k.rt_label);
      PutText(r, DCM_RTPlanDate, k.rt_date);
      PutText(r, DCM_RTPlanTime, k.rt_time);
      break;
    case Leaf::kSrDocument:
      PutText(r, DCM_CompletionFlag, k.completion_flag);
      PutText(r, DCM_VerificationFlag, k.verification_flag);
      if (k.verification_flag == "VERIFIED") {
        PutText(r, DCM_VerificationDateTime, k.verification_datetime);
      }
      [[fallthrough]];
    case Leaf::kKeyObject:
      PutTitle(r, k);
      [[fallthrough]];
    case Leaf::kWaveform:
      PutText(r, DCM_ContentDate, k.content_date);
      PutText(r, DCM_ContentTime, k.content_time);
      break;
  }
  DeclareCharacterSet(r);
}

}  // namespace dossier::dicom::internal
