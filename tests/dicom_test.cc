// DICOM summaries with real DCMTK on the real files of Debian's python3-pydicom, and on
// Cyrillic files made here in each character set a Russian disc may use.
#include "dicom/dicom.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/test_util.h"

namespace dossier::dicom {
namespace {

using testing::kPydicomFiles;

Result<InstanceSummary> Load(const std::string& name) {
  const std::string bytes = testing::ReadFile(kPydicomFiles / name);
  return Summarize({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
}

TEST(DicomTest, CtAndMrInEveryEncodingPydicomShips) {
  auto ct = Load("CT_small.dcm");
  ASSERT_TRUE(ct.ok()) << ct.status().message();
  EXPECT_EQ(ct->modality, "CT");
  EXPECT_EQ(ct->patient_name, "CompressedSamples^CT1");
  EXPECT_EQ(ct->study_date, "20040119");
  EXPECT_EQ(ct->sop_class_uid, UID_CTImageStorage);
  EXPECT_EQ(ct->transfer_syntax_uid, UID_LittleEndianExplicitTransferSyntax);
  EXPECT_EQ(ct->object_kind, "image");
  EXPECT_EQ(ct->rows, 128);
  EXPECT_EQ(ct->columns, 128);
  EXPECT_EQ(ct->frames, 1);
  EXPECT_TRUE(ct->meta_header);
  EXPECT_EQ(ct->problems, std::vector<std::string>{});
  // The same MR image, stored seven ways: one study, one series, one instance.
  auto mr = Load("MR_small.dcm");
  ASSERT_TRUE(mr.ok());
  for (const char* name :
       {"MR_small_implicit.dcm", "MR_small_bigendian.dcm", "MR_small_expb.dcm", "MR_small_RLE.dcm",
        "MR_small_jpeg_ls_lossless.dcm", "MR_small_padded.dcm"}) {
    auto v = Load(name);
    ASSERT_TRUE(v.ok()) << name << ": " << v.status().message();
    EXPECT_EQ(v->study_uid, mr->study_uid) << name;
    EXPECT_EQ(v->series_uid, mr->series_uid) << name;
    EXPECT_EQ(v->sop_instance_uid, mr->sop_instance_uid) << name;
    EXPECT_EQ(v->modality, "MR") << name;
    EXPECT_EQ(v->problems, std::vector<std::string>{}) << name;  // all decodable here
  }
  EXPECT_EQ(Load("MR_small_jpeg_ls_lossless.dcm")->transfer_syntax_uid,
            UID_JPEGLSLosslessTransferSyntax);
  auto deflated = Load("image_dfl.dcm");
  ASSERT_TRUE(deflated.ok());
  EXPECT_EQ(deflated->transfer_syntax_uid, UID_DeflatedExplicitVRLittleEndianTransferSyntax);
}

TEST(DicomTest, FilesWithoutMetaHeaderAreReadAndSaySo) {
  for (const char* name : {"ExplVR_LitEndNoMeta.dcm", "ExplVR_BigEndNoMeta.dcm"}) {
    auto s = Load(name);
    ASSERT_TRUE(s.ok()) << name << ": " << s.status().message();
    EXPECT_FALSE(s->meta_header) << name;
    EXPECT_EQ(s->object_kind, "rt plan") << name;
  }
}

TEST(DicomTest, BrokenFilesAreRefusedWithTheirReason) {
  for (const char* name : {"MR_truncated.dcm", "rtplan_truncated.dcm"}) {
    auto s = Load(name);
    EXPECT_EQ(s.status().code(), StatusCode::kRejected) << name;
    EXPECT_EQ(s.status().message(),
              "truncated: the file ends in the middle of its data — copy it from the disc again")
        << name;
  }
  auto stray = Load("no_meta.dcm");  // a stray byte before the data set
  EXPECT_EQ(stray.status().code(), StatusCode::kRejected);
  EXPECT_EQ(stray.status().message(),
            "not DICOM: no DICOM header at the start (stray bytes, or another kind of file)");
}

TEST(DicomTest, JpegTwoThousandIsKeptButFlagged) {
  auto s = Load("MR_small_jp2klossless.dcm");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->problems,
            std::vector<std::string>{"pixel data in JPEG 2000 (Lossless only), which this DCMTK "
                                     "cannot decode: stored unchanged, no preview"});
}

TEST(DicomTest, NonImageObjectsAreLabelled) {
  EXPECT_EQ(Load("rtplan.dcm")->object_kind, "rt plan");
  EXPECT_EQ(Load("rtstruct.dcm")->object_kind, "rt structure set");
  EXPECT_EQ(Load("rtdose.dcm")->object_kind, "rt dose");
  EXPECT_EQ(Load("rtdose.dcm")->frames, 15);
  EXPECT_EQ(Load("test-SR.dcm")->object_kind, "structured report");
  EXPECT_EQ(Load("waveform_ecg.dcm")->object_kind, "waveform");
  EXPECT_EQ(Load("waveform_ecg.dcm")->modality, "ECG");
  // Stored with VR UN: the values still read as text.
  EXPECT_EQ(Load("rtdose_rle.dcm")->modality, "RTDOSE");
}

TEST(DicomTest, MissingUidsAreProblemsNotFailures) {
  auto s = Load("no_meta_group_length.dcm");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->problems,
            (std::vector<std::string>{"missing SOPInstanceUID", "missing StudyInstanceUID",
                                      "missing SeriesInstanceUID"}));
}

// A minimal CT instance with `name` (already encoded) under `charset`.
std::string CyrillicFile(const std::string& charset, const std::string& name) {
  DcmFileFormat ff;
  DcmDataset* ds = ff.getDataset();
  ds->putAndInsertString(DCM_SOPClassUID, UID_SecondaryCaptureImageStorage);
  ds->putAndInsertString(DCM_SOPInstanceUID, "1.2.826.0.1.3680043.2.1143.1.1");
  ds->putAndInsertString(DCM_StudyInstanceUID, "1.2.826.0.1.3680043.2.1143.1");
  ds->putAndInsertString(DCM_SeriesInstanceUID, "1.2.826.0.1.3680043.2.1143.1.2");
  ds->putAndInsertString(DCM_Modality, "OT");
  if (!charset.empty()) ds->putAndInsertString(DCM_SpecificCharacterSet, charset.c_str());
  ds->putAndInsertOFStringArray(DCM_PatientName, OFString(name.data(), name.size()));
  const fs::path tmp = fs::temp_directory_path() / ("cyr-" + std::to_string(::getpid()) + ".dcm");
  EXPECT_TRUE(ff.saveFile(tmp.c_str(), EXS_LittleEndianExplicit).good());
  std::string bytes = testing::ReadFile(tmp);
  fs::remove(tmp);
  return bytes;
}

// UTF-8 Cyrillic to ISO 8859-5 (ISO_IR 144): U+0401–U+045F map to 0xA1–0xFF.
std::string ToLatinCyrillic(const std::string& utf8) {
  std::string out;
  for (size_t i = 0; i < utf8.size();) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    const unsigned cp = ((c & 0x1F) << 6) | (static_cast<unsigned char>(utf8[i + 1]) & 0x3F);
    out += static_cast<char>(cp - 0x360);
    i += 2;
  }
  return out;
}

TEST(DicomTest, CyrillicNamesReadRightInEveryCharacterSet) {
  const std::string want = "Иванов^Иван";
  const std::string latin_cyrillic = ToLatinCyrillic(want);
  const std::string iso2022 =
      "\x1b-L" + ToLatinCyrillic("Иванов") + "^" + "\x1b-L" + ToLatinCyrillic("Иван");
  const std::vector<std::pair<std::string, std::string>> files = {
      {"ISO_IR 144", latin_cyrillic},
      {"ISO_IR 192", want},
      // ISO 2022 code extensions: the default repertoire first, then ESC - L designating
      // ISO 8859-5 into G1 before each name component (a "^" returns to the initial state).
      {"ISO 2022 IR 6\\ISO 2022 IR 144", iso2022},
      {"\\ISO 2022 IR 144", iso2022},
  };
  for (const auto& [charset, encoded] : files) {
    const std::string bytes = CyrillicFile(charset, encoded);
    auto s = Summarize({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
    ASSERT_TRUE(s.ok()) << charset << ": " << s.status().message();
    EXPECT_EQ(s->patient_name, want) << charset;
    EXPECT_EQ(s->problems, std::vector<std::string>{}) << charset;
  }
}

TEST(DicomTest, BareDataSetsGainAMetaHeaderAndKeepTheirData) {
  for (const char* name : {"ExplVR_LitEndNoMeta.dcm", "ExplVR_BigEndNoMeta.dcm"}) {
    const std::string bytes = testing::ReadFile(kPydicomFiles / name);
    auto fixed = WithMetaHeader({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
    ASSERT_TRUE(fixed.ok()) << name << ": " << fixed.status().message();
    ASSERT_GT(fixed->size(), 132u);
    EXPECT_EQ(std::string(fixed->begin() + 128, fixed->begin() + 132), "DICM") << name;
    auto before = Load(name);
    auto after = Summarize(*fixed);
    ASSERT_TRUE(after.ok()) << name;
    EXPECT_TRUE(after->meta_header) << name;
    EXPECT_EQ(after->sop_instance_uid, before->sop_instance_uid) << name;
    EXPECT_EQ(after->transfer_syntax_uid, before->transfer_syntax_uid) << name;
    EXPECT_EQ(after->object_kind, "rt plan") << name;
  }
  const std::string truncated = testing::ReadFile(kPydicomFiles / "MR_truncated.dcm");
  EXPECT_EQ(WithMetaHeader({reinterpret_cast<const uint8_t*>(truncated.data()), truncated.size()})
                .status()
                .code(),
            StatusCode::kRejected);
}

TEST(DicomTest, DicomdirListsEveryReferencedFileByAFlatWalk) {
  // pydicom's set: 31 images of 3 patients; the -nopatient variant has patient records of an
  // invalid type, so a walk of the record tree from the patients would find nothing.
  for (const char* name : {"DICOMDIR", "DICOMDIR-nopatient", "DICOMDIR-implicit",
                           "DICOMDIR-bigEnd", "DICOMDIR-reordered"}) {
    auto d = Load(std::string("dicomdirtests/") + name);
    ASSERT_TRUE(d.ok()) << name << ": " << d.status().message();
    EXPECT_EQ(d->object_kind, "directory") << name;
    ASSERT_EQ(d->referenced_files.size(), 31u) << name;
    EXPECT_EQ(d->problems, std::vector<std::string>{}) << name;
  }
  auto d = Load("dicomdirtests/DICOMDIR");
  EXPECT_EQ(d->referenced_files[0], "77654033/CR1/6154");
  auto tiny = Load("dicomdirtests/TINY_ALPHA/DICOMDIR");
  ASSERT_TRUE(tiny.ok());
  EXPECT_EQ(tiny->referenced_files.size(), 50u);
}

TEST(DicomTest, SummariesSurviveJsonAndBadJsonIsRefused) {
  auto ct = Load("CT_small.dcm");
  ASSERT_TRUE(ct.ok());
  ct->problems = {"missing SOPInstanceUID"};
  ct->referenced_files = {"A/B"};
  auto back = FromJson(ToJson(*ct));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(ToJson(*back), ToJson(*ct));
  EXPECT_EQ(back->rows, 128);
  EXPECT_EQ(back->patient_name, "CompressedSamples^CT1");
  EXPECT_EQ(FromJson("[]").status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(FromJson("{").status().code(), StatusCode::kCorrupt);
  std::string wrong = ToJson(*ct);
  wrong.replace(wrong.find("\"rows\":128"), 10, "\"rows\":\"1\"");
  EXPECT_EQ(FromJson(wrong).status().message(), "a DICOM summary has a bad field: rows");
  nlohmann::json big = nlohmann::json::parse(ToJson(*ct));
  big["patient_name"] = std::string(5000, 'A');
  EXPECT_EQ(FromJson(big.dump()).status().message(),
            "a DICOM summary has a bad field: patient_name");
}

TEST(DicomTest, WrongPatientIsFoundInAnyScript) {
  InstanceSummary s;
  s.patient_name = "IVANOV^IVAN";
  s.birth_date = "19800201";
  EXPECT_EQ(PatientMismatch(s, "Иванов Иван Петрович", "1980-02-01"), "");
  EXPECT_EQ(PatientMismatch(s, "Ivanoff Ivan", ""), "");
  s.patient_name = "Иванов^Иван";
  EXPECT_EQ(PatientMismatch(s, "Ivanov Ivan", "1980-02-01"), "");
  EXPECT_EQ(PatientMismatch(s, "Петров Пётр", "1980-02-01"),
            "the patient's name on the disc is not the case's patient's");
  EXPECT_EQ(PatientMismatch(s, "Иванов Иван", "1975-05-05"),
            "the birth date on the disc is not the patient's");
  EXPECT_EQ(PatientMismatch(s, "Petrov Petr", "1975-05-05"),
            "the patient's name on the disc is not the case's patient's and the birth date on "
            "the disc is not the patient's");
  s.patient_name.clear();  // anonymised disc: the name proves nothing
  s.birth_date.clear();
  EXPECT_EQ(PatientMismatch(s, "Petrov Petr", "1975-05-05"), "");
}

TEST(DicomTest, FileIdsCompareWithoutCaseAndVersionSuffixes) {
  EXPECT_EQ(FileIdKey("dicom/s001/im0001;1"), "DICOM/S001/IM0001");
  EXPECT_EQ(FileIdKey("DICOM\\S001\\IM0001"), "DICOM/S001/IM0001");
  EXPECT_EQ(FileIdKey("a;b/c;12"), "A;B/C");
}

}  // namespace
}  // namespace dossier::dicom
