// DICOM summaries with real DCMTK on the real files of Debian's python3-pydicom, and on
// Cyrillic files made here in each character set a Russian disc may use.
#include "dicom/dicom.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcistrmb.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcvrobow.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sodium.h>

#include <array>
#include <map>
#include <nlohmann/json.hpp>

#include "dicom/internal/parse.h"
#include "tests/test_util.h"

namespace dossier::dicom {
namespace {

using testing::ErrorLines;
using testing::kPydicomFiles;
using testing::Shell;

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

// A slice's pixel data as DCMTK gives it from `ff` (loading it if it was left in place).
std::string Pixels(DcmFileFormat& ff) {
  DcmElement* pixels = nullptr;
  if (ff.getDataset()->findAndGetElement(DCM_PixelData, pixels).bad()) return "";
  Uint8* value = nullptr;
  if (pixels->getUint8Array(value).bad() || value == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(value), pixels->getLength());
}

TEST(DicomTest, ASummaryLeavesThePixelDataWhereItIsUntilAsked) {
  // Summaries parse in place: a slice's pixels are not copied into DCMTK's element (the
  // largest cost of parsing a disc), and read back whole from the same bytes when asked.
  const std::string bytes = testing::ReadFile(kPydicomFiles / "CT_small.dcm");
  const std::span<const uint8_t> span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  DcmFileFormat in_place, copied;
  ASSERT_TRUE(internal::Parse(span, in_place, internal::Values::kInPlace).ok());
  ASSERT_TRUE(internal::Parse(span, copied).ok());
  DcmElement* pixels = nullptr;
  ASSERT_TRUE(in_place.getDataset()->findAndGetElement(DCM_PixelData, pixels).good());
  EXPECT_FALSE(pixels->valueLoaded());
  ASSERT_TRUE(copied.getDataset()->findAndGetElement(DCM_PixelData, pixels).good());
  EXPECT_TRUE(pixels->valueLoaded());
  const std::string expected = Pixels(copied);
  EXPECT_EQ(expected.size(), 128u * 128u * 2u);
  EXPECT_TRUE(Pixels(in_place) == expected);

  // The same slice as a bare data set (no preamble, no meta header): given a meta header, it
  // keeps every pixel, read from where the parse left them.
  auto bare = internal::Serialize(copied, copied.getDataset()->getOriginalXfer(), EWM_dataset);
  ASSERT_TRUE(bare.ok()) << bare.status().message();
  auto fixed = WithMetaHeader(*bare);
  ASSERT_TRUE(fixed.ok()) << fixed.status().message();
  DcmFileFormat again;
  ASSERT_TRUE(internal::Parse(*fixed, again).ok());
  EXPECT_TRUE(Pixels(again) == expected);
  auto summary = Summarize(*fixed);
  ASSERT_TRUE(summary.ok());
  EXPECT_TRUE(summary->meta_header);
  EXPECT_EQ(summary->rows, 128);

  // A deflated data set's bytes in memory are not its values: those are read as they come.
  const std::string deflated = testing::ReadFile(kPydicomFiles / "image_dfl.dcm");
  const std::span<const uint8_t> dfl(reinterpret_cast<const uint8_t*>(deflated.data()),
                                     deflated.size());
  DcmFileFormat dfl_in_place, dfl_copied;
  ASSERT_TRUE(internal::Parse(dfl, dfl_in_place, internal::Values::kInPlace).ok());
  ASSERT_TRUE(internal::Parse(dfl, dfl_copied).ok());
  const std::string dfl_pixels = Pixels(dfl_copied);
  EXPECT_GT(dfl_pixels.size(), 4096u);
  EXPECT_TRUE(Pixels(dfl_in_place) == dfl_pixels);
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
  for (const char* name : {"DICOMDIR", "DICOMDIR-nopatient", "DICOMDIR-implicit", "DICOMDIR-bigEnd",
                           "DICOMDIR-reordered"}) {
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
  // The disc's family name must be the patient's: a shared first name is not enough.
  s.patient_name = "Petrov^Ivan";
  s.birth_date.clear();
  EXPECT_EQ(PatientMismatch(s, "Ivan Smirnov", ""),
            "the patient's name on the disc is not the case's patient's");
  s.patient_name = "SMIRNOV^IVAN";
  EXPECT_EQ(PatientMismatch(s, "Иван Смирнов", ""), "");
  s.patient_name.clear();  // anonymised disc: the name proves nothing
  s.birth_date.clear();
  EXPECT_EQ(PatientMismatch(s, "Petrov Petr", "1975-05-05"), "");
}

TEST(DicomTest, FileIdsCompareWithoutCaseAndVersionSuffixes) {
  EXPECT_EQ(FileIdKey("dicom/s001/im0001;1"), "DICOM/S001/IM0001");
  EXPECT_EQ(FileIdKey("DICOM\\S001\\IM0001"), "DICOM/S001/IM0001");
  EXPECT_EQ(FileIdKey("a;b/c;12"), "A;B/C");
  EXPECT_EQ(FileIdKey("DICOM/IM0001.;1"), "DICOM/IM0001");  // ISO level 1, no extension
}

class DicomExportTest : public testing::TempDirTest {
 protected:
  // A synthetic CT disc (samples/make_ct_disc) of `n` slices in dir_/disc, with a name,
  // an ID, a birth date, a hospital, an operator and a vendor's private copy of the name.
  std::vector<std::string> MakeDisc(int n) {
    const std::string cmd = std::string(DOSSIER_MAKE_CT_DISC) + " --folder " +
                            (dir_ / "disc").string() + " --instances " + std::to_string(n) +
                            " --size 64 > /dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    std::vector<std::string> ids;
    for (int i = 1; i <= n; ++i) ids.push_back(fmt::format("DICOM/S001/IM{:04d}", i));
    return ids;
  }
  // A UID map as the vault keeps it: the same UID always gets the same replacement.
  std::string Map(const std::string& uid) {
    auto [it, added] = uids_.try_emplace(uid, "");
    if (added) {
      std::array<uint8_t, 16> b{};
      crypto_generichash(b.data(), b.size(), reinterpret_cast<const uint8_t*>(uid.data()),
                         uid.size(), nullptr, 0);
      it->second = UidFromBytes(b);
    }
    return it->second;
  }
  std::map<std::string, std::string> uids_;
};

TEST_F(DicomExportTest, DeidentifiedSeriesIsValidConsistentAndCarriesNoIdentity) {
  const auto ids = MakeDisc(3);
  const std::string original = testing::ReadFile(dir_ / "disc" / ids[0]);
  auto before = Summarize({reinterpret_cast<const uint8_t*>(original.data()), original.size()});
  ASSERT_TRUE(before.ok());
  const fs::path out = dir_ / "out";
  ExportOptions options;
  options.patient_name = "PATIENT^7K2Q";
  options.patient_id = "7K2Q";
  for (const auto& id : ids) {
    const std::string bytes = testing::ReadFile(dir_ / "disc" / id);
    auto r = Deidentify({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, options,
                        [&](const std::string& uid) { return Map(uid); });
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_FALSE(r->burned_in_annotation);
    fs::create_directories((out / id).parent_path());
    testing::WriteFile(out / id, std::string(r->bytes.begin(), r->bytes.end()));
  }
  const Status dicomdir = WriteDicomdir(out, ids, "DOSSIER");
  ASSERT_TRUE(dicomdir.ok()) << dicomdir.message();

  // What the standard's own checkers say: no errors, per file, for the DICOMDIR, and across
  // the series (dcentvfy: the same patient, study and series in every file).
  for (const auto& id : ids) {
    auto [rc, text] = Shell("dciodvfy " + (out / id).string());
    EXPECT_LE(rc, 1) << text;
    EXPECT_NE(text.find("CTImage"), std::string::npos) << text;  // it checked the CT IOD
    EXPECT_EQ(ErrorLines(text), std::vector<std::string>{}) << id << "\n" << text;
  }
  auto [dir_rc, dir_text] = Shell("dciodvfy " + (out / "DICOMDIR").string());
  EXPECT_LE(dir_rc, 1) << dir_text;
  EXPECT_NE(dir_text.find("BasicDirectory"), std::string::npos) << dir_text;
  EXPECT_EQ(ErrorLines(dir_text), std::vector<std::string>{}) << dir_text;
  std::string all;
  for (const auto& id : ids) all += " " + (out / id).string();
  auto [ent_rc, ent_text] = Shell("dcentvfy" + all);
  EXPECT_LE(ent_rc, 1) << ent_text;
  EXPECT_EQ(ErrorLines(ent_text), std::vector<std::string>{}) << ent_text;
  // The check has teeth: a slice of the same study given another pseudonym is caught.
  {
    const std::string bytes = testing::ReadFile(dir_ / "disc" / ids[1]);
    ExportOptions other = options;
    other.patient_name = "OTHER^NAME";
    auto r = Deidentify({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, other,
                        [&](const std::string& uid) { return Map(uid) + ".9"; });
    ASSERT_TRUE(r.ok());
    testing::WriteFile(dir_ / "odd.dcm", std::string(r->bytes.begin(), r->bytes.end()));
  }
  auto [mix_rc, mix_text] = Shell("dcentvfy" + all + " " + (dir_ / "odd.dcm").string());
  EXPECT_LE(mix_rc, 1) << mix_text;
  EXPECT_NE(ErrorLines(mix_text), std::vector<std::string>{}) << mix_text;

  // Nothing of the person, the hospital or the original UIDs is left, in any file.
  for (const std::string& secret :
       {std::string("Ivanov"), std::string("DEMO-0001"), std::string("19800201"),
        std::string("City Hospital"), std::string("Petrova"), std::string("A2026111001"),
        before->study_uid, before->series_uid, before->sop_instance_uid}) {
    EXPECT_EQ(testing::FilesContaining(out, secret), std::vector<std::string>{}) << secret;
  }
  // What stays: the dates, the patient's sex, the images; and it says what was done.
  const std::string first = testing::ReadFile(out / ids[0]);
  auto after = Summarize({reinterpret_cast<const uint8_t*>(first.data()), first.size()});
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->patient_name, "PATIENT^7K2Q");
  EXPECT_EQ(after->patient_id, "7K2Q");
  EXPECT_EQ(after->birth_date, "");
  EXPECT_EQ(after->sex, "M");
  EXPECT_EQ(after->study_date, "20261110");
  EXPECT_EQ(after->study_uid, Map(before->study_uid));
  EXPECT_EQ(after->rows, 64);
  EXPECT_EQ(after->sop_class_uid, before->sop_class_uid);
  DcmFileFormat ff;
  ASSERT_TRUE(ff.loadFile((out / ids[0]).c_str()).good());
  OFString removed, method;
  ff.getDataset()->findAndGetOFString(DCM_PatientIdentityRemoved, removed);
  EXPECT_EQ(removed, "YES");
  DcmItem* code = nullptr;
  ASSERT_TRUE(ff.getDataset()
                  ->findAndGetSequenceItem(DCM_DeidentificationMethodCodeSequence, code, 0)
                  .good());
  code->findAndGetOFString(DCM_CodeValue, method);
  EXPECT_EQ(method, "113100");
  EXPECT_FALSE(ff.getDataset()->tagExists(DcmTagKey(0x0029, 0x1010)));  // private: gone
}

TEST_F(DicomExportTest, JpegLsIsLosslessAndKeepsWhatItCannotImprove) {
  const auto ids = MakeDisc(1);
  const std::string bytes = testing::ReadFile(dir_ / "disc" / ids[0]);
  ExportOptions options;
  options.jpeg_ls = true;
  auto map = [&](const std::string& uid) { return Map(uid); };
  auto r = Deidentify({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, options, map);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->recompressed);
  EXPECT_EQ(r->kept_reason, "");
  EXPECT_EQ(r->transfer_syntax_uid, UID_JPEGLSLosslessTransferSyntax);
  EXPECT_LT(r->bytes.size(), bytes.size());
  // Lossless: decoded again, the pixels are the original ones.
  auto pixels = [](const std::vector<uint8_t>& file) {
    DcmInputBufferStream in;
    in.setBuffer(file.data(), static_cast<offile_off_t>(file.size()));
    in.setEos();
    DcmFileFormat ff;
    ff.transferInit();
    EXPECT_TRUE(ff.read(in).good());
    ff.transferEnd();
    DcmDataset* ds = ff.getDataset();
    EXPECT_TRUE(ds->chooseRepresentation(EXS_LittleEndianExplicit, nullptr).good());
    const Uint16* data = nullptr;
    unsigned long count = 0;
    EXPECT_TRUE(ds->findAndGetUint16Array(DCM_PixelData, data, &count).good());
    return std::vector<Uint16>(data, data + count);
  };
  const std::vector<uint8_t> original(bytes.begin(), bytes.end());
  EXPECT_EQ(pixels(r->bytes), pixels(original));
  // What it cannot improve is kept as it is, and says why.
  for (const auto& [name, reason] :
       {std::pair<std::string, std::string>{"JPEG-lossy.dcm",
                                            "lossy JPEG Extended, Process 2+4: re-compressing "
                                            "cannot help"},
        {"MR_small_jp2klossless.dcm", "JPEG 2000 (Lossless only), which this DCMTK cannot decode"},
        {"SC_rgb_rle_32bit.dcm", "32-bit pixel data"},
        {"rtplan.dcm", "no pixel data"}}) {
    const std::string f = testing::ReadFile(kPydicomFiles / name);
    auto kept = Deidentify({reinterpret_cast<const uint8_t*>(f.data()), f.size()}, options, map);
    ASSERT_TRUE(kept.ok()) << name << ": " << kept.status().message();
    EXPECT_FALSE(kept->recompressed) << name;
    EXPECT_EQ(kept->kept_reason, reason) << name;
  }
}

TEST(DicomTest, PreviewsArePngsOfAtMost256Pixels) {
  for (const char* name :
       {"CT_small.dcm", "MR_small_jpeg_ls_lossless.dcm", "SC_rgb_rle.dcm", "rtdose.dcm"}) {
    const std::string f = testing::ReadFile(kPydicomFiles / name);
    auto png = Preview({reinterpret_cast<const uint8_t*>(f.data()), f.size()});
    ASSERT_TRUE(png.ok()) << name << ": " << png.status().message();
    ASSERT_GT(png->size(), 24u) << name;
    EXPECT_EQ(std::string(png->begin() + 1, png->begin() + 4), "PNG") << name;
  }
  for (const char* name : {"rtplan.dcm", "MR_small_jp2klossless.dcm"}) {
    const std::string f = testing::ReadFile(kPydicomFiles / name);
    EXPECT_EQ(Preview({reinterpret_cast<const uint8_t*>(f.data()), f.size()}).status().code(),
              StatusCode::kRejected)
        << name;
  }
}

TEST_F(DicomExportTest, NestedIdentityUnknownElementsAndIconsGoBurnedInTextIsFlagged) {
  // pydicom's CT with what some discs add: a patient ID inside a sequence, an element of
  // unknown content (VR UN), an icon of the image.
  DcmFileFormat ff;
  ASSERT_TRUE(ff.loadFile((kPydicomFiles / "CT_small.dcm").c_str()).good());
  DcmDataset* ds = ff.getDataset();
  DcmItem* ref = nullptr;
  ASSERT_TRUE(ds->findOrCreateSequenceItem(DCM_ReferencedImageSequence, ref, -2).good());
  ref->putAndInsertString(DCM_ReferencedSOPClassUID, UID_CTImageStorage);
  ref->putAndInsertString(DCM_ReferencedSOPInstanceUID, "1.2.3.4.5.6");
  ref->putAndInsertString(DCM_PatientID, "MRN-NESTED-77");
  DcmTag unknown(0x000A, 0x9999, EVR_UN);  // a public group, not in the dictionary
  auto* blob = new DcmOtherByteOtherWord(unknown);
  const std::string secret = "UNKNOWN-SECRET";
  blob->putUint8Array(reinterpret_cast<const Uint8*>(secret.data()), secret.size());
  ASSERT_TRUE(ds->insert(blob).good());
  DcmItem* icon = nullptr;
  ASSERT_TRUE(ds->findOrCreateSequenceItem(DCM_IconImageSequence, icon, -2).good());
  icon->putAndInsertString(DCM_PhotometricInterpretation, "MONOCHROME2");
  ASSERT_TRUE(ff.saveFile((dir_ / "odd.dcm").c_str(), EXS_LittleEndianExplicit).good());

  const std::string bytes = testing::ReadFile(dir_ / "odd.dcm");
  ASSERT_NE(bytes.find("MRN-NESTED-77"), std::string::npos);
  ASSERT_NE(bytes.find(secret), std::string::npos);
  auto r = Deidentify({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, {},
                      [&](const std::string& uid) { return Map(uid); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  const std::string out(r->bytes.begin(), r->bytes.end());
  EXPECT_EQ(out.find("MRN-NESTED-77"), std::string::npos);
  EXPECT_EQ(out.find(secret), std::string::npos);
  EXPECT_EQ(out.find("1.2.3.4.5.6"), std::string::npos);  // the reference was remapped
  EXPECT_NE(out.find(Map("1.2.3.4.5.6")), std::string::npos);
  DcmFileFormat back;
  testing::WriteFile(dir_ / "back.dcm", out);
  ASSERT_TRUE(back.loadFile((dir_ / "back.dcm").c_str()).good());
  EXPECT_FALSE(back.getDataset()->tagExists(DCM_IconImageSequence));
  EXPECT_FALSE(r->burned_in_annotation);  // a CT, nothing says otherwise

  // A secondary capture (a dose report, a screenshot) that does not say: flagged.
  const std::string sc = testing::ReadFile(kPydicomFiles / "SC_rgb_rle.dcm");
  auto flagged = Deidentify({reinterpret_cast<const uint8_t*>(sc.data()), sc.size()}, {},
                            [&](const std::string& uid) { return Map(uid); });
  ASSERT_TRUE(flagged.ok());
  EXPECT_TRUE(flagged->burned_in_annotation);
}

// A formatting commit once folded the curves check into a comment and curves survived.
TEST_F(DicomExportTest, CurvesAreRemoved) {
  DcmFileFormat ff;
  ASSERT_TRUE(ff.loadFile((kPydicomFiles / "CT_small.dcm").c_str()).good());
  DcmDataset* ds = ff.getDataset();
  const std::string label = "CURVE-LABEL-SECRET";
  ASSERT_TRUE(ds->putAndInsertUint16(DcmTag(0x5000, 0x0005, EVR_US), 1).good());  // dimensions
  ASSERT_TRUE(ds->putAndInsertString(DcmTag(0x5000, 0x2500, EVR_LO), label.c_str()).good());
  ASSERT_TRUE(ds->putAndInsertUint16(DcmTag(0x5002, 0x0010, EVR_US), 4).good());  // points
  ASSERT_TRUE(ff.saveFile((dir_ / "curves.dcm").c_str(), EXS_LittleEndianExplicit).good());
  const std::string bytes = testing::ReadFile(dir_ / "curves.dcm");
  ASSERT_NE(bytes.find(label), std::string::npos);

  auto r = Deidentify({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, {},
                      [&](const std::string& uid) { return Map(uid); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  const std::string out(r->bytes.begin(), r->bytes.end());
  EXPECT_EQ(out.find(label), std::string::npos);
  testing::WriteFile(dir_ / "back.dcm", out);
  DcmFileFormat back;
  ASSERT_TRUE(back.loadFile((dir_ / "back.dcm").c_str()).good());
  std::vector<std::string> curves;
  DcmDataset* b = back.getDataset();
  for (unsigned long i = 0; i < b->card(); ++i) {
    const DcmTagKey key = b->getElement(i)->getTag().getXTag();
    if ((key.getGroup() & 0xFF00) == 0x5000) curves.push_back(key.toString().c_str());
  }
  EXPECT_EQ(curves, std::vector<std::string>{});
  EXPECT_TRUE(b->tagExists(DCM_PixelData));  // the image itself stays
}

TEST_F(DicomExportTest, UidsFromBytesAreValidAndDistinct) {
  std::array<uint8_t, 16> zero{}, max{};
  max.fill(0xFF);
  EXPECT_EQ(UidFromBytes(zero), "2.25.0");
  EXPECT_EQ(UidFromBytes(max), "2.25.340282366920938463463374607431768211455");
  std::array<uint8_t, 16> one{};
  one[15] = 1;
  EXPECT_EQ(UidFromBytes(one), "2.25.1");
}

}  // namespace
}  // namespace dossier::dicom
