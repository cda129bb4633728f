// BuildDicomdir on real instances: pydicom's third-party files (its dicomdirtests disc of 31
// images, CT_small, MR_small), slices of the repo's synthetic CT disc (samples/make_ct_disc),
// the sample upload's disc image, and a Cyrillic patient. Only the test writes files: the
// instances and the DICOMDIR go into a temp folder under their file IDs, where dciodvfy and
// DCMTK's DcmDicomDir read them as a clinic's tools would.
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcdicdir.h>
#include <dcmtk/dcmdata/dcdirrec.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcvrda.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "dicom/dicom.h"
#include "tests/test_util.h"

namespace dossier::dicom {
namespace {

namespace fs = std::filesystem;
using testing::ErrorLines;
using testing::kPydicomFiles;
using testing::Shell;

// A directory record as read back: its type, its keys (offsets left out) and its children.
struct Node {
  std::string type;
  std::map<std::string, std::string> keys;  // "PatientID" → "77654033"
  std::vector<Node> children;
};

std::string Value(DcmItem& item, const DcmTagKey& tag) {
  OFString v;
  item.findAndGetOFStringArray(tag, v);
  return v.c_str();
}

Node ReadRecord(DcmDirectoryRecord& record) {
  Node node;
  node.type = Value(record, DCM_DirectoryRecordType);
  for (unsigned long i = 0; i < record.card(); ++i) {
    DcmElement* e = record.getElement(i);
    const DcmTagKey key = e->getTag().getXTag();
    if (key == DCM_OffsetOfTheNextDirectoryRecord ||
        key == DCM_OffsetOfReferencedLowerLevelDirectoryEntity || key == DCM_DirectoryRecordType) {
      continue;
    }
    OFString v;
    e->getOFStringArray(v);
    node.keys[DcmTag(key).getTagName()] = v.c_str();
  }
  for (unsigned long i = 0; i < record.cardSub(); ++i) {
    node.children.push_back(ReadRecord(*record.getSub(i)));
  }
  return node;
}

// The record tree of folder/DICOMDIR as DcmDicomDir builds it from the offsets.
std::vector<Node> ReadTree(const fs::path& dicomdir) {
  EXPECT_TRUE(fs::exists(dicomdir));
  DcmDicomDir dir(dicomdir.c_str());
  EXPECT_TRUE(dir.error().good()) << dir.error().text();
  return ReadRecord(dir.getRootRecord()).children;
}

// How many records of each type the tree has, at any depth.
std::map<std::string, int> Count(const std::vector<Node>& nodes) {
  std::map<std::string, int> counts;
  for (const Node& n : nodes) {
    ++counts[n.type];
    for (const auto& [type, k] : Count(n.children)) counts[type] += k;
  }
  return counts;
}

// Every leaf record (one with a ReferencedFileID), depth first.
void Leaves(const std::vector<Node>& nodes, std::vector<const Node*>& out) {
  for (const Node& n : nodes) {
    if (n.keys.count("ReferencedFileID") != 0) out.push_back(&n);
    Leaves(n.children, out);
  }
}

class DicomdirTest : public testing::TempDirTest {
 protected:
  // Copies `file` into folder under `file_id` and returns its entry, summarised from the
  // bytes as ingest does (and stored as the vault stores it: with a meta header).
  DicomdirEntry Stage(const fs::path& folder, const fs::path& file, const std::string& file_id) {
    std::string bytes = testing::ReadFile(file);
    auto summary = Summarize({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
    EXPECT_TRUE(summary.ok()) << file << ": " << summary.status().message();
    if (summary.ok() && !summary->meta_header) {
      auto fixed = WithMetaHeader({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
      EXPECT_TRUE(fixed.ok()) << file;
      if (fixed.ok()) bytes.assign(fixed->begin(), fixed->end());
    }
    fs::create_directories((folder / file_id).parent_path());
    testing::WriteFile(folder / file_id, bytes);
    return {file_id, summary.ok() ? *summary : InstanceSummary{}};
  }

  // pydicom's dicomdirtests disc: 31 images of 2 patients, 6 studies, 13 series, staged
  // under PYDICOM/ (first-seen order: the order of a sorted walk).
  void StagePydicomDisc(const fs::path& folder, std::vector<DicomdirEntry>& entries) {
    const fs::path disc = kPydicomFiles / "dicomdirtests";
    std::set<fs::path> files;
    for (const char* patient : {"77654033", "98892001", "98892003"}) {
      for (const auto& f : fs::recursive_directory_iterator(disc / patient)) {
        if (f.is_regular_file()) files.insert(f.path());
      }
    }
    for (const fs::path& f : files) {
      entries.push_back(Stage(folder, f, "PYDICOM/" + f.lexically_relative(disc).string()));
    }
  }

  // `n` slices of samples/make_ct_disc (patient DEMO-0001), made once into dir_/disc.
  std::vector<fs::path> CtDisc(int n) {
    const std::string cmd = std::string(DOSSIER_MAKE_CT_DISC) + " --folder " +
                            (dir_ / "disc").string() + " --instances " + std::to_string(n) +
                            " --size 32 > /dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    std::vector<fs::path> files;
    for (int i = 1; i <= n; ++i)
      files.push_back(dir_ / "disc" / fmt::format("DICOM/S001/IM{:04d}", i));
    return files;
  }

  // A slice of the CT disc turned into another patient's, named in Cyrillic as a Russian
  // disc writes it: ISO_IR 144 (ISO 8859-5) "Иванов^Иван", ID CYR-0001, new UIDs.
  fs::path CyrillicCt(const fs::path& slice) {
    DcmFileFormat ff;
    EXPECT_TRUE(ff.loadFile(slice.c_str()).good());
    DcmDataset* ds = ff.getDataset();
    ds->putAndInsertString(DCM_SpecificCharacterSet, "ISO_IR 144");
    const std::string name = "\xB8\xD2\xD0\xDD\xDE\xD2^\xB8\xD2\xD0\xDD";  // Иванов^Иван
    ds->putAndInsertOFStringArray(DCM_PatientName, OFString(name.data(), name.size()));
    ds->putAndInsertString(DCM_PatientID, "CYR-0001");
    char uid[100];
    for (const DcmTagKey& tag : {DCM_StudyInstanceUID, DCM_SeriesInstanceUID, DCM_SOPInstanceUID}) {
      ds->putAndInsertString(tag, dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT));
    }
    const fs::path out = dir_ / "cyrillic.dcm";
    EXPECT_TRUE(ff.saveFile(out.c_str(), EXS_LittleEndianExplicit).good());
    return out;
  }

  // dciodvfy's verdict on folder/DICOMDIR: no errors.
  void ExpectValid(const fs::path& folder) {
    auto [rc, text] = Shell("dciodvfy " + (folder / "DICOMDIR").string());
    EXPECT_LE(rc, 1) << text;
    EXPECT_NE(text.find("BasicDirectory"), std::string::npos) << text;  // checked as one
    EXPECT_EQ(ErrorLines(text), std::vector<std::string>{}) << text;
  }

  // Builds the DICOMDIR of `entries` into folder/DICOMDIR, has dciodvfy check it, and reads
  // its record tree back.
  std::vector<Node> Build(const fs::path& folder, const std::vector<DicomdirEntry>& entries) {
    auto bytes = BuildDicomdir(entries, "DOSSIER_PART1");
    EXPECT_TRUE(bytes.ok()) << bytes.status().message();
    if (!bytes.ok()) return {};
    testing::WriteFile(folder / "DICOMDIR", std::string(bytes->begin(), bytes->end()));
    ExpectValid(folder);
    return ReadTree(folder / "DICOMDIR");
  }

  // DicomDirInterface's tree for the same files: the instances of `ours` copied to a folder
  // of their own, where WriteDicomdir (what `dicom export` uses) writes its DICOMDIR.
  std::vector<Node> DcmtkTree(const fs::path& ours, const std::vector<DicomdirEntry>& entries) {
    const fs::path theirs = dir_ / "theirs";
    fs::create_directories(theirs);
    std::vector<std::string> ids;
    for (const auto& e : entries) {
      ids.push_back(e.file_id);
      if (e.summary.study_time.empty() && e.summary.record_keys.content_time.empty()) {
        timeless_.insert(e.summary.study_uid);
      }
      fs::create_directories((theirs / e.file_id).parent_path());
      fs::copy_file(ours / e.file_id, theirs / e.file_id);
    }
    const Status written = WriteDicomdir(theirs, ids, "DOSSIER_PART1");
    EXPECT_TRUE(written.ok()) << written.message();
    ExpectValid(theirs);
    return ReadTree(theirs / "DICOMDIR");
  }

  // Our tree `x` is DicomDirInterface's `y`, record for record and key for key, but for what
  // it adds of its own: ImageType and ReferencedImageSequence (type 1C in its General Purpose
  // profile) and the instances' own character sets; and a study time missing from a file is
  // "now" in both.
  void ExpectSameTrees(const std::vector<Node>& x, const std::vector<Node>& y) {
    ASSERT_EQ(x.size(), y.size());
    for (size_t i = 0; i < x.size(); ++i) {
      EXPECT_EQ(x[i].type, y[i].type);
      std::map<std::string, std::string> kx = x[i].keys, ky = y[i].keys;
      for (auto* keys : {&kx, &ky}) {
        keys->erase("ImageType");
        keys->erase("ReferencedImageSequence");
        keys->erase("SpecificCharacterSet");
        if (x[i].type == "STUDY" && timeless_.count(x[i].keys.at("StudyInstanceUID")) != 0) {
          keys->erase("StudyTime");  // "now", read a moment apart
        }
      }
      EXPECT_EQ(kx, ky) << x[i].type << " " << i;
      ExpectSameTrees(x[i].children, y[i].children);
    }
  }

  // Every leaf names a file of folder holding the instance the record says.
  void ExpectLeavesResolve(const fs::path& folder, const std::vector<Node>& tree, size_t n) {
    std::vector<const Node*> leaves;
    Leaves(tree, leaves);
    EXPECT_EQ(leaves.size(), n);
    for (const Node* leaf : leaves) {
      std::string id = leaf->keys.at("ReferencedFileID");
      std::replace(id.begin(), id.end(), '\\', '/');
      DcmFileFormat ff;
      ASSERT_TRUE(ff.loadFile((folder / id).c_str()).good()) << id;
      DcmDataset& ds = *ff.getDataset();
      EXPECT_EQ(Value(ds, DCM_SOPInstanceUID), leaf->keys.at("ReferencedSOPInstanceUIDInFile"))
          << id;
      EXPECT_EQ(Value(ds, DCM_SOPClassUID), leaf->keys.at("ReferencedSOPClassUIDInFile")) << id;
      EXPECT_EQ(DcmXfer(ds.getOriginalXfer()).getXferID(),
                leaf->keys.at("ReferencedTransferSyntaxUIDInFile"))
          << id;
      if (!Value(ds, DCM_InstanceNumber).empty()) {  // else invented
        EXPECT_EQ(Value(ds, DCM_InstanceNumber), leaf->keys.at("InstanceNumber")) << id;
      }
    }
  }

  std::set<std::string> timeless_;  // studies with no time of their own: "now" (DcmtkTree)
};

TEST_F(DicomdirTest, RealInstancesMakeAValidDicomdir) {
  const fs::path folder = dir_ / "part";
  std::vector<DicomdirEntry> entries;
  StagePydicomDisc(folder, entries);
  entries.push_back(Stage(folder, kPydicomFiles / "CT_small.dcm", "OTHER/CTSMALL"));
  entries.push_back(Stage(folder, kPydicomFiles / "MR_small.dcm", "OTHER/MRSMALL"));
  const auto slices = CtDisc(3);
  for (int i = 0; i < 3; ++i) {
    entries.push_back(Stage(folder, slices[i], fmt::format("DICOM/S001/IM{:04d}", i + 1)));
  }
  // The sample upload's disc: a JPEG secondary capture of the same patient ID, with no study
  // time, study ID, series or instance number.
  entries.push_back(Stage(folder, fs::path(DOSSIER_SAMPLES_DIR) / "upload/disc/DICOM/IM000001",
                          "DICOM/S002/IM0001"));
  entries.push_back(Stage(folder, CyrillicCt(slices[0]), "CYR/IM0001"));
  const std::vector<Node> tree = Build(folder, entries);
  EXPECT_EQ(Count(tree), (std::map<std::string, int>{
                             {"PATIENT", 6}, {"STUDY", 11}, {"SERIES", 18}, {"IMAGE", 38}}));
  ExpectLeavesResolve(folder, tree, 38);
  ASSERT_EQ(tree.size(), 6u);
  // Patients in first-seen order, keyed by patient ID.
  std::vector<std::string> ids;
  for (const Node& p : tree) ids.push_back(p.keys.at("PatientID"));
  EXPECT_EQ(ids, (std::vector<std::string>{"77654033", "98890234", "1CT1", "4MR1", "DEMO-0001",
                                           "CYR-0001"}));
  // Series by series number, instances by instance number: pydicom's MR700 series lists
  // its files out of order (4, 2, 1, 3, 5, 7, 6 in file-name order).
  const Node& peter = tree[1];
  EXPECT_EQ(peter.keys.at("PatientName"), "Doe^Peter");
  ASSERT_EQ(peter.children.size(), 4u);
  const Node& mr_study = peter.children[3];  // the fourth seen, with series 1, 2, 700
  std::vector<std::string> numbers;
  for (const Node& s : mr_study.children) numbers.push_back(s.keys.at("SeriesNumber"));
  EXPECT_EQ(numbers, (std::vector<std::string>{"1", "2", "700"}));
  numbers.clear();
  for (const Node& i : mr_study.children[2].children)
    numbers.push_back(i.keys.at("InstanceNumber"));
  EXPECT_EQ(numbers, (std::vector<std::string>{"1", "2", "3", "4", "5", "6", "7"}));

  // The Cyrillic name reads back intact, declared as UTF-8.
  const Node& cyrillic = tree[5];
  EXPECT_EQ(cyrillic.keys.at("PatientName"), "Иванов^Иван");
  EXPECT_EQ(cyrillic.keys.at("SpecificCharacterSet"), "ISO_IR 192");
  EXPECT_EQ(cyrillic.children.at(0).keys.at("SpecificCharacterSet"), "ISO_IR 192");

  // DEMO-0001: the CT disc's study and the sample's, whose empty type 1 keys were filled as
  // dcmmkdir --invent fills them.
  const Node& demo = tree[4];
  EXPECT_EQ(demo.keys.at("PatientName"), "Ivanov^Ivan^Petrovich");  // the first seen
  ASSERT_EQ(demo.children.size(), 2u);
  EXPECT_EQ(demo.children[0].keys.at("StudyID"), "1");
  EXPECT_EQ(demo.children[0].keys.at("StudyTime"), "101500");
  const Node& sample = demo.children[1];
  EXPECT_EQ(sample.keys.at("StudyID"), "DCMTKSTUDY000000");
  EXPECT_EQ(sample.keys.at("StudyDate"), "20261110");
  EXPECT_EQ(sample.keys.at("StudyTime").size(), 6u);  // now, HHMMSS
  EXPECT_EQ(sample.children.at(0).keys.at("SeriesNumber"), "0");
  EXPECT_EQ(sample.children.at(0).children.at(0).keys.at("InstanceNumber"), "1");
  EXPECT_EQ(sample.children.at(0).children.at(0).keys.at("ReferencedTransferSyntaxUIDInFile"),
            UID_JPEGProcess1TransferSyntax);
}

// A large series split over two parts: each part's DICOMDIR lists its own instances only.
TEST_F(DicomdirTest, PartsOfOneSeriesAreEachValid) {
  const auto slices = CtDisc(6);
  for (int part = 0; part < 2; ++part) {
    const fs::path folder = dir_ / fmt::format("part{}", part + 1);
    std::vector<DicomdirEntry> entries;
    for (int i = 3 * part; i < 3 * part + 3; ++i) {
      entries.push_back(Stage(folder, slices[i], fmt::format("DICOM/S001/IM{:04d}", i + 1)));
    }
    const std::vector<Node> tree = Build(folder, entries);
    EXPECT_EQ(Count(tree), (std::map<std::string, int>{
                               {"PATIENT", 1}, {"STUDY", 1}, {"SERIES", 1}, {"IMAGE", 3}}));
    ExpectLeavesResolve(folder, tree, 3);
    std::vector<std::string> numbers;
    for (const Node& i : tree.at(0).children.at(0).children.at(0).children) {
      numbers.push_back(i.keys.at("InstanceNumber"));
    }
    EXPECT_EQ(numbers, part == 0 ? (std::vector<std::string>{"1", "2", "3"})
                                 : (std::vector<std::string>{"4", "5", "6"}));
  }
}

// The sanity check against DCMTK's own DICOMDIR writer (the one `dicom export` uses): for the
// same files, the same tree and the same keys, but for what each adds of its own.
TEST_F(DicomdirTest, SameTreeAndKeysAsDicomDirInterface) {
  const fs::path ours = dir_ / "ours";
  std::vector<DicomdirEntry> entries;
  StagePydicomDisc(ours, entries);
  entries.push_back(Stage(ours, kPydicomFiles / "CT_small.dcm", "OTHER/CTSMALL"));
  const auto slices = CtDisc(2);
  entries.push_back(Stage(ours, slices[1], "DICOM/S001/IM0002"));
  entries.push_back(Stage(ours, slices[0], "DICOM/S001/IM0001"));
  entries.push_back(Stage(ours, fs::path(DOSSIER_SAMPLES_DIR) / "upload/disc/DICOM/IM000001",
                          "DICOM/S002/IM0001"));
  const std::vector<Node> a = Build(ours, entries), b = DcmtkTree(ours, entries);
  EXPECT_EQ(Count(a), Count(b));
  EXPECT_EQ(Count(a), (std::map<std::string, int>{
                          {"PATIENT", 4}, {"STUDY", 9}, {"SERIES", 16}, {"IMAGE", 35}}));
  ExpectSameTrees(a, b);
}

TEST_F(DicomdirTest, BadEntriesAreRefusedNamingTheirFileId) {
  std::vector<DicomdirEntry> good = {
      Stage(dir_ / "part", kPydicomFiles / "CT_small.dcm", "DICOM/IM0001"),
      Stage(dir_ / "part", kPydicomFiles / "MR_small.dcm", "DICOM/IM0002")};
  ASSERT_TRUE(BuildDicomdir(good, "").ok());
  auto refused = [&](std::vector<DicomdirEntry> entries, const std::string& fileset = "PART1") {
    auto r = BuildDicomdir(entries, fileset);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    return r.status().message();
  };
  for (const auto& [id, why] : std::vector<std::pair<std::string, std::string>>{
           {"dicom/im0001", "a character other than A-Z, 0-9 and _"},
           {"DICOM/IM-0001", "a character other than A-Z, 0-9 and _"},
           {"DICOM/IMAGE0001", "a component longer than 8 characters"},
           {"DICOM//IM0001", "an empty component"},
           {"/DICOM/IM0001", "an empty component"},
           {"", "an empty file ID"},
           {"DICOMDIR", "the DICOMDIR's own name"},
           {"A/B/C/D/E/F/G/H/I", "more than 8 components"}}) {
    auto entries = good;
    entries[1].file_id = id;
    EXPECT_EQ(refused(entries),
              id + ": cannot be listed in a DICOMDIR: not a DICOMDIR file ID: " + why);
  }
  for (const auto& [field, what] :
       std::vector<std::pair<std::string InstanceSummary::*, std::string>>{
           {&InstanceSummary::sop_class_uid, "SOP Class UID"},
           {&InstanceSummary::sop_instance_uid, "SOP Instance UID"},
           {&InstanceSummary::transfer_syntax_uid, "Transfer Syntax UID"},
           {&InstanceSummary::study_uid, "Study Instance UID"},
           {&InstanceSummary::series_uid, "Series Instance UID"},
           {&InstanceSummary::modality, "Modality"}}) {
    auto entries = good;
    entries[1].summary.*field = "";
    EXPECT_EQ(refused(entries), "DICOM/IM0002: cannot be listed in a DICOMDIR: no " + what);
  }
  auto twice = good;
  twice[1].file_id = "DICOM/IM0001";
  EXPECT_EQ(refused(twice), "DICOM/IM0001: listed twice for one DICOMDIR");
  auto same_uid = good;
  same_uid[1].summary.sop_instance_uid = good[0].summary.sop_instance_uid;
  EXPECT_EQ(refused(same_uid),
            "DICOM/IM0002 and DICOM/IM0001: one SOP Instance UID for two files in one DICOMDIR");
  // Objects without a record type here, or without a type 1 key of theirs: refused, not
  // listed under a wrong record type or with an empty key.
  const DicomdirEntry plan = Stage(dir_ / "part", kPydicomFiles / "rtplan.dcm", "DICOM/RT0001");
  const DicomdirEntry report = Stage(dir_ / "part", kPydicomFiles / "test-SR.dcm", "DICOM/SR0001");
  auto with = [&](DicomdirEntry e, const std::function<void(InstanceSummary&)>& change) {
    change(e.summary);
    auto entries = good;
    entries.push_back(e);
    return refused(entries);
  };
  const std::string cannot = ": cannot be listed in a DICOMDIR: ";
  EXPECT_EQ(with(plan, [](InstanceSummary& s) { s.object_kind = "presentation state"; }),
            "DICOM/RT0001" + cannot +
                "a presentation state's record needs the series it references, which its "
                "summary does not keep");
  EXPECT_EQ(with(plan, [](InstanceSummary& s) { s.object_kind = "other"; }),
            "DICOM/RT0001" + cannot + "it has no record type here (other, RTPlanStorage)");
  EXPECT_EQ(with(plan, [](InstanceSummary& s) { s.record_keys.rt_label = ""; }),
            "DICOM/RT0001" + cannot +
                "its RT PLAN record needs RTPlanLabel, which its summary "
                "lacks");
  EXPECT_EQ(with(report, [](InstanceSummary& s) { s.instance_number = 0; }),
            "DICOM/SR0001" + cannot +
                "its SR DOCUMENT record needs InstanceNumber, which its "
                "summary lacks");
  EXPECT_EQ(with(report, [](InstanceSummary& s) { s.record_keys.verification_datetime = ""; }),
            "DICOM/SR0001" + cannot +
                "its SR DOCUMENT record needs VerificationDateTime, which "
                "its summary lacks");
  EXPECT_EQ(with(report, [](InstanceSummary& s) { s.record_keys.title_modifiers = true; }),
            "DICOM/SR0001" + cannot +
                "its SR DOCUMENT record needs the ContentSequence of its title's modifiers, "
                "which its summary lacks");
  // A summary stored before the record keys were kept.
  EXPECT_EQ(with(report, [](InstanceSummary& s) { s.record_keys = {}; }),
            "DICOM/SR0001" + cannot +
                "its SR DOCUMENT record needs ContentDate and ContentTime, "
                "which its summary lacks");
  EXPECT_EQ(refused(good, "PART-1"),
            "the file-set ID PART-1 has a character other than A-Z, 0-9 and _");
  EXPECT_EQ(refused(good, "A_FILE_SET_ID_TOO_LONG"),
            "the file-set ID A_FILE_SET_ID_TOO_LONG is longer than 16 characters");
}

// RT objects, structured reports and waveforms get the record types DicomDirInterface gives
// them, with their keys: the same DICOMDIR as its own, checked by dciodvfy for each type.
TEST_F(DicomdirTest, NonImagesGetTheirOwnRecordTypes) {
  const fs::path ours = dir_ / "ours";
  std::vector<DicomdirEntry> entries;
  int n = 0;
  for (const char* name : {"rtplan.dcm", "rtstruct.dcm", "rtdose.dcm", "test-SR.dcm",
                           "reportsi.dcm", "waveform_ecg.dcm", "CT_small.dcm"}) {
    entries.push_back(Stage(ours, kPydicomFiles / name, fmt::format("DICOM/OBJ{:04d}", ++n)));
  }
  const std::vector<Node> tree = Build(ours, entries);
  EXPECT_EQ(Count(tree), (std::map<std::string, int>{{"PATIENT", 7},
                                                     {"STUDY", 7},
                                                     {"SERIES", 7},
                                                     {"IMAGE", 1},
                                                     {"RT PLAN", 1},
                                                     {"RT STRUCTURE SET", 1},
                                                     {"RT DOSE", 1},
                                                     {"SR DOCUMENT", 2},
                                                     {"WAVEFORM", 1}}));
  ExpectLeavesResolve(ours, tree, 7);
  std::vector<const Node*> leaves;
  Leaves(tree, leaves);
  std::map<std::string, std::map<std::string, std::string>> keys;
  for (const Node* leaf : leaves) keys[leaf->type] = leaf->keys;
  EXPECT_EQ(keys["RT PLAN"].at("RTPlanLabel"), "Plan1");
  EXPECT_EQ(keys["RT PLAN"].at("RTPlanDate"), "20030903");
  EXPECT_EQ(keys["RT STRUCTURE SET"].at("StructureSetLabel"), "sep30");
  EXPECT_EQ(keys["RT DOSE"].at("DoseSummationType"), "BEAM");
  EXPECT_EQ(keys["WAVEFORM"].at("ContentTime"), "105919");

  ExpectSameTrees(tree, DcmtkTree(ours, entries));
}

TEST_F(DicomdirTest, EmptyType1KeysAreInventedAsDcmmkdirDoes) {
  const fs::path folder = dir_ / "part";
  std::vector<DicomdirEntry> entries = {Stage(folder, kPydicomFiles / "CT_small.dcm", "DICOM/CT"),
                                        Stage(folder, kPydicomFiles / "MR_small.dcm", "DICOM/MR")};
  for (DicomdirEntry& e : entries) {
    InstanceSummary& s = e.summary;
    s.patient_id = s.study_id = s.study_date = s.study_time = "";
    s.series_number = s.instance_number = 0;
  }
  // A study date and time missing: the content's, else now.
  const std::string ct_content_date = entries[0].summary.record_keys.content_date;
  ASSERT_FALSE(ct_content_date.empty());
  entries[1].summary.record_keys.content_date = entries[1].summary.record_keys.content_time = "";
  const std::vector<Node> tree = Build(folder, entries);
  ASSERT_EQ(tree.size(), 2u);  // without IDs, patients are told apart by name
  OFString today;
  DcmDate::getCurrentDate(today);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(tree[i].keys.at("PatientID"), fmt::format("DCMTKPAT{:06d}", i));
    const Node& study = tree[i].children.at(0);
    EXPECT_EQ(study.keys.at("StudyID"), fmt::format("DCMTKSTUDY{:06d}", i));
    EXPECT_EQ(study.keys.at("StudyDate"), i == 0 ? ct_content_date : std::string(today.c_str()));
    EXPECT_EQ(study.children.at(0).keys.at("SeriesNumber"), std::to_string(i));
    EXPECT_EQ(study.children.at(0).children.at(0).keys.at("InstanceNumber"), std::to_string(i + 1));
  }
}

TEST_F(DicomdirTest, AnEmptyFileSetIsAValidDicomdir) {
  EXPECT_EQ(Build(dir_, {}).size(), 0u);
  EXPECT_TRUE(fs::exists(dir_ / "DICOMDIR"));
}

TEST(DicomdirSummaryTest, StudyTimeAndIdAreSummarisedAndOldSummariesStillRead) {
  const std::string bytes = testing::ReadFile(kPydicomFiles / "CT_small.dcm");
  auto s = Summarize({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->study_time, "072730");
  EXPECT_EQ(s->study_id, "1CT1");
  auto back = FromJson(ToJson(*s));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->study_time, "072730");
  EXPECT_EQ(back->study_id, "1CT1");
  // A summary stored before these fields existed.
  nlohmann::json old = nlohmann::json::parse(ToJson(*s));
  old.erase("study_time");
  old.erase("study_id");
  auto before = FromJson(old.dump());
  ASSERT_TRUE(before.ok()) << before.status().message();
  EXPECT_EQ(before->study_time, "");
  EXPECT_EQ(before->study_id, "");
  EXPECT_EQ(before->study_uid, s->study_uid);
  old["study_id"] = 7;
  EXPECT_EQ(FromJson(old.dump()).status().message(), "a DICOM summary has a bad field: study_id");
}

TEST(DicomdirSummaryTest, RecordKeysAreSummarisedAndOldSummariesStillRead) {
  const std::string bytes = testing::ReadFile(kPydicomFiles / "test-SR.dcm");
  auto s = Summarize({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  ASSERT_TRUE(s.ok());
  const InstanceSummary::RecordKeys& k = s->record_keys;
  EXPECT_EQ(k.content_date, "20010213");
  EXPECT_EQ(k.title_code_meaning, "Diagnosis");
  EXPECT_EQ(k.completion_flag, "COMPLETE");
  EXPECT_EQ(k.verification_flag, "VERIFIED");
  EXPECT_EQ(k.verification_datetime, "20010213184746");
  EXPECT_FALSE(k.title_modifiers);  // HAS CONCEPT MOD only deeper down
  auto back = FromJson(ToJson(*s));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(ToJson(*back), ToJson(*s));
  nlohmann::json old = nlohmann::json::parse(ToJson(*s));
  old.erase("record_keys");
  auto before = FromJson(old.dump());
  ASSERT_TRUE(before.ok()) << before.status().message();
  EXPECT_EQ(before->record_keys.content_date, "");
  old["record_keys"] = "x";
  EXPECT_EQ(FromJson(old.dump()).status().message(),
            "a DICOM summary has a bad field: record_keys");
  old["record_keys"] = nlohmann::json::parse(ToJson(*s))["record_keys"];
  old["record_keys"]["rt_label"] = std::string(5000, 'A');
  EXPECT_EQ(FromJson(old.dump()).status().message(),
            "a DICOM summary has a bad field: record_keys.rt_label");
}

}  // namespace
}  // namespace dossier::dicom
