// A DICOMDIR built in memory from the vault's instance summaries (BuildDicomdir): the record
// tree is made with DCMTK's data structures, its offsets computed here from the encoded
// lengths, and the file encoded by DCMTK into a buffer. Nothing touches the disk, unlike
// DCMTK's DicomDirInterface, which reads the instances from a folder and writes through a
// temporary file.
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcvrda.h>
#include <dcmtk/dcmdata/dcvrtm.h>
#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <map>

#include "dicom/dicom.h"
#include "dicom/internal/parse.h"

namespace dossier::dicom {
namespace {

constexpr E_TransferSyntax kXfer = EXS_LittleEndianExplicit;
constexpr E_EncodingType kLengths = EET_ExplicitLength;
// Every text key of the records is written in UTF-8, whatever the instance's own character
// set was: the summaries hold UTF-8.
constexpr const char* kUtf8 = "ISO_IR 192";
// What DicomDirInterface invents in its "invent" mode (dcmmkdir --invent) for a missing
// PatientID and StudyID: a prefix and a 6-digit counter per DICOMDIR.
constexpr const char* kInventedPatientId = "DCMTKPAT";
constexpr const char* kInventedStudyId = "DCMTKSTUDY";

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

// The directory record type of an instance, as DicomDirInterface assigns it from the SOP
// class, or none and the reason.
struct LeafType {
  const char* name = nullptr;  // "IMAGE"
  std::string refused;         // why the instance cannot be listed, when name is null
};

LeafType LeafTypeOf(const InstanceSummary& s) {
  if (s.object_kind == "image") return {"IMAGE", ""};
  if (s.object_kind == "directory") return {nullptr, "it is a DICOMDIR itself"};
  return {nullptr, "it is not an image (" + (s.object_kind.empty() ? "no kind" : s.object_kind) +
                       ", " + s.sop_class + "): only images are listed"};
}

// The instances of one series, one study, one patient, as they will be listed.
struct Series {
  std::vector<const DicomdirEntry*> instances;
};
struct Study {
  std::vector<std::string> series_order;  // series UIDs, first-seen
  std::map<std::string, Series> series;
};
struct Patient {
  std::vector<std::string> study_order;  // study UIDs, first-seen
  std::map<std::string, Study> studies;
};

// One record of the flat DirectoryRecordSequence and the records it links to.
struct Record {
  DcmItem* item = nullptr;  // owned by the sequence
  int next = -1;            // index of the next record at the same level, or -1
  int lower = -1;           // index of the first record of the level below, or -1
};

// An offset key (UL; DCMTK's dictionary says "up", which putAndInsertUint32 does not make).
void PutOffset(DcmItem& item, const DcmTagKey& key, Uint32 offset) {
  item.putAndInsertUint32(DcmTag(key, EVR_UL), offset);
}

class Builder {
 public:
  explicit Builder(DcmSequenceOfItems& sequence) : sequence_(sequence) {}

  // Appends a record of `type` (its offsets 0 for now) and returns its index.
  int Add(const char* type) {
    auto* item = new DcmItem();
    sequence_.append(item);
    PutOffset(*item, DCM_OffsetOfTheNextDirectoryRecord, 0);
    item->putAndInsertUint16(DCM_RecordInUseFlag, 0xFFFF);
    PutOffset(*item, DCM_OffsetOfReferencedLowerLevelDirectoryEntity, 0);
    item->putAndInsertString(DCM_DirectoryRecordType, type);
    records_.push_back({item, -1, -1});
    return static_cast<int>(records_.size()) - 1;
  }
  // Links `children` (indices, in order) as the level below `parent` (-1: the root).
  void Link(int parent, const std::vector<int>& children) {
    for (size_t i = 0; i + 1 < children.size(); ++i) records_[children[i]].next = children[i + 1];
    if (parent >= 0 && !children.empty()) records_[parent].lower = children.front();
  }
  DcmItem& item(int index) { return *records_[index].item; }
  const std::vector<Record>& records() const { return records_; }

 private:
  DcmSequenceOfItems& sequence_;
  std::vector<Record> records_;
};

void PutText(DcmItem& item, const DcmTagKey& tag, const std::string& value) {
  item.putAndInsertOFStringArray(tag, OFString(value.data(), value.size()));
}

std::string Number(int n) { return std::to_string(n); }

// Orders by a series or instance number, those without one (0) last, as DicomDirInterface
// appends them; ties keep their first-seen order.
bool NumberBefore(int a, int b) { return a != 0 && (b == 0 || a < b); }

// The patient, study and series records carry the keys of PS3.3 Table F.5-1, -2 and -3; an
// empty type 1 key is filled as DicomDirInterface does in its invent mode (see doc/DICOM.md).
void FillPatient(DcmItem& r, const InstanceSummary& s, int& invented) {
  r.putAndInsertString(DCM_SpecificCharacterSet, kUtf8);
  PutText(r, DCM_PatientName, s.patient_name);
  PutText(r, DCM_PatientID,
          !s.patient_id.empty() ? s.patient_id
                                : fmt::format("{}{:06d}", kInventedPatientId, invented++));
}

void FillStudy(DcmItem& r, const InstanceSummary& s, int& invented) {
  OFString now;
  r.putAndInsertString(DCM_SpecificCharacterSet, kUtf8);
  if (!s.study_date.empty()) {
    PutText(r, DCM_StudyDate, s.study_date);
  } else {
    DcmDate::getCurrentDate(now);
    r.putAndInsertOFStringArray(DCM_StudyDate, now);
  }
  if (!s.study_time.empty()) {
    PutText(r, DCM_StudyTime, s.study_time);
  } else {
    DcmTime::getCurrentTime(now);
    r.putAndInsertOFStringArray(DCM_StudyTime, now);
  }
  PutText(r, DCM_StudyDescription, s.study_description);
  PutText(r, DCM_StudyInstanceUID, s.study_uid);
  PutText(r, DCM_StudyID,
          !s.study_id.empty() ? s.study_id : fmt::format("{}{:06d}", kInventedStudyId, invented++));
  PutText(r, DCM_AccessionNumber, s.accession);
}

// The summary's series and instance numbers are 0 when the file had none (or, rarely, 0):
// DicomDirInterface invents series numbers from 0 and instance numbers from 1 for them.
int NumberOr(int number, int& invented) { return number != 0 ? number : invented++; }

void FillSeries(DcmItem& r, const InstanceSummary& s, int& invented) {
  PutText(r, DCM_Modality, s.modality);
  PutText(r, DCM_SeriesInstanceUID, s.series_uid);
  PutText(r, DCM_SeriesNumber, Number(NumberOr(s.series_number, invented)));
}

void FillLeaf(DcmItem& r, const DicomdirEntry& e, int& invented) {
  std::string components = e.file_id;
  std::replace(components.begin(), components.end(), '/', '\\');
  PutText(r, DCM_ReferencedFileID, components);
  PutText(r, DCM_ReferencedSOPClassUIDInFile, e.summary.sop_class_uid);
  PutText(r, DCM_ReferencedSOPInstanceUIDInFile, e.summary.sop_instance_uid);
  PutText(r, DCM_ReferencedTransferSyntaxUIDInFile, e.summary.transfer_syntax_uid);
  PutText(r, DCM_InstanceNumber, Number(NumberOr(e.summary.instance_number, invented)));
}

// Why `e` cannot be listed, or "".
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
  if (const LeafType leaf = LeafTypeOf(s); leaf.name == nullptr) return leaf.refused;
  return "";
}

// The encoded file (Part 10, Explicit VR Little Endian, explicit lengths throughout).
Result<std::vector<uint8_t>> Encode(DcmFileFormat& ff) {
  return internal::Serialize(ff, kXfer, EWM_fileformat);
}

}  // namespace

Result<std::vector<uint8_t>> BuildDicomdir(const std::vector<DicomdirEntry>& entries,
                                           const std::string& fileset_id) {
  if (fileset_id.size() > 16) {
    return InvalidArgument("the file-set ID " + fileset_id + " is longer than 16 characters");
  }
  if (fileset_id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != std::string::npos) {
    return InvalidArgument("the file-set ID " + fileset_id +
                           " has a character other than A-Z, 0-9 and _");
  }
  // Checked and grouped: patients by ID (by name when there is none, as DicomDirInterface
  // matches them), then studies, then series, each in first-seen order.
  std::map<std::string, const DicomdirEntry*> by_file, by_uid;
  std::vector<std::string> patient_order;
  std::map<std::string, Patient> patients;
  for (const DicomdirEntry& e : entries) {
    if (const std::string problem = EntryProblem(e); !problem.empty()) {
      return InvalidArgument(e.file_id + ": cannot be listed in a DICOMDIR: " + problem);
    }
    if (!by_file.emplace(e.file_id, &e).second) {
      return InvalidArgument(e.file_id + ": listed twice for one DICOMDIR");
    }
    if (auto [it, added] = by_uid.emplace(e.summary.sop_instance_uid, &e); !added) {
      return InvalidArgument(e.file_id + " and " + it->second->file_id +
                             ": one SOP Instance UID for two files in one DICOMDIR");
    }
    const std::string key =
        e.summary.patient_id.empty() ? "\n" + e.summary.patient_name : e.summary.patient_id;
    auto [p, new_patient] = patients.try_emplace(key);
    if (new_patient) patient_order.push_back(key);
    auto [st, new_study] = p->second.studies.try_emplace(e.summary.study_uid);
    if (new_study) p->second.study_order.push_back(e.summary.study_uid);
    auto [se, new_series] = st->second.series.try_emplace(e.summary.series_uid);
    if (new_series) st->second.series_order.push_back(e.summary.series_uid);
    se->second.instances.push_back(&e);
  }

  DcmFileFormat ff;
  DcmMetaInfo& meta = *ff.getMetaInfo();
  DcmDataset& ds = *ff.getDataset();
  std::array<uint8_t, 16> random{};
  if (sodium_init() < 0) return Internal("libsodium cannot start");
  randombytes_buf(random.data(), random.size());
  meta.putAndInsertString(DCM_MediaStorageSOPClassUID, UID_MediaStorageDirectoryStorage);
  meta.putAndInsertString(DCM_MediaStorageSOPInstanceUID, UidFromBytes(random).c_str());
  meta.putAndInsertString(DCM_TransferSyntaxUID, UID_LittleEndianExplicitTransferSyntax);
  ds.putAndInsertString(DCM_FileSetID, fileset_id.c_str());
  PutOffset(ds, DCM_OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity, 0);
  PutOffset(ds, DCM_OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity, 0);
  ds.putAndInsertUint16(DCM_FileSetConsistencyFlag, 0);
  auto* sequence = new DcmSequenceOfItems(DCM_DirectoryRecordSequence);
  ds.insert(sequence);

  // The records in depth-first order, as DicomDirInterface writes them.
  Builder b(*sequence);
  int invented_patients = 0, invented_studies = 0, invented_series = 0, invented_instances = 1;
  std::vector<int> patient_records;
  for (const std::string& pkey : patient_order) {
    const Patient& patient = patients.at(pkey);
    const int p = b.Add("PATIENT");
    patient_records.push_back(p);
    std::vector<int> study_records;
    for (const std::string& study_uid : patient.study_order) {
      const Study& study = patient.studies.at(study_uid);
      const int st = b.Add("STUDY");
      study_records.push_back(st);
      const InstanceSummary& first =
          study.series.at(study.series_order.front()).instances.front()->summary;
      if (study_records.size() == 1) FillPatient(b.item(p), first, invented_patients);
      FillStudy(b.item(st), first, invented_studies);
      std::vector<const Series*> series;
      for (const std::string& uid : study.series_order) series.push_back(&study.series.at(uid));
      std::stable_sort(series.begin(), series.end(), [](const Series* a, const Series* c) {
        return NumberBefore(a->instances.front()->summary.series_number,
                            c->instances.front()->summary.series_number);
      });
      std::vector<int> series_records;
      for (const Series* one : series) {
        const int se = b.Add("SERIES");
        series_records.push_back(se);
        FillSeries(b.item(se), one->instances.front()->summary, invented_series);
        std::vector<const DicomdirEntry*> instances = one->instances;
        std::stable_sort(
            instances.begin(), instances.end(), [](const DicomdirEntry* a, const DicomdirEntry* c) {
              return NumberBefore(a->summary.instance_number, c->summary.instance_number);
            });
        std::vector<int> leaves;
        for (const DicomdirEntry* e : instances) {
          const int leaf = b.Add(LeafTypeOf(e->summary).name);
          leaves.push_back(leaf);
          FillLeaf(b.item(leaf), *e, invented_instances);
        }
        b.Link(se, leaves);
      }
      b.Link(st, series_records);
    }
    b.Link(p, study_records);
  }
  b.Link(-1, patient_records);

  // Every offset is a UL of 4 bytes, so filling them in changes no length: encode once with
  // zeros, place each record from the encoded lengths, fill in, encode again.
  DOSSIER_ASSIGN_OR_RETURN(const std::vector<uint8_t> draft, Encode(ff));
  const size_t dataset_start = draft.size() - ds.getLength(kXfer, kLengths);
  size_t position = dataset_start;
  for (unsigned long i = 0; i < ds.card(); ++i) {
    DcmElement* element = ds.getElement(i);
    if (element == sequence) {
      position +=
          sequence->calcElementLength(kXfer, kLengths) - sequence->getLength(kXfer, kLengths);
      break;
    }
    position += element->calcElementLength(kXfer, kLengths);
  }
  const std::vector<Record>& records = b.records();
  std::vector<size_t> at(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    at[i] = position;
    position += records[i].item->calcElementLength(kXfer, kLengths);
  }
  if (position > std::numeric_limits<Uint32>::max()) {
    return LimitExceeded(
        fmt::format("a DICOMDIR of {} records is larger than 4 GiB", records.size()));
  }
  auto offset = [&](int index) { return index < 0 ? Uint32{0} : static_cast<Uint32>(at[index]); };
  for (const Record& r : records) {
    PutOffset(*r.item, DCM_OffsetOfTheNextDirectoryRecord, offset(r.next));
    PutOffset(*r.item, DCM_OffsetOfReferencedLowerLevelDirectoryEntity, offset(r.lower));
  }
  if (!patient_records.empty()) {
    PutOffset(ds, DCM_OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity,
              offset(patient_records.front()));
    PutOffset(ds, DCM_OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity,
              offset(patient_records.back()));
  }
  DOSSIER_ASSIGN_OR_RETURN(std::vector<uint8_t> out, Encode(ff));
  // The computed places must hold the records' item tags, (FFFE,E000) in little endian.
  static constexpr uint8_t kItemTag[] = {0xFE, 0xFF, 0x00, 0xE0};
  bool placed = out.size() == draft.size();
  for (size_t i = 0; placed && i < at.size(); ++i) {
    placed = std::memcmp(out.data() + at[i], kItemTag, sizeof(kItemTag)) == 0;
  }
  if (!placed) return Internal("the DICOMDIR's record offsets do not match its encoding");
  return out;
}

}  // namespace dossier::dicom
