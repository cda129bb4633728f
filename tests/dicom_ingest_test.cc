// DICOM through ingest: real worker processes, real DCMTK, a real vault, and the real files
// of Debian's python3-pydicom (the dicomdirtests disc sets, broken and odd files). Instances
// are filed by series, DICOMDIRs are cross-checked, a disc of another patient is flagged,
// and the catalog holds no UID or name in the clear.
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "archive_util.h"
#include "dicom/dicom.h"
#include "ingest/ingest.h"
#include "tests/ingest_util.h"
#include "tests/test_util.h"

namespace dossier::ingest {
namespace {

namespace fs = std::filesystem;
using testing::kPydicomFiles;
const fs::path kDirTests = kPydicomFiles / "dicomdirtests";

class DicomIngestTest : public testing::VaultTestBase {
 protected:
  void SetUp() override {
    VaultTestBase::SetUp();
    ivanov_ = *v_->AddPatient({"Иванов Иван", "1980-02-01", "", ""});
    case_ = *v_->OpenCase(ivanov_, "second opinion");
  }
  IngestReport Ingest(const std::vector<fs::path>& paths) {
    IngestOptions options;
    options.ocr = false;
    options.worker.program = DOSSIER_BINARY;
    IngestReport r;
    const Status st = IngestPaths(*v_, case_, paths, options, r);
    EXPECT_TRUE(st.ok()) << st.message();
    return r;
  }
  // pydicom's disc of 31 images of 3 patients, with `dicomdir` as its DICOMDIR.
  fs::path CopyDisc(const std::string& dicomdir = "DICOMDIR") {
    const fs::path disc = dir_ / "disc";
    fs::create_directories(disc);
    for (const char* d : {"77654033", "98892001", "98892003"}) {
      fs::copy(kDirTests / d, disc / d, fs::copy_options::recursive);
    }
    fs::copy_file(kDirTests / dicomdir, disc / "DICOMDIR");
    return disc;
  }
  static int Instances(const IngestReport& r) {
    int n = 0;
    for (const auto& s : r.series) n += s.instances;
    return n;
  }
  std::string ivanov_, case_;
};

TEST_F(DicomIngestTest, APydicomDiscIsFiledBySeriesAndMatchesItsDicomdir) {
  const IngestReport r = Ingest({CopyDisc()});
  EXPECT_EQ(r.Count("stored"), 32u);  // 31 images and the DICOMDIR
  EXPECT_EQ(r.Count("missing"), 0u);
  EXPECT_EQ(r.Count("rejected"), 0u);
  EXPECT_EQ(Find(r, "disc/DICOMDIR").kind, "dicomdir");
  ASSERT_EQ(r.series.size(), 13u);
  EXPECT_EQ(Instances(r), 31);
  for (const auto& i : r.items) {
    EXPECT_EQ(i.advice, "") << i.path;  // every file is listed in the DICOMDIR
  }
  // The three patients of pydicom's disc are not Иванов Иван: every series says so.
  for (const auto& s : r.series) {
    EXPECT_EQ(s.mismatch, "the patient's name on the disc is not the case's patient's") << s.id;
  }
  const auto& ct = Find(r, "disc/98892001/CT5N/2062");
  EXPECT_EQ(ct.kind, "dicom");
  EXPECT_NE(ct.series, "");
  const auto series =
      std::find_if(r.series.begin(), r.series.end(), [&](auto& s) { return s.id == ct.series; });
  ASSERT_NE(series, r.series.end());
  EXPECT_EQ(series->modality, "CT");
  EXPECT_EQ(series->instances, 5);
  EXPECT_EQ(series->date, "20010101");
  EXPECT_EQ(series->problems, std::vector<std::string>{});

  // The catalog has the same grouping, instances in order.
  auto listed = v_->ListDicomSeries(case_);
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->size(), 13u);
  size_t docs = 0;
  for (const auto& s : *listed) {
    docs += s.doc_ids.size();
    ASSERT_EQ(s.doc_ids.size(), s.instance_summaries.size());
    int last = -1;
    for (const auto& json : s.instance_summaries) {
      auto summary = dicom::FromJson(json);
      ASSERT_TRUE(summary.ok());
      EXPECT_GE(summary->instance_number, last);
      last = summary->instance_number;
    }
  }
  EXPECT_EQ(docs, 31u);
}

TEST_F(DicomIngestTest, ADicomdirWithBrokenPatientRecordsStillListsEveryImage) {
  // Its patient records have an invalid type: walking the record tree from the patients
  // finds nothing, a flat walk of the records finds all 31 files.
  const IngestReport r = Ingest({CopyDisc("DICOMDIR-nopatient")});
  EXPECT_EQ(r.Count("stored"), 32u);
  EXPECT_EQ(r.Count("missing"), 0u);
  for (const auto& i : r.items) EXPECT_EQ(i.advice, "") << i.path;
}

TEST_F(DicomIngestTest, MissingAndUnlistedFilesAreNamed) {
  const fs::path disc = CopyDisc();
  fs::remove(disc / "77654033/CR3/6278");
  fs::copy_file(kPydicomFiles / "CT_small.dcm", disc / "EXTRA.DCM");
  const IngestReport r = Ingest({disc});
  ASSERT_EQ(r.Count("missing"), 1u);
  const auto& missing = Find(r, "disc/77654033/CR3/6278");
  EXPECT_EQ(missing.status, "missing");
  EXPECT_EQ(missing.reason,
            "listed in the disc's DICOMDIR but not in the upload: copy the whole disc again");
  const auto& extra = Find(r, "disc/EXTRA.DCM");
  EXPECT_EQ(extra.status, "stored");
  EXPECT_EQ(extra.advice, "not listed in the disc's DICOMDIR: read all the same");
  const auto series =
      std::find_if(r.series.begin(), r.series.end(), [&](auto& s) { return s.id == extra.series; });
  ASSERT_NE(series, r.series.end());
  EXPECT_EQ(series->problems,
            std::vector<std::string>{"not listed in the disc's DICOMDIR: read all the same"});
}

TEST_F(DicomIngestTest, EachSeriesGetsAPreviewRenderedByAWorker) {
  ASSERT_EQ(std::system((std::string(DOSSIER_MAKE_CT_DISC) + " --folder " + (dir_ / "ct").string() +
                         " --instances 5 --size 300 > /dev/null")
                            .c_str()),
            0);
  fs::copy_file(kPydicomFiles / "rtplan.dcm", dir_ / "ct" / "PLAN.DCM");
  fs::copy_file(kPydicomFiles / "MR_small_jp2klossless.dcm", dir_ / "ct" / "J2K.DCM");
  const IngestReport r = Ingest({dir_ / "ct"});
  ASSERT_EQ(r.series.size(), 3u);
  auto listed = v_->ListDicomSeries(case_);
  ASSERT_TRUE(listed.ok());
  for (const auto& s : *listed) {
    auto first = dicom::FromJson(s.summary);
    ASSERT_TRUE(first.ok());
    if (first->modality != "CT") {
      // An RT plan has no image; JPEG 2000 cannot be decoded here: no preview, no failure.
      EXPECT_FALSE(s.has_preview) << first->modality;
      EXPECT_EQ(v_->GetSeriesPreview(s.id).status().code(), StatusCode::kNotFound);
      continue;
    }
    ASSERT_TRUE(s.has_preview);
    auto png = v_->GetSeriesPreview(s.id);
    ASSERT_TRUE(png.ok()) << png.status().message();
    ASSERT_GT(png->size(), 24u);
    EXPECT_EQ(std::string(png->begin() + 1, png->begin() + 4), "PNG");
    auto be32 = [&](size_t at) {
      return (uint32_t{(*png)[at]} << 24) | (uint32_t{(*png)[at + 1]} << 16) |
             (uint32_t{(*png)[at + 2]} << 8) | (*png)[at + 3];
    };
    EXPECT_EQ(be32(16), 256u);  // 300 × 300 scaled down to fit 256
    EXPECT_EQ(be32(20), 256u);
  }
}

TEST_F(DicomIngestTest, AllFiftyImagesOfTinyAlpha) {
  const IngestReport r = Ingest({kDirTests / "TINY_ALPHA"});
  EXPECT_EQ(r.Count("missing"), 0u);
  EXPECT_EQ(Instances(r), 50);
  size_t dicom = 0;
  for (const auto& i : r.items) dicom += i.kind == "dicom" && i.status == "stored";
  EXPECT_EQ(dicom, 50u);
}

TEST_F(DicomIngestTest, FileIdsMatchWithoutCaseOrVersionSuffixInsideAnArchive) {
  // As an ISO 9660 copy without Rock Ridge shows it: lower case here, ";1" suffixes.
  std::vector<testing::Entry> entries;
  for (const auto& e : testing::EntriesFromDir(CopyDisc())) {
    std::string name = e.name;
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    entries.push_back({name + ";1", e.content});
  }
  const fs::path zip = dir_ / "copy.zip";
  testing::WriteArchive(zip, "zip", "", "", entries);
  const IngestReport r = Ingest({zip});
  EXPECT_EQ(r.Count("stored"), 32u);
  EXPECT_EQ(r.Count("missing"), 0u);
  for (const auto& i : r.items) EXPECT_EQ(i.advice, "") << i.path;
}

TEST_F(DicomIngestTest, BrokenFilesAreRefusedOddOnesKeptAndLabelled) {
  const fs::path up = dir_ / "up";
  fs::create_directories(up);
  for (const char* f :
       {"MR_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "MR_small_RLE.dcm",
        "MR_small_jpeg_ls_lossless.dcm", "MR_small_jp2klossless.dcm", "MR_truncated.dcm",
        "rtplan_truncated.dcm", "no_meta.dcm", "ExplVR_LitEndNoMeta.dcm", "rtplan.dcm",
        "test-SR.dcm", "waveform_ecg.dcm"}) {
    fs::copy_file(kPydicomFiles / f, up / f);
  }
  // Through an archive too: the same worker code, entries instead of files.
  const fs::path zip = dir_ / "up.zip";
  testing::WriteArchive(zip, "zip", "", "", testing::EntriesFromDir(up));
  for (const fs::path& source : {up, zip}) {
    SCOPED_TRACE(source.string());
    const std::string at = source.filename().string() + "/";
    const IngestReport r = Ingest({source});
    const std::string truncated =
        "truncated: the file ends in the middle of its data — copy it from the disc again";
    EXPECT_EQ(Find(r, at + "MR_truncated.dcm").status, "rejected");
    EXPECT_EQ(Find(r, at + "MR_truncated.dcm").kind, "dicom");
    EXPECT_EQ(Find(r, at + "MR_truncated.dcm").reason, truncated);
    EXPECT_EQ(Find(r, at + "rtplan_truncated.dcm").reason, truncated);
    EXPECT_EQ(Find(r, at + "no_meta.dcm").status, "rejected");
    EXPECT_EQ(Find(r, at + "no_meta.dcm").reason,
              "damaged DICOM file: 1 stray byte before its data — copy it from the disc again");
    EXPECT_EQ(r.Count("rejected"), 3u);
    if (source == zip) {
      // The same files a second time: nothing new, no second series.
      EXPECT_EQ(r.Count("duplicate"), 10u);
      EXPECT_TRUE(r.series.empty());
      continue;
    }
    EXPECT_EQ(r.Count("stored"), 10u);
    std::map<std::string, const SeriesReport*> by_kind;
    for (const auto& s : r.series) by_kind[s.object_kind + " " + s.modality] = &s;
    ASSERT_EQ(r.series.size(), 5u);  // two are RT plans: rtplan.dcm and the bare one
    // One MR instance stored six ways: one series; five are the same UID again.
    const SeriesReport& mr = *by_kind.at("image MR");
    EXPECT_EQ(mr.instances, 6);
    EXPECT_EQ(mr.problems,
              (std::vector<std::string>{
                  "another file has the same SOP Instance UID but different content: a viewer "
                  "may show only one of them (5 of 6 instances)",
                  "pixel data in JPEG 2000 (Lossless only), which this DCMTK cannot decode: "
                  "stored unchanged, no preview (1 of 6 instances)"}));
    EXPECT_EQ(by_kind.count("rt plan RTPLAN"), 1u);
    EXPECT_EQ(by_kind.count("structured report SR"), 1u);
    EXPECT_EQ(by_kind.count("waveform ECG"), 1u);
    // The bare data set was given a meta header: what the vault returns is a Part 10 file.
    const auto& bare = Find(r, at + "ExplVR_LitEndNoMeta.dcm");
    EXPECT_EQ(bare.status, "stored");
    testing::StringSink sink;
    ASSERT_TRUE(v_->ReadDocument(bare.doc_id, sink).ok());
    ASSERT_GT(sink.data.size(), 132u);
    EXPECT_EQ(sink.data.substr(128, 4), "DICM");
    auto reread =
        dicom::Summarize({reinterpret_cast<const uint8_t*>(sink.data.data()), sink.data.size()});
    ASSERT_TRUE(reread.ok());
    EXPECT_TRUE(reread->meta_header);
    EXPECT_EQ(bare.size, sink.data.size());
    const auto plan = std::find_if(r.series.begin(), r.series.end(),
                                   [&](auto& s) { return s.id == bare.series; });
    ASSERT_NE(plan, r.series.end());
    EXPECT_EQ(plan->problems, std::vector<std::string>{"stored on the disc without a DICOM meta "
                                                       "header: Dossier added one"});
  }
}

// A CT slice of `name` (UTF-8) born `birth`, in ISO_IR 144 as Russian discs write it.
std::string RussianCt(const std::string& name, const std::string& birth, const std::string& uid) {
  DcmFileFormat ff;
  DcmDataset* ds = ff.getDataset();
  ds->putAndInsertString(DCM_SOPClassUID, UID_CTImageStorage);
  ds->putAndInsertString(DCM_SOPInstanceUID, (uid + ".1").c_str());
  ds->putAndInsertString(DCM_StudyInstanceUID, uid.c_str());
  ds->putAndInsertString(DCM_SeriesInstanceUID, (uid + ".2").c_str());
  ds->putAndInsertString(DCM_Modality, "CT");
  ds->putAndInsertString(DCM_StudyDate, "20261110");
  ds->putAndInsertString(DCM_SpecificCharacterSet, "ISO_IR 144");
  std::string latin;  // UTF-8 Cyrillic (2 bytes) → ISO 8859-5
  for (size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x80) {
      latin += static_cast<char>(c);
      continue;
    }
    const unsigned cp = ((c & 0x1F) << 6) | (static_cast<unsigned char>(name[++i]) & 0x3F);
    latin += static_cast<char>(cp - 0x360);
  }
  ds->putAndInsertOFStringArray(DCM_PatientName, OFString(latin.data(), latin.size()));
  ds->putAndInsertString(DCM_PatientBirthDate, birth.c_str());
  const fs::path tmp = fs::temp_directory_path() / ("ru-" + std::to_string(::getpid()) + ".dcm");
  EXPECT_TRUE(ff.saveFile(tmp.c_str(), EXS_LittleEndianExplicit).good());
  std::string bytes = testing::ReadFile(tmp);
  fs::remove(tmp);
  return bytes;
}

TEST_F(DicomIngestTest, TheRightPatientInCyrillicPassesAnotherBirthDateIsFlagged) {
  const fs::path up = dir_ / "up";
  fs::create_directories(up);
  testing::WriteFile(up / "theirs.dcm",
                     RussianCt("Иванов^Иван", "19800201", "1.2.826.0.1.3680043.2.1143.7"));
  testing::WriteFile(up / "namesake.dcm",
                     RussianCt("ИВАНОВ^И", "19750505", "1.2.826.0.1.3680043.2.1143.8"));
  const IngestReport r = Ingest({up});
  ASSERT_EQ(r.series.size(), 2u);
  const auto& theirs = Find(r, "up/theirs.dcm");
  const auto& namesake = Find(r, "up/namesake.dcm");
  for (const auto& s : r.series) {
    if (s.id == theirs.series) {
      EXPECT_EQ(s.mismatch, "");
    }
    if (s.id == namesake.series) {
      EXPECT_EQ(s.mismatch, "the birth date on the disc is not the patient's");
    }
  }
  // The flag is kept with the series, and the decoded name is there for the manager.
  auto listed = v_->ListDicomSeries(case_);
  ASSERT_TRUE(listed.ok());
  for (const auto& s : *listed) {
    auto first = dicom::FromJson(s.summary);
    ASSERT_TRUE(first.ok());
    if (s.id == theirs.series) {
      EXPECT_EQ(first->patient_name, "Иванов^Иван");
      EXPECT_EQ(s.mismatch, "");
    } else {
      EXPECT_EQ(first->patient_name, "ИВАНОВ^И");
      EXPECT_EQ(s.mismatch, "the birth date on the disc is not the patient's");
    }
  }
}

TEST_F(DicomIngestTest, TheCatalogHoldsNoUidOrNameAndErasureTakesTheSeries) {
  const fs::path up = dir_ / "up";
  fs::create_directories(up);
  fs::copy_file(kPydicomFiles / "CT_small.dcm", up / "CT_small.dcm");
  const IngestReport r = Ingest({up});
  ASSERT_EQ(r.series.size(), 1u);
  const std::string bytes = testing::ReadFile(kPydicomFiles / "CT_small.dcm");
  auto ct = dicom::Summarize({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  ASSERT_TRUE(ct.ok());
  v_.reset();  // the catalog and its WAL as they rest on disk
  for (const std::string& secret :
       {ct->study_uid, ct->series_uid, ct->sop_instance_uid, std::string("CompressedSamples")}) {
    EXPECT_EQ(testing::FilesContaining(dir_ / "vault", secret), std::vector<std::string>{})
        << secret;
  }
  auto reopened = vault::Vault::Open(dir_ / "vault", testing::kPassphrase, {"t", "operator"});
  ASSERT_TRUE(reopened.ok());
  v_ = std::move(reopened).value();
  ASSERT_EQ(v_->ListDicomSeries(case_)->size(), 1u);
  ASSERT_TRUE(v_->ErasePatient(ivanov_).ok());
  EXPECT_EQ(v_->ListDicomSeries(case_).status().code(), StatusCode::kRejected);
}

}  // namespace
}  // namespace dossier::ingest
