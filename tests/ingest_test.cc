// Ingest of files and folders: content sniffing on real files (pydicom's DICOM test data,
// the samples), exact reasons for what is refused, and the per-item report.
#include "ingest/ingest.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/encoding.h"
#include "ingest/sniff.h"
#include "tests/test_util.h"

namespace dossier::ingest {
namespace {

namespace fs = std::filesystem;
using testing::kPydicomFiles;
using testing::ReadFile;
using testing::WriteFile;

Sniffed SniffBytes(const std::string& bytes) {
  const size_t n = std::min(bytes.size(), kSniffBytes);
  return Sniff(AsBytes(std::string_view(bytes).substr(0, n)), bytes.size());
}

Sniffed SniffFile(const fs::path& p) { return SniffBytes(ReadFile(p)); }

// The head of a stored ZIP whose entries have these names and 4 bytes of content each.
std::string ZipHead(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) {
    std::string h("PK\x03\x04", 4);
    h += std::string(14, '\0');
    h += std::string("\x04\0\0\0\x04\0\0\0", 8);  // compressed and plain size 4
    h += static_cast<char>(name.size());
    h += std::string("\0\0\0", 3);  // name length high byte, extra length 0
    out += h + name + "data";
  }
  return out;
}

const fs::path kUpload = fs::path(DOSSIER_SAMPLES_DIR) / "upload";

TEST(SniffTest, RealDicomFilesWithAndWithoutMetaHeader) {
  for (const char* name :
       {"CT_small.dcm", "MR_small.dcm", "MR_small_bigendian.dcm", "JPEG2000.dcm", "rtplan.dcm",
        "ExplVR_LitEndNoMeta.dcm", "no_meta_group_length.dcm", "MR_truncated.dcm"}) {
    const Sniffed s = SniffFile(kPydicomFiles / name);
    EXPECT_EQ(s.kind, "dicom") << name;
    EXPECT_TRUE(s.accepted()) << name;
  }
  EXPECT_EQ(SniffFile(kUpload / "disc/DICOM/IM000001").kind, "dicom");
}

TEST(SniffTest, DocumentsAndImagesByContentNotName) {
  EXPECT_EQ(SniffFile(kUpload / "epicrisis.pdf").kind, "pdf");
  EXPECT_EQ(SniffFile(kUpload / "mri-conclusion.jpg").kind, "jpeg");
  EXPECT_EQ(SniffFile(kUpload / "lab-results.png").kind, "png");
  EXPECT_EQ(SniffFile(kUpload / "patient-note.txt").kind, "text");
  EXPECT_EQ(SniffBytes(std::string("II*\0\x08\0\0\0", 8)).kind, "tiff");
  EXPECT_EQ(SniffBytes(std::string("MM\0*\0\0\0\x08", 8)).kind, "tiff");
  EXPECT_EQ(SniffBytes("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 legacy word").kind, "office");
  EXPECT_EQ(SniffBytes("{\\rtf1\\ansi conclusion}").kind, "office");
  EXPECT_EQ(SniffBytes(ZipHead({"[Content_Types].xml", "word/document.xml"})).kind, "office");
  EXPECT_EQ(SniffBytes(ZipHead({"mimetype", "content.xml"})).kind, "office");
  // Office-looking names are not enough: a program inside makes it an archive to unpack.
  EXPECT_EQ(SniffBytes(ZipHead({"[Content_Types].xml", "xl/viewer.exe"})).container, "zip");
  EXPECT_EQ(SniffBytes(ZipHead({"readme.txt", "word/x.xml"})).container, "zip");
  EXPECT_EQ(SniffBytes("GIF89a....").kind, "other");
  // HEIC by the HEVC brands of its ftyp box, major or compatible; other HEIF (AVIF) stays other.
  const auto ftyp = [](const std::string& brands) {
    return std::string("\0\0\0", 3) + static_cast<char>(8 + brands.size()) + "ftyp" + brands;
  };
  EXPECT_EQ(SniffBytes(ftyp(std::string("heic\0\0\0\0mif1heic", 16))).kind, "heic");
  EXPECT_EQ(SniffBytes(ftyp(std::string("mif1\0\0\0\0mif1heix", 16))).kind, "heic");
  EXPECT_EQ(SniffBytes(ftyp(std::string("msf1\0\0\0\0msf1hevc", 16))).kind, "heic");
  EXPECT_EQ(SniffBytes(ftyp(std::string("avif\0\0\0\0mif1avif", 16))).kind, "other");
  EXPECT_EQ(SniffBytes(ftyp(std::string("mif1\0\0\0\0mif1avif", 16))).kind, "other");
  // "heic" as the minor version is no brand; past the box's end, no brand of it.
  EXPECT_EQ(SniffBytes(ftyp(std::string("mif1heicmif1avif", 16))).kind, "other");
  EXPECT_EQ(SniffBytes(std::string("\0\0\0\x10"
                                   "ftypmif1\0\0\0\0heic",
                                   20))
                .kind,
            "other");
  EXPECT_EQ(SniffBytes("Выписка: жалоб нет.\r\nДиагноз: здоров.\n").kind, "text");
}

TEST(SniffTest, RefusalsSayWhatIsWrongAndWhatToDo) {
  EXPECT_EQ(SniffBytes("").reason, "empty file (0 bytes): nothing to store — send the file again");
  EXPECT_EQ(SniffFile("/bin/true").reason,
            "executable program: not a medical document, refused for safety");
  EXPECT_EQ(SniffBytes("MZ\x90\0 windows viewer").reason,
            "executable program: not a medical document, refused for safety");
  EXPECT_EQ(SniffBytes("#!/bin/sh\nrm -rf /\n").reason,
            "executable program: not a medical document, refused for safety");
  EXPECT_EQ(SniffBytes(testing::PseudoRandom(5000, 9)).reason,
            "unrecognised content: Dossier accepts PDF, JPEG, PNG, TIFF, HEIC, DICOM, Office "
            "documents and text — save the document in one of these formats");
}

TEST(SniffTest, DicomPolyglotsWithAProgramInThePreambleAreRefused) {
  std::string ct = ReadFile(kPydicomFiles / "CT_small.dcm");
  ct.replace(0, 2, "MZ");
  EXPECT_EQ(SniffBytes(ct).reason,
            "DICOM file whose preamble holds a program or archive (a known attack): send the "
            "original from the disc");
  // pydicom's MR_truncated.dcm has a TIFF header in its preamble: legitimate.
  EXPECT_EQ(SniffFile(kPydicomFiles / "MR_truncated.dcm").kind, "dicom");
}

TEST(SniffTest, ArchivesAndDiscImagesAreRecognisedForUnpacking) {
  auto container = [](const std::string& bytes) {
    const Sniffed s = SniffBytes(bytes);
    return s.kind + "/" + s.container;
  };
  EXPECT_EQ(container(std::string("PK\x03\x04", 4) + std::string(26, '\0') + "scan.pdf"),
            "archive/zip");
  EXPECT_EQ(container("7z\xBC\xAF\x27\x1C rest"), "archive/7z");
  EXPECT_EQ(container("Rar!\x1A\x07\x01\x00 rest"), "archive/rar");
  EXPECT_EQ(container("\x1F\x8B\x08 gzip"), "archive/gzip");
  EXPECT_EQ(container("\xFD\x37\x7A\x58\x5A\x00 xz"), "archive/xz");
  EXPECT_EQ(container("\x28\xB5\x2F\xFD zstd"), "archive/zstd");
  std::string tar(600, 'a');
  tar.replace(257, 5, "ustar");
  EXPECT_EQ(container(tar), "archive/tar");
  std::string iso(40000, '\0');
  iso.replace(32769, 5, "CD001");
  EXPECT_EQ(container(iso), "disc-image/iso");
  EXPECT_EQ(SniffFile(kPydicomFiles / "dicomdirtests" / "DICOMDIR").kind, "dicomdir");
}

TEST(SniffTest, UnpackedEntryNamesAreMadeSafe) {
  EXPECT_EQ(*SafeEntryPath("scans/./a.pdf"), "scans/a.pdf");
  EXPECT_EQ(*SafeEntryPath("scans\\b.pdf"), "scans/b.pdf");
  EXPECT_EQ(*SafeEntryPath("\x82\xeb\xaf\xa8\xe1\xaa\xa0.pdf"), "Выписка.pdf");  // CP866
  EXPECT_EQ(*SafeEntryPath("Выписка.pdf"), "Выписка.pdf");
  EXPECT_EQ(SafeEntryPath("../../etc/passwd").status().message(),
            "path leads outside the archive (..): refused for safety");
  EXPECT_EQ(SafeEntryPath("a\\..\\..\\win.ini").status().message(),
            "path leads outside the archive (..): refused for safety");
  EXPECT_EQ(SafeEntryPath("/etc/passwd").status().message(),
            "absolute path: refused, archives must hold relative paths");
  EXPECT_EQ(SafeEntryPath("C:\\Windows\\evil.dll").status().message(),
            "drive-letter path: refused, archives must hold relative paths");
  EXPECT_EQ(SkipGroupForName("DISC/VIEWER/Viewer.EXE"), kViewerSoftware);
  EXPECT_EQ(SkipGroupForName("disc/AUTORUN.INF"), kViewerSoftware);
  EXPECT_EQ(SkipGroupForName("OsiriX.app/Contents/Info.plist"), kViewerSoftware);
  EXPECT_EQ(SkipGroupForName("__MACOSX/scans/._a.pdf"), kSystemClutter);
  EXPECT_EQ(SkipGroupForName("scans/a.pdf"), "");
}

class IngestTest : public testing::VaultTestBase {
 protected:
  void SetUp() override {
    VaultTestBase::SetUp();
    case_ = *v_->OpenCase(patient_, "consult");
  }

  static IngestOptions Options() {
    IngestOptions o;
    o.worker.program = DOSSIER_BINARY;  // this test binary cannot serve as its own worker
    return o;
  }

  std::vector<std::string> Lines(const IngestReport& r) {
    std::vector<std::string> out;
    for (const auto& i : r.items) {
      out.push_back(i.path + " " + (i.kind.empty() ? "-" : i.kind) + " " + i.status +
                    (i.reason.empty() ? "" : " (" + i.reason + ")"));
    }
    return out;
  }

  std::string case_;
};

TEST_F(IngestTest, AFolderIsStoredFileByFileWithReasonsForRefusals) {
  const fs::path up = dir_ / "upload";
  fs::copy(kUpload, up, fs::copy_options::recursive);
  WriteFile(up / "photo.jpg", ReadFile(kUpload / "epicrisis.pdf") + " ");  // a PDF named .jpg
  WriteFile(up / "copy of note.txt", ReadFile(kUpload / "patient-note.txt"));
  WriteFile(up / "empty.pdf", "");
  fs::copy_file("/bin/true", up / "viewer.exe");
  fs::create_symlink("/etc/passwd", up / "link.txt");
  ASSERT_EQ(::mkfifo((up / "pipe").c_str(), 0600), 0);

  IngestReport report;
  ASSERT_TRUE(IngestPaths(*v_, case_, {up}, Options(), report).ok());
  ASSERT_EQ(report.items.size(), 11u);
  const std::string note_id = report.items[0].doc_id;  // "copy of note.txt" sorts first
  EXPECT_EQ(
      Lines(report),
      (std::vector<std::string>{
          "upload/copy of note.txt text stored", "upload/disc/DICOM/IM000001 dicom stored",
          "upload/empty.pdf - rejected (empty file (0 bytes): nothing to store — send the "
          "file again)",
          "upload/epicrisis.pdf pdf stored", "upload/lab-results.png png stored",
          "upload/link.txt - rejected (symbolic link: not followed — upload the file it "
          "points to)",
          "upload/mri-conclusion.jpg jpeg stored",
          "upload/patient-note.txt text duplicate (same content as " + note_id + ", stored once)",
          "upload/photo.jpg pdf stored",
          "upload/pipe - rejected (not a regular file (device, pipe or socket))",
          // the folder holds a DICOM file: a disc copy, whose programs are its viewer
          "upload/viewer.exe - skipped (disc viewer software)"}));
  EXPECT_EQ(report.Count("stored"), 6u);
  EXPECT_EQ(report.Count("skipped"), 1u);
  EXPECT_EQ(report.Count("rejected"), 3u);
  EXPECT_FALSE(report.all_accepted());

  auto docs = v_->ListDocuments(case_);
  ASSERT_EQ(docs->size(), 6u);
  EXPECT_EQ((*docs)[0].name, "upload/copy of note.txt");
  EXPECT_EQ((*docs)[0].kind, "text");
  EXPECT_EQ((*docs)[0].size, fs::file_size(kUpload / "patient-note.txt"));
}

TEST_F(IngestTest, SingleFilesKeepTheirNameAndLimitsAreEnforced) {
  IngestReport report;
  ASSERT_TRUE(IngestPaths(*v_, case_, {kUpload / "epicrisis.pdf"}, Options(), report).ok());
  ASSERT_EQ(report.items.size(), 1u);
  EXPECT_EQ(report.items[0].path, "epicrisis.pdf");
  EXPECT_EQ(report.items[0].size, fs::file_size(kUpload / "epicrisis.pdf"));

  IngestOptions small = Options();
  small.max_file_bytes = 10000;
  IngestReport r2;
  ASSERT_TRUE(IngestPaths(*v_, case_, {kUpload / "mri-conclusion.jpg"}, small, r2).ok());
  EXPECT_EQ(Lines(r2), std::vector<std::string>{
                           "mri-conclusion.jpg jpeg rejected (larger than the limit of 10000 "
                           "bytes for one file)"});
  EXPECT_TRUE(fs::is_empty(dir_ / "vault" / "tmp"));

  IngestOptions few = Options();
  few.max_files = 3;
  IngestReport r3;
  const Status st = IngestPaths(*v_, case_, {kUpload}, few, r3);
  EXPECT_EQ(st.code(), StatusCode::kLimitExceeded);
  EXPECT_EQ(st.message(), "the upload holds more than 3 files: split it");
  EXPECT_TRUE(r3.items.empty());
}

TEST_F(IngestTest, AFailedGroupCommitIsReportedNotClaimedAsStored) {
  // Fault injection: the vault's second batch commit fails, as a full disk would.
  int commits = 0;
  vault::VaultOptions faulty;
  faulty.batch_max_documents = 2;
  faulty.batch_commit_fault = [&commits]() -> Status {
    return ++commits == 2 ? IoError("no space left on device (injected)") : Status::Ok();
  };
  v_.reset();
  auto v = vault::Vault::Open(dir_ / "vault", testing::kPassphrase, {"t", "operator"}, faulty);
  ASSERT_TRUE(v.ok());
  v_ = std::move(v).value();
  for (int i = 0; i < 5; ++i) {
    WriteFile(dir_ / "up" / ("n" + std::to_string(i) + ".txt"), "note " + std::to_string(i));
  }
  IngestReport report;
  const Status st = IngestPaths(*v_, case_, {dir_ / "up"}, Options(), report);
  EXPECT_EQ(st.code(), StatusCode::kIoError);
  // The fourth file's commit is the one that failed: the error names it, the ingest stops.
  EXPECT_EQ(st.message().rfind("up/n3.txt: ", 0), 0u) << st.message();
  ASSERT_EQ(report.items.size(), 3u);
  EXPECT_EQ(Lines(report)[0], "up/n0.txt text stored");
  EXPECT_EQ(Lines(report)[1], "up/n1.txt text stored");
  EXPECT_EQ(Lines(report)[2],
            "up/n2.txt text rejected (not stored: the vault could not make it durable "
            "(up/n3.txt: no space left on device (injected)) — ingest it again)");
  // The vault agrees with the report: exactly the first batch is there.
  v_.reset();
  auto again = vault::Vault::Open(dir_ / "vault", testing::kPassphrase, {"t", "operator"});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->ListDocuments(case_)->size(), 2u);
  auto verify = (*again)->Verify(false);
  EXPECT_TRUE(verify->intact());
  EXPECT_TRUE(verify->orphans.empty());  // the lost batch's objects were swept at open
}

TEST_F(IngestTest, MissingPathsAndUnknownCasesAreErrors) {
  IngestReport report;
  const Status st = IngestPaths(*v_, case_, {dir_ / "nowhere"}, {}, report);
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "cannot ingest " + (dir_ / "nowhere").string() +
                              ": no such file or folder. Nothing was stored: correct the path and "
                              "ingest again");
  EXPECT_EQ(IngestPaths(*v_, "case_nosuch", {kUpload}, {}, report).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace dossier::ingest
