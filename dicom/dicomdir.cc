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
#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <map>

#include "dicom/dicom.h"
#include "dicom/internal/directory_records.h"
#include "dicom/internal/parse.h"

namespace dossier::dicom {
namespace {

constexpr E_TransferSyntax kXfer = EXS_LittleEndianExplicit;
constexpr E_EncodingType kLengths = EET_ExplicitLength;

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

// Orders by a series or instance number, those without one (0) last, as DicomDirInterface
// appends them; ties keep their first-seen order.
bool NumberBefore(int a, int b) { return a != 0 && (b == 0 || a < b); }

// The entries checked and grouped: patients by ID (by name when there is none, as
// DicomDirInterface matches them), then studies, then series, each in first-seen order.
struct Grouped {
  std::vector<std::string> patient_order;
  std::map<std::string, Patient> patients;
};

Result<Grouped> Group(const std::vector<DicomdirEntry>& entries) {
  Grouped g;
  std::map<std::string, const DicomdirEntry*> by_file, by_uid;
  for (const DicomdirEntry& e : entries) {
    if (const std::string problem = internal::EntryProblem(e); !problem.empty()) {
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
    auto [p, new_patient] = g.patients.try_emplace(key);
    if (new_patient) g.patient_order.push_back(key);
    auto [st, new_study] = p->second.studies.try_emplace(e.summary.study_uid);
    if (new_study) p->second.study_order.push_back(e.summary.study_uid);
    auto [se, new_series] = st->second.series.try_emplace(e.summary.series_uid);
    if (new_series) st->second.series_order.push_back(e.summary.series_uid);
    se->second.instances.push_back(&e);
  }
  return g;
}

// A series record and its instances' records, by instance number; returns its index.
int AddSeries(Builder& b, const Series& series, internal::Invented& invented) {
  const int record = b.Add("SERIES");
  internal::FillSeries(b.item(record), series.instances.front()->summary, invented);
  std::vector<const DicomdirEntry*> instances = series.instances;
  std::stable_sort(instances.begin(), instances.end(),
                   [](const DicomdirEntry* x, const DicomdirEntry* y) {
                     return NumberBefore(x->summary.instance_number, y->summary.instance_number);
                   });
  std::vector<int> leaves;
  for (const DicomdirEntry* e : instances) {
    leaves.push_back(b.Add(internal::LeafRecordType(e->summary)));
    internal::FillLeaf(b.item(leaves.back()), *e, invented);
  }
  b.Link(record, leaves);
  return record;
}

// A study record (its keys from its first instance) and its series' records, by series
// number; returns its index.
int AddStudy(Builder& b, const Study& study, internal::Invented& invented) {
  const int record = b.Add("STUDY");
  std::vector<const Series*> series;
  for (const std::string& uid : study.series_order) series.push_back(&study.series.at(uid));
  internal::FillStudy(b.item(record), series.front()->instances.front()->summary, invented);
  std::stable_sort(series.begin(), series.end(), [](const Series* x, const Series* y) {
    return NumberBefore(x->instances.front()->summary.series_number,
                        y->instances.front()->summary.series_number);
  });
  std::vector<int> children;
  for (const Series* one : series) children.push_back(AddSeries(b, *one, invented));
  b.Link(record, children);
  return record;
}

// All records, depth first as DicomDirInterface writes them; returns the patient records.
std::vector<int> AddRecords(Builder& b, const Grouped& g) {
  internal::Invented invented;
  std::vector<int> patients;
  for (const std::string& key : g.patient_order) {
    const Patient& patient = g.patients.at(key);
    patients.push_back(b.Add("PATIENT"));
    const Study& first = patient.studies.at(patient.study_order.front());
    internal::FillPatient(b.item(patients.back()),
                          first.series.at(first.series_order.front()).instances.front()->summary,
                          invented);
    std::vector<int> studies;
    for (const std::string& uid : patient.study_order) {
      studies.push_back(AddStudy(b, patient.studies.at(uid), invented));
    }
    b.Link(patients.back(), studies);
  }
  b.Link(-1, patients);
  return patients;
}

// A DICOMDIR's file, its records still to be added to `sequence` (owned by the data set).
void StartFile(DcmFileFormat& ff, const std::string& fileset_id, DcmSequenceOfItems*& sequence) {
  std::array<uint8_t, 16> random{};
  randombytes_buf(random.data(), random.size());
  DcmMetaInfo& meta = *ff.getMetaInfo();
  meta.putAndInsertString(DCM_MediaStorageSOPClassUID, UID_MediaStorageDirectoryStorage);
  meta.putAndInsertString(DCM_MediaStorageSOPInstanceUID, UidFromBytes(random).c_str());
  meta.putAndInsertString(DCM_TransferSyntaxUID, UID_LittleEndianExplicitTransferSyntax);
  DcmDataset& ds = *ff.getDataset();
  ds.putAndInsertString(DCM_FileSetID, fileset_id.c_str());
  PutOffset(ds, DCM_OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity, 0);
  PutOffset(ds, DCM_OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity, 0);
  ds.putAndInsertUint16(DCM_FileSetConsistencyFlag, 0);
  sequence = new DcmSequenceOfItems(DCM_DirectoryRecordSequence);
  ds.insert(sequence);
}

// The encoded file (Part 10, Explicit VR Little Endian, explicit lengths throughout).
Result<std::vector<uint8_t>> Encode(DcmFileFormat& ff) {
  return internal::Serialize(ff, kXfer, EWM_fileformat);
}

// The file with its offsets filled in. Every offset is a UL of 4 bytes, so filling them in
// changes no length: encode once with zeros, place each record from the encoded lengths (from
// the file's first byte), fill in, encode again, and check the places.
Result<std::vector<uint8_t>> EncodeWithOffsets(DcmFileFormat& ff,
                                               const DcmSequenceOfItems* sequence, const Builder& b,
                                               const std::vector<int>& roots) {
  DcmDataset& ds = *ff.getDataset();
  DOSSIER_ASSIGN_OR_RETURN(const std::vector<uint8_t> draft, Encode(ff));
  size_t position = draft.size() - ds.getLength(kXfer, kLengths);  // the data set's start
  for (unsigned long i = 0; i < ds.card(); ++i) {
    DcmElement* element = ds.getElement(i);
    if (element == sequence) {
      position += element->calcElementLength(kXfer, kLengths) - element->getLength(kXfer, kLengths);
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
  if (!roots.empty()) {
    PutOffset(ds, DCM_OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity,
              offset(roots.front()));
    PutOffset(ds, DCM_OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity, offset(roots.back()));
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
  DOSSIER_ASSIGN_OR_RETURN(const Grouped grouped, Group(entries));
  if (sodium_init() < 0) return Internal("libsodium cannot start");
  DcmFileFormat ff;
  DcmSequenceOfItems* sequence = nullptr;
  StartFile(ff, fileset_id, sequence);
  Builder b(*sequence);
  const std::vector<int> patients = AddRecords(b, grouped);
  return EncodeWithOffsets(ff, sequence, b, patients);
}

std::string InstanceFileId(size_t n) {
  return n <= 9999 ? fmt::format("IM{:04d}", n) : fmt::format("I{:07d}", n);
}

}  // namespace dossier::dicom
