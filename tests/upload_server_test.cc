// Uploads to `dossier serve` over real HTTP (issue 20): the tus 1.0 protocol as tus-js-client
// speaks it, uploads cut and resumed, batches of a disc's files, multipart forms, the limits
// of each role, jobs and their event streams — against a real vault, real unpack workers and
// the encrypted spool.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "tests/archive_util.h"
#include "tests/server_fixture.h"

namespace dossier {
namespace {

using namespace servertest;  // NOLINT: the fixture of every test here
namespace fs = std::filesystem;

const fs::path kDicomdirTests = testing::kPydicomFiles / "dicomdirtests";

std::string B64(const std::string& s) { return ToBase64(AsBytes(s)); }

// Lines of letters (stored as a text document), `canary` repeated through them.
std::string Payload(size_t n, const std::string& canary = "DOSSIER-CANARY-5e1f") {
  std::string out;
  out.reserve(n);
  std::mt19937 rng(static_cast<unsigned>(n));
  while (out.size() < n) {
    out += canary;
    for (int i = 0; i < 97 && out.size() < n; ++i) out += static_cast<char>('a' + rng() % 26);
  }
  out.resize(n);
  return out;
}

class UploadServerTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    maria_ = Login("maria@example.org");
  }

  // tus: creates an upload, answers its path (the Location).
  Answer Create(const Who& w, const std::string& case_id, uint64_t length,
                const std::string& metadata) {
    httplib::Headers h = {{"Cookie", w.cookie},
                          {"X-CSRF-Token", w.csrf},
                          {"Tus-Resumable", "1.0.0"},
                          {"Upload-Length", std::to_string(length)},
                          {"Upload-Metadata", metadata}};
    return From(Client().Post("/api/cases/" + case_id + "/tus/", h, "", "text/plain"));
  }
  std::string CreateOk(const Who& w, uint64_t length, const std::string& name,
                       const std::string& batch = "") {
    std::string meta =
        "filename " + B64(fs::path(name).filename().string()) + ",relativePath " + B64(name);
    if (!batch.empty()) meta += ",batch " + B64(batch);
    Answer a = Create(w, case_a_, length, meta);
    EXPECT_EQ(a.status, 201) << a.raw;
    return a.Header("Location");
  }
  Answer Patch(const Who& w, const std::string& at, uint64_t offset, const std::string& bytes) {
    httplib::Headers h = {{"Cookie", w.cookie},
                          {"X-CSRF-Token", w.csrf},
                          {"Tus-Resumable", "1.0.0"},
                          {"Upload-Offset", std::to_string(offset)}};
    return From(Client().Patch(at, h, bytes, "application/offset+octet-stream"));
  }
  Answer Head(const Who& w, const std::string& at) {
    httplib::Headers h = {{"Cookie", w.cookie}, {"Tus-Resumable", "1.0.0"}};
    return From(Client().Head(at, h));
  }
  uint64_t OffsetOf(const Who& w, const std::string& at) {
    Answer a = Head(w, at);
    EXPECT_EQ(a.status, 200);
    return a.Header("Upload-Offset").empty() ? 0 : std::stoull(a.Header("Upload-Offset"));
  }
  // Sends the whole file in pieces of `piece` bytes; the job that ingests it.
  std::string UploadAll(const Who& w, const std::string& at, const std::string& bytes,
                        size_t piece) {
    std::string job;
    for (uint64_t off = OffsetOf(w, at); off < bytes.size();) {
      const std::string part = bytes.substr(off, piece);
      Answer a = Patch(w, at, off, part);
      EXPECT_EQ(a.status, 204) << a.raw;
      if (a.status != 204) return "";
      EXPECT_EQ(a.Header("Upload-Offset"), std::to_string(off + part.size()));
      off += part.size();
      job = a.Header("Dossier-Job");
    }
    return job;
  }
  std::string Content(const Who& w, const std::string& doc) {
    Answer a = Get("/api/documents/" + doc + "/content", &w);
    EXPECT_EQ(a.status, 200) << a.raw;
    return a.raw;
  }
  Answer CloseBatch(const Who& w, const std::string& batch) {
    httplib::Headers h = {{"Cookie", w.cookie}, {"X-CSRF-Token", w.csrf}};
    return From(Client().Post("/api/cases/" + case_a_ + "/batches/" + batch + "/close", h, "", ""));
  }
  // Every file under `root` (not following links), changed since `since`, that holds `needle`.
  static std::vector<std::string> FilesHolding(
      const fs::path& root, const std::string& needle,
      fs::file_time_type since = fs::file_time_type::min()) {
    std::vector<std::string> out;
    std::error_code ec;
    for (fs::recursive_directory_iterator
             it(root, fs::directory_options::skip_permission_denied, ec),
         end;
         it != end; it.increment(ec)) {
      if (ec) break;
      if (!it->is_regular_file(ec) || it->file_size(ec) > (uint64_t{256} << 20)) continue;
      if (it->last_write_time(ec) < since) continue;
      std::ifstream in(it->path(), std::ios::binary);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (text.find(needle) != std::string::npos) out.push_back(it->path().string());
    }
    return out;
  }

  // Restarts the server so that every tus upload alone is ingested as it arrives.
  void ServeIngestingAsUploadsArrive() {
    StopServer();
    server::ServeOptions o;
    o.arriving_min_bytes = 1;
    o.arriving_stall = std::chrono::seconds(30);
    StartServer(o);
    maria_ = Login("maria@example.org");
  }
  // A tar archive (read front to back) of `n` text files of 1 MiB, `canary` through them.
  std::string Tar(int n, const std::string& canary, std::vector<std::string>& contents) {
    std::vector<testing::Entry> entries;
    for (int i = 0; i < n; ++i) {
      contents.push_back(Payload((size_t{1} << 20) + static_cast<size_t>(i), canary));
      entries.push_back({"scans/scan" + std::to_string(i) + ".txt", contents.back()});
    }
    const fs::path tar = dir_ / "scans.tar";
    testing::WriteArchive(tar, "pax", "", "", entries);
    std::ifstream in(tar, std::ios::binary);
    std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    fs::remove(tar);
    return out;
  }
  // A tar of four 1 MiB files, `canary` through them, half sent as a tus upload, and the
  // job reading it as it arrives.
  struct HalfSent {
    std::vector<std::string> contents;  // of the files, in order
    std::string tar, at, job;
  };
  HalfSent SendHalfOfATar(const std::string& canary) {
    HalfSent h;
    h.tar = Tar(4, canary, h.contents);
    h.at = CreateOk(maria_, h.tar.size(), "scans.tar");
    // Two and a half of its four files: the job reads them while the rest is on its way (its
    // progress moves in the 1 MiB pieces the unpack worker asks for).
    EXPECT_EQ(Patch(maria_, h.at, 0, h.tar.substr(0, (size_t{5} << 20) / 2)).status, 204);
    h.job = RunningJobWith(maria_, 1 << 20);
    EXPECT_EQ(h.job.rfind("job_", 0), 0u) << h.job;
    return h;
  }
  // The user's running job in case A once it has read `bytes` bytes; "" if none comes to.
  std::string RunningJobWith(const Who& w, uint64_t bytes) {
    for (int i = 0; i < 400; ++i) {
      for (const auto& j : Get("/api/jobs", &w).body) {
        if (j["case"] == case_a_ && j["state"] == "running" &&
            j["progress"]["bytes_done"].get<uint64_t>() >= bytes) {
          return j["id"];
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return "";
  }
  // Waits until `job` answers 404 (forgotten); whether it did.
  bool Forgotten(const Who& w, const std::string& job) {
    for (int i = 0; i < 400; ++i) {
      if (Get("/api/jobs/" + job, &w).status == 404) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
  }
  std::vector<std::string> CaseDocumentIds(const Who& w) {
    std::vector<std::string> out;
    for (const auto& d : Get("/api/cases/" + case_a_ + "/documents", &w).body) {
      out.push_back(d.value("id", ""));
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  // Whether the spool comes to hold no upload file within 5 s.
  bool SpoolEmptiesSoon() {
    for (int i = 0; i < 200; ++i) {
      size_t files = 0;
      for (const auto& e : fs::recursive_directory_iterator(dir_ / "spool")) {
        files += e.path().filename().string().starts_with("up-") ? 1 : 0;
      }
      if (files == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
  }
  // Object files in the vault.
  size_t Objects() {
    size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir_ / "vault" / "objects")) {
      n += e.is_regular_file() ? 1 : 0;
    }
    return n;
  }

  Who maria_;
};

TEST_F(UploadServerTest, ATusUploadInPiecesIsStoredByteIdenticalByAJobOfTheUploader) {
  // Pieces that straddle the spool's 1 MiB chunks.
  const std::string bytes = Payload(3 * 1024 * 1024 + 12345);
  Answer created = Create(maria_, case_a_, bytes.size(),
                          "filename " + B64("результаты.bin") + ",filetype " + B64("x"));
  ASSERT_EQ(created.status, 201) << created.raw;
  EXPECT_EQ(created.Header("Tus-Resumable"), "1.0.0");
  const std::string at = created.Header("Location");
  EXPECT_EQ(at.rfind("/api/cases/" + case_a_ + "/tus/upl_", 0), 0u) << at;
  // 24 hours on the injected clock, as RFC 7231 writes it.
  EXPECT_EQ(created.Header("Upload-Expires"), "Thu, 19 Nov 2026 11:06:40 GMT");
  Answer head = Head(maria_, at);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("Upload-Offset"), "0");
  EXPECT_EQ(head.Header("Upload-Length"), std::to_string(bytes.size()));
  EXPECT_EQ(head.Header("Cache-Control"), "no-store");
  const std::string job = UploadAll(maria_, at, bytes, 1000 * 1000 + 7);
  ASSERT_EQ(job.rfind("job_", 0), 0u) << job;
  const json done = Finished(maria_, job);
  EXPECT_EQ(done["state"], "done") << done.dump();
  EXPECT_EQ(done["case"], case_a_);
  EXPECT_EQ(done["kind"], "ingest");
  ASSERT_EQ(done["result"]["items"].size(), 1u) << done.dump();
  const json item = done["result"]["items"][0];
  EXPECT_EQ(item["path"], "результаты.bin");
  EXPECT_EQ(item["status"], "stored");
  EXPECT_EQ(item["size"], bytes.size());
  EXPECT_EQ(done["progress"]["bytes_done"], bytes.size());
  EXPECT_EQ(done["progress"]["items_done"], 1);
  EXPECT_TRUE(Content(maria_, item["id"]) == bytes);  // byte-identical (not printed: 3 MB)
  // The upload is done: HEAD says so and points at its job; the spool holds nothing.
  head = Head(maria_, at);
  EXPECT_EQ(head.Header("Upload-Offset"), std::to_string(bytes.size()));
  EXPECT_EQ(head.Header("Dossier-Job"), job);
  EXPECT_EQ(FilesHolding(dir_ / "spool", "DOSSIER-CANARY"), std::vector<std::string>{});
  // Its spooled (encrypted) copy is deleted just after the job ends.
  EXPECT_TRUE(SpoolEmptiesSoon());
  // The document's addition is on record as the patient's own.
  bool found = false;
  for (const auto& e : Events("document.store")) {
    if (std::find(e.objects.begin(), e.objects.end(), item["id"]) != e.objects.end()) {
      found = true;
      EXPECT_EQ(e.actor, users_["maria@example.org"]);
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(UploadServerTest, AWrongOffsetIsAConflictThatSaysWhereToResume) {
  const std::string at = CreateOk(maria_, 100, "a.bin");
  ASSERT_EQ(Patch(maria_, at, 0, std::string(40, 'x')).status, 204);
  Answer a = Patch(maria_, at, 10, std::string(10, 'y'));
  EXPECT_EQ(a.status, 409);
  EXPECT_EQ(a.Header("Upload-Offset"), "40");
  EXPECT_EQ(a.body["error"], "conflict");
  EXPECT_EQ(a.body["message"], "the upload is at byte 40, not 10: resume from byte 40");
  EXPECT_EQ(OffsetOf(maria_, at), 40u);
}

TEST_F(UploadServerTest, BytesBeyondTheDeclaredLengthAreRefused) {
  const std::string at = CreateOk(maria_, 100, "a.bin");
  Answer a = Patch(maria_, at, 0, std::string(101, 'x'));
  EXPECT_EQ(a.status, 413);
  EXPECT_EQ(a.body["message"],
            "the body goes past Upload-Length (100 bytes): send at most 100 more");
  EXPECT_EQ(OffsetOf(maria_, at), 0u);
}

TEST_F(UploadServerTest, TusRequestsNeedTheVersionAndTheContentType) {
  const std::string at = CreateOk(maria_, 10, "a.bin");
  httplib::Headers h = {
      {"Cookie", maria_.cookie}, {"X-CSRF-Token", maria_.csrf}, {"Upload-Offset", "0"}};
  Answer none = From(Client().Patch(at, h, "0123456789", "application/offset+octet-stream"));
  EXPECT_EQ(none.status, 412);
  EXPECT_EQ(none.Header("Tus-Version"), "1.0.0");
  EXPECT_EQ(none.body["error"], "tus_version");
  h.emplace("Tus-Resumable", "1.0.0");
  Answer type = From(Client().Patch(at, h, "0123456789", "application/octet-stream"));
  EXPECT_EQ(type.status, 415);
  EXPECT_EQ(type.body["error"], "media_type");
  EXPECT_EQ(OffsetOf(maria_, at), 0u);
  // Discovery: what this server speaks.
  httplib::Headers o = {{"Cookie", maria_.cookie}};
  Answer options = From(Client().Options("/api/cases/" + case_a_ + "/tus/", o));
  EXPECT_EQ(options.status, 204);
  EXPECT_EQ(options.Header("Tus-Version"), "1.0.0");
  EXPECT_EQ(options.Header("Tus-Extension"), "creation,termination,expiration");
  EXPECT_EQ(options.Header("Tus-Max-Size"), "5000000000");
}

TEST_F(UploadServerTest, EachRoleHasItsLimitsAndTheMessageSaysWhoCanRaiseThem) {
  Answer big = Create(maria_, case_a_, 5'100'000'000, "filename " + B64("dvd.iso"));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(big.body["error"], "too_large");
  EXPECT_EQ(big.body["message"],
            "this upload is 5.1 GB; the limit for patients is 5 GB — ask your manager");
  // A manager may send it.
  const Who manager = Login("manager@clinic");
  EXPECT_EQ(Create(manager, case_a_, 5'100'000'000, "filename " + B64("dvd.iso")).status, 201);

  StopServer();
  server::ServeOptions o;
  o.patient_uploads = {1000, 1500, 2};
  StartServer(o);
  maria_ = Login("maria@example.org");
  CreateOk(maria_, 100, "a.bin");
  CreateOk(maria_, 100, "b.bin");
  Answer third = Create(maria_, case_a_, 100, "filename " + B64("c.bin"));
  EXPECT_EQ(third.status, 429);
  EXPECT_EQ(third.body["error"], "quota");
  EXPECT_EQ(third.body["message"],
            "you have 2 unfinished uploads; the limit for patients is 2 at once — finish or "
            "cancel one first, or ask your manager");
  // A day's bytes: 200 promised, 1,400 more would pass 1,500.
  StopServer();
  o.patient_uploads = {1000, 1500, 8};
  StartServer(o);
  maria_ = Login("maria@example.org");
  const std::string at = CreateOk(maria_, 1000, "d.bin");
  ASSERT_EQ(Patch(maria_, at, 0, std::string(1000, 'd')).status, 204);
  Answer day = Create(maria_, case_a_, 600, "filename " + B64("e.bin"));
  EXPECT_EQ(day.status, 429);
  EXPECT_EQ(day.body["message"],
            "this upload of 600 bytes would pass the limit for patients of 1.5 kB in 24 hours "
            "(1 kB received, 0 bytes more promised by unfinished uploads) — try again tomorrow, "
            "or ask your manager");
  clock_.Advance(std::chrono::hours(25));
  maria_ = Login("maria@example.org");
  EXPECT_EQ(Create(maria_, case_a_, 600, "filename " + B64("e.bin")).status, 201);
}

TEST_F(UploadServerTest, PathsLeadingOutOfTheUploadAreRefusedWithTheirName) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"../etc/passwd", "leads outside the upload (\"..\")"},
      {"/etc/passwd", "is absolute"},
      {"CD/../../x", "leads outside the upload (\"..\")"},
      {"a//b", "has an empty or \".\" folder name"},
      {"CD\\IM1", "holds a backslash (folders are separated by \"/\")"},
  };
  for (const auto& [path, why] : bad) {
    Answer a = Create(maria_, case_a_, 10, "filename " + B64("x") + ",relativePath " + B64(path));
    EXPECT_EQ(a.status, 400) << path;
    EXPECT_EQ(a.body["message"], "the path `" + path + "` " + why +
                                     ": a file's path must be relative and \"/\"-separated, "
                                     "e.g. CD/DICOM/IM0001")
        << path;
  }
  // An empty relativePath falls back on the file name.
  EXPECT_EQ(Create(maria_, case_a_, 10, "filename " + B64("x") + ",relativePath " + B64("")).status,
            201);
  Answer unnamed = Create(maria_, case_a_, 10, "");
  EXPECT_EQ(unnamed.status, 400);
  EXPECT_EQ(unnamed.body["message"],
            "Upload-Metadata needs `filename` (and `relativePath` for a file of a folder)");
}

TEST_F(UploadServerTest, OnlyThoseWhoMayUploadToTheCaseCanAndOnlyTheUploaderSeesTheUpload) {
  const std::string meta = "filename " + B64("a.bin");
  EXPECT_EQ(Create(Login("compliance@clinic"), case_a_, 10, meta).status, 403);
  EXPECT_EQ(Create(Login("admin@clinic"), case_a_, 10, meta).status, 403);
  // son@ may view, not upload; daughter@ only sees replies; petr@ is another patient.
  EXPECT_EQ(Create(Login("son@example.org"), case_a_, 10, meta).status, 404);
  EXPECT_EQ(Create(Login("daughter@example.org"), case_a_, 10, meta).status, 404);
  const Who petr = Login("petr@example.org");
  EXPECT_EQ(Create(petr, case_a_, 10, meta).status, 404);
  AddUser("niece@example.org", vault::Role::kRepresentative, pat_a_, {false, true, false});
  const Who niece = Login("niece@example.org");
  EXPECT_EQ(Create(niece, case_a_, 10, meta).status, 201);
  // Another user cannot see or write maria's upload, even through their own case's path.
  const std::string at = CreateOk(maria_, 10, "mine.bin");
  const std::string id = at.substr(at.rfind('/') + 1);
  EXPECT_EQ(Head(niece, at).status, 404);
  EXPECT_EQ(Patch(niece, at, 0, "0123456789").status, 404);
  EXPECT_EQ(Head(petr, "/api/cases/" + case_b_ + "/tus/" + id).status, 404);
  EXPECT_EQ(OffsetOf(maria_, at), 0u);
}

TEST_F(UploadServerTest, ATerminatedOrExpiredUploadIsGoneAndItsSpoolWithIt) {
  const std::string at = CreateOk(maria_, 2000, "a.bin");
  ASSERT_EQ(Patch(maria_, at, 0, std::string(500, 'x')).status, 204);
  httplib::Headers h = {
      {"Cookie", maria_.cookie}, {"X-CSRF-Token", maria_.csrf}, {"Tus-Resumable", "1.0.0"}};
  EXPECT_EQ(From(Client().Delete(at, h)).status, 204);
  EXPECT_EQ(Head(maria_, at).status, 404);

  StopServer();
  server::ServeOptions o;
  o.janitor_interval = std::chrono::milliseconds(20);
  StartServer(o);
  maria_ = Login("maria@example.org");
  const std::string late = CreateOk(maria_, 2000, "b.bin");
  ASSERT_EQ(Patch(maria_, late, 0, std::string(500, 'x')).status, 204);
  clock_.Advance(std::chrono::hours(23));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  maria_ = Login("maria@example.org");
  EXPECT_EQ(OffsetOf(maria_, late), 500u);
  clock_.Advance(std::chrono::hours(1) + std::chrono::seconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  maria_ = Login("maria@example.org");
  Answer gone = Head(maria_, late);
  EXPECT_EQ(gone.status, 404);
  size_t files = 0;
  for (auto it = fs::recursive_directory_iterator(dir_ / "spool");
       it != fs::recursive_directory_iterator(); ++it) {
    if (it->is_regular_file() && it->path().filename() != "lock") ++files;
  }
  EXPECT_EQ(files, 0u);
}

TEST_F(UploadServerTest, UploadsCutAtRandomPointsResumeToAByteIdenticalDocument) {
  // Drawn at random: a canary written in this file would be found in the test's own source
  // and binary when they live under /tmp.
  std::random_device seed;
  const std::string canary = "CANARY-" + std::to_string(seed()) + "-" + std::to_string(seed());
  const std::string bytes = Payload(5 * 1024 * 1024 + 777, canary);
  // What the server could have written to /tmp is newer than this.
  const auto start = fs::file_time_type::clock::now() - std::chrono::seconds(2);
  const std::string at = CreateOk(maria_, bytes.size(), "scan.bin");
  std::mt19937 rng(20261129);
  uint64_t offset = 0;
  for (int cut = 0; cut < 4; ++cut) {
    // A client process sends a PATCH of the rest and is killed after `sent` bytes of it.
    const size_t sent = std::uniform_int_distribution<size_t>(1, 1'200'000)(rng);
    SCOPED_TRACE("cut " + std::to_string(cut) + " after " + std::to_string(sent));
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      const int s = Connect();
      if (s < 0) ::_exit(1);
      const std::string head =
          "PATCH " + at + " HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: " + maria_.cookie +
          "\r\nX-CSRF-Token: " + maria_.csrf +
          "\r\nTus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n"
          "Upload-Offset: " +
          std::to_string(offset) + "\r\nContent-Length: " + std::to_string(bytes.size() - offset) +
          "\r\n\r\n";
      const std::string msg = head + bytes.substr(offset, sent);
      for (size_t done = 0; done < msg.size();) {
        const ssize_t n = ::write(s, msg.data() + done, msg.size() - done);
        if (n <= 0) ::_exit(1);
        done += static_cast<size_t>(n);
      }
      (void)!::write(ready[1], "x", 1);
      ::pause();
      ::_exit(0);
    }
    char c;
    ASSERT_EQ(::read(ready[0], &c, 1), 1);
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    ::close(ready[0]);
    ::close(ready[1]);
    // Every byte that arrived is kept: the client resumes from exactly there.
    uint64_t now = 0;
    for (int i = 0; i < 200 && (now = OffsetOf(maria_, at)) < offset + sent; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(now, offset + sent);
    offset = now;
    // While the upload is unfinished, no file in the vault, the spool or /tmp holds its bytes.
    EXPECT_EQ(FilesHolding(dir_, canary), std::vector<std::string>{});
    EXPECT_EQ(FilesHolding(fs::temp_directory_path(), canary, start), std::vector<std::string>{});
  }
  const std::string job = UploadAll(maria_, at, bytes, 8 * 1024 * 1024);
  const json done = Finished(maria_, job);
  ASSERT_EQ(done["result"]["items"].size(), 1u) << done.dump();
  EXPECT_TRUE(Content(maria_, done["result"]["items"][0]["id"]) == bytes);  // byte-identical
  EXPECT_EQ(FilesHolding(dir_, canary), std::vector<std::string>{});
}

TEST_F(UploadServerTest, ADiscSentAsABatchOfFilesIsOneUploadWithItsSeriesAndDicomdirCheck) {
  // pydicom's disc of 31 images and its DICOMDIR, each file a tus upload of one batch.
  std::vector<std::pair<std::string, std::string>> files;
  for (const char* d : {"77654033", "98892001", "98892003"}) {
    for (const auto& e : fs::recursive_directory_iterator(kDicomdirTests / d)) {
      if (!e.is_regular_file()) continue;
      files.emplace_back("disc/" + fs::relative(e.path(), kDicomdirTests).string(),
                         testing::ReadFile(e.path()));
    }
  }
  files.emplace_back("disc/DICOMDIR", testing::ReadFile(kDicomdirTests / "DICOMDIR"));
  ASSERT_EQ(files.size(), 32u);
  std::string last;
  for (const auto& [path, bytes] : files) {
    last = CreateOk(maria_, bytes.size(), path, "disc-1");
    EXPECT_EQ(UploadAll(maria_, last, bytes, 1 << 20), "") << "a batch's file waits for the batch";
  }
  // A file not yet complete holds the batch; once complete, the batch closes into one job.
  const std::string extra = CreateOk(maria_, 4, "disc/README.TXT", "disc-1");
  Answer early = CloseBatch(maria_, "disc-1");
  EXPECT_EQ(early.status, 409);
  EXPECT_EQ(early.body["message"],
            "1 file of this batch is still being uploaded: close the batch once every file is "
            "complete");
  ASSERT_EQ(Patch(maria_, extra, 0, "read").status, 204);
  Answer closed = CloseBatch(maria_, "disc-1");
  ASSERT_EQ(closed.status, 202) << closed.raw;
  const json done = Finished(maria_, closed.body["job"]);
  EXPECT_EQ(done["state"], "done") << done.dump();
  const json& r = done["result"];
  EXPECT_EQ(r["counts"]["stored"], 33) << r.dump();  // 31 images, the DICOMDIR, the text
  EXPECT_EQ(r["counts"]["missing"], 0);
  EXPECT_EQ(r["counts"]["rejected"], 0);
  ASSERT_EQ(r["series"].size(), 13u);
  int instances = 0;
  for (const auto& s : r["series"]) instances += s["instances"].get<int>();
  EXPECT_EQ(instances, 31);
  for (const auto& i : r["items"]) {
    if (i["kind"] == "dicom") {
      EXPECT_EQ(i["advice"], "") << i.dump();  // all listed
    }
  }
  // The batch is closed: closing it again finds nothing.
  EXPECT_EQ(CloseBatch(maria_, "disc-1").status, 404);
}

TEST_F(UploadServerTest, ABatchNobodyClosesIsIngestedAfterTenIdleMinutes) {
  StopServer();
  server::ServeOptions o;
  o.janitor_interval = std::chrono::milliseconds(20);
  StartServer(o);
  maria_ = Login("maria@example.org");
  const std::string at = CreateOk(maria_, 6, "folder/a.txt", "b2");
  ASSERT_EQ(Patch(maria_, at, 0, "hello\n").status, 204);
  clock_.Advance(std::chrono::minutes(9));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  maria_ = Login("maria@example.org");
  EXPECT_EQ(Get("/api/jobs", &maria_).body, json::array());
  clock_.Advance(std::chrono::minutes(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Answer jobs = Get("/api/jobs", &maria_);
  ASSERT_EQ(jobs.body.size(), 1u) << jobs.raw;
  const json done = Finished(maria_, jobs.body[0]["id"]);
  EXPECT_EQ(done["result"]["items"][0]["path"], "folder/a.txt");
  EXPECT_EQ(done["result"]["items"][0]["status"], "stored");
}

TEST_F(UploadServerTest, AMultipartFormOfAFolderIsOneJob) {
  httplib::MultipartFormDataItems items = {
      {"files", "first letter\n", "letters/one.txt", "text/plain"},
      {"files", "second letter\n", "letters/two.txt", "text/plain"},
  };
  httplib::Headers h = {{"Cookie", maria_.cookie}, {"X-CSRF-Token", maria_.csrf}};
  Answer a = From(Client().Post("/api/cases/" + case_a_ + "/uploads", h, items));
  ASSERT_EQ(a.status, 202) << a.raw;
  EXPECT_EQ(a.Header("Location"), "/api/jobs/" + a.body["job"].get<std::string>());
  const json done = Finished(maria_, a.body["job"]);
  ASSERT_EQ(done["result"]["items"].size(), 2u) << done.dump();
  EXPECT_EQ(done["result"]["items"][0]["path"], "letters/one.txt");
  EXPECT_EQ(Content(maria_, done["result"]["items"][1]["id"]), "second letter\n");
  // Another field, or a path out of the upload, changes nothing.
  httplib::MultipartFormDataItems odd = {{"file", "x", "x.txt", "text/plain"}};
  Answer bad = From(Client().Post("/api/cases/" + case_a_ + "/uploads", h, odd));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body["message"], "unknown field `file`: send the files in the field `files`");
  httplib::MultipartFormDataItems out = {{"files", "x", "../x.txt", "text/plain"}};
  EXPECT_EQ(From(Client().Post("/api/cases/" + case_a_ + "/uploads", h, out)).status, 400);
  EXPECT_EQ(Get("/api/jobs", &maria_).body.size(), 1u);
}

TEST_F(UploadServerTest, AJobIsFollowedAsEventsAndSeenOnlyByItsOwnerAndManagers) {
  const std::string at = CreateOk(maria_, 3 << 20, "big.bin");
  const std::string job = UploadAll(maria_, at, Payload(3 << 20), 1 << 20);
  std::string stream;
  httplib::Headers h = {{"Cookie", maria_.cookie}};
  auto r = Client().Get("/api/jobs/" + job + "/events", h, [&](const char* data, size_t n) {
    stream.append(data, n);
    return true;
  });
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/event-stream");
  // The stream ends with the job's end, its report inside.
  const size_t end = stream.rfind("event: end\ndata: ");
  ASSERT_NE(end, std::string::npos) << stream;
  const json last = json::parse(stream.substr(end + 17, stream.find('\n', end + 17) - end - 17));
  EXPECT_EQ(last["state"], "done");
  EXPECT_EQ(last["result"]["items"][0]["status"], "stored");
  // Petr may not follow it (as if it did not exist); a manager may.
  const Who petr = Login("petr@example.org");
  Answer hidden = Get("/api/jobs/" + job, &petr);
  EXPECT_EQ(hidden.status, 404);
  EXPECT_EQ(Get("/api/jobs", &petr).body, json::array());
  const Who manager = Login("manager@clinic");
  EXPECT_EQ(Get("/api/jobs/" + job, &manager).status, 200);
  EXPECT_EQ(Get("/api/jobs/job_nosuch", &maria_).status, 404);
}

TEST_F(UploadServerTest, SeveralUsersUploadAtOnceAndEachGetsTheirOwnDocuments) {
  AddUser("niece@example.org", vault::Role::kRepresentative, pat_a_, {false, true, false});
  const std::vector<Who> who = {maria_, Login("niece@example.org"), Login("manager@clinic"),
                                Login("petr@example.org")};
  const std::vector<std::string> cases = {case_a_, case_a_, case_a_, case_b_};
  std::vector<std::string> jobs(who.size()), sent(who.size());
  std::vector<std::thread> clients;
  for (size_t i = 0; i < who.size(); ++i) {
    sent[i] = Payload(2 * 1024 * 1024 + 1000 * i, "CLIENT-" + std::to_string(i) + "-");
    clients.emplace_back([&, i] {
      httplib::Headers h = {{"Cookie", who[i].cookie},
                            {"X-CSRF-Token", who[i].csrf},
                            {"Tus-Resumable", "1.0.0"},
                            {"Upload-Length", std::to_string(sent[i].size())},
                            {"Upload-Metadata", "filename " + B64("c" + std::to_string(i))}};
      Answer a = From(Client().Post("/api/cases/" + cases[i] + "/tus/", h, "", "text/plain"));
      ASSERT_EQ(a.status, 201) << a.raw;
      jobs[i] = UploadAll(who[i], a.Header("Location"), sent[i], 300 * 1000);
    });
  }
  for (auto& t : clients) t.join();
  for (size_t i = 0; i < who.size(); ++i) {
    ASSERT_FALSE(jobs[i].empty()) << i;
    const json done = Finished(who[i], jobs[i]);
    ASSERT_EQ(done["state"], "done") << done.dump();
    EXPECT_EQ(done["case"], cases[i]);
    // The niece may upload, not view: the patient reads what she sent.
    EXPECT_TRUE(Content(who[i == 1 ? 0 : i], done["result"]["items"][0]["id"]) == sent[i]) << i;
    // Only their own job in their list (the manager sees every job).
    const size_t listed = Get("/api/jobs", &who[i]).body.size();
    EXPECT_EQ(listed, i == 2 ? who.size() : 1u) << i;
  }
}

TEST_F(UploadServerTest, AJobThatFailsSaysWhyAndStoresNothing) {
  const std::string at = CreateOk(maria_, 10, "late.txt");
  // The manager closes the case while the patient is still sending.
  ASSERT_TRUE(v_->CloseCase(case_a_).ok());
  const std::string job = UploadAll(maria_, at, "0123456789", 10);
  const json done = Finished(maria_, job);
  EXPECT_EQ(done["state"], "failed");
  EXPECT_EQ(done["error"]["error"], "conflict");
  EXPECT_EQ(done["error"]["message"],
            "case " + case_a_ + " is closed: it takes no uploads until a manager reopens it");
  EXPECT_EQ(done["result"]["items"], json::array());
  // A closed case takes no new upload either.
  Answer refused = Create(maria_, case_a_, 10, "filename " + B64("later.txt"));
  EXPECT_EQ(refused.status, 409);
  EXPECT_EQ(refused.body["message"], done["error"]["message"]);
}

TEST_F(UploadServerTest, SmallRoutesRefuseLargeOrUndeclaredBodiesBeforeReadingThem) {
  // Only the headers are sent: the answer comes from them alone, before any body byte. (A
  // client that goes on sending after the answer may see the connection reset instead.)
  auto exchange = [&](const std::string& headers) {
    const int s = Connect();
    EXPECT_GE(s, 0);
    const std::string request =
        "POST /api/session HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\n" +
        headers + "\r\n";
    EXPECT_EQ(::write(s, request.data(), request.size()), static_cast<ssize_t>(request.size()));
    timeval tv{10, 0};
    ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string answer;
    char buf[4096];
    // Up to the end of the answer's body (its Content-Length), whether or not it closes.
    auto complete = [&] {
      const size_t end = answer.find("\r\n\r\n");
      const size_t len = answer.find("Content-Length: ");
      return end != std::string::npos && len != std::string::npos &&
             answer.size() >= end + 4 + std::stoul(answer.substr(len + 16));
    };
    for (ssize_t n; !complete() && (n = ::read(s, buf, sizeof buf)) > 0;) {
      answer.append(buf, static_cast<size_t>(n));
    }
    ::close(s);
    return answer;
  };
  const std::string big = exchange("Content-Length: 102400\r\n");
  EXPECT_EQ(big.rfind("HTTP/1.1 413 ", 0), 0u) << big;
  EXPECT_NE(
      big.find(
          R"({"error":"too_large","message":"the request body is over the server's limit of 64 KiB"})"),
      std::string::npos)
      << big;
  // A chunked body (no declared length) on a small route: the same.
  const std::string chunked = exchange("Transfer-Encoding: chunked\r\n");
  EXPECT_EQ(chunked.rfind("HTTP/1.1 413 ", 0), 0u) << chunked;
  // Within the limit, the route reads its body as usual.
  Answer small = From(Client().Post("/api/session", std::string(1000, ' '), "application/json"));
  EXPECT_EQ(small.status, 400);
}

TEST_F(UploadServerTest, AnUploadIsIngestedAsItArrivesAndKeptOnlyOnceItIsComplete) {
  ServeIngestingAsUploadsArrive();
  const std::vector<std::string> before = CaseDocumentIds(maria_);
  const size_t objects = Objects();
  const HalfSent h = SendHalfOfATar("CANARY-ARRIVING");
  ASSERT_FALSE(h.job.empty());
  // The job is reading, and nothing of it is in the case before the last byte is in.
  EXPECT_EQ(CaseDocumentIds(maria_), before);
  EXPECT_EQ(Get("/api/jobs/" + h.job, &maria_).body["state"], "running");
  const std::string handed = UploadAll(maria_, h.at, h.tar, 1 << 20);
  EXPECT_EQ(handed, h.job);  // the job that was reading it ends with the report
  const json done = Finished(maria_, h.job);
  EXPECT_EQ(done["state"], "done") << done.dump();
  ASSERT_EQ(done["result"]["items"].size(), 4u) << done.dump();
  for (size_t i = 0; i < 4; ++i) {
    const json item = done["result"]["items"][i];
    EXPECT_EQ(item["path"], "scans.tar/scans/scan" + std::to_string(i) + ".txt");
    EXPECT_EQ(item["status"], "stored");
    EXPECT_TRUE(Content(maria_, item["id"]) == h.contents[i]) << i;  // byte-identical
  }
  EXPECT_EQ(CaseDocumentIds(maria_).size(), before.size() + 4);
  EXPECT_EQ(Objects(), objects + 4);
  EXPECT_EQ(FilesHolding(dir_, "CANARY-ARRIVING"), std::vector<std::string>{});
  EXPECT_TRUE(SpoolEmptiesSoon());
}

TEST_F(UploadServerTest, AnUploadCancelledWhileItWasIngestedLeavesNothing) {
  ServeIngestingAsUploadsArrive();
  const std::vector<std::string> before = CaseDocumentIds(maria_);
  const size_t objects = Objects();
  const size_t stores = Events("document.store").size();
  const HalfSent h = SendHalfOfATar("CANARY-CANCELLED");
  ASSERT_FALSE(h.job.empty());
  httplib::Headers tus = {
      {"Cookie", maria_.cookie}, {"X-CSRF-Token", maria_.csrf}, {"Tus-Resumable", "1.0.0"}};
  EXPECT_EQ(From(Client().Delete(h.at, tus)).status, 204);
  // The job gives up, and is forgotten: its id was never handed out.
  EXPECT_TRUE(Forgotten(maria_, h.job));
  EXPECT_EQ(Head(maria_, h.at).status, 404);
  EXPECT_EQ(CaseDocumentIds(maria_), before);
  EXPECT_EQ(Objects(), objects);  // the objects it wrote were deleted with its batch
  EXPECT_EQ(Events("document.store").size(), stores);
  auto report = v_->Verify(false);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_TRUE(report->intact());
  EXPECT_TRUE(report->orphans.empty());
}

TEST_F(UploadServerTest, AnIngestThatGaveUpWaitingIsDoneAgainOnceTheUploadIsComplete) {
  ServeIngestingAsUploadsArrive();
  const size_t before = CaseDocumentIds(maria_).size();
  const HalfSent h = SendHalfOfATar("CANARY-STALLED");
  const std::string& first = h.job;
  ASSERT_FALSE(first.empty());
  // The connection drops: no byte for 30 s (arriving_stall) frees the vault for others.
  clock_.Advance(std::chrono::seconds(31));
  EXPECT_TRUE(Forgotten(maria_, first));
  EXPECT_EQ(CaseDocumentIds(maria_).size(), before);
  // The client comes back and resumes; the upload is ingested whole, once.
  const std::string second = UploadAll(maria_, h.at, h.tar, 1 << 20);
  ASSERT_EQ(second.rfind("job_", 0), 0u) << second;
  EXPECT_NE(second, first);
  const json done = Finished(maria_, second);
  ASSERT_EQ(done["result"]["items"].size(), 4u) << done.dump();
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_TRUE(Content(maria_, done["result"]["items"][i]["id"]) == h.contents[i]) << i;
  }
  EXPECT_EQ(CaseDocumentIds(maria_).size(), before + 4);
}

}  // namespace
}  // namespace dossier
