// The vault through its public API: real libsodium, real SQLite, a fresh temp dir per test.
#include "vault/vault.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sodium.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <map>
#include <set>

#include "common/encoding.h"
#include "common/file_io.h"
#include "tests/test_util.h"
#include "vault/audit.h"

namespace dossier::vault {
namespace {

using testing::FilesContaining;
using testing::FlipByte;
using testing::kPassphrase;
using testing::PseudoRandom;
using testing::Snapshot;

class FixedClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::sys_days{std::chrono::year{2026} / 11 / 22} + std::chrono::hours{9};
  }
};

class HashSink final : public ByteSink {
 public:
  HashSink() { crypto_hash_sha256_init(&st_); }
  Status Write(std::span<const uint8_t> d) override {
    crypto_hash_sha256_update(&st_, d.data(), d.size());
    bytes += d.size();
    return Status::Ok();
  }
  std::string Hex() {
    uint8_t out[32];
    crypto_hash_sha256_final(&st_, out);
    return ToHex(out);
  }
  uint64_t bytes = 0;

 private:
  crypto_hash_sha256_state st_;
};

class VaultTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    vault_dir_ = dir_ / "vault";
    options_.clock = &clock_;
    ASSERT_TRUE(Vault::Create(vault_dir_, kPassphrase, actor_, options_).ok());
    Reopen();
    auto pid =
        v_->AddPatient({"Иванов Иван Петрович", "1980-02-01", "+79001234567", "ivanov@example.ru"});
    ASSERT_TRUE(pid.ok()) << pid.status().message();
    patient_ = *pid;
    auto cid = v_->OpenCase(patient_, "second opinion on MRI", "is surgery needed?");
    ASSERT_TRUE(cid.ok());
    case_ = *cid;
  }

  void Reopen(OpenMode mode = OpenMode::kNormal) {
    v_.reset();
    auto v = Vault::Open(vault_dir_, kPassphrase, actor_, options_, mode);
    ASSERT_TRUE(v.ok()) << v.status().message();
    v_ = std::move(v).value();
  }

  StoreOutcome Store(const std::string& name, const std::string& content,
                     const std::string& kind = "pdf") {
    auto w = v_->BeginDocument({case_, name, kind});
    EXPECT_TRUE(w.ok()) << w.status().message();
    EXPECT_TRUE((*w)->Write(AsBytes(content)).ok());
    auto out = (*w)->Commit();
    EXPECT_TRUE(out.ok()) << out.status().message();
    return *out;
  }

  // Gives `analysed` one analysed page reading `text` and files `dicom` as a DICOM instance
  // with a series preview; returns the series id.
  std::string AnalyseAndFile(const std::string& analysed, const std::string& dicom,
                             const std::string& text) {
    EXPECT_TRUE(v_->SetAnalysis(analysed, "printed", 1,
                                {{.number = 1,
                                  .verdict = "printed",
                                  .confidence = 0.9,
                                  .source = "text layer",
                                  .evidence = "{}",
                                  .text = text}})
                    .ok());
    auto series = v_->AddDicomInstance(dicom, {"1.2.3", "1.2.3.4", "1.2.3.4.5", 1, "{}", ""});
    EXPECT_TRUE(series.ok()) << series.status().message();
    EXPECT_TRUE(v_->SetSeriesPreview(*series, AsBytes("\x89PNG preview")).ok());
    return series.ok() ? *series : "";
  }

  fs::path ObjectPath(const std::string& doc_id) {
    auto d = v_->GetDocument(doc_id);
    return vault_dir_ / "objects" / d->object_id.substr(0, 2) / d->object_id;
  }

  Result<std::string> Read(const std::string& doc_id) {
    testing::StringSink sink;
    DOSSIER_RETURN_IF_ERROR(v_->ReadDocument(doc_id, sink));
    return sink.data;
  }

  FixedClock clock_;
  VaultOptions options_;
  Actor actor_{"alice", "operator"};
  fs::path vault_dir_;
  std::unique_ptr<Vault> v_;
  std::string patient_, case_;
};

TEST_F(VaultTest, SmallFilesRoundTripAtChunkBoundaries) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{65535}, size_t{65536}, size_t{65537},
                      size_t{3 * 65536}, size_t{200001}}) {
    const std::string content = PseudoRandom(size, size);
    const StoreOutcome out = Store("f" + std::to_string(size), content);
    ASSERT_FALSE(out.duplicate) << size;
    EXPECT_EQ(out.size, size);
    auto back = Read(out.doc_id);
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(*back, content) << size;
    auto doc = v_->GetDocument(out.doc_id);
    // header 52 + one 17-byte tag per chunk (full chunks + the final one)
    EXPECT_EQ(doc->stored_size, 52 + size + (size / 65536 + 1) * 17) << size;
    EXPECT_EQ(fs::file_size(ObjectPath(out.doc_id)), doc->stored_size);
    EXPECT_EQ(doc->added_at, "2026-11-22T09:00:00Z");
    EXPECT_EQ(doc->name, "f" + std::to_string(size));
  }
}

TEST_F(VaultTest, TwoHundredMegabyteFileStreamsBothWays) {
  const fs::path src = dir_ / "big.bin";
  testing::WriteLargeFile(src, uint64_t{200} << 20, 42);
  auto w = v_->BeginDocument({case_, "big.bin", "other"});
  ASSERT_TRUE(w.ok());
  auto file = File::OpenRead(src);
  ASSERT_TRUE(file.ok());
  std::vector<uint8_t> buf(1 << 20);
  for (;;) {
    auto n = file->ReadFull(buf);
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
    ASSERT_TRUE((*w)->Write({buf.data(), *n}).ok());
  }
  auto out = (*w)->Commit();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->size, uint64_t{200} << 20);
  HashSink sink;
  ASSERT_TRUE(v_->ReadDocument(out->doc_id, sink).ok());
  EXPECT_EQ(sink.bytes, uint64_t{200} << 20);
  EXPECT_EQ(sink.Hex(), testing::FileSha256(src));
}

TEST_F(VaultTest, WrongPassphraseFailsAndChangesNothing) {
  Store("a.pdf", "%PDF-1.4 one");
  v_.reset();
  const auto before = Snapshot(vault_dir_);
  auto v = Vault::Open(vault_dir_, "not the passphrase", actor_, options_);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kAuthFailed);
  EXPECT_EQ(v.status().message(), "wrong passphrase for the vault at " + vault_dir_.string());
  auto after = Snapshot(vault_dir_);
  EXPECT_EQ(after["unlock-failures"], "2026-11-22T09:00:00Z\n");  // the one thing written
  after.erase("unlock-failures");
  EXPECT_EQ(after, before);
}

TEST_F(VaultTest, AFlippedByteAnywhereInAnObjectIsCaughtAndNamed) {
  const std::string content = PseudoRandom(150000, 7);
  const StoreOutcome good = Store("good.pdf", "%PDF-1.4 untouched");
  const StoreOutcome out = Store("victim.pdf", content);
  const fs::path obj = ObjectPath(out.doc_id);
  const uint64_t size = fs::file_size(obj);
  // magic, chunk size, object id, stream header, first chunk, a middle chunk tag, last byte
  for (uint64_t offset : {uint64_t{0}, uint64_t{9}, uint64_t{20}, uint64_t{40}, uint64_t{60},
                          uint64_t{52 + 65536 + 10}, size - 1}) {
    FlipByte(obj, offset);
    auto report = v_->Verify(false);
    ASSERT_TRUE(report.ok());
    ASSERT_EQ(report->issues.size(), 1u) << "offset " << offset;
    EXPECT_EQ(report->issues[0].doc_id, out.doc_id);
    EXPECT_EQ(report->issues[0].problem, "corrupt");
    auto read = Read(out.doc_id);
    EXPECT_EQ(read.status().code(), StatusCode::kCorrupt) << "offset " << offset;
    FlipByte(obj, offset);  // restore
  }
  auto report = v_->Verify(false);
  EXPECT_TRUE(report->intact());
  EXPECT_EQ(report->checked, 2);
  EXPECT_EQ(*Read(good.doc_id), "%PDF-1.4 untouched");
}

TEST_F(VaultTest, TruncatedAndExtendedObjectsAreCorrupt) {
  const StoreOutcome out = Store("x.pdf", PseudoRandom(100000, 3));
  const fs::path obj = ObjectPath(out.doc_id);
  const std::string original = testing::ReadFile(obj);
  const uint64_t size = original.size();

  // Cut exactly at a chunk boundary: every remaining chunk still authenticates, only the
  // missing final tag and the recorded size betray the cut.
  fs::resize_file(obj, size - (100000 - 65536 + 17));
  auto r = Read(out.doc_id);
  EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(r.status().message(),
            "document " + out.doc_id + ": object " + v_->GetDocument(out.doc_id)->object_id +
                " is corrupt: the file has 65605 bytes but 100086 were written: truncated");
  auto quick = v_->Verify(true);
  ASSERT_EQ(quick->issues.size(), 1u);
  EXPECT_EQ(quick->issues[0].problem, "size mismatch");

  testing::WriteFile(obj, original + "X");
  r = Read(out.doc_id);
  EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(r.status().message().find("100087 bytes but 100086 were written: extended"),
            std::string::npos)
      << r.status().message();

  testing::WriteFile(obj, original);
  EXPECT_TRUE(Read(out.doc_id).ok());
}

TEST_F(VaultTest, SwappedObjectFilesBothFail) {
  const StoreOutcome a = Store("a.pdf", PseudoRandom(5000, 1));
  const StoreOutcome b = Store("b.pdf", PseudoRandom(5000, 2));  // same size: quick check passes
  const fs::path pa = ObjectPath(a.doc_id), pb = ObjectPath(b.doc_id), tmp = dir_ / "swap";
  fs::rename(pa, tmp);
  fs::rename(pb, pa);
  fs::rename(tmp, pb);
  EXPECT_TRUE(v_->Verify(true)->intact());
  auto report = v_->Verify(false);
  ASSERT_EQ(report->issues.size(), 2u);
  EXPECT_EQ(report->issues[0].problem, "corrupt");
  EXPECT_EQ(report->issues[1].problem, "corrupt");
  std::set<std::string> ids{report->issues[0].doc_id, report->issues[1].doc_id};
  EXPECT_EQ(ids, (std::set<std::string>{a.doc_id, b.doc_id}));
  EXPECT_NE(report->issues[0].detail.find("swapped or moved"), std::string::npos);
}

TEST_F(VaultTest, SwappedCatalogRowsFailToOpen) {
  const StoreOutcome a = Store("a.pdf", PseudoRandom(5000, 1));
  const StoreOutcome b = Store("b.pdf", PseudoRandom(5000, 2));
  const std::string other_case = *v_->OpenCase(patient_, "another clinic");
  v_.reset();
  // Swap which object and key each row points to, and move one row to another case.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((vault_dir_ / "catalog.db").c_str(), &db), SQLITE_OK);
  const std::string sql = fmt::format(
      "UPDATE documents SET object_id = 'x' || object_id WHERE id = '{0}';"
      "UPDATE documents SET object_id = (SELECT substr(object_id, 2) FROM documents WHERE id = "
      "'{0}'), wrapped_key = (SELECT wrapped_key FROM documents WHERE id = '{0}') WHERE id = "
      "'{1}';"
      "UPDATE documents SET case_id = '{2}' WHERE id = '{0}';",
      a.doc_id, b.doc_id, other_case);
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  Reopen(OpenMode::kVerify);
  // The row MACs catch it first (the key's associated data would too).
  auto rb = Read(b.doc_id);  // now points at a's object and key
  EXPECT_EQ(rb.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(rb.status().message(),
            "document " + b.doc_id +
                " was changed outside Dossier: its catalog row no longer matches its MAC; "
                "restore the vault from a backup");
  EXPECT_EQ(v_->Verify(false).status().code(), StatusCode::kCorrupt);
}

TEST_F(VaultTest, MissingObjectIsReportedById) {
  const StoreOutcome a = Store("a.pdf", "%PDF-1.4 a");
  fs::remove(ObjectPath(a.doc_id));
  auto report = v_->Verify(true);
  ASSERT_EQ(report->issues.size(), 1u);
  EXPECT_EQ(report->issues[0].doc_id, a.doc_id);
  EXPECT_EQ(report->issues[0].problem, "missing");
  EXPECT_EQ(Read(a.doc_id).status().code(), StatusCode::kCorrupt);
}

TEST_F(VaultTest, DuplicateContentInACaseIsStoredOnce) {
  const StoreOutcome a = Store("scan.pdf", "%PDF-1.4 same bytes");
  const StoreOutcome b = Store("scan (1).pdf", "%PDF-1.4 same bytes");
  EXPECT_FALSE(a.duplicate);
  EXPECT_TRUE(b.duplicate);
  EXPECT_EQ(b.doc_id, a.doc_id);
  EXPECT_EQ(v_->ListDocuments(case_)->size(), 1u);
  size_t objects = 0;
  for (const auto& e : fs::recursive_directory_iterator(vault_dir_ / "objects")) {
    objects += e.is_regular_file();
  }
  EXPECT_EQ(objects, 1u);
}

TEST_F(VaultTest, OrphansAreReportedByVerifyAndSweptOnNextOpen) {
  const StoreOutcome a = Store("a.pdf", "%PDF-1.4 a");
  const fs::path orphan = vault_dir_ / "objects" / "ff" / "ff00000000000000000000000000000f";
  fs::create_directories(orphan.parent_path());
  fs::copy_file(ObjectPath(a.doc_id), orphan);
  testing::WriteFile(vault_dir_ / "tmp" / "0123.tmp", "half-written ciphertext");
  Reopen(OpenMode::kVerify);
  auto report = v_->Verify(false);
  ASSERT_EQ(report->orphans.size(), 1u);
  EXPECT_EQ(report->orphans[0].object_id, "ff00000000000000000000000000000f");
  EXPECT_TRUE(report->intact());
  Reopen();
  EXPECT_EQ(v_->swept_orphans(), std::vector<std::string>{"ff00000000000000000000000000000f"});
  EXPECT_FALSE(fs::exists(orphan));
  EXPECT_TRUE(fs::is_empty(vault_dir_ / "tmp"));
  EXPECT_EQ(*Read(a.doc_id), "%PDF-1.4 a");
}

TEST_F(VaultTest, StrayFilesUnderObjectsAreReportedNeverDeleted) {
  const StoreOutcome a = Store("a.pdf", "%PDF-1.4 a");
  testing::WriteFile(vault_dir_ / "objects" / ".DS_Store", "finder junk");
  testing::WriteFile(vault_dir_ / "objects" / "ab" / "notes.txt", "someone's file");
  Reopen();  // the sweep leaves them alone
  EXPECT_TRUE(fs::exists(vault_dir_ / "objects" / ".DS_Store"));
  EXPECT_TRUE(fs::exists(vault_dir_ / "objects" / "ab" / "notes.txt"));
  auto report = v_->Verify(false);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_TRUE(report->intact());
  ASSERT_EQ(report->orphans.size(), 2u);
  EXPECT_EQ(report->orphans[0].problem, "stray");
  EXPECT_EQ(*Read(a.doc_id), "%PDF-1.4 a");
}

TEST_F(VaultTest, AnUncommittedWriterLeavesNothing) {
  {
    auto w = v_->BeginDocument({case_, "gone.pdf", "pdf"});
    ASSERT_TRUE((*w)->Write(AsBytes(std::string(100000, 'x'))).ok());
  }
  EXPECT_TRUE(fs::is_empty(vault_dir_ / "tmp"));
  EXPECT_TRUE(v_->ListDocuments(case_)->empty());
}

// Fault injection: a file size limit makes the object's writes fail with EFBIG on the store's
// file thread, as a full disk would with ENOSPC.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
    rlimit lim{bytes, saved_.rlim_max};
    ::setrlimit(RLIMIT_FSIZE, &lim);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    ::signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit saved_{};
  sighandler_t old_handler_;
};

TEST_F(VaultTest, AFailedWriteIsReportedAndLeavesNothing) {
  const std::string big = PseudoRandom(3 << 20, 7);
  {
    FileSizeLimit limit(1 << 20);
    auto w = v_->BeginDocument({case_, "big.pdf", "pdf"});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write(AsBytes(big)).ok());  // the disk work happens on another thread
    const auto out = (*w)->Commit();
    ASSERT_EQ(out.status().code(), StatusCode::kIoError);
    EXPECT_NE(out.status().message().find("cannot write " + (vault_dir_ / "tmp").string()),
              std::string::npos)
        << out.status().message();
    EXPECT_NE(out.status().message().find("File too large"), std::string::npos);
  }
  EXPECT_TRUE(fs::is_empty(vault_dir_ / "tmp"));
  EXPECT_TRUE(v_->ListDocuments(case_)->empty());
  // The store goes on working once the disk does.
  const StoreOutcome ok = Store("next.pdf", big);
  EXPECT_EQ(*Read(ok.doc_id), big);
}

TEST_F(VaultTest, AFailedWriteInABatchFailsTheBatchCommit) {
  const std::string big = PseudoRandom(3 << 20, 8);
  ASSERT_TRUE(v_->BeginBatch().ok());
  {
    FileSizeLimit limit(1 << 20);
    Store("small.pdf", "%PDF-1.4 small");
    Store("big.pdf", big);  // accepted: the write fails later, on the file thread
    const Status st = v_->CommitBatch();
    EXPECT_EQ(st.code(), StatusCode::kIoError);
    EXPECT_NE(st.message().find("File too large"), std::string::npos) << st.message();
  }
  EXPECT_TRUE(v_->ListDocuments(case_)->empty());  // neither row was committed
  Reopen();
  EXPECT_TRUE(v_->ListDocuments(case_)->empty());
  EXPECT_EQ(v_->swept_orphans().size(), 1u);  // small.pdf's object, renamed but never committed
  auto report = v_->Verify(false);
  EXPECT_TRUE(report->intact());
  EXPECT_TRUE(report->orphans.empty());
  EXPECT_TRUE(fs::is_empty(vault_dir_ / "tmp"));
}

TEST_F(VaultTest, PageTextIsSealedSearchableAndGoesWithErasure) {
  const StoreOutcome a = Store("выписка.pdf", "%PDF-1.4 a");
  const StoreOutcome b = Store("анализы.pdf", "%PDF-1.4 b");
  ASSERT_TRUE(v_->SetAnalysis(
                    a.doc_id, "handwritten", 2,
                    {{1, "printed", 0.95, 0, "ocr", R"({"words":12})",
                      "ВЫПИСНОЙ ЭПИКРИЗ\nПациент Иванов Иван Петрович, 1980 г.р.\f"},
                     {2, "handwritten", 0.8, 90, "ocr", R"({"words":3})", "Лечащий врач Семёнова"}})
                  .ok());
  ASSERT_TRUE(v_->SetAnalysis(b.doc_id, "printed", 1,
                              {{1, "printed", 0.99, 0, "text layer", "{}", "Гемоглобин 138 г/л"}})
                  .ok());
  EXPECT_EQ(v_->GetDocument(a.doc_id)->verdict, "handwritten");
  EXPECT_EQ(v_->GetDocument(a.doc_id)->pages, 2);
  auto pages = v_->GetPages(a.doc_id, false);
  ASSERT_TRUE(pages.ok()) << pages.status().message();
  ASSERT_EQ(pages->size(), 2u);
  EXPECT_EQ((*pages)[1].rotation, 90);
  EXPECT_EQ((*pages)[1].text, "");  // not asked for
  EXPECT_EQ((*v_->GetPages(a.doc_id, true))[1].text, "Лечащий врач Семёнова");

  // Case-insensitive, Cyrillic, ё = е, any white space for any.
  auto hits = v_->Search(case_, "выписной  эпикриз пациент");
  ASSERT_TRUE(hits.ok()) << hits.status().message();
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].doc_id, a.doc_id);
  EXPECT_EQ((*hits)[0].page, 1);
  EXPECT_EQ((*hits)[0].name, "выписка.pdf");
  EXPECT_EQ((*hits)[0].snippet, "ВЫПИСНОЙ ЭПИКРИЗ Пациент Иванов Иван Петрович, 1980 г.р.");
  hits = v_->Search(case_, "СЕМЕНОВА");
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].page, 2);
  EXPECT_EQ((*hits)[0].snippet, "Лечащий врач Семёнова");
  EXPECT_EQ(v_->Search(case_, "гемоглобин")->at(0).doc_id, b.doc_id);
  EXPECT_TRUE(v_->Search(case_, "Петров Сергей")->empty());
  EXPECT_EQ(v_->Search(case_, "  ").status().code(), StatusCode::kInvalidArgument);

  // The text is nowhere in the clear; a search leaves the query out of the audit log.
  v_.reset();
  EXPECT_EQ(FilesContaining(vault_dir_, "Семёнова"), std::vector<std::string>{});
  EXPECT_EQ(FilesContaining(vault_dir_, "СЕМЕНОВА"), std::vector<std::string>{});
  Reopen();
  auto log = ReadAuditLog(vault_dir_, {});
  ASSERT_TRUE(log.ok());
  int searches = 0;
  for (const auto& e : *log) {
    if (e.action == "document.search") {
      ++searches;
      EXPECT_EQ(e.objects, std::vector<std::string>{case_});
    }
  }
  EXPECT_EQ(searches, 4);  // the empty query was refused before anything was read

  ASSERT_TRUE(v_->ErasePatient(patient_).ok());
  EXPECT_EQ(v_->GetPages(a.doc_id, true).status().code(), StatusCode::kRejected);
  EXPECT_EQ(v_->GetPages(a.doc_id, false)->size(), 2u);  // verdicts stay, text is gone
}

TEST_F(VaultTest, NoPersonalDataInPlaintextAnywhereInTheVault) {
  const std::string dicom = testing::ReadFile(testing::kPydicomFiles / "CT_small.dcm");
  ASSERT_NE(dicom.find("CompressedSamples^CT1"), std::string::npos);
  Store("CT_small.dcm", dicom, "dicom");
  Store("Выписка_Иванов_2026.pdf", testing::MinimalPdf("Discharge summary of patient Ivanov"));
  const std::vector<std::string> secrets = {"Иванов Иван Петрович",
                                            "Иванов",
                                            "1980-02-01",
                                            "+79001234567",
                                            "ivanov@example.ru",
                                            "Выписка_Иванов_2026.pdf",
                                            "CompressedSamples^CT1",
                                            "Discharge summary",
                                            "second opinion on MRI",
                                            "is surgery needed?"};
  // While open (WAL and shm present) and after closing.
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& s : secrets) {
      EXPECT_EQ(FilesContaining(vault_dir_, s), std::vector<std::string>{})
          << "'" << s << "' found in plaintext (pass " << pass << ")";
    }
    v_.reset();
  }
}

TEST_F(VaultTest, ErasedPatientIsUnreadableAndTheAuditLogStillVerifies) {
  const StoreOutcome a = Store("epicrisis.pdf", "%PDF-1.4 epicrisis of the patient");
  const fs::path object = ObjectPath(a.doc_id);
  ASSERT_TRUE(v_->ErasePatient(patient_).ok());
  auto read = Read(a.doc_id);
  EXPECT_EQ(read.status().code(), StatusCode::kRejected);
  EXPECT_EQ(read.status().message(), "document " + a.doc_id + " was erased together with patient " +
                                         patient_ +
                                         ": its data no longer exists and cannot be recovered");
  auto p = v_->GetPatient(patient_);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->erased);
  EXPECT_EQ(p->info.name, "");
  EXPECT_EQ(v_->ErasePatient(patient_).code(), StatusCode::kRejected);
  auto report = v_->Verify(false);
  EXPECT_TRUE(report->intact());
  EXPECT_EQ(report->erased_skipped, 1);
  EXPECT_EQ(v_->OpenCase(patient_, "new").status().code(), StatusCode::kRejected);
  v_.reset();
  // The object is gone, and so is the key that opened it.
  EXPECT_FALSE(fs::exists(object));
  EXPECT_TRUE(FilesContaining(vault_dir_, "Иванов").empty());
  auto audit = VerifyAuditLog(vault_dir_);
  ASSERT_TRUE(audit.ok());
  EXPECT_TRUE(audit->intact()) << audit->problems[0];
  auto events = ReadAuditLog(vault_dir_, {.patient = patient_, .since = std::nullopt});
  ASSERT_TRUE(events.ok());
  std::vector<std::string> actions;
  for (const auto& e : *events) actions.push_back(e.action + "/" + e.outcome);
  EXPECT_EQ(actions, (std::vector<std::string>{"patient.add/ok", "case.open/ok",
                                               "document.store/ok", "patient.erase/ok",
                                               "document.read/refused", "patient.read/ok"}));
}

// How many sealed values (ciphertexts, wrapped keys, keyed MACs) of `patient` the catalog
// still holds, per column.
std::map<std::string, int64_t> SealedValuesOf(const fs::path& vault_dir,
                                              const std::string& patient) {
  const std::vector<std::pair<std::string, std::string>> columns = {
      {"patients.wrapped_key", "FROM patients WHERE id = ?1 AND wrapped_key"},
      {"patients.name_enc", "FROM patients WHERE id = ?1 AND name_enc"},
      {"patients.birth_date_enc", "FROM patients WHERE id = ?1 AND birth_date_enc"},
      {"patients.phone_enc", "FROM patients WHERE id = ?1 AND phone_enc"},
      {"patients.email_enc", "FROM patients WHERE id = ?1 AND email_enc"},
      {"cases.goal_enc", "FROM cases WHERE patient_id = ?1 AND goal_enc"},
      {"cases.question_enc", "FROM cases WHERE patient_id = ?1 AND question_enc"},
      {"documents.name_enc", "FROM documents WHERE patient_id = ?1 AND name_enc"},
      {"documents.wrapped_key", "FROM documents WHERE patient_id = ?1 AND wrapped_key"},
      {"documents.content_mac", "FROM documents WHERE patient_id = ?1 AND content_mac"},
      {"pages.text_enc",
       "FROM pages WHERE doc_id IN (SELECT id FROM documents WHERE patient_id = ?1) AND text_enc"},
      {"dicom_studies.uid_mac",
       "FROM dicom_studies WHERE case_id IN (SELECT id FROM cases WHERE patient_id = ?1) AND "
       "uid_mac"},
      {"dicom_studies.summary_enc",
       "FROM dicom_studies WHERE case_id IN (SELECT id FROM cases WHERE patient_id = ?1) AND "
       "summary_enc"},
      {"dicom_series.uid_mac",
       "FROM dicom_series WHERE case_id IN (SELECT id FROM cases WHERE patient_id = ?1) AND "
       "uid_mac"},
      {"dicom_series.summary_enc",
       "FROM dicom_series WHERE case_id IN (SELECT id FROM cases WHERE patient_id = ?1) AND "
       "summary_enc"},
      {"dicom_series.preview_enc",
       "FROM dicom_series WHERE case_id IN (SELECT id FROM cases WHERE patient_id = ?1) AND "
       "preview_enc"},
      {"dicom_instances.uid_mac",
       "FROM dicom_instances WHERE doc_id IN (SELECT id FROM documents WHERE patient_id = ?1) "
       "AND uid_mac"},
      {"dicom_instances.summary_enc",
       "FROM dicom_instances WHERE doc_id IN (SELECT id FROM documents WHERE patient_id = ?1) "
       "AND summary_enc"},
  };
  std::map<std::string, int64_t> counts;
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2((vault_dir / "catalog.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
            SQLITE_OK);
  for (const auto& [column, where] : columns) {
    sqlite3_stmt* s = nullptr;
    const std::string sql = "SELECT COUNT(*) " + where + " IS NOT NULL";
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sql;
    sqlite3_bind_text(s, 1, patient.c_str(), -1, SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(s), SQLITE_ROW);
    counts[column] = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
  }
  sqlite3_close(db);
  return counts;
}

std::vector<fs::path> ObjectFiles(const fs::path& vault_dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(vault_dir / "objects")) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST_F(VaultTest, ErasureDeletesTheirObjectsAndEverySealedValue) {
  // Everything a patient can have: documents, page text, a DICOM study, series, instance and
  // preview; and another patient whose files must stay.
  const StoreOutcome a = Store("выписка.pdf", "%PDF-1.4 epicrisis of the patient");
  const StoreOutcome b = Store("CT.dcm", "DICM instance of the patient", "dicom");
  const std::string series = AnalyseAndFile(a.doc_id, b.doc_id, "Иванов");
  const std::string other = *v_->AddPatient({"Петрова Анна", "1990-03-04", "", ""});
  const std::string other_case = *v_->OpenCase(other, "consultation");
  auto w = v_->BeginDocument({other_case, "other.pdf", "pdf"});
  ASSERT_TRUE((*w)->Write(AsBytes("%PDF-1.4 someone else")).ok());
  const std::string other_doc = (*w)->Commit()->doc_id;
  const fs::path other_object = ObjectPath(other_doc);
  const std::vector<fs::path> theirs = {ObjectPath(a.doc_id), ObjectPath(b.doc_id)};
  for (const auto& f : theirs) ASSERT_TRUE(fs::exists(f));
  for (const auto& [column, n] : SealedValuesOf(vault_dir_, patient_)) {
    if (column != "patients.phone_enc" && column != "patients.email_enc") {
      EXPECT_GT(n, 0) << column;  // the query finds what it looks for
    }
  }

  ASSERT_TRUE(v_->ErasePatient(patient_).ok());
  EXPECT_EQ(ObjectFiles(vault_dir_), std::vector<fs::path>{other_object});
  for (const auto& [column, n] : SealedValuesOf(vault_dir_, patient_)) {
    EXPECT_EQ(n, 0) << column << " still holds sealed values of the erased patient";
  }
  EXPECT_EQ(SealedValuesOf(vault_dir_, other)["patients.name_enc"], 1);
  auto report = v_->Verify(false);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->intact());
  EXPECT_TRUE(report->orphans.empty());
  EXPECT_EQ(report->checked, 1);
  EXPECT_EQ(report->erased_skipped, 2);
  testing::StringSink sink;
  ASSERT_TRUE(v_->ReadDocument(other_doc, sink).ok());
  EXPECT_EQ(sink.data, "%PDF-1.4 someone else");
  v_.reset();
  auto audit = VerifyAuditLog(vault_dir_);
  ASSERT_TRUE(audit.ok());
  EXPECT_TRUE(audit->intact());
}

// A crash between the erasure's commit and the deletion of the files (simulated by putting
// a file back) leaves an orphan that the next open deletes.
TEST_F(VaultTest, AnErasedPatientsFileLeftByACrashIsSweptOnTheNextOpen) {
  const StoreOutcome a = Store("a.pdf", "%PDF-1.4 a");
  const fs::path object = ObjectPath(a.doc_id);
  const std::string object_id = object.filename().string();
  const std::string bytes = testing::ReadFile(object);
  ASSERT_TRUE(v_->ErasePatient(patient_).ok());
  ASSERT_FALSE(fs::exists(object));
  testing::WriteFile(object, bytes);
  Reopen(OpenMode::kVerify);
  auto report = v_->Verify(true);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->intact());
  ASSERT_EQ(report->orphans.size(), 1u);
  EXPECT_EQ(report->orphans[0].object_id, object_id);
  Reopen();
  EXPECT_EQ(v_->swept_orphans(), std::vector<std::string>{object_id});
  EXPECT_FALSE(fs::exists(object));
  EXPECT_TRUE(v_->Verify(false)->orphans.empty());
}

// The `document.read` event is committed before any plaintext leaves; if it cannot be
// written, nothing is output — document bytes, page text, search hits or a preview.
TEST_F(VaultTest, AReadIsAuditedBeforeThePlaintextLeaves) {
  const StoreOutcome a = Store("выписка.pdf", "%PDF-1.4 the plaintext");
  const std::string series = AnalyseAndFile(a.doc_id, a.doc_id, "Семёнова");
  auto fail = std::make_shared<bool>(false);
  options_.audit_fault = [fail] {
    return *fail ? IoError("no space left on device (injected)") : Status::Ok();
  };
  Reopen();
  *fail = true;
  testing::StringSink sink;
  const Status read = v_->ReadDocument(a.doc_id, sink);
  EXPECT_EQ(read.code(), StatusCode::kIoError);
  EXPECT_EQ(read.message(), "document " + a.doc_id +
                                " was not read because its audit event could not be recorded: "
                                "no space left on device (injected)");
  EXPECT_EQ(sink.data.size(), 0u);
  auto text = v_->GetPages(a.doc_id, true);
  EXPECT_EQ(text.status().code(), StatusCode::kIoError);
  EXPECT_EQ(text.status().message(), "no space left on device (injected)");
  EXPECT_EQ(v_->Search(case_, "Семёнова").status().code(), StatusCode::kIoError);
  EXPECT_EQ(v_->GetSeriesPreview(series).status().code(), StatusCode::kIoError);

  *fail = false;
  EXPECT_EQ(*Read(a.doc_id), "%PDF-1.4 the plaintext");
  v_.reset();
  auto log = ReadAuditLog(vault_dir_, {});
  ASSERT_TRUE(log.ok());
  int reads = 0;
  for (const auto& e : *log) {
    EXPECT_FALSE(e.action == "document.read" && e.details.count("via") != 0);  // text, hits
    EXPECT_NE(e.action, "document.search");
    EXPECT_NE(e.action, "dicom.preview");
    if (e.action == "document.read") ++reads;
  }
  EXPECT_EQ(reads, 1);  // the successful one only: nothing was read unrecorded
}

// A wrong passphrase writes only the time of the failure; the next unlock puts the count on
// the signed record as one event and removes the side record.
TEST_F(VaultTest, FailedUnlocksBecomeOneAuditEventOnTheNextUnlock) {
  v_.reset();
  const auto before = Snapshot(vault_dir_);
  for (int i = 0; i < 3; ++i) {
    auto wrong = Vault::Open(vault_dir_, "not the passphrase", actor_, options_);
    EXPECT_EQ(wrong.status().code(), StatusCode::kAuthFailed);
  }
  auto after = Snapshot(vault_dir_);
  ASSERT_EQ(after.count("unlock-failures"), 1u);
  EXPECT_EQ(after["unlock-failures"],
            "2026-11-22T09:00:00Z\n2026-11-22T09:00:00Z\n2026-11-22T09:00:00Z\n");
  struct stat st {};
  ASSERT_EQ(::stat((vault_dir_ / "unlock-failures").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  after.erase("unlock-failures");
  EXPECT_EQ(after, before);  // nothing else changed

  Reopen();
  EXPECT_FALSE(fs::exists(vault_dir_ / "unlock-failures"));
  Reopen();  // folded once only
  v_.reset();
  auto log = ReadAuditLog(vault_dir_, {});
  ASSERT_TRUE(log.ok());
  std::vector<AuditEvent> failed;
  for (const auto& e : *log) {
    if (e.action == "vault.unlock_failed") failed.push_back(e);
  }
  ASSERT_EQ(failed.size(), 1u);
  auto v = Vault::Open(vault_dir_, kPassphrase, actor_, options_);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(failed[0].objects, std::vector<std::string>{(*v)->id()});
  EXPECT_EQ(failed[0].outcome, "refused");
  EXPECT_EQ(failed[0].patient, "");
  EXPECT_EQ(failed[0].purpose, "count=3 first=2026-11-22T09:00:00Z last=2026-11-22T09:00:00Z");
  v->reset();
  auto audit = VerifyAuditLog(vault_dir_);
  ASSERT_TRUE(audit.ok());
  EXPECT_TRUE(audit->intact());

  // A record that holds anything but times is counted, and nothing of it reaches the log.
  testing::WriteFile(vault_dir_ / "unlock-failures",
                     "Иванов Иван\n2026-11-23T10:00:00Z\n" + std::string(100, 'x'));
  Reopen();
  v_.reset();
  log = ReadAuditLog(vault_dir_, {});
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(log->back().action, "vault.unlock_failed");
  EXPECT_EQ(log->back().purpose, "count=3 first=2026-11-23T10:00:00Z last=2026-11-23T10:00:00Z");
}

TEST_F(VaultTest, ChangingThePassphraseRewrapsOnlyTheKey) {
  const StoreOutcome a = Store("a.pdf", "%PDF-1.4 a");
  const std::string object_before = testing::ReadFile(ObjectPath(a.doc_id));
  ASSERT_TRUE(v_->ChangePassphrase("a brand new passphrase").ok());
  v_.reset();
  EXPECT_EQ(Vault::Open(vault_dir_, kPassphrase, actor_, options_).status().code(),
            StatusCode::kAuthFailed);
  auto v = Vault::Open(vault_dir_, "a brand new passphrase", actor_, options_);
  ASSERT_TRUE(v.ok());
  v_ = std::move(v).value();
  EXPECT_EQ(*Read(a.doc_id), "%PDF-1.4 a");
  EXPECT_EQ(testing::ReadFile(ObjectPath(a.doc_id)), object_before);
}

TEST_F(VaultTest, CreateRefusesAnExistingVaultAndWeakSettings) {
  EXPECT_EQ(Vault::Create(vault_dir_, kPassphrase, actor_).code(), StatusCode::kRejected);
  EXPECT_EQ(Vault::Create(dir_ / "v2", "short", actor_).code(), StatusCode::kInvalidArgument);
  VaultOptions weak;
  weak.kdf_memlimit = 64 << 20;
  EXPECT_EQ(Vault::Create(dir_ / "v3", kPassphrase, actor_, weak).code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(dir_ / "v2"));
  // A trailing slash names the same folder.
  ASSERT_TRUE(Vault::Create((dir_ / "v4").string() + "/", kPassphrase, actor_).ok());
  EXPECT_TRUE(fs::exists(dir_ / "v4" / "vault.key"));
  EXPECT_EQ(Vault::Open(dir_ / "nowhere", kPassphrase, actor_).status().code(),
            StatusCode::kNotFound);
}

TEST_F(VaultTest, PatientInputIsValidated) {
  EXPECT_EQ(v_->AddPatient({"Name", "1980-02-30", "", ""}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(v_->AddPatient({"", "1980-02-01", "", ""}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(v_->OpenCase("pat_nosuch", "goal").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(v_->GetDocument("doc_nosuch").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(v_->SetCategory("doc_nosuch", "lab").code(), StatusCode::kNotFound);
  const StoreOutcome a = Store("a.pdf", "%PDF-1.4 a");
  EXPECT_EQ(v_->SetCategory(a.doc_id, "poetry").code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(v_->SetCategory(a.doc_id, "epicrisis").ok());
  EXPECT_EQ(v_->GetDocument(a.doc_id)->category, "epicrisis");
}

}  // namespace
}  // namespace dossier::vault
