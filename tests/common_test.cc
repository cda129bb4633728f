// common/, plus the small seeds of ocr/, dicom/ and exporter/: encodings, dates, durable
// writes, size parsing, language-data checks.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/clock.h"
#include "common/content_digest.h"
#include "common/encoding.h"
#include "common/file_io.h"
#include "common/ids.h"
#include "common/status.h"
#include "common/text.h"
#include "dicom/dicom.h"
#include "exporter/exporter.h"
#include "ocr/ocr.h"
#include "tests/test_util.h"

namespace dossier {
namespace {

namespace fs = std::filesystem;

TEST(EncodingTest, HexAndBase64RoundTripAndRejectJunk) {
  const Bytes b = {0x00, 0xff, 0x10, 0x7f};
  EXPECT_EQ(ToHex(b), "00ff107f");
  EXPECT_EQ(*FromHex("00ff107f"), b);
  EXPECT_FALSE(FromHex("00f").has_value());
  EXPECT_FALSE(FromHex("zz").has_value());
  EXPECT_EQ(ToBase64(AsBytes("Dossier")), "RG9zc2llcg==");
  EXPECT_EQ(AsString(*FromBase64("RG9zc2llcg==")), "Dossier");
  EXPECT_FALSE(FromBase64("RG9z c2llcg==").has_value());
}

TEST(EncodingTest, UnpaddedBase64AcceptsOnlyTheCanonicalUnpaddedForm) {
  EXPECT_EQ(ToBase64Unpadded(AsBytes("Dossier")), "RG9zc2llcg");
  EXPECT_EQ(AsString(*FromBase64Unpadded("RG9zc2llcg")), "Dossier");
  EXPECT_FALSE(FromBase64Unpadded("RG9zc2llcg==").has_value());  // padded
  EXPECT_FALSE(FromBase64Unpadded("RG9zc2llch").has_value());    // unused bits set
  EXPECT_FALSE(FromBase64Unpadded("RG9zc2llc").has_value());     // a lone 6-bit group
}

TEST(EncodingTest, RandomIdsHaveTheirPrefixAndAlphabet) {
  const std::string id = RandomId("doc");
  ASSERT_EQ(id.size(), 14u);
  EXPECT_EQ(id.substr(0, 4), "doc_");
  EXPECT_EQ(id.find_first_not_of("0123456789abcdefghjkmnpqrstvwxyz", 4), std::string::npos);
  EXPECT_NE(RandomId("doc"), RandomId("doc"));
}

TEST(IdsTest, AnIdSaysItsKindByItsPrefix) {
  EXPECT_EQ(KindOfId(RandomId("pat")), IdKind::kPatient);
  EXPECT_EQ(KindOfId("case_ab12cd34ef"), IdKind::kCase);
  EXPECT_EQ(KindOfId("doc_nosuch0000"), IdKind::kDocument);  // mistyped: still a document id
  EXPECT_EQ(KindOfId("ser_0000000000"), IdKind::kSeries);
  EXPECT_EQ(KindOfId("stu_0000000000"), IdKind::kStudy);
  EXPECT_EQ(KindOfId("cli_0000000000"), IdKind::kClinic);
  EXPECT_EQ(KindOfId("con_0000000000"), IdKind::kConsent);
  EXPECT_EQ(KindOfId("note_0000000000"), IdKind::kNote);
  EXPECT_EQ(KindOfId("req_0000000000"), IdKind::kRequest);
  EXPECT_EQ(KindOfId("exp_0000000000"), IdKind::kExport);
  for (const char* bad : {"", "pat_", "pat", "PAT_0000000000", "pat_00000 00000", "pat_Иван",
                          "pat_0000000000/..", "xyz_0000000000", "Иванов Иван"}) {
    EXPECT_EQ(KindOfId(bad), IdKind::kUnknown) << bad;
    EXPECT_FALSE(IsWellFormedId(bad)) << bad;
  }
  EXPECT_EQ(KindOfId("pat_" + std::string(41, '0')), IdKind::kUnknown);
  EXPECT_EQ(IdKindName(IdKind::kSeries), "DICOM series");
  EXPECT_EQ(IdPrefix(IdKind::kCase), "case_");
}

TEST(ClockTest, DatesAreStrictAndUtcIsFormattedToTheSecond) {
  EXPECT_EQ(ParseDate("1980-02-29"), "1980-02-29");
  EXPECT_FALSE(ParseDate("1981-02-29"));
  EXPECT_FALSE(ParseDate("1980-2-1"));
  EXPECT_FALSE(ParseDate("01.02.1980"));
  EXPECT_FALSE(ParseDate("1800-01-01"));
  const auto t = std::chrono::sys_days{std::chrono::year{2026} / 11 / 22} + std::chrono::hours{7} +
                 std::chrono::minutes{5} + std::chrono::seconds{9} + std::chrono::milliseconds{999};
  EXPECT_EQ(FormatUtc(t), "2026-11-22T07:05:09Z");
  EXPECT_EQ(FormatDate(t), "2026-11-22");
  // ParseUtc reads back what FormatUtc wrote, and nothing else.
  EXPECT_EQ(ParseUtc("2026-11-22T07:05:09Z"), std::chrono::floor<std::chrono::seconds>(t));
  EXPECT_EQ(FormatLocalDate(*ParseUtc("2026-11-22T22:30:00Z"), "Europe/Moscow"), "2026-11-23");
  for (const char* bad : {"2026-11-22", "2026-11-22 07:05:09Z", "2026-11-22T07:05:09",
                          "2026-02-30T07:05:09Z", "2026-11-22T24:00:00Z", "2026-11-22T07:5:09Z"}) {
    EXPECT_FALSE(ParseUtc(bad)) << bad;
  }
}

TEST(StatusTest, AMissingFileOrFolderIsNotFoundWhateverTheCallThatFoundIt) {
  EXPECT_EQ(ErrnoError("cannot open", "/x", ENOENT).code(), StatusCode::kNotFound);
  EXPECT_EQ(ErrnoError("cannot open", "/x/y", ENOTDIR).code(), StatusCode::kNotFound);
  EXPECT_EQ(ErrnoError("cannot open", "/x", ENOENT).message(),
            "cannot open /x: No such file or directory");
  EXPECT_EQ(ErrnoError("cannot write", "/x", ENOSPC).code(), StatusCode::kIoError);
  EXPECT_EQ(StatusCodeId(StatusCode::kNotFound), std::string("kNotFound"));
  EXPECT_EQ(StatusCodeId(StatusCode::kCorrupt), std::string("kCorrupt"));
}

TEST(StatusTest, CodesMapToTheDocumentedExitCodes) {
  EXPECT_EQ(ExitCodeFor(Status::Ok()), 0);
  EXPECT_EQ(ExitCodeFor(InvalidArgument("x")), 1);
  EXPECT_EQ(ExitCodeFor(NotFound("x")), 2);
  EXPECT_EQ(ExitCodeFor(Rejected("x")), 2);
  EXPECT_EQ(ExitCodeFor(LimitExceeded("x")), 2);
  EXPECT_EQ(ExitCodeFor(Corrupt("x")), 3);
  EXPECT_EQ(ExitCodeFor(AuthFailed("x")), 4);
  EXPECT_EQ(ExitCodeFor(IoError("x")), 5);
  EXPECT_EQ(ExitCodeFor(Internal("x")), 5);
  EXPECT_EQ(Corrupt("bad tag").WithContext("document doc_1").message(), "document doc_1: bad tag");
}

class FileIoTest : public testing::TempDirTest {};

TEST_F(FileIoTest, DurableWriteReplacesAtomicallyWithPrivateMode) {
  const fs::path p = dir_ / "key";
  ASSERT_TRUE(WriteFileDurably(p, AsBytes("one")).ok());
  ASSERT_TRUE(WriteFileDurably(p, AsBytes("two")).ok());
  EXPECT_EQ(testing::ReadFile(p), "two");
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
  // A missing folder is "not found", as every missing file or folder is (exit 2).
  const Status st2 = WriteFileDurably(dir_ / "no" / "such" / "dir", AsBytes("x"));
  EXPECT_EQ(st2.code(), StatusCode::kNotFound);
  EXPECT_EQ(st2.message(), "no such folder: " + (dir_ / "no" / "such").string() +
                               " (create it first, or choose another)");
}

TEST_F(FileIoTest, AnUncommittedSinkLeavesNoFile) {
  {
    auto sink = DurableFileSink::Create(dir_ / "out.pdf");
    ASSERT_TRUE(sink.ok());
    ASSERT_TRUE(sink->Write(AsBytes("partial")).ok());
  }
  EXPECT_TRUE(fs::is_empty(dir_));
  auto sink = DurableFileSink::Create(dir_ / "out.pdf");
  ASSERT_TRUE(sink->Write(AsBytes("whole")).ok());
  ASSERT_TRUE(sink->Commit().ok());
  EXPECT_EQ(testing::ReadFile(dir_ / "out.pdf"), "whole");
}

// Until Commit() the bytes have no name in the folder (O_TMPFILE), so a killed process
// leaves nothing; the named-temp fallback cleans up on every error path.
TEST_F(FileIoTest, ASinkHasNoNameUntilCommittedAndRefusesToReplaceWhenAsked) {
  for (const bool named : {false, true}) {
    SCOPED_TRACE(named ? "named temp fallback" : "O_TMPFILE");
    DurableFileSink::ForceNamedTempForTesting(named);
    const fs::path d = dir_ / (named ? "named" : "unnamed");
    fs::create_directories(d);
    const fs::path out = d / "out.pdf";
    {
      auto sink = DurableFileSink::Create(out, DurableFileSink::Existing::kRefuse);
      ASSERT_TRUE(sink.ok()) << sink.status().message();
      EXPECT_EQ(sink->unnamed(), !named);
      ASSERT_TRUE(sink->Write(AsBytes(std::string(3 << 20, 'x'))).ok());
      EXPECT_EQ(fs::is_empty(d), !named);
      ASSERT_TRUE(sink->Write(AsBytes("end")).ok());
      ASSERT_TRUE(sink->Commit().ok());
    }
    EXPECT_EQ(testing::ReadFile(out), std::string(3 << 20, 'x') + "end");
    struct stat st {};
    ASSERT_EQ(::stat(out.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    {
      auto again = DurableFileSink::Create(out, DurableFileSink::Existing::kRefuse);
      ASSERT_TRUE(again.ok());
      ASSERT_TRUE(again->Write(AsBytes("other")).ok());
      const Status refused = again->Commit();
      EXPECT_EQ(refused.code(), StatusCode::kRejected);
      EXPECT_EQ(refused.message(), out.string() + " already exists");
    }
    EXPECT_EQ(testing::ReadFile(out).size(), (3u << 20) + 3);
    {
      auto replace = DurableFileSink::Create(out, DurableFileSink::Existing::kReplace);
      ASSERT_TRUE(replace.ok());
      ASSERT_TRUE(replace->Write(AsBytes("new")).ok());
      ASSERT_TRUE(replace->Commit().ok());
    }
    EXPECT_EQ(testing::ReadFile(out), "new");
    EXPECT_EQ(std::distance(fs::directory_iterator(d), fs::directory_iterator()), 1);
    const Status missing = DurableFileSink::Create(d / "no" / "out").status();
    EXPECT_EQ(missing.code(), StatusCode::kNotFound);
    EXPECT_EQ(missing.message(),
              "no such folder: " + (d / "no").string() + " (create it first, or choose another)");
  }
  DurableFileSink::ForceNamedTempForTesting(false);
}

TEST_F(FileIoTest, ASinkFedInOddPiecesWritesEveryByteInOrder) {
  const std::string data = testing::PseudoRandom((5 << 19) + 777, 3);  // 2.5 MiB and a tail
  auto sink = DurableFileSink::Create(dir_ / "export.bin");
  ASSERT_TRUE(sink.ok());
  for (size_t at = 0, piece = 1; at < data.size(); at += piece, piece = piece * 3 % 200003 + 1) {
    ASSERT_TRUE(sink->Write(AsBytes(data.substr(at, piece))).ok());
  }
  ASSERT_TRUE(sink->Commit().ok());
  EXPECT_EQ(testing::ReadFile(dir_ / "export.bin"), data);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(FileIoTest, SmallFileReadsAreBounded) {
  testing::WriteFile(dir_ / "f", std::string(2000, 'a'));
  EXPECT_EQ(ReadSmallFile(dir_ / "f", 1000).status().code(), StatusCode::kLimitExceeded);
  EXPECT_EQ(ReadSmallFile(dir_ / "f")->size(), 2000u);
  EXPECT_EQ(ReadSmallFile(dir_ / "none").status().code(), StatusCode::kNotFound);
}

// Direct (page-cache bypassing) writes with their unaligned tails, on the disk under test and
// on tmpfs, where O_DIRECT may be refused and plain writes take over.
TEST_F(FileIoTest, DirectFilesHoldExactlyTheBytesAppended) {
  std::vector<fs::path> dirs{dir_};
  if (fs::is_directory("/dev/shm")) dirs.push_back("/dev/shm");
  const std::vector<std::vector<size_t>> plans{
      {}, {1}, {4095}, {4096}, {4097}, {8192, 8192, 100}, {4096 * 3, 4096, 4096 * 2 + 5}};
  int n = 0;
  for (const auto& dir : dirs) {
    for (const auto& plan : plans) {
      const fs::path path =
          dir / ("direct-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
      std::string expected;
      {
        auto f = DirectFile::Create(path);
        ASSERT_TRUE(f.ok()) << f.status().message();
        for (size_t len : plan) {
          auto buf = DirectFile::AllocateBuffer(len);
          for (size_t i = 0; i < len; ++i)
            buf.get()[i] = static_cast<uint8_t>(expected.size() + i * 7);
          expected.append(reinterpret_cast<const char*>(buf.get()), len);
          ASSERT_TRUE(f->Append({buf.get(), len}).ok());
        }
        EXPECT_TRUE(f->Append({}).ok());
      }
      EXPECT_EQ(testing::ReadFile(path), expected) << path;
      EXPECT_EQ(fs::status(path).permissions() & fs::perms::all,
                fs::perms::owner_read | fs::perms::owner_write);
      EXPECT_EQ(DirectFile::Create(path).status().code(), StatusCode::kIoError);  // exclusive
      fs::remove(path);
    }
  }
}

TEST(TextTest, SearchFoldingAndNameKeys) {
  EXPECT_EQ(FoldForSearch("  Семёнова\n\tИВАН  "), U"семенова иван");
  std::vector<size_t> at;
  EXPECT_EQ(FoldForSearch("Ёж", &at), U"еж");
  EXPECT_EQ(at, (std::vector<size_t>{0, 2}));
  for (const char* spelling : {"Иванов", "IVANOV", "Ivanoff", "Iwanow", "иванов"}) {
    EXPECT_EQ(NameKey(spelling), "ivanov") << spelling;
  }
  EXPECT_EQ(NameKey("Щукин"), NameKey("Shchukin"));
  EXPECT_EQ(NameKey("Цветкова"), NameKey("Tsvetkova"));
  EXPECT_EQ(NameKey("Юрий Хомяков"), NameKey("Yuriy Khomyakov"));
  EXPECT_EQ(NameKey("Юрий Хомяков"), NameKey("Jurij Homiakov"));
  EXPECT_TRUE(MentionsName("Patient: IVANOV Ivan, born 01.02.1980", "Иванов"));
  EXPECT_TRUE(MentionsName("Пациент Иванов И.П.", "Ivanov"));
  EXPECT_FALSE(MentionsName("Пациент Ивановский", "Иванов"));  // whole words only
  EXPECT_FALSE(MentionsName("Patient: Petrov Sergey", "Иванов"));
}

TEST(ContentDigestTest, IsSha256AndStartsOverAfterEachDigest) {
  ContentHasher h;
  h.Update(AsBytes(std::string("ab")));
  h.Update(AsBytes(std::string("c")));
  EXPECT_EQ(ToHex(h.Final()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(ToHex(h.Final()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(ExporterTest, PartSizesParseDecimalMbAndBinaryM) {
  EXPECT_EQ(*exporter::ParseSize("500000"), 500000u);
  EXPECT_EQ(*exporter::ParseSize("512K"), 524288u);
  EXPECT_EQ(*exporter::ParseSize("512kb"), 512000u);
  EXPECT_EQ(*exporter::ParseSize("25MB"), 25000000u);
  EXPECT_EQ(*exporter::ParseSize("25M"), 26214400u);
  EXPECT_EQ(*exporter::ParseSize("18MiB"), 18874368u);
  EXPECT_EQ(*exporter::ParseSize("1.5g"), 1610612736u);
  EXPECT_EQ(*exporter::ParseSize("2GB"), 2000000000u);
  EXPECT_EQ(*exporter::ParseSize("10MiB"), 10485760u);
  for (const char* bad : {"", "M", "-5M", "0", "5X", "1.2.3M", "2000G"}) {
    auto r = exporter::ParseSize(bad);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(exporter::ParseSize("5X").status().message(),
            "`5X` is not a size: write e.g. 25MB (25,000,000 bytes, as mail providers count), "
            "18MiB or 18M (18 × 2^20 bytes), 1.5G, or a number of bytes such as 500000");
}

TEST(OcrTest, LanguageDataIsCheckedFileByFile) {
  const fs::path tessdata = ocr::DefaultTessdataDir();
  EXPECT_TRUE(ocr::CheckLanguageData(tessdata, {"rus", "eng", "osd"}).ok())
      << "install tesseract-ocr-rus, tesseract-ocr-eng, tesseract-ocr-osd";
  const Status st = ocr::CheckLanguageData(tessdata, {"rus", "xyz", "qqq"});
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "missing Tesseract language data in " + tessdata.string() +
                              ": xyz.traineddata, qqq.traineddata (install tesseract-ocr-<lang>, "
                              "e.g. tesseract-ocr-rus)");
  EXPECT_EQ(ocr::CheckLanguageData("/nonexistent", {"eng"}).code(), StatusCode::kNotFound);
}

TEST(DicomTest, RecognisesDicomBytesButNotLookalikes) {
  const std::string ct = testing::ReadFile(testing::kPydicomFiles / "CT_small.dcm");
  EXPECT_TRUE(dicom::LooksLikeDicom(AsBytes(ct)));
  const std::string raw = testing::ReadFile(testing::kPydicomFiles / "ExplVR_LitEndNoMeta.dcm");
  EXPECT_TRUE(dicom::LooksLikeDicom(AsBytes(raw)));
  EXPECT_FALSE(dicom::LooksLikeDicom(AsBytes(std::string(200, '\0'))));
  EXPECT_FALSE(dicom::LooksLikeDicom(AsBytes("%PDF-1.4 not dicom at all, long enough........")));
  EXPECT_EQ(dicom::LibraryVersion().rfind("DCMTK 3.6", 0), 0u);
}

}  // namespace
}  // namespace dossier
