// Ingest of archives and disc images through the unpack worker (the real `dossier` binary as
// worker, real libarchive): every format, names, nesting, hostile input with exact reasons.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "ingest/ingest.h"
#include "sandbox/confine.h"
#include "tests/archive_util.h"
#include "tests/test_util.h"

namespace dossier::ingest {
namespace {

namespace fs = std::filesystem;
using testing::Entry;
using testing::WriteArchive;

const fs::path kDicomDirTests = testing::kPydicomFiles / "dicomdirtests";

class UnpackTest : public testing::VaultTestBase {
 protected:
  void SetUp() override {
    VaultTestBase::SetUp();
    options_.worker.program = DOSSIER_BINARY;
  }

  std::vector<std::string> Ingest(const std::vector<fs::path>& paths) {
    const std::string case_id = *v_->OpenCase(patient_, "consultation");
    IngestReport report;
    const Status st = IngestPaths(*v_, case_id, paths, options_, report);
    EXPECT_TRUE(st.ok()) << st.message();
    last_ = report;
    std::vector<std::string> lines;
    for (const auto& i : report.items) {
      lines.push_back(i.path + " " + (i.kind.empty() ? "-" : i.kind) + " " + i.status +
                      (i.reason.empty() || i.status == "duplicate" ? "" : " (" + i.reason + ")"));
    }
    return lines;
  }

  IngestOptions options_;
  IngestReport last_;
};

const std::string kPdf = testing::MinimalPdf("Epicrisis: printed");

TEST_F(UnpackTest, EveryFormatIsUnpackedInMemoryAndStored) {
  struct Case {
    const char* file;
    const char* format;
    const char* filter;
    const char* options;
  };
  for (const Case& c : {Case{"up.zip", "zip", "", ""}, Case{"up.7z", "7zip", "", ""},
                        Case{"up.tar", "pax", "", ""}, Case{"up.tar.gz", "pax", "gzip", ""},
                        Case{"up.tar.xz", "pax", "xz", ""}, Case{"up.tar.zst", "pax", "zstd", ""},
                        Case{"joliet.iso", "iso9660", "", "iso9660:joliet,!rockridge"},
                        Case{"rockridge.iso", "iso9660", "", "iso9660:rockridge,!joliet"}}) {
    const fs::path path = dir_ / c.file;
    WriteArchive(
        path, c.format, c.filter, c.options,
        {{"scans/Выписка из истории болезни.pdf", kPdf}, {"note.txt", "Боли с октября\n"}});
    EXPECT_EQ(Ingest({path}),
              (std::vector<std::string>{
                  std::string(c.file) + "/scans/Выписка из истории болезни.pdf pdf stored",
                  std::string(c.file) + "/note.txt text stored"}))
        << c.file;
    ASSERT_EQ(last_.items.size(), 2u);
    EXPECT_EQ(last_.items[0].size, kPdf.size());
  }
  // Nothing was extracted to disk: the temp dir holds only the archives and the vault.
  for (const auto& e : fs::directory_iterator(dir_)) {
    EXPECT_TRUE(e.path().filename() == "vault" || e.path().extension() != "") << e.path();
  }
}

TEST_F(UnpackTest, RarArchivesAreUnpacked) {
  testing::WriteFile(dir_ / "from-patient.rar",
                     testing::MakeRar5({{"Выписка.pdf", kPdf}, {"снимки/note.txt", "МРТ\n"}}));
  EXPECT_EQ(Ingest({dir_ / "from-patient.rar"}),
            (std::vector<std::string>{"from-patient.rar/Выписка.pdf pdf stored",
                                      "from-patient.rar/снимки/note.txt text stored"}));
}

TEST_F(UnpackTest, RussianWindowsZipNamesInCp866AreDecoded) {
  WriteArchive(dir_ / "cp866.zip", "zip", "", "zip:hdrcharset=CP866",
               {{"Выписка.pdf", kPdf}, {"Заключение МРТ.txt", "Заключение\n"}});
  EXPECT_EQ(Ingest({dir_ / "cp866.zip"}),
            (std::vector<std::string>{"cp866.zip/Выписка.pdf pdf stored",
                                      "cp866.zip/Заключение МРТ.txt text stored"}));
  WriteArchive(dir_ / "utf8.zip", "zip", "", "", {{"Выписка.pdf", kPdf + " "}});
  EXPECT_EQ(Ingest({dir_ / "utf8.zip"}),
            std::vector<std::string>{"utf8.zip/Выписка.pdf pdf stored"});
}

TEST_F(UnpackTest, NestedArchivesToDepthTwoShareOneBudget) {
  WriteArchive(dir_ / "deepest.zip", "zip", "", "", {{"too-deep.pdf", kPdf + "3"}});
  WriteArchive(
      dir_ / "deeper.zip", "zip", "", "",
      {{"deep.pdf", kPdf + "2"}, {"deepest.zip", testing::ReadFile(dir_ / "deepest.zip")}});
  WriteArchive(dir_ / "inner.zip", "zip", "", "",
               {{"inner.pdf", kPdf + "1"}, {"deeper.zip", testing::ReadFile(dir_ / "deeper.zip")}});
  WriteArchive(dir_ / "upload.zip", "zip", "", "",
               {{"outer.pdf", kPdf}, {"inner.zip", testing::ReadFile(dir_ / "inner.zip")}});
  EXPECT_EQ(Ingest({dir_ / "upload.zip"}),
            (std::vector<std::string>{
                "upload.zip/outer.pdf pdf stored", "upload.zip/inner.zip/inner.pdf pdf stored",
                "upload.zip/inner.zip/deeper.zip/deep.pdf pdf stored",
                "upload.zip/inner.zip/deeper.zip/deepest.zip - rejected (archive nested more "
                "than 2 levels deep: unpack it and send the files inside)"}));
}

TEST_F(UnpackTest, UnsafePathsAndSpecialFilesAreRefusedByName) {
  WriteArchive(dir_ / "evil.tar", "pax", "", "",
               {{"ok.pdf", kPdf},
                {"../../etc/cron.d/evil", "* * * * * root rm -rf /\n"},
                {"/etc/passwd", "root::0:0::/:/bin/sh\n"},
                {"C:\\Windows\\evil.txt", "x\n"},
                {"link-to-shadow", "", 0, Entry::kSymlink, "/etc/shadow"},
                {"hard", "", 0, Entry::kHardlink, "ok.pdf"},
                {"fifo", "", 0, Entry::kFifo},
                {"tty", "", 0, Entry::kCharDevice}});
  EXPECT_EQ(Ingest({dir_ / "evil.tar"}),
            (std::vector<std::string>{
                "evil.tar/ok.pdf pdf stored",
                "evil.tar/../../etc/cron.d/evil - rejected (path leads outside the archive (..): "
                "refused for safety)",
                "evil.tar//etc/passwd - rejected (absolute path: refused, archives must hold "
                "relative paths)",
                "evil.tar/C:\\Windows\\evil.txt - rejected (drive-letter path: refused, archives "
                "must hold relative paths)",
                "evil.tar/link-to-shadow - rejected (symbolic link: not followed — include the "
                "file itself)",
                "evil.tar/hard - rejected (hard link: not followed — include the file itself)",
                "evil.tar/fifo - rejected (named pipe (FIFO): not a document)",
                "evil.tar/tty - rejected (device file: not a document)"}));
}

TEST_F(UnpackTest, FloodsOfRefusedEntriesAreCountedAndSummarised) {
  std::vector<Entry> entries = {{"ok.pdf", kPdf}};
  for (int i = 0; i < 1500; ++i) {
    entries.push_back({"l" + std::to_string(i), "", 0, Entry::kSymlink, "/etc/shadow"});
  }
  WriteArchive(dir_ / "flood.tar", "pax", "", "", entries);
  const auto lines = Ingest({dir_ / "flood.tar"});
  EXPECT_EQ(lines.front(), "flood.tar/ok.pdf pdf stored");
  EXPECT_EQ(lines.size(), 1u + 1000u + 1u);
  EXPECT_EQ(lines.back(),
            "flood.tar archive rejected (and 500 more entries refused, not listed one by one)");
  options_.unpack.entries = 100;  // headers of refused entries count toward the limit too
  EXPECT_EQ(Ingest({dir_ / "flood.tar"}).back(),
            "flood.tar archive rejected (holds more than 100 files: split the upload)");

  WriteArchive(dir_ / "names.tar", "pax", "", "",
               {{std::string(5000, 'n'), "x\n"}, {"fake\nline.pdf", "y\n"}});
  EXPECT_EQ(Ingest({dir_ / "names.tar"}),
            (std::vector<std::string>{
                "names.tar/" + std::string(200, 'n') +
                    "... - rejected (name longer than 4096 bytes: refused)",
                "names.tar/fake?line.pdf - rejected (name with control characters: refused)"}));
}

TEST_F(UnpackTest, AZeroBombIsRefusedAndTheRestKept) {
  options_.unpack.ratio_floor = 8 << 20;  // tests lower the floor to stay fast
  WriteArchive(dir_ / "bomb.zip", "zip", "", "",
               {{"before.pdf", kPdf},
                {"zeros.pdf", "%PDF-1.4\n", uint64_t{256} << 20},
                {"after.pdf", kPdf + "x"}});
  ASSERT_LT(fs::file_size(dir_ / "bomb.zip"), 2u << 20);
  EXPECT_EQ(
      Ingest({dir_ / "bomb.zip"}),
      (std::vector<std::string>{
          "bomb.zip/before.pdf pdf stored",
          "bomb.zip/zeros.pdf - rejected (expands to more than 100× its size: a compression "
          "bomb, refused for safety)",
          "bomb.zip archive rejected (expands to more than 100× its size: a compression bomb, "
          "refused for safety)"}));
  EXPECT_TRUE(fs::is_empty(dir_ / "vault" / "tmp"));
}

TEST_F(UnpackTest, NestedBombsLike42ZipExhaustTheSharedBudget) {
  options_.unpack.ratio_floor = 4 << 20;
  WriteArchive(dir_ / "leaf.zip", "zip", "", "", {{"zeros.bin", "", uint64_t{16} << 20}});
  const std::string leaf = testing::ReadFile(dir_ / "leaf.zip");
  std::vector<Entry> mid, top;
  for (int i = 0; i < 4; ++i) mid.push_back({"l" + std::to_string(i) + ".zip", leaf});
  WriteArchive(dir_ / "mid.zip", "zip", "", "", mid);
  const std::string m = testing::ReadFile(dir_ / "mid.zip");
  for (int i = 0; i < 4; ++i) top.push_back({"m" + std::to_string(i) + ".zip", m});
  WriteArchive(dir_ / "42.zip", "zip", "", "", top);
  const auto lines = Ingest({dir_ / "42.zip"});
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(),
            "42.zip archive rejected (expands to more than 100× its size: a "
            "compression bomb, refused for safety)");
  EXPECT_EQ(last_.Count("stored"), 0u);
}

TEST_F(UnpackTest, PasswordProtectedArchivesAskForAnUnprotectedCopy) {
  testing::WriteFile(dir_ / "src" / "Выписка.pdf", kPdf);
  const std::string in = (dir_ / "src" / "Выписка.pdf").string();
  ASSERT_EQ(
      std::system(
          ("7zz a -bd -bso0 -tzip -psecret " + (dir_ / "locked.zip").string() + " " + in).c_str()),
      0);
  ASSERT_EQ(
      std::system(
          ("7zz a -bd -bso0 -psecret -mhe=on " + (dir_ / "locked.7z").string() + " " + in).c_str()),
      0);
  EXPECT_EQ(Ingest({dir_ / "locked.zip"}),
            std::vector<std::string>{"locked.zip/Выписка.pdf - rejected (protected by a "
                                     "password: send it without one)"});
  EXPECT_EQ(Ingest({dir_ / "locked.7z"}),
            std::vector<std::string>{
                "locked.7z archive rejected (protected by a password: send it without one)"});
}

TEST_F(UnpackTest, DamagedArchivesKeepEveryGoodEntry) {
  std::vector<Entry> entries;
  for (int i = 0; i < 3; ++i) {
    entries.push_back(
        {"scan" + std::to_string(i) + ".pdf", kPdf + testing::PseudoRandom(200000, i)});
  }
  WriteArchive(dir_ / "good.zip", "zip", "", "zip:compression=store", entries);
  const std::string zip = testing::ReadFile(dir_ / "good.zip");

  // A flipped byte inside the second entry's data: its CRC fails, the others are stored.
  std::string crc = zip;
  crc[zip.find("scan1.pdf") + 9 + 5000] ^= 0x01;
  testing::WriteFile(dir_ / "crc.zip", crc);
  auto lines = Ingest({dir_ / "crc.zip"});
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "crc.zip/scan0.pdf pdf stored");
  EXPECT_EQ(lines[1].rfind("crc.zip/scan1.pdf - rejected (damaged (ZIP bad CRC", 0), 0u)
      << lines[1];
  EXPECT_EQ(lines[2], "crc.zip/scan2.pdf pdf stored");

  // Cut off in the middle of the third entry: the first two are stored.
  testing::WriteFile(dir_ / "cut.zip", zip.substr(0, zip.find("scan2.pdf") + 100000));
  lines = Ingest({dir_ / "cut.zip"});
  EXPECT_EQ(last_.Count("stored"), 2u) << ::testing::PrintToString(lines);
  EXPECT_EQ(lines[0], "cut.zip/scan0.pdf pdf stored");
  EXPECT_EQ(lines[1], "cut.zip/scan1.pdf pdf stored");
  EXPECT_EQ(last_.Count("rejected"), lines.size() - 2);
  EXPECT_TRUE(fs::is_empty(dir_ / "vault" / "tmp"));

  testing::WriteFile(dir_ / "garbage.zip", "PK\x03\x04" + testing::PseudoRandom(3000, 1));
  lines = Ingest({dir_ / "garbage.zip"});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].rfind("garbage.zip archive rejected (", 0), 0u) << lines[0];
}

TEST_F(UnpackTest, ASingleCompressedFileIsStoredUnderItsNameWithoutTheSuffix) {
  // Issue 11: every one of these once crashed the unpack worker (signal 11).
  for (const char* filter : {"gzip", "xz", "bzip2", "zstd"}) {
    const std::string suffix = std::string(".") + (std::string(filter) == "gzip"    ? "gz"
                                                   : std::string(filter) == "bzip2" ? "bz2"
                                                   : std::string(filter) == "zstd"  ? "zst"
                                                                                    : "xz");
    const fs::path file = dir_ / ("Выписка.pdf" + suffix);
    WriteArchive(file, "raw", filter, "", {{"ignored", kPdf + filter}});
    const auto lines = Ingest({file});
    EXPECT_EQ(lines, (std::vector<std::string>{"Выписка.pdf" + suffix + "/Выписка.pdf pdf stored"}))
        << filter;
    EXPECT_TRUE(last_.worker_crashes.empty());
  }
  // Inside an archive too, and pydicom's gzipped MR image is summarised as DICOM.
  const fs::path inner = dir_ / "note.txt.gz";
  WriteArchive(inner, "raw", "gzip", "", {{"x", "A short note\n"}});
  WriteArchive(dir_ / "a.zip", "zip", "", "", {{"scans/note.txt.gz", testing::ReadFile(inner)}});
  EXPECT_EQ(Ingest({dir_ / "a.zip", testing::kPydicomFiles / "zipMR.gz"}),
            (std::vector<std::string>{"a.zip/scans/note.txt.gz/note.txt text stored",
                                      "zipMR.gz/zipMR dicom stored"}));
  ASSERT_EQ(last_.series.size(), 1u);
  EXPECT_EQ(last_.series[0].modality, "MR");
  // A compressed stream that is damaged is still said to be so, and crashes nothing.
  std::string damaged = testing::ReadFile(inner);
  damaged.resize(damaged.size() - 6);
  damaged[damaged.size() / 2] ^= 0x55;
  testing::WriteFile(dir_ / "bad.gz", damaged);
  EXPECT_EQ(Ingest({dir_ / "bad.gz"}),
            std::vector<std::string>{"bad.gz archive rejected (not a readable archive (gzip "
                                     "decompression failed): send the file again)"});
  EXPECT_TRUE(last_.worker_crashes.empty());
}

TEST_F(UnpackTest, AWorkerThatCrashesCostsOneItemOnly) {
  WriteArchive(dir_ / "a.zip", "zip", "", "",
               {{"ok-first.pdf", kPdf}, {"crash-me.pdf", kPdf + "c"}});
  WriteArchive(dir_ / "b.zip", "zip", "", "", {{"later.pdf", kPdf + "b"}});
  ::setenv("DOSSIER_WORKER_FAULT", "abort:crash-me", 1);
  const auto lines = Ingest({dir_ / "a.zip", dir_ / "b.zip"});
  ::unsetenv("DOSSIER_WORKER_FAULT");
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "a.zip/ok-first.pdf pdf stored",
                       "a.zip/crash-me.pdf - rejected (Dossier could not read this file "
                       "(its reader failed) — the manager has been told)",
                       "a.zip archive rejected (the rest of this archive was not read (see the "
                       "entry above): send it again or unpacked)",
                       "b.zip/later.pdf pdf stored"}));
  // The patient is not blamed; the operator hears how the worker ended.
  EXPECT_EQ(last_.worker_crashes, std::vector<std::string>{"the unpacker stopped by signal 6"});
}

TEST_F(UnpackTest, AConfinedWorkerCannotReadTheVaultOrThePassphrase) {
  const fs::path key = dir_ / "vault" / "vault.key";
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (!sandbox::Confine(-1).ok()) ::_exit(3);
    const int vault = ::open(key.c_str(), O_RDONLY);
    const int vault_errno = errno;
    const int tmp = ::open("/tmp", O_RDONLY | O_DIRECTORY);
    const int usr = ::open("/usr/lib/os-release", O_RDONLY);
    ::_exit(vault < 0 && vault_errno == EACCES && tmp < 0 && usr >= 0 ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 3) GTEST_SKIP() << "this kernel has no Landlock";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the confined process could open the vault";
  EXPECT_TRUE(fs::exists(key));  // the parent still can
}

TEST_F(UnpackTest, TheExportWorkerWritesInItsFolderAndNowhereElse) {
  const fs::path out = dir_ / "export";
  fs::create_directories(out);
  const int dir = ::open(out.c_str(), O_PATH | O_DIRECTORY);
  ASSERT_GE(dir, 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (!sandbox::Confine(dir).ok()) ::_exit(3);
    const int inside = ::open((out / "IM0001").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    const int beside = ::open((dir_ / "leak").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    const int beside_errno = errno;
    const int vault = ::open((dir_ / "vault" / "vault.key").c_str(), O_RDONLY);
    ::_exit(inside >= 0 && beside < 0 && beside_errno == EACCES && vault < 0 ? 0 : 1);
  }
  ::close(dir);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 3) GTEST_SKIP() << "this kernel has no Landlock";
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(fs::exists(out / "IM0001"));
  EXPECT_FALSE(fs::exists(dir_ / "leak"));
}

TEST_F(UnpackTest, AWorkerThatHangsIsStoppedAndTheIngestGoesOn) {
  WriteArchive(dir_ / "a.zip", "zip", "", "", {{"hang-here.pdf", kPdf + "h"}});
  WriteArchive(dir_ / "b.zip", "zip", "", "", {{"later.pdf", kPdf + "b"}});
  options_.worker.stall_seconds = 2;
  ::setenv("DOSSIER_WORKER_FAULT", "hang:hang-here", 1);
  const auto lines = Ingest({dir_ / "a.zip", dir_ / "b.zip"});
  ::unsetenv("DOSSIER_WORKER_FAULT");
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "a.zip/hang-here.pdf - rejected (the unpacker stopped responding for 2 s "
                       "and was stopped: the file may be damaged or hostile — send it again or "
                       "unpacked)",
                       "a.zip archive rejected (the rest of this archive was not read (see the "
                       "entry above): send it again or unpacked)",
                       "b.zip/later.pdf pdf stored"}));
}

TEST_F(UnpackTest, PdfsThatDoNotOpenAreRefusedBeforeAClinicSeesThem) {
  const fs::path plain = dir_ / "plain.pdf";
  testing::WriteFile(plain, kPdf);
  auto qpdf = [&](const std::string& args, const fs::path& out) {
    ASSERT_EQ(
        std::system(
            ("qpdf --encrypt " + args + " -- " + plain.string() + " " + out.string()).c_str()),
        0);
  };
  qpdf("secret owner 256", dir_ / "locked.pdf");       // a user password: cannot be opened
  qpdf("'' owner-only 256", dir_ / "owner-only.pdf");  // opens without a password
  testing::WriteFile(dir_ / "broken.pdf", "%PDF-1.4\n" + testing::PseudoRandom(4000, 5));
  testing::WriteFile(dir_ / "cut.pdf", kPdf.substr(0, 40));
  WriteArchive(
      dir_ / "pdfs.zip", "zip", "", "",
      {{"in-zip-locked.pdf", testing::ReadFile(dir_ / "locked.pdf")}, {"in-zip-ok.pdf", kPdf}});
  EXPECT_EQ(Ingest({dir_ / "broken.pdf", dir_ / "cut.pdf", dir_ / "locked.pdf",
                    dir_ / "owner-only.pdf", dir_ / "pdfs.zip"}),
            (std::vector<std::string>{
                "broken.pdf pdf rejected (damaged PDF: it cannot be opened — send it again or save "
                "it anew)",
                "cut.pdf pdf rejected (damaged PDF: it cannot be opened — send it again or save it "
                "anew)",
                "locked.pdf pdf rejected (protected by a password: send it without one)",
                "owner-only.pdf pdf stored",
                "pdfs.zip/in-zip-locked.pdf - rejected (protected by a password: send it without "
                "one)",
                "pdfs.zip/in-zip-ok.pdf pdf stored"}));
}

TEST_F(UnpackTest, TwentyThousandTinyEntriesHitTheEntryLimit) {
  std::vector<Entry> entries;
  for (int i = 0; i < 20000; ++i) entries.push_back({"n/" + std::to_string(i) + ".txt", "same\n"});
  WriteArchive(dir_ / "many.zip", "zip", "", "", entries);
  options_.unpack.entries = 200;
  const auto lines = Ingest({dir_ / "many.zip"});
  EXPECT_EQ(last_.Count("stored"), 1u);
  EXPECT_EQ(last_.Count("duplicate"), 199u);
  EXPECT_EQ(lines.back(),
            "many.zip archive rejected (holds more than 200 files: split the upload)");
}

TEST_F(UnpackTest, ADiscImageOfPydicomsDicomdirSetFindsEveryImage) {
  std::vector<Entry> entries = {{"DICOMDIR", testing::ReadFile(kDicomDirTests / "DICOMDIR")}};
  for (const char* patient : {"77654033", "98892001", "98892003"}) {
    for (Entry e : testing::EntriesFromDir(kDicomDirTests / patient)) {
      e.name = std::string(patient) + "/" + e.name;
      entries.push_back(std::move(e));
    }
  }
  entries.push_back({"VIEWER/Viewer.exe", "MZ\x90 viewer"});
  entries.push_back({"VIEWER/dcmlib.dll", "MZ\x90 library"});
  entries.push_back({"AUTORUN.INF", "[autorun]\nopen=VIEWER\\Viewer.exe\n"});
  entries.push_back({"VIEWER/jre/lib/rt.jar", "PK\x03\x04 java"});
  WriteArchive(dir_ / "disc.iso", "iso9660", "", "iso9660:joliet,rockridge", entries);
  Ingest({dir_ / "disc.iso"});
  size_t dicom = 0, dicomdir = 0, viewer = 0;
  for (const auto& i : last_.items) {
    if (i.kind == "dicom" && i.status == "stored") ++dicom;
    if (i.kind == "dicomdir" && i.status == "stored") ++dicomdir;
    if (i.status == "skipped" && i.reason == kViewerSoftware) ++viewer;
  }
  EXPECT_EQ(dicom, 31u);
  EXPECT_EQ(dicomdir, 1u);
  EXPECT_EQ(viewer, 4u);
  EXPECT_EQ(last_.Count("rejected"), 0u);
  EXPECT_TRUE(last_.all_accepted());
}

TEST_F(UnpackTest, DuplicatesInsideOneUploadAreStoredOnce) {
  WriteArchive(dir_ / "twice.zip", "zip", "", "",
               {{"a/scan.pdf", kPdf}, {"b/scan-copy.pdf", kPdf}, {".DS_Store", "junk"}});
  EXPECT_EQ(Ingest({dir_ / "twice.zip"}),
            (std::vector<std::string>{"twice.zip/a/scan.pdf pdf stored",
                                      "twice.zip/b/scan-copy.pdf pdf duplicate",
                                      "twice.zip/.DS_Store - skipped (system files (.DS_Store, "
                                      "Thumbs.db, __MACOSX))"}));
}

// Archive entries are hashed by the worker, loose files by the vault: the two must agree, or
// the same scan sent once loose and once zipped would be stored twice.
TEST_F(UnpackTest, ALooseFileAndTheSameFileInAnArchiveAreOneDocument) {
  testing::WriteFile(dir_ / "scan.pdf", kPdf);
  WriteArchive(dir_ / "again.zip", "zip", "", "", {{"scan.pdf", kPdf}});
  EXPECT_EQ(Ingest({dir_ / "scan.pdf", dir_ / "again.zip"}),
            (std::vector<std::string>{"scan.pdf pdf stored", "again.zip/scan.pdf pdf duplicate"}));
  WriteArchive(dir_ / "first.tar", "pax", "", "", {{"note.txt", "a note in a tar"}});
  testing::WriteFile(dir_ / "note.txt", "a note in a tar");
  EXPECT_EQ(
      Ingest({dir_ / "first.tar", dir_ / "note.txt"}),
      (std::vector<std::string>{"first.tar/note.txt text stored", "note.txt text duplicate"}));
}

// An item's bytes in memory, of which the last `missing` may not have arrived yet (an upload
// still arriving): a read that reaches into them fails, as it would wait for them, and is
// remembered.
class InMemory final : public RandomInput {
 public:
  explicit InMemory(std::string bytes, size_t missing = 0)
      : bytes_(std::move(bytes)), missing_(missing) {}
  uint64_t size() const override { return bytes_.size(); }
  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> out) override {
    if (offset >= bytes_.size()) return size_t{0};
    const size_t n = std::min<uint64_t>(out.size(), bytes_.size() - offset);
    if (offset + n > bytes_.size() - missing_) {
      reached_missing_ = true;
      return IoError("not arrived yet");
    }
    std::memcpy(out.data(), bytes_.data() + offset, n);
    return n;
  }
  bool reached_missing() const { return reached_missing_; }

 private:
  const std::string bytes_;
  const size_t missing_;
  bool reached_missing_ = false;
};

class EntryNames final : public UnpackSink {
 public:
  Status BeginEntry(const std::string& path) override {
    names.push_back(path);
    return Status::Ok();
  }
  Status EntryData(std::span<const uint8_t>) override { return Status::Ok(); }
  Status EndEntry(const Status& outcome) override { return outcome; }
  Status Refused(const std::string& path, const std::string& reason) override {
    names.push_back(path + " refused: " + reason);
    return Status::Ok();
  }
  Status Skipped(const std::string& path, const std::string&) override {
    names.push_back(path + " skipped");
    return Status::Ok();
  }
  std::vector<std::string> names;
};

TEST_F(UnpackTest, ADiscImageOrATarIsReadFrontToBackWithoutWaitingForItsEnd) {
  // The server ingests an upload as it arrives (doc/API.md §Uploads): a disc image and a tar
  // must come out before their last bytes are in. ZIP's bidder, offered them too, would read
  // the end first, looking for a central directory.
  for (const char* format : {"iso9660", "pax"}) {
    const fs::path path = dir_ / "disc";
    WriteArchive(path, format, "", "",
                 {{"DICOM/IM0001", "first slice"}, {"DICOM/IM0002", "second slice"}});
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bytes.append(size_t{3} << 20, '\0');  // a disc's padding: the last MiB not arrived yet
    InMemory input(bytes, size_t{1} << 20);
    EntryNames sink;
    const Status st = Unpack(input, "disc", UnpackLimits{}, sink);
    EXPECT_TRUE(st.ok()) << format << ": " << st.message();
    EXPECT_EQ(sink.names, (std::vector<std::string>{"disc/DICOM/IM0001", "disc/DICOM/IM0002"}))
        << format;
    EXPECT_FALSE(input.reached_missing()) << format;
    fs::remove(path);
  }
}

TEST_F(UnpackTest, AZipWithTarsMagicWhereATarHasItIsStillReadAsAZip) {
  // "ustar" at byte 257 alone does not make a tar: the first header's checksum must hold too.
  // A stored ZIP entry whose content puts "ustar" exactly there is read as the ZIP it is.
  const fs::path path = dir_ / "scans.zip";
  auto zip = [&](const std::string& content) {
    WriteArchive(path, "zip", "", "zip:compression=store", {{"scan.txt", content}});
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  const std::string probe(600, 'x');
  const size_t at = zip(probe).find(probe);  // where the entry's bytes begin
  ASSERT_LT(at, 257u);
  std::string content = probe;
  content.replace(257 - at, 5, "ustar");
  const std::string bytes = zip(content);
  ASSERT_EQ(bytes.substr(257, 5), "ustar");
  InMemory input(bytes);
  EntryNames sink;
  const Status st = Unpack(input, "scans.zip", UnpackLimits{}, sink);
  EXPECT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(sink.names, std::vector<std::string>{"scans.zip/scan.txt"});
}

}  // namespace
}  // namespace dossier::ingest
