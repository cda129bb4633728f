// Uploads that arrive through the server (IngestUploads): the same report and the same stored
// bytes as IngestPaths for every format; the unpack worker reading each upload through this
// process (a range channel), whatever the format needs — seeks for ZIP and 7z, streaming for
// tar and ISO; an upload that cannot be read, or a worker that asks for what it may not,
// costing one item; unsafe paths refused before anything is stored; this process holding
// at most 1 MiB of an upload at a time, however large it is; and the worker asking for the
// next MiB while it works on the one it has (a read ahead), without a refused read ahead
// costing anything. The uploads are in-test sources
// backed by files (no spool), the worker is the real `dossier` binary.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <optional>
#include <thread>

#include "ingest/ingest.h"
#include "ingest/internal/random_input.h"
#include "ingest/internal/range_server.h"
#include "tests/archive_util.h"
#include "tests/ingest_util.h"
#include "tests/test_util.h"

namespace dossier::ingest {
namespace {

namespace fs = std::filesystem;
using testing::Entry;
using testing::ReadFile;
using testing::WriteArchive;

const fs::path kUpload = fs::path(DOSSIER_SAMPLES_DIR) / "upload";
const fs::path kDirTests = testing::kPydicomFiles / "dicomdirtests";
constexpr const char* kSpoolFailure =
    "chunk 3 of the upload failed its authentication (the spool is damaged): upload the file "
    "again";

// An upload as the server's spool holds one: a file read with pread at any offset, stored
// scrambled (every byte XORed with `scramble`, as the spool stores it encrypted) so that only
// ReadAt gives its real bytes. Counts what is read, remembers the longest read, and fails
// every read that covers the byte at `fail_at` (a damaged chunk of the spool).
class FileSource final : public UploadSource {
 public:
  FileSource(const fs::path& path, uint8_t scramble) : scramble_(scramble) {
    auto f = File::OpenRead(path);
    EXPECT_TRUE(f.ok()) << f.status().message();
    file_ = std::move(f).value();
    size_ = *file_.Size();
  }
  uint64_t size() const override { return size_; }
  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> out) override {
    longest_.store(std::max<uint64_t>(longest_.load(), out.size()));
    const uint64_t end = std::min<uint64_t>(offset + out.size(), size_);
    if (fail_at && offset <= *fail_at && *fail_at < end) return IoError(kSpoolFailure);
    size_t got = 0;
    while (got < out.size()) {
      const ssize_t n =
          ::pread(file_.fd(), out.data() + got, out.size() - got, static_cast<off_t>(offset + got));
      if (n < 0) return IoError("cannot read the test's upload");
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    for (size_t i = 0; i < got; ++i) out[i] ^= scramble_;
    bytes_read_.store(bytes_read_.load() + got);
    return got;
  }
  uint64_t bytes_read() const { return bytes_read_.load(); }
  uint64_t longest() const { return longest_.load(); }
  std::optional<uint64_t> fail_at;

 private:
  File file_;
  uint64_t size_ = 0;
  uint8_t scramble_;
  std::atomic<uint64_t> bytes_read_{0}, longest_{0};
};

class IngestUploadTest : public testing::VaultTestBase {
 protected:
  void SetUp() override {
    VaultTestBase::SetUp();
    options_.ocr = false;
    options_.worker.program = DOSSIER_BINARY;  // this test binary cannot serve as its own worker
  }

  // `file` as an upload named `path`, stored scrambled beside the test's other files.
  UploadFile Upload(const std::string& path, const fs::path& file) {
    const fs::path scrambled = dir_ / "spool" / std::to_string(spooled_++);
    fs::create_directories(scrambled.parent_path());
    std::string bytes = ReadFile(file);
    for (char& c : bytes) c = static_cast<char>(c ^ kScramble);
    testing::WriteFile(scrambled, bytes);
    auto source = std::make_shared<FileSource>(scrambled, kScramble);
    sources_[path] = source;
    return {path, source};
  }
  // Every file under `dir`, as a browser sends a dropped folder: "<name of dir>/<relative>".
  std::vector<UploadFile> UploadFolder(const fs::path& dir) {
    std::vector<UploadFile> files;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      if (!e.is_regular_file()) continue;
      const std::string rel = e.path().lexically_relative(dir.parent_path()).string();
      files.push_back(Upload(rel, e.path()));
    }
    std::reverse(files.begin(), files.end());  // the order they come in does not matter
    return files;
  }

  IngestReport Paths(const std::vector<fs::path>& paths) {
    IngestReport r;
    const Status st = IngestPaths(*v_, *v_->OpenCase(patient_, "consultation"), paths, options_, r);
    EXPECT_TRUE(st.ok()) << st.message();
    return r;
  }
  IngestReport Uploads(const std::vector<UploadFile>& files) {
    IngestReport r;
    const Status st =
        IngestUploads(*v_, *v_->OpenCase(patient_, "consultation"), files, options_, r);
    EXPECT_TRUE(st.ok()) << st.message();
    return r;
  }

  // The report as text — every field of every line, series by what they hold rather than
  // their ids — and the bytes of every document it names.
  std::vector<std::string> Describe(const IngestReport& r) {
    std::map<std::string, std::string> series;
    for (const SeriesReport& s : r.series) {
      std::string problems;
      for (const auto& p : s.problems) problems += p + ";";
      series[s.id] = s.modality + "|" + s.description + "|" + s.date + "|" + s.object_kind + "|" +
                     std::to_string(s.instances) + "|" + s.mismatch + "|" + problems;
    }
    std::vector<std::string> lines;
    for (const ItemReport& i : r.items) {
      std::string line = i.path + "|" + i.kind + "|" + std::to_string(i.size) + "|" + i.status +
                         "|" + i.reason + "|" + i.advice + "|" + i.verdict + "|" +
                         std::to_string(i.pages) + "|" + series[i.series];
      if (!i.doc_id.empty()) {
        testing::StringSink bytes;
        EXPECT_TRUE(v_->ReadDocument(i.doc_id, bytes).ok()) << i.path;
        line += "|" + std::to_string(bytes.data.size()) + "|" + std::to_string(Hash(bytes.data));
      }
      lines.push_back(std::move(line));
    }
    lines.push_back("series: " + std::to_string(r.series.size()));
    for (const auto& c : r.worker_crashes) lines.push_back("crash: " + c);
    return lines;
  }
  static size_t Hash(const std::string& bytes) { return std::hash<std::string>{}(bytes); }

  // The lines of a report: "path kind status (reason)".
  static std::vector<std::string> Lines(const IngestReport& r) {
    std::vector<std::string> out;
    for (const auto& i : r.items) {
      out.push_back(i.path + " " + (i.kind.empty() ? "-" : i.kind) + " " + i.status +
                    (i.reason.empty() || i.status == "duplicate" ? "" : " (" + i.reason + ")"));
    }
    return out;
  }

  // pydicom's disc of 31 images of 3 patients and its DICOMDIR, as the folder `name`.
  fs::path CopyDisc(const std::string& name) {
    const fs::path disc = dir_ / name;
    fs::create_directories(disc);
    for (const char* d : {"77654033", "98892001", "98892003"}) {
      fs::copy(kDirTests / d, disc / d, fs::copy_options::recursive);
    }
    fs::copy_file(kDirTests / "DICOMDIR", disc / "DICOMDIR");
    return disc;
  }

  static constexpr uint8_t kScramble = 0xA5;
  IngestOptions options_;
  std::map<std::string, std::shared_ptr<FileSource>> sources_;
  int spooled_ = 0;
};

const std::string kPdf = testing::MinimalPdf("Epicrisis: discharged in good health");

// Archives of the same documents in each format that must seek or stream.
std::vector<Entry> Documents() {
  return {{"scans/Выписка.pdf", kPdf},
          {"scans/ct.dcm", ReadFile(testing::kPydicomFiles / "CT_small.dcm")},
          {"note.txt", "Боли с октября\n"},
          {"viewer/autorun.inf", "[autorun]\n"},
          {"photo.jpg", ReadFile(kUpload / "mri-conclusion.jpg")}};
}

TEST_F(IngestUploadTest, EveryFormatGivesTheSameReportAsIngestPaths) {
  struct Case {
    const char* name;
    const char* format;
    const char* filter;
    const char* options;
  };
  for (const Case& c : {Case{"scans.zip", "zip", "", ""}, Case{"scans.7z", "7zip", "", ""},
                        Case{"scans.tar.gz", "pax", "gzip", ""}}) {
    const fs::path archive = dir_ / c.name;
    WriteArchive(archive, c.format, c.filter, c.options, Documents());
    const IngestReport by_path = Paths({archive});
    const IngestReport uploaded = Uploads({Upload(c.name, archive)});
    EXPECT_EQ(Describe(uploaded), Describe(by_path)) << c.name;
    EXPECT_EQ(uploaded.Count("stored"), 4u) << c.name;  // and autorun.inf skipped
    EXPECT_EQ(Find(uploaded, std::string(c.name) + "/scans/ct.dcm").kind, "dicom");
    ASSERT_EQ(uploaded.series.size(), 1u) << c.name;
    EXPECT_EQ(uploaded.series[0].modality, "CT");
  }

  // A disc image with its DICOMDIR: read in order, cross-checked as a whole.
  const fs::path iso = dir_ / "disc.iso";
  WriteArchive(iso, "iso9660", "", "iso9660:rockridge", testing::EntriesFromDir(CopyDisc("cd")));
  const IngestReport iso_by_path = Paths({iso});
  const IngestReport iso_uploaded = Uploads({Upload("disc.iso", iso)});
  EXPECT_EQ(Describe(iso_uploaded), Describe(iso_by_path));
  EXPECT_EQ(iso_uploaded.Count("stored"), 32u);  // 31 images and the DICOMDIR
  EXPECT_EQ(iso_uploaded.Count("missing"), 0u);
  EXPECT_EQ(iso_uploaded.series.size(), 13u);

  // Loose files: a PDF (checked by the worker, stored by this process), a JPEG, a DICOM file
  // (sent back whole by the worker, summarised there).
  const fs::path ct = testing::kPydicomFiles / "CT_small.dcm";
  const IngestReport loose_by_path =
      Paths({ct, kUpload / "epicrisis.pdf", kUpload / "mri-conclusion.jpg"});
  const IngestReport loose_uploaded =
      Uploads({Upload("mri-conclusion.jpg", kUpload / "mri-conclusion.jpg"),
               Upload("CT_small.dcm", ct), Upload("epicrisis.pdf", kUpload / "epicrisis.pdf")});
  EXPECT_EQ(Describe(loose_uploaded), Describe(loose_by_path));
  EXPECT_EQ(Lines(loose_uploaded),
            (std::vector<std::string>{"CT_small.dcm dicom stored", "epicrisis.pdf pdf stored",
                                      "mri-conclusion.jpg jpeg stored"}));
}

TEST_F(IngestUploadTest, AFolderOfADiscIsOneGroupCrossCheckedWithItsDicomdir) {
  const fs::path disc = CopyDisc("CD");
  fs::remove(disc / "77654033/CR3/6278");  // listed in the DICOMDIR, not sent
  fs::copy_file("/bin/true", disc / "VIEWER.EXE");
  const IngestReport by_path = Paths({disc});
  const IngestReport uploaded = Uploads(UploadFolder(disc));
  EXPECT_EQ(Describe(uploaded), Describe(by_path));
  EXPECT_EQ(Find(uploaded, "CD/DICOMDIR").kind, "dicomdir");
  EXPECT_EQ(Find(uploaded, "CD/77654033/CR3/6278").status, "missing");
  // Viewer software of a disc: skipped with it, not refused as a lone program.
  EXPECT_EQ(Find(uploaded, "CD/VIEWER.EXE").status, "skipped");
  EXPECT_EQ(uploaded.Count("stored"), 31u);
  EXPECT_EQ(uploaded.Count("missing"), 1u);
  for (const auto& i : uploaded.items) {  // each listed in the DICOMDIR
    if (i.status == "stored") {
      EXPECT_EQ(i.advice, "") << i.path;
    }
  }

  // The same files without their folder are loose files: a lone program is refused.
  const IngestReport loose = Uploads({Upload("VIEWER.EXE", disc / "VIEWER.EXE")});
  EXPECT_EQ(Lines(loose),
            std::vector<std::string>{"VIEWER.EXE - rejected (executable program: not a medical "
                                     "document, refused for safety)"});
}

TEST_F(IngestUploadTest, TheWorkerReadsEachUploadThroughThisProcess) {
  // Each upload is stored scrambled: a worker that read the file itself would find nothing it
  // could unpack. Whatever the format, it got the real bytes, all of them, by asking.
  const fs::path zip = dir_ / "a.zip", sevenz = dir_ / "b.7z", tar = dir_ / "c.tar.gz";
  WriteArchive(zip, "zip", "", "", Documents());
  WriteArchive(sevenz, "7zip", "", "", Documents());
  WriteArchive(tar, "pax", "gzip", "", Documents());
  const IngestReport r =
      Uploads({Upload("a.zip", zip), Upload("b.7z", sevenz), Upload("c.tar.gz", tar),
               Upload("d.dcm", testing::kPydicomFiles / "CT_small.dcm")});
  EXPECT_EQ(r.Count("rejected"), 0u);
  EXPECT_EQ(r.Count("stored"), 4u);             // the first archive's documents
  EXPECT_EQ(r.Count("duplicate"), 2 * 4u + 1);  // the same in the others, and ct.dcm again
  EXPECT_TRUE(r.worker_crashes.empty());
  // Confined as ever: Landlock and the seccomp filter let it use the channel it was handed.
  EXPECT_EQ(r.unconfined_workers, "");
  for (const char* name : {"a.zip", "b.7z", "c.tar.gz", "d.dcm"}) {
    const auto& source = *sources_[name];
    EXPECT_GE(source.bytes_read(), source.size()) << name;
    EXPECT_LE(source.longest(), uint64_t{1} << 20) << name;
  }
}

TEST_F(IngestUploadTest, AnUploadThatCannotBeReadCostsThatItemOnly) {
  // A tar read in order: what came before the damage is stored, the rest is refused with the
  // spool's reason — not the unpacker's idea of it.
  const std::string jpeg = ReadFile(kUpload / "mri-conclusion.jpg");
  const fs::path tar = dir_ / "scans.tar";
  WriteArchive(tar, "pax", "", "",
               {{"first.jpg", jpeg, 1 << 19}, {"second.jpg", jpeg + "2", 1 << 20}});
  const fs::path zip = dir_ / "scans.zip";
  WriteArchive(zip, "zip", "", "", {{"a.pdf", kPdf}, {"b.bin", testing::PseudoRandom(200000, 7)}});
  const fs::path pdf = dir_ / "long.pdf";  // beyond the head this process sniffs
  testing::WriteFile(pdf, testing::TextPdf(std::vector<std::string>(400, "Lab results: normal")));
  ASSERT_GT(fs::file_size(pdf), 40000u);

  std::vector<UploadFile> files = {
      Upload("1-scans.tar", tar),
      Upload("2-scans.zip", zip),
      Upload("3-long.pdf", pdf),                                    // the worker's PDF check
      Upload("4-ct.dcm", testing::kPydicomFiles / "CT_small.dcm"),  // sent back whole
      Upload("5-photo.jpg", kUpload / "mri-conclusion.jpg"),        // read by this process
      Upload("6-note.txt", kUpload / "patient-note.txt")};
  sources_["1-scans.tar"]->fail_at = (1 << 20) + (1 << 19);
  sources_["2-scans.zip"]->fail_at = 150000;  // after the 36 KiB head this process sniffs
  sources_["3-long.pdf"]->fail_at = 40000;
  sources_["4-ct.dcm"]->fail_at = 38000;  // after the 36 KiB head
  sources_["5-photo.jpg"]->fail_at = 5000;
  const IngestReport r = Uploads(files);
  const std::string why = std::string(" (") + kSpoolFailure + ")";
  EXPECT_EQ(Lines(r), (std::vector<std::string>{
                          "1-scans.tar/first.jpg jpeg stored",
                          "1-scans.tar/second.jpg - rejected" + why,
                          "1-scans.tar archive rejected" + why,
                          "2-scans.zip archive rejected" + why,
                          "3-long.pdf pdf rejected" + why,
                          "4-ct.dcm - rejected" + why,
                          "5-photo.jpg - rejected" + why,
                          "6-note.txt text stored",
                      }));
  EXPECT_TRUE(r.worker_crashes.empty());
}

TEST_F(IngestUploadTest, AWorkerThatAsksForWhatItMayNotBreaksTheProtocol) {
  const fs::path bad = dir_ / "bad.zip", good = dir_ / "good.zip";
  WriteArchive(bad, "zip", "", "", {{"inside.pdf", kPdf}});
  WriteArchive(good, "zip", "", "", {{"later.pdf", kPdf + " "}});
  for (const auto& [fault, what] :
       {std::pair{"range-outside:bad.zip", "asked for bytes beyond the end of the file"},
        std::pair{"range-too-long:bad.zip", "asked for more than 1 MiB at once"}}) {
    ::setenv("DOSSIER_WORKER_FAULT", fault, 1);
    const IngestReport r = Uploads({Upload("bad.zip", bad), Upload("good.zip", good)});
    ::unsetenv("DOSSIER_WORKER_FAULT");
    EXPECT_EQ(Lines(r),
              (std::vector<std::string>{
                  "bad.zip archive rejected (the unpacker misbehaved on this file (" +
                      std::string(what) + "): it may be hostile — send it again or unpacked)",
                  "good.zip/later.pdf pdf stored"}))
        << fault;
    EXPECT_TRUE(r.worker_crashes.empty());
    // The source was never asked for what the worker wanted.
    EXPECT_LE(sources_["bad.zip"]->longest(), uint64_t{1} << 20);
  }
}

TEST_F(IngestUploadTest, UnsafeOrRepeatedPathsAreRefusedBeforeAnythingIsStored) {
  const fs::path note = kUpload / "patient-note.txt";
  const std::string case_id = *v_->OpenCase(patient_, "consultation");
  auto refused = [&](std::vector<UploadFile> files) {
    files.push_back(Upload("fine.txt", note));
    IngestReport r;
    const Status st = IngestUploads(*v_, case_id, files, options_, r);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(r.items.empty());
    return st.message();
  };
  auto one = [](const std::string& path, const std::string& why) {
    return "cannot ingest the upload: the path \"" + path + "\" " + why +
           ". Nothing was stored: send the files again, each once, with relative paths "
           "(\"folder/file\")";
  };
  EXPECT_EQ(refused({Upload("", note)}), one("", "is empty"));
  EXPECT_EQ(refused({Upload("/etc/passwd", note)}), one("/etc/passwd", "is absolute"));
  EXPECT_EQ(refused({Upload("CD/../../x.txt", note)}),
            one("CD/../../x.txt", "leads outside the upload (\"..\")"));
  for (const char* path : {"./x.txt", "CD//x.txt", "CD/", "CD/./x.txt"}) {
    EXPECT_EQ(refused({Upload(path, note)}), one(path, "has an empty or \".\" folder name"));
  }
  EXPECT_EQ(refused({Upload("CD\\x.txt", note)}),
            one("CD\\x.txt", "holds a backslash (folders are separated by \"/\")"));
  EXPECT_EQ(refused({Upload(std::string("x.txt\0.pdf", 10), note)}),
            one("x.txt?.pdf", "holds a control character"));
  // Shown as a Russian Windows computer would have meant it (CP866).
  EXPECT_EQ(refused({Upload("\xaf\xe0.txt", note)}), one("пр.txt", "is not UTF-8"));
  EXPECT_EQ(refused({Upload("CD/x.txt", note), Upload("CD/x.txt", note), Upload("CD/x.txt", note),
                     Upload("../y.txt", note)}),
            "cannot ingest the upload: the path \"CD/x.txt\" is given twice; the path "
            "\"../y.txt\" leads outside the upload (\"..\"). Nothing was stored: send the files "
            "again, each once, with relative paths (\"folder/file\")");
  auto docs = v_->ListDocuments(case_id);
  ASSERT_TRUE(docs.ok());
  EXPECT_TRUE(docs->empty());
  for (const auto& [path, source] : sources_) EXPECT_EQ(source->bytes_read(), 0u) << path;
}

// Peak resident memory of this process so far (VmHWM), in bytes.
uint64_t PeakResident() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

TEST_F(IngestUploadTest, AReadAheadRefusedIsNotHeldAgainstAnItemThatNeverNeededIt) {
  // A tar that ends early in its second MiB, padded with 2 MiB of zeros (as tape tools pad
  // it): reading its second MiB, the worker reads ahead into the padding, which the damaged
  // spool refuses; then it finds the tar's end and never needs those bytes.
  const fs::path tar = dir_ / "padded.tar";
  WriteArchive(tar, "pax", "", "",
               {{"scan.jpg", ReadFile(kUpload / "mri-conclusion.jpg"), size_t{1} << 20}});
  std::string bytes = ReadFile(tar);
  ASSERT_GT(bytes.size(), size_t{1} << 20);
  ASSERT_LT(bytes.size(), size_t{2} << 20);
  bytes.append(size_t{2} << 20, '\0');
  testing::WriteFile(tar, bytes);
  UploadFile upload = Upload("padded.tar", tar);
  sources_["padded.tar"]->fail_at = (uint64_t{5} << 20) / 2;
  const IngestReport r = Uploads({upload});
  EXPECT_EQ(Lines(r), std::vector<std::string>{"padded.tar/scan.jpg jpeg stored"});
  EXPECT_TRUE(r.worker_crashes.empty());
}

TEST_F(IngestUploadTest, ALargeUploadIsReadOneMebibyteAtATime) {
  // A 300 MB tar: the worker streams it by asking for 1 MiB at a time, this process answers
  // each from the source and holds no more of it than that.
  constexpr uint64_t kZeros = uint64_t{300} << 20;
  const fs::path tar = dir_ / "large.tar";
  WriteArchive(tar, "pax", "", "",
               {{"scan.jpg", ReadFile(kUpload / "mri-conclusion.jpg"), kZeros}});
  auto source = std::make_shared<FileSource>(tar, 0);
  const uint64_t peak_before = PeakResident();
  IngestReport r;
  const Status st = IngestUploads(*v_, *v_->OpenCase(patient_, "consultation"),
                                  {{"large.tar", source}}, options_, r);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(Lines(r), std::vector<std::string>{"large.tar/scan.jpg jpeg stored"});
  EXPECT_EQ(r.items[0].size, fs::file_size(kUpload / "mri-conclusion.jpg") + kZeros);
  EXPECT_GE(source->bytes_read(), source->size());
  EXPECT_LE(source->longest(), (uint64_t{1} << 20) + 4096);
  EXPECT_LT(PeakResident() - std::min(PeakResident(), peak_before), uint64_t{64} << 20);
}

// The channel itself, both ends in this process: after a read in order the parent is asked
// for the next MiB at once, and reads it from the source while the first is being used.
class RangeChannelTest : public testing::TempDirTest {};

TEST_F(RangeChannelTest, AReadInOrderHasTheNextMebibyteAskedForAtOnce) {
  const std::string bytes = testing::PseudoRandom(3 << 20, 11);
  testing::WriteFile(dir_ / "upload", bytes);
  auto source = std::make_shared<FileSource>(dir_ / "upload", 0);
  File worker_end;
  auto server = internal::RangeServer::Start(source, worker_end);
  ASSERT_TRUE(server.ok()) << server.status().message();
  auto input = internal::ChannelInput(std::move(worker_end), bytes.size());
  const auto read = [&](uint64_t at, size_t n) {
    std::vector<uint8_t> out(n);
    auto got = input->ReadAt(at, out);
    EXPECT_TRUE(got.ok()) << got.status().message();
    return std::string(out.begin(), out.end());
  };
  const auto source_reaches = [&](uint64_t n) {
    for (int i = 0; i < 500 && source->bytes_read() < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return source->bytes_read();
  };
  constexpr size_t kMiB = size_t{1} << 20;
  EXPECT_EQ(read(0, kMiB), bytes.substr(0, kMiB));
  EXPECT_EQ(source_reaches(2 * kMiB), 2 * kMiB);  // the second MiB, not yet asked for
  EXPECT_EQ(read(kMiB, kMiB), bytes.substr(kMiB, kMiB));
  EXPECT_EQ(source_reaches(3 * kMiB), 3 * kMiB);  // the third; nothing lies beyond it
  // Out of order: the answer read ahead is dropped, and the bytes asked for are had.
  EXPECT_EQ(read(100, 200), bytes.substr(100, 200));
  EXPECT_EQ(read(2 * kMiB, kMiB), bytes.substr(2 * kMiB, kMiB));
  input.reset();
  (*server)->Stop();
  EXPECT_EQ((*server)->violation(), "");
  EXPECT_TRUE((*server)->failure().ok());
}

TEST_F(RangeChannelTest, BytesWhoseReadAheadWasRefusedAreAskedForAgainAndTheirRefusalCounts) {
  const std::string bytes = testing::PseudoRandom(3 << 20, 12);
  testing::WriteFile(dir_ / "upload", bytes);
  auto source = std::make_shared<FileSource>(dir_ / "upload", 0);
  source->fail_at = (uint64_t{3} << 20) / 2;
  File worker_end;
  auto server = internal::RangeServer::Start(source, worker_end);
  ASSERT_TRUE(server.ok()) << server.status().message();
  auto input = internal::ChannelInput(std::move(worker_end), bytes.size());
  std::vector<uint8_t> out(size_t{1} << 20);
  ASSERT_TRUE(input->ReadAt(0, out).ok());  // and the second MiB read ahead: refused
  const auto second = input->ReadAt(uint64_t{1} << 20, out);
  EXPECT_EQ(second.status().code(), StatusCode::kIoError);
  EXPECT_EQ(second.status().message(), kSpoolFailure);
  input.reset();
  (*server)->Stop();
  EXPECT_EQ((*server)->failure().message(), kSpoolFailure);  // what the item is rejected with
}

}  // namespace
}  // namespace dossier::ingest
