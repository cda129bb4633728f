// One vault shared by many threads (vault.h §Threads): readers and listers beside an ingest
// batch, group-committed audit events, and batches that roll back while others read. Real
// vault, real SQLite, real threads.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "common/encoding.h"
#include "tests/test_util.h"
#include "vault/audit.h"
#include "vault/vault.h"

namespace dossier::vault {
namespace {

using testing::kPassphrase;
using testing::PseudoRandom;
using testing::StringSink;

// Events of `action` in the whole log, counted by their first object.
std::map<std::string, int> CountEvents(const fs::path& vault_dir, const std::string& action) {
  AuditFilter filter;
  filter.action = action;
  auto events = ReadAuditLog(vault_dir, filter);
  EXPECT_TRUE(events.ok()) << events.status().message();
  std::map<std::string, int> out;
  if (!events.ok()) return out;
  for (const AuditEvent& e : *events) ++out[e.objects.empty() ? "" : e.objects.front()];
  return out;
}

class VaultThreadsTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    vault_dir_ = dir_ / "vault";
    ASSERT_TRUE(Vault::Create(vault_dir_, kPassphrase, actor_).ok());
    Open();
    patient_ = *v_->AddPatient({"Петров Пётр", "1970-03-04", "", ""});
    read_case_ = *v_->OpenCase(patient_, "read while others write");
    ingest_case_ = *v_->OpenCase(patient_, "ingested meanwhile");
    for (int i = 0; i < 8; ++i) {
      const std::string content = PseudoRandom(1000 + 70000 * i, i);
      const std::string id = Store(read_case_, "r" + std::to_string(i) + ".pdf", content);
      contents_[id] = content;
    }
  }

  void Open() {
    v_.reset();
    auto v = Vault::Open(vault_dir_, kPassphrase, actor_, options_);
    ASSERT_TRUE(v.ok()) << v.status().message();
    v_ = std::move(v).value();
  }

  // Stores one document (in the calling thread's batch, if it has one); "" on failure, and
  // then `error` says why.
  std::string Store(const std::string& case_id, const std::string& name, const std::string& content,
                    Status* error = nullptr) {
    auto w = v_->BeginDocument({case_id, name, "pdf"});
    if (!w.ok()) {
      if (error) *error = w.status();
      return "";
    }
    EXPECT_TRUE((*w)->Write(AsBytes(content)).ok());
    auto out = (*w)->Commit();
    if (!out.ok()) {
      if (error) *error = out.status();
      return "";
    }
    return out->doc_id;
  }

  // Batch commits fail (as a full disk would) while fail_commits_ is set.
  void OpenFailingBatchCommitsOnDemand() {
    options_.batch_commit_fault = [this]() -> Status {
      return fail_commits_ ? IoError("no space left on device (injected)") : Status::Ok();
    };
    Open();
  }

  Result<std::string> Read(const std::string& doc_id) {
    StringSink sink;
    DOSSIER_RETURN_IF_ERROR(v_->ReadDocument(doc_id, sink));
    return sink.data;
  }

  std::set<std::string> ListedIds(const std::string& case_id) {
    std::set<std::string> ids;
    auto docs = v_->ListDocuments(case_id);
    EXPECT_TRUE(docs.ok()) << docs.status().message();
    if (docs.ok()) {
      for (const auto& d : *docs) ids.insert(d.id);
    }
    return ids;
  }

  void ExpectVerified() {
    auto report = v_->Verify(false);
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_TRUE(report->intact());
    EXPECT_TRUE(report->orphans.empty());
    auto audit = VerifyAuditLog(vault_dir_);
    ASSERT_TRUE(audit.ok()) << audit.status().message();
    EXPECT_TRUE(audit->intact()) << (audit->problems.empty() ? "" : audit->problems.front());
  }

  // The audit journals in the vault folder.
  std::vector<fs::path> Journals() {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(vault_dir_)) {
      if (e.path().filename().string().rfind("audit-journal.", 0) == 0) out.push_back(e.path());
    }
    return out;
  }

  // A process opens the vault, stores a document in a batch, answers `reads` reads of `doc`
  // from another thread beside it, and dies before the batch commits (as a killed one does:
  // _exit, nothing after). Its journal is left in the vault.
  void DieWithReadsJournaled(const std::string& doc, int reads) {
    v_.reset();
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto v = Vault::Open(vault_dir_, kPassphrase, actor_, options_);
      if (!v.ok()) ::_exit(2);
      v_ = std::move(v).value();
      if (!v_->BeginBatch().ok() || Store(ingest_case_, "a1.dcm", "never committed").empty()) {
        ::_exit(3);
      }
      bool answered = true;
      std::thread reader([&] {
        for (int i = 0; i < reads; ++i) answered = answered && Read(doc).ok();
      });
      reader.join();
      const bool journaled =
          v_->audit_commit_stats().journaled_events == static_cast<uint64_t>(reads);
      ::_exit(answered && journaled ? 0 : 4);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
    ASSERT_EQ(Journals().size(), 1u);
  }

  // The vault refuses to open (kCorrupt, "<journal><why>") until `journal` is taken out.
  void ExpectRefusedUntilRemoved(const fs::path& journal, const std::string& why) {
    auto refused = Vault::Open(vault_dir_, kPassphrase, actor_, options_);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), StatusCode::kCorrupt);
    EXPECT_EQ(refused.status().message(), journal.string() + why);
    fs::remove(journal);
    Open();
  }

  fs::path vault_dir_;
  Actor actor_{"alice", "operator"};
  VaultOptions options_;
  std::unique_ptr<Vault> v_;
  std::string patient_, read_case_, ingest_case_;
  std::map<std::string, std::string> contents_;  // doc id → bytes, of read_case_
  std::atomic<bool> fail_commits_{false};
};

TEST_F(VaultThreadsTest, ReadersAndListersRunWhileAnotherThreadIngestsInBatches) {
  options_.batch_max_documents = 40;  // several automatic commits during the ingest
  Open();
  constexpr int kReaders = 6;
  constexpr int kDocuments = 300;
  std::atomic<bool> ingesting{true};
  std::mutex mu;
  std::map<std::string, int> reads;  // doc id → acknowledged reads
  std::map<std::string, int> lists;  // case id → acknowledged listings
  std::vector<std::string> failures;
  std::vector<std::string> docs;
  for (const auto& [id, content] : contents_) docs.push_back(id);

  std::vector<std::thread> readers;
  for (int t = 0; t < kReaders; ++t) {
    readers.emplace_back([&, t] {
      size_t n = t;
      auto fail = [&](const std::string& what) {
        std::lock_guard<std::mutex> lock(mu);
        failures.push_back(what);
      };
      while (ingesting.load()) {
        const std::string& doc = docs[n++ % docs.size()];
        auto got = Read(doc);
        if (!got.ok()) {
          fail("read " + doc + ": " + got.status().message());
        } else if (*got != contents_.at(doc)) {
          fail("read " + doc + ": other bytes");
        } else {
          std::lock_guard<std::mutex> lock(mu);
          ++reads[doc];
        }
        // The case being ingested: whatever a listing shows is committed and readable.
        auto listed = v_->ListDocuments(ingest_case_);
        if (!listed.ok()) {
          fail("list: " + listed.status().message());
          continue;
        }
        {
          std::lock_guard<std::mutex> lock(mu);
          ++lists[ingest_case_];
        }
        if (!listed->empty()) {
          const DocumentRecord& d = (*listed)[n % listed->size()];
          auto back = Read(d.id);
          if (!back.ok()) {
            fail("read listed " + d.id + ": " + back.status().message());
          } else if (back->size() != d.size) {
            fail("read listed " + d.id + ": wrong size");
          } else {
            std::lock_guard<std::mutex> lock(mu);
            ++reads[d.id];
          }
        }
      }
    });
  }

  std::set<std::string> stored;
  ASSERT_TRUE(v_->BeginBatch().ok());
  for (int i = 0; i < kDocuments; ++i) {
    Status error;
    const std::string id = Store(ingest_case_, "scan" + std::to_string(i) + ".dcm",
                                 PseudoRandom(2000 + 997 * (i % 50), 1000 + i), &error);
    ASSERT_FALSE(id.empty()) << error.message();
    stored.insert(id);
  }
  ASSERT_TRUE(v_->CommitBatch().ok());
  ingesting = false;
  for (auto& r : readers) r.join();

  EXPECT_TRUE(failures.empty()) << failures.size() << " failures, first: " << failures.front();
  EXPECT_EQ(ListedIds(ingest_case_), stored);
  // Every acknowledged read and listing has its event, and no more.
  const auto read_events = CountEvents(vault_dir_, "document.read");
  for (const auto& [doc, n] : reads) {
    EXPECT_EQ(read_events.count(doc) ? read_events.at(doc) : 0, n) << doc;
  }
  int all_reads = 0, all_read_events = 0;
  for (const auto& [doc, n] : reads) all_reads += n;
  for (const auto& [doc, n] : read_events) all_read_events += n;
  EXPECT_EQ(all_read_events, all_reads);
  EXPECT_GT(all_reads, kReaders);
  EXPECT_EQ(CountEvents(vault_dir_, "document.list")[ingest_case_], lists[ingest_case_] + 1);
  EXPECT_EQ(CountEvents(vault_dir_, "document.store").size(), stored.size() + contents_.size());
  ExpectVerified();
}

TEST_F(VaultThreadsTest, ARolledBackBatchLosesItsOwnDocumentsNotTheReadsMadeBesideIt) {
  OpenFailingBatchCommitsOnDemand();
  const std::string doc = contents_.begin()->first;
  ASSERT_TRUE(v_->BeginBatch().ok());
  const std::string a1 = Store(ingest_case_, "a1.dcm", "first of the batch");
  const std::string a2 = Store(ingest_case_, "a2.dcm", "second of the batch");
  const uint64_t batches = v_->committed_batches();
  // Another thread reads while the batch is open: its event is made durable in the journal,
  // and the batch is not committed for it.
  std::thread reader([&] { EXPECT_EQ(*Read(doc), contents_.at(doc)); });
  reader.join();
  EXPECT_EQ(v_->committed_batches(), batches);
  EXPECT_EQ(v_->audit_commit_stats().journaled_events, 1u);
  EXPECT_TRUE(v_->in_batch());
  const std::string a3 = Store(ingest_case_, "a3.dcm", "third of the batch");
  fail_commits_ = true;
  const Status st = v_->CommitBatch();
  EXPECT_EQ(st.code(), StatusCode::kIoError);
  EXPECT_EQ(st.message(), "no space left on device (injected)");
  EXPECT_FALSE(v_->in_batch());
  fail_commits_ = false;

  // The whole batch is gone, its events included; the read's event waits in the journal and
  // goes first into the next commit: here the listing's, which comes after it.
  EXPECT_EQ(CountEvents(vault_dir_, "document.read")[doc], 0);
  EXPECT_TRUE(ListedIds(ingest_case_).empty());
  const auto stores = CountEvents(vault_dir_, "document.store");
  EXPECT_EQ(stores.count(a1) + stores.count(a2) + stores.count(a3), 0u);
  auto log = ReadAuditLog(vault_dir_, {});
  ASSERT_TRUE(log.ok()) << log.status().message();
  ASSERT_GE(log->size(), 2u);
  const AuditEvent& read = (*log)[log->size() - 2];
  const AuditEvent& listing = log->back();
  EXPECT_EQ(read.action, "document.read");
  EXPECT_EQ(read.objects, std::vector<std::string>{doc});
  EXPECT_EQ(listing.action, "document.list");
  EXPECT_EQ(listing.objects, std::vector<std::string>{ingest_case_});
  EXPECT_LE(read.at, listing.at);
  Open();  // sweeps the lost documents' objects
  EXPECT_EQ(v_->swept_orphans().size(), 3u);
  ExpectVerified();
}

TEST_F(VaultThreadsTest, AReadWhoseJournalFailsCommitsTheBatchAndIsRecordedEvenIfThatFails) {
  std::atomic<bool> fail_journal{false};
  options_.journal_fault = [&]() -> Status {
    return fail_journal ? IoError("no space left on device (injected)") : Status::Ok();
  };
  OpenFailingBatchCommitsOnDemand();
  const std::string doc = contents_.begin()->first;
  ASSERT_TRUE(v_->BeginBatch().ok());
  const std::string a1 = Store(ingest_case_, "a1.dcm", "first of the batch");
  fail_journal = true;
  fail_commits_ = true;
  std::thread reader([&] {
    auto got = Read(doc);  // neither the journal nor the batch can be written: recorded alone
    ASSERT_TRUE(got.ok()) << got.status().message();
    EXPECT_EQ(*got, contents_.at(doc));
  });
  reader.join();
  fail_commits_ = false;
  fail_journal = false;
  EXPECT_EQ(v_->audit_commit_stats().journaled_events, 0u);
  // The batch's owner learns at its next write that the batch was rolled back.
  Status error;
  EXPECT_EQ(Store(ingest_case_, "a2.dcm", "second of the batch", &error), "");
  EXPECT_EQ(error.code(), StatusCode::kIoError);
  EXPECT_EQ(error.message(), "the open batch was rolled back: no space left on device (injected)");
  EXPECT_FALSE(v_->in_batch());
  EXPECT_TRUE(v_->CommitBatch().ok());  // nothing left to commit
  EXPECT_TRUE(ListedIds(ingest_case_).empty());
  EXPECT_EQ(CountEvents(vault_dir_, "document.store").count(a1), 0u);
  EXPECT_EQ(CountEvents(vault_dir_, "document.read")[doc], 1);
  Open();
  ExpectVerified();
}

TEST_F(VaultThreadsTest, AnotherThreadsWriteCommitsTheBatchFirstAndNeverJoinsIt) {
  OpenFailingBatchCommitsOnDemand();
  ASSERT_TRUE(v_->BeginBatch().ok());
  const std::string a1 = Store(ingest_case_, "a1.dcm", "first of the batch");
  std::string other;
  std::thread writer([&] { other = *v_->AddPatient({"Сидорова Анна", "1990-01-02", "", ""}); });
  writer.join();
  const std::string a2 = Store(ingest_case_, "a2.dcm", "second of the batch");
  fail_commits_ = true;
  EXPECT_EQ(v_->CommitBatch().code(), StatusCode::kIoError);
  fail_commits_ = false;
  EXPECT_EQ(ListedIds(ingest_case_), std::set<std::string>{a1});
  EXPECT_EQ(v_->GetPatient(other)->info.name, "Сидорова Анна");
  EXPECT_EQ(CountEvents(vault_dir_, "patient.add").count(other), 1u);
}

TEST_F(VaultThreadsTest, TheBatchOwnerReadsItsOwnUncommittedDocuments) {
  ASSERT_TRUE(v_->BeginBatch().ok());
  const std::string a1 = Store(ingest_case_, "a1.dcm", "stored in the batch");
  // The owner sees the batch's rows; another thread sees only what is committed.
  EXPECT_EQ(v_->GetDocument(a1)->name, "a1.dcm");
  std::thread other([&] { EXPECT_EQ(v_->GetDocument(a1).status().code(), StatusCode::kNotFound); });
  other.join();
  // The owner's read is recorded in a transaction of its own: the batch's work so far is
  // committed first.
  const uint64_t batches = v_->committed_batches();
  EXPECT_EQ(*Read(a1), "stored in the batch");
  EXPECT_EQ(v_->committed_batches(), batches + 1);
  std::thread after([&] { EXPECT_TRUE(v_->GetDocument(a1).ok()); });
  after.join();
  ASSERT_TRUE(v_->CommitBatch().ok());
  EXPECT_EQ(CountEvents(vault_dir_, "document.read")[a1], 1);
  ExpectVerified();
}

TEST_F(VaultThreadsTest, EventsRecordedAtOnceShareOneCommitAndOneSignedHead) {
  // The first reader's group is held up as it begins to commit: the other readers' events
  // queue meanwhile, and all of them make the next group.
  std::atomic<bool> hold{false}, held{false};
  options_.audit_group_hook = [&] {
    if (hold.exchange(false)) {
      held = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(800));
    }
  };
  for (bool grouped : {true, false}) {
    SCOPED_TRACE(grouped ? "grouped" : "one commit per event");
    options_.group_audit_events = grouped;
    held = false;
    Open();
    const std::string doc = contents_.begin()->first;
    constexpr int kFollowers = 10;
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> followers;
    for (int i = 0; i < kFollowers; ++i) {
      followers.emplace_back([&] {
        EXPECT_TRUE(v_->GetDocument(doc).ok());  // opens this thread's reader
        ++ready;
        while (!go) std::this_thread::yield();
        EXPECT_EQ(*Read(doc), contents_.at(doc));
      });
    }
    while (ready < kFollowers) std::this_thread::yield();
    const AuditCommitStats before = v_->audit_commit_stats();
    hold = true;
    std::thread leader([&] { EXPECT_EQ(*Read(doc), contents_.at(doc)); });
    while (!held) std::this_thread::yield();
    go = true;
    leader.join();
    for (auto& f : followers) f.join();
    const AuditCommitStats after = v_->audit_commit_stats();
    EXPECT_EQ(after.events - before.events, kFollowers + 1u);
    EXPECT_EQ(after.commits - before.commits, grouped ? 2u : kFollowers + 1u);
  }
  ExpectVerified();
}

// Reads beside an open batch never commit it (each commit would sync the ingest's objects):
// their events are made durable in the journal, at most every audit_batch_gap_ms, all that
// arrived meanwhile together, and go into the log with the batch's next commit.
TEST_F(VaultThreadsTest, ReadsBesideABatchAreJournaledTogetherAndCommittedWithIt) {
  options_.audit_batch_gap_ms = 1500;
  Open();
  const std::string doc = contents_.begin()->first;
  constexpr int kReaders = 8;
  using Steady = std::chrono::steady_clock;
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<Steady::time_point> returned(kReaders);
  std::vector<std::thread> readers;
  for (int i = 0; i < kReaders; ++i) {
    readers.emplace_back([&, i] {
      EXPECT_TRUE(v_->GetDocument(doc).ok());  // opens this thread's reader
      ++ready;
      while (!go) std::this_thread::yield();
      EXPECT_EQ(*Read(doc), contents_.at(doc));
      returned[i] = Steady::now();
    });
  }
  while (ready < kReaders) std::this_thread::yield();
  ASSERT_TRUE(v_->BeginBatch().ok());
  const std::string stored = Store(ingest_case_, "a1.dcm", "in the batch");
  const uint64_t batches = v_->committed_batches();
  const AuditCommitStats before = v_->audit_commit_stats();
  auto journals = [&] {
    int n = 0;
    for (const auto& e : fs::directory_iterator(vault_dir_)) {
      n += e.path().filename().string().rfind("audit-journal.", 0) == 0;
    }
    return n;
  };
  // The first read beside the batch is journaled at once.
  std::thread first([&] { EXPECT_EQ(*Read(doc), contents_.at(doc)); });
  first.join();
  const auto first_written = Steady::now();
  EXPECT_EQ(v_->audit_commit_stats().journal_writes - before.journal_writes, 1u);
  EXPECT_EQ(journals(), 1);
  EXPECT_EQ(CountEvents(vault_dir_, "document.read")[doc], 0);  // not in the log yet
  // The next ones wait for the gap and share one write.
  go = true;
  for (auto& r : readers) r.join();
  for (int i = 0; i < kReaders; ++i) {
    EXPECT_GE(returned[i] - first_written, std::chrono::milliseconds(1400)) << "reader " << i;
  }
  const AuditCommitStats after = v_->audit_commit_stats();
  EXPECT_EQ(after.journaled_events - before.journaled_events, uint64_t{kReaders + 1});
  EXPECT_EQ(after.journal_writes - before.journal_writes, 2u);
  EXPECT_EQ(after.commits, before.commits);
  EXPECT_EQ(v_->committed_batches(), batches);  // never committed for a read
  EXPECT_EQ(CountEvents(vault_dir_, "document.read")[doc], 0);
  ASSERT_TRUE(v_->CommitBatch().ok());
  EXPECT_EQ(ListedIds(ingest_case_), std::set<std::string>{stored});
  EXPECT_EQ(CountEvents(vault_dir_, "document.read")[doc], kReaders + 1);
  EXPECT_EQ(journals(), 0);  // folded, and gone
  ExpectVerified();
}

TEST_F(VaultThreadsTest, ReadsJournaledBesideABatchThatNeverCommitsAreInTheLogOnceItCloses) {
  const std::string doc = contents_.begin()->first;
  ASSERT_TRUE(v_->BeginBatch().ok());
  const std::string a1 = Store(ingest_case_, "a1.dcm", "never committed");
  std::thread reader([&] { EXPECT_EQ(*Read(doc), contents_.at(doc)); });
  reader.join();
  EXPECT_EQ(CountEvents(vault_dir_, "document.read")[doc], 0);
  v_.reset();  // the batch rolls back; the read's event does not wait for the next open
  EXPECT_EQ(CountEvents(vault_dir_, "document.read")[doc], 1);
  EXPECT_TRUE(Journals().empty());
  Open();
  EXPECT_EQ(CountEvents(vault_dir_, "document.read")[doc], 1);
  EXPECT_EQ(v_->swept_orphans().size(), 1u);
  ExpectVerified();
}

TEST_F(VaultThreadsTest, AJournalLeftByAProcessThatDiedIsFoldedByTheNextOpen) {
  const std::string doc = contents_.begin()->first;
  DieWithReadsJournaled(doc, 2);
  EXPECT_EQ(CountEvents(vault_dir_, "document.read")[doc], 0);
  Open();
  EXPECT_TRUE(Journals().empty());
  EXPECT_EQ(CountEvents(vault_dir_, "document.read")[doc], 2);  // every answered read
  EXPECT_TRUE(ListedIds(ingest_case_).empty());                 // the batch never committed
  EXPECT_EQ(v_->swept_orphans().size(), 1u);
  ExpectVerified();
}

// Whoever can write the vault folder, without the passphrase, cannot put an event into the log
// through a journal; a record cut short (never durable, so never answered) is left out.
TEST_F(VaultThreadsTest, AJournalChangedOutsideDossierIsRefusedByNameAndACutRecordIsLeftOut) {
  const std::string doc = contents_.begin()->first;
  DieWithReadsJournaled(doc, 2);
  const fs::path cut = Journals().front();
  fs::resize_file(cut, fs::file_size(cut) - 5);  // the second record's MAC loses its end
  Open();
  EXPECT_TRUE(Journals().empty());
  EXPECT_EQ(CountEvents(vault_dir_, "document.read")[doc], 1);

  DieWithReadsJournaled(doc, 1);
  const fs::path changed = Journals().front();
  std::string bytes = testing::ReadFile(changed);
  const size_t at = bytes.find("document.read");
  ASSERT_NE(at, std::string::npos);
  bytes.replace(at, 13, "document.list");  // a forged record: same length, another action
  testing::WriteFile(changed, bytes);
  ExpectRefusedUntilRemoved(changed,
                            ": record 1 fails authentication: the journal was changed outside "
                            "Dossier; move it out of the vault (keep it as evidence) and open it "
                            "again");
  EXPECT_EQ(CountEvents(vault_dir_, "document.read")[doc], 1);
  EXPECT_EQ(CountEvents(vault_dir_, "document.list").count(doc), 0u);

  // A whole record taken out of the middle: each record's MAC still holds, its number not.
  DieWithReadsJournaled(doc, 2);
  const fs::path dropped = Journals().front();
  bytes = testing::ReadFile(dropped);
  const size_t first = 4 +
                       (static_cast<uint8_t>(bytes[0]) | static_cast<uint8_t>(bytes[1]) << 8 |
                        static_cast<uint8_t>(bytes[2]) << 16) +
                       32;
  testing::WriteFile(dropped, bytes.substr(first));
  ExpectRefusedUntilRemoved(dropped,
                            ": record 1 is numbered 2: records were moved outside Dossier; move it "
                            "out of the vault and open it again");
  EXPECT_EQ(CountEvents(vault_dir_, "document.read")[doc], 1);
  ExpectVerified();
}

TEST_F(VaultThreadsTest, AWholeBatchNeverCommitsBeforeItsEndAndAbandonedLeavesNothing) {
  options_.batch_max_documents = 2;
  Open();
  const size_t stores = CountEvents(vault_dir_, "document.store").size();
  const uint64_t batches = v_->committed_batches();
  ASSERT_TRUE(v_->BeginBatch(Vault::BatchMode::kWhole).ok());
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(Store(ingest_case_, "w" + std::to_string(i) + ".dcm", PseudoRandom(5000, i)));
    ASSERT_FALSE(ids.back().empty());
  }
  // Five documents, past a limit of two: none committed, none seen by another thread.
  EXPECT_EQ(v_->committed_batches(), batches);
  std::thread other([&] { EXPECT_EQ(ListedIds(ingest_case_), std::set<std::string>{}); });
  other.join();
  // The owner's own read goes to the journal: a commit for it would break the batch.
  EXPECT_EQ(*Read(ids[0]), PseudoRandom(5000, 0));
  EXPECT_EQ(v_->committed_batches(), batches);
  EXPECT_FALSE(v_->batch_gave_way());
  v_->AbandonBatch();
  EXPECT_FALSE(v_->in_batch());
  EXPECT_EQ(ListedIds(ingest_case_), std::set<std::string>{});
  EXPECT_EQ(CountEvents(vault_dir_, "document.store").size(), stores);
  ExpectVerified();  // no orphan: the batch's objects went with it
  Open();
  EXPECT_EQ(CountEvents(vault_dir_, "document.read")[ids[0]], 1);  // the read is on record
}

TEST_F(VaultThreadsTest, AWholeBatchGivesWayToAnotherThreadsWriteAndKeepsNothing) {
  ASSERT_TRUE(v_->BeginBatch(Vault::BatchMode::kWhole).ok());
  const std::string a1 = Store(ingest_case_, "a1.dcm", "first of the batch");
  ASSERT_FALSE(a1.empty());
  std::string other;
  std::thread writer([&] { other = *v_->AddPatient({"Сидорова Анна", "1990-01-02", "", ""}); });
  writer.join();  // not held up by the batch
  EXPECT_TRUE(v_->batch_gave_way());
  // The batch refuses every later write of its owner: none may commit alone.
  const std::string why =
      "the open batch was rolled back: the batch gave way to another write and was rolled "
      "back: nothing of it is kept";
  for (const char* name : {"a2.dcm", "a3.dcm"}) {
    Status refused;
    EXPECT_EQ(Store(ingest_case_, name, "later in the batch", &refused), "");
    EXPECT_EQ(refused.code(), StatusCode::kRejected);
    EXPECT_EQ(refused.message(), why);
  }
  const Status end = v_->CommitBatch();
  EXPECT_EQ(end.code(), StatusCode::kRejected);
  EXPECT_EQ(end.message(),
            "the batch gave way to another write and was rolled back: nothing of it is kept");
  EXPECT_FALSE(v_->batch_gave_way());
  EXPECT_EQ(ListedIds(ingest_case_), std::set<std::string>{});
  EXPECT_EQ(v_->GetPatient(other)->info.name, "Сидорова Анна");
  EXPECT_EQ(CountEvents(vault_dir_, "document.store").count(a1), 0u);
  ExpectVerified();
}

TEST_F(VaultThreadsTest, ASecondThreadsBatchWaitsForTheFirst) {
  ASSERT_TRUE(v_->BeginBatch().ok());
  const std::string a1 = Store(ingest_case_, "a1.dcm", "first thread's");
  std::atomic<bool> began{false};
  std::string b1;
  std::thread second([&] {
    ASSERT_TRUE(v_->BeginBatch().ok());  // waits for the first thread's CommitBatch
    began = true;
    EXPECT_TRUE(v_->in_batch());
    b1 = Store(ingest_case_, "b1.dcm", "second thread's");
    EXPECT_TRUE(v_->CommitBatch().ok());
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(began);
  EXPECT_TRUE(v_->in_batch());
  ASSERT_TRUE(v_->CommitBatch().ok());
  second.join();
  EXPECT_TRUE(began);
  EXPECT_EQ(ListedIds(ingest_case_), (std::set<std::string>{a1, b1}));
}

TEST_F(VaultThreadsTest, TwoThreadsStoreLargeDocumentsAtOnce) {
  // One in a batch, one alone: they share the object store's file and hashing threads, and
  // each document keeps its own bytes and its own content digest (a second copy of each is
  // found to be a duplicate).
  constexpr int kEach = 4;
  std::map<std::string, std::string> stored;
  std::mutex mu;
  auto store_all = [&](const std::string& case_id, int seed, bool batch) {
    if (batch) {
      ASSERT_TRUE(v_->BeginBatch().ok());
    }
    for (int i = 0; i < kEach; ++i) {
      const std::string content = PseudoRandom((1 << 20) + 4096 * i, seed + i);
      Status error;
      const std::string id = Store(case_id, "big" + std::to_string(i) + ".pdf", content, &error);
      ASSERT_FALSE(id.empty()) << error.message();
      std::lock_guard<std::mutex> lock(mu);
      stored[id] = content;
    }
    for (int i = 0; i < kEach; ++i) {
      auto w = v_->BeginDocument({case_id, "again.pdf", "pdf"});
      ASSERT_TRUE(w.ok());
      ASSERT_TRUE((*w)->Write(AsBytes(PseudoRandom((1 << 20) + 4096 * i, seed + i))).ok());
      auto again = (*w)->Commit();
      ASSERT_TRUE(again.ok()) << again.status().message();
      EXPECT_TRUE(again->duplicate);
    }
    if (batch) {
      ASSERT_TRUE(v_->CommitBatch().ok());
    }
  };
  std::thread batched([&] { store_all(ingest_case_, 100, true); });
  std::thread alone([&] { store_all(read_case_, 200, false); });
  batched.join();
  alone.join();
  ASSERT_EQ(stored.size(), 2u * kEach);
  for (const auto& [id, content] : stored) EXPECT_EQ(*Read(id), content) << id;
  ExpectVerified();
}

TEST_F(VaultThreadsTest, RecordFailureKnowsWhatTheCallingThreadRecorded) {
  // A refusal already on record for this thread is not recorded twice; another thread's
  // refusal of the same act does not count for this one.
  const std::string doc = contents_.begin()->first;
  ASSERT_TRUE(v_->Remove(doc, "scanned twice").ok());
  StringSink sink;
  EXPECT_EQ(v_->ReadDocument(doc, sink).code(), StatusCode::kRejected);  // recorded, refused
  std::thread other(
      [&] { EXPECT_TRUE(v_->RecordFailure("document.read", {doc}, Rejected("removed")).ok()); });
  other.join();
  EXPECT_TRUE(v_->RecordFailure("document.read", {doc}, Rejected("removed")).ok());
  AuditFilter filter;
  filter.action = "document.read";
  auto events = ReadAuditLog(vault_dir_, filter);
  ASSERT_TRUE(events.ok());
  int refused = 0;
  for (const auto& e : *events) refused += e.outcome == "refused";
  EXPECT_EQ(refused, 2);  // the read's own, and the other thread's
}

}  // namespace
}  // namespace dossier::vault
