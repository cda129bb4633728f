// Processes sharing one vault (issue 18): every `dossier` process holds the vault's lock
// shared, so a server, CLI commands and `audit verify` have it open at once; SQLite
// serialises their writes, and a long ingest lets other writers in between its documents.
// Only a key rotation (and a schema upgrade, or settling an interrupted rotation) holds the
// vault alone, and whoever waits for it says what it waits for. Real processes through the
// real binary, on a real vault.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/encoding.h"
#include "tests/test_util.h"
#include "vault/audit.h"
#include "vault/vault.h"

namespace dossier {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const vault::Actor kActor{"tester", "operator"};

// A `dossier` process started in the background, its stdout and stderr in files.
class Proc {
 public:
  Proc(const fs::path& vault, const fs::path& pass, const std::vector<std::string>& args,
       const fs::path& log)
      : log_(log), pid_(testing::SpawnDossier(vault, pass, args, log)) {}
  ~Proc() {
    if (!status_) {
      ::kill(pid_, SIGKILL);
      Wait();
    }
  }
  int pid() const { return pid_; }
  bool Running() {
    if (status_) return false;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == 0) return true;
    status_ = st;
    return false;
  }
  // The exit code (128 + signal when killed).
  int Wait() {
    if (!status_) {
      int st = 0;
      ::waitpid(pid_, &st, 0);
      status_ = st;
    }
    return WIFEXITED(*status_) ? WEXITSTATUS(*status_) : 128 + WTERMSIG(*status_);
  }
  std::string Out() const { return testing::ReadFile(log_); }
  std::string Err() const { return testing::ReadFile(log_.string() + ".err"); }

 private:
  fs::path log_;
  int pid_;
  std::optional<int> status_;
};

// Polls `done` until it holds or `limit` passed.
bool Eventually(const std::function<bool()>& done, std::chrono::seconds limit = 60s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

class ConcurrencyTest : public testing::CliTestBase {
 protected:
  void SetUp() override {
    CliTestBase::SetUp();
    ASSERT_TRUE(vault::Vault::Create(vault_, testing::kPassphrase, kActor).ok());
    auto v = Open();
    ASSERT_TRUE(v);
    patient_ = *v->AddPatient({"Кузнецова Мария", "1985-07-12", "", ""});
    for (int i = 0; i < 6; ++i) cases_.push_back(*v->OpenCase(patient_, "second opinion"));
  }

  std::unique_ptr<vault::Vault> Open(const vault::VaultOptions& options = {},
                                     vault::OpenMode mode = vault::OpenMode::kNormal) {
    auto v = vault::Vault::Open(vault_, testing::kPassphrase, kActor, options, mode);
    EXPECT_TRUE(v.ok()) << v.status().message();
    return v.ok() ? std::move(v).value() : nullptr;
  }

  // `n` text files of distinct content in dir_/name; their names.
  std::set<std::string> Folder(const std::string& name, int n, size_t size, uint64_t seed) {
    std::set<std::string> names;
    for (int i = 0; i < n; ++i) {
      std::string content = testing::PseudoRandom(size + (i * 37) % 1000, seed * 100000 + i);
      for (char& c : content) c = static_cast<char>('a' + static_cast<unsigned char>(c) % 26);
      const std::string file = "note" + std::to_string(10000 + i) + ".txt";
      testing::WriteFile(dir_ / name / file, content);
      names.insert(name + "/" + file);
    }
    return names;
  }

  std::unique_ptr<Proc> Spawn(const std::string& log, const std::vector<std::string>& args,
                              const fs::path& pass = {}) {
    return std::make_unique<Proc>(vault_, pass.empty() ? pass_ : pass, args, dir_ / log);
  }

  // Object files under objects/ (committed or not).
  std::set<std::string> ObjectFiles() const {
    std::set<std::string> out;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(vault_ / "objects", ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file(ec)) out.insert(it->path().filename().string());
    }
    return out;
  }

  // Rows in `documents`, read as an outsider would (read-only, beside the writers).
  int64_t CommittedDocuments() const {
    sqlite3* db = nullptr;
    int64_t n = -1;
    if (sqlite3_open_v2((vault_ / "catalog.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
        SQLITE_OK) {
      sqlite3_busy_timeout(db, 5000);
      sqlite3_stmt* s = nullptr;
      if (sqlite3_prepare_v2(db, "SELECT count(*) FROM documents", -1, &s, nullptr) == SQLITE_OK &&
          sqlite3_step(s) == SQLITE_ROW) {
        n = sqlite3_column_int64(s, 0);
      }
      sqlite3_finalize(s);
    }
    sqlite3_close(db);
    return n;
  }

  // The names of the case's documents; each must be there once.
  std::multiset<std::string> DocNames(const std::string& case_id) {
    std::multiset<std::string> names;
    for (const auto& d : Json({"docs", "--case", case_id})) names.insert(d["name"]);
    return names;
  }

  // `vault verify` and `audit verify` both clean: every object whole, no orphan, the log intact.
  void ExpectClean() {
    testing::RunResult verify = Run({"vault", "verify"});
    EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
    EXPECT_NE(verify.out.find(": all intact\n"), std::string::npos) << verify.out;
    EXPECT_EQ(verify.out.find("orphan"), std::string::npos) << verify.out;
    testing::RunResult audit = Run({"audit", "verify"});
    EXPECT_EQ(audit.exit_code, 0) << audit.out << audit.err;
  }

  std::string patient_;
  std::vector<std::string> cases_;
};

std::set<std::string> Unique(const std::multiset<std::string>& names) {
  return {names.begin(), names.end()};
}

TEST_F(ConcurrencyTest, TwoIngestsIntoOneVaultAtOnceBothComplete) {
  const auto a = Folder("a", 300, 20000, 1);
  const auto b = Folder("b", 300, 20000, 2);
  auto first =
      Spawn("a.log", {"--actor", "alpha", "ingest", "--case", cases_[0], (dir_ / "a").string()});
  auto second =
      Spawn("b.log", {"--actor", "beta", "ingest", "--case", cases_[0], (dir_ / "b").string()});
  EXPECT_EQ(first->Wait(), 0) << first->Err();
  EXPECT_EQ(second->Wait(), 0) << second->Err();
  EXPECT_NE(first->Out().find("300 stored, 0 duplicate, 0 skipped, 0 rejected"), std::string::npos)
      << first->Out();
  EXPECT_NE(second->Out().find("300 stored, 0 duplicate, 0 skipped, 0 rejected"), std::string::npos)
      << second->Out();
  EXPECT_EQ(first->Err().find("locked"), std::string::npos) << first->Err();
  EXPECT_EQ(second->Err().find("locked"), std::string::npos) << second->Err();

  // Every document once, both folders whole.
  const auto names = DocNames(cases_[0]);
  EXPECT_EQ(names.size(), 600u);
  std::set<std::string> expected = a;
  expected.insert(b.begin(), b.end());
  EXPECT_EQ(Unique(names), expected);
  // They did run side by side: their writes (stores, then analyses) alternate in the log,
  // each letting the other in.
  int switches = 0;
  std::string last;
  for (const auto& e : Json({"audit", "log"})) {
    if (e["actor"] != "alpha" && e["actor"] != "beta") continue;
    if (!last.empty() && e["actor"] != last) ++switches;
    last = e["actor"];
  }
  EXPECT_GE(switches, 2);
  ExpectClean();
}

TEST_F(ConcurrencyTest, CliCommandsFinishWhileALongIngestRuns) {
  // A machine fast enough to finish the ingest first gets a bigger one.
  bool shown = false;
  for (int round = 0, files = 2000; round < 3 && !shown; ++round, files *= 2) {
    SCOPED_TRACE("round " + std::to_string(round));
    const std::string folder = "big" + std::to_string(round);
    Folder(folder, files, 4000, 10 + round);
    auto ingest =
        Spawn(folder + ".log", {"ingest", "--case", cases_[round], (dir_ / folder).string()});
    ASSERT_TRUE(Eventually([&] { return !ObjectFiles().empty() || !ingest->Running(); }));
    bool during = ingest->Running();
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"docs", "--case", cases_[round]},
          std::vector<std::string>{"case", "list"}, std::vector<std::string>{"audit", "verify"}}) {
      testing::RunResult r = Run(args);
      EXPECT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
      EXPECT_EQ(r.err.find("locked"), std::string::npos) << r.err;
      // Done while the ingest still runs: it did not wait for the ingest to finish.
      during = during && ingest->Running();
    }
    EXPECT_EQ(ingest->Wait(), 0) << ingest->Err();
    shown = during;
  }
  EXPECT_TRUE(shown) << "the ingest finished before the commands every time";
}

TEST_F(ConcurrencyTest, PasswdWaitsForTheOtherProcessesToCloseTheVaultThenRotates) {
  const fs::path next = dir_ / "next";
  testing::WriteFile(next, "a brand new passphrase\n");
  auto held = Open();  // this test process has the vault open, as a server would
  ASSERT_TRUE(held);
  auto passwd = Spawn("passwd.log", {"vault", "passwd", "--new-passphrase-file", next.string()});
  const std::string waiting = "dossier: waiting for another dossier process (pid " +
                              std::to_string(::getpid()) +
                              ") to close the vault: a key rotation must run alone\n";
  ASSERT_TRUE(Eventually([&] { return passwd->Err() == waiting || !passwd->Running(); }))
      << passwd->Err();
  EXPECT_EQ(passwd->Err(), waiting);
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(passwd->Running());  // still waiting: nothing changed yet
  EXPECT_TRUE(held->ListPatients().ok());

  held.reset();  // closed: the rotation goes ahead
  EXPECT_EQ(passwd->Wait(), 0) << passwd->Err();
  EXPECT_EQ(passwd->Err(), waiting);  // said once
  EXPECT_EQ(passwd->Out().rfind("passphrase changed and master key rotated", 0), 0u)
      << passwd->Out();
  EXPECT_EQ(testing::RunDossier(vault_, pass_, {"case", "list"}).exit_code, 4);
  EXPECT_EQ(testing::RunDossier(vault_, next, {"case", "list"}).exit_code, 0);
}

TEST_F(ConcurrencyTest, AnOpenDuringAKeyRotationWaitsNamingIt) {
  const fs::path next = dir_ / "next";
  testing::WriteFile(next, "a brand new passphrase\n");
  std::unique_ptr<Proc> opener;
  const std::string waiting = "dossier: waiting for another dossier process (pid " +
                              std::to_string(::getpid()) +
                              ": key rotation (vault passwd)) to finish…\n";
  bool waited = false;
  vault::VaultOptions options;
  options.rotation_step = [&](std::string_view step) {
    if (step != "staged") return;
    // The rotation holds the vault alone: a command started now waits, saying for what.
    opener = Spawn("open.log", {"case", "list"}, next);
    waited = Eventually([&] { return opener->Err() == waiting || !opener->Running(); }) &&
             opener->Running();
  };
  auto v = Open(options);
  ASSERT_TRUE(v);
  ASSERT_TRUE(v->ChangePassphrase("a brand new passphrase").ok());
  ASSERT_TRUE(opener);
  EXPECT_TRUE(waited) << opener->Err();
  // Then it opens with the new passphrase, beside this process that still has the vault open.
  EXPECT_EQ(opener->Wait(), 0) << opener->Err();
  EXPECT_EQ(opener->Err(), waiting);
  for (const auto& c : cases_) EXPECT_NE(opener->Out().find(c), std::string::npos);
}

// What must run alone at an unlock (here the one upgrade of a vault made before row MACs)
// waits for the other processes to close the vault, saying so, and then runs once.
TEST_F(ConcurrencyTest, AnUpgradeAtUnlockWaitsForTheOtherProcessesToClose) {
  const fs::path old_vault = dir_ / "old";
  vault::VaultOptions legacy;
  legacy.legacy_without_row_macs = true;
  ASSERT_TRUE(vault::Vault::Create(old_vault, testing::kPassphrase, kActor, legacy).ok());
  auto held = vault::Vault::Open(old_vault, testing::kPassphrase, kActor, legacy);
  ASSERT_TRUE(held.ok());
  Proc upgrade(old_vault, pass_, {"case", "list"}, dir_ / "upgrade.log");
  const std::string waiting =
      "dossier: waiting for another dossier process (pid " + std::to_string(::getpid()) +
      ") to close the vault: the one-time upgrade of this vault must run alone\n";
  ASSERT_TRUE(Eventually([&] { return upgrade.Err() == waiting || !upgrade.Running(); }))
      << upgrade.Err();
  EXPECT_TRUE(upgrade.Running());
  held->reset();
  EXPECT_EQ(upgrade.Wait(), 0) << upgrade.Err();
  EXPECT_EQ(upgrade.Err(), waiting);
  testing::RunResult log = testing::RunDossier(
      old_vault, pass_, {"--json", "audit", "log", "--action", "vault.upgrade"});
  ASSERT_EQ(log.exit_code, 0) << log.err;
  EXPECT_EQ(nlohmann::json::parse(log.out).size(), 1u);
}

TEST_F(ConcurrencyTest, IngestsKilledAtRandomBesideARunningIngestLeaveItWholeAndTheVaultClean) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  // The survivor runs long enough for victims to be killed beside it on a fast machine too.
  const auto a = Folder("a", 1600, 8000, 3);
  const auto b = Folder("b", 150, 30000, 4);
  auto survivor = Spawn("a.log", {"ingest", "--case", cases_[0], (dir_ / "a").string()});
  ASSERT_TRUE(Eventually([&] { return !ObjectFiles().empty() || !survivor->Running(); }));
  int kills = 0;
  // A random moment of the victim's run: a victim that ended first (a fast machine) makes
  // the next wait shorter, so that some victim is killed while the survivor runs.
  uint32_t longest_ms = 2000;
  for (int i = 0; i < 8 && survivor->Running(); ++i) {
    auto victim = Spawn("b.log", {"ingest", "--case", cases_[1], (dir_ / "b").string()});
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % longest_ms));
    if (victim->Running()) {
      ::kill(victim->pid(), SIGKILL);
      ++kills;
    } else {
      longest_ms = std::max<uint32_t>(100, longest_ms / 2);
    }
    victim->Wait();
  }
  EXPECT_GE(kills, 1);
  EXPECT_EQ(survivor->Wait(), 0) << survivor->Err();
  EXPECT_NE(survivor->Out().find("1600 stored, 0 duplicate"), std::string::npos) << survivor->Out();
  const auto names = DocNames(cases_[0]);  // an open alone: sweeps what the kills left
  EXPECT_EQ(names.size(), 1600u);
  EXPECT_EQ(Unique(names), a);
  ExpectClean();
  // The interrupted upload completes on a second try, each document once.
  EXPECT_EQ(Run({"ingest", "--case", cases_[1], (dir_ / "b").string()}).exit_code, 0);
  const auto again = DocNames(cases_[1]);
  EXPECT_EQ(again.size(), 150u);
  EXPECT_EQ(Unique(again), b);
  ExpectClean();
}

TEST_F(ConcurrencyTest, AnotherProcessOpeningMidIngestSparesItsUncommittedObjects) {
  Folder("a", 300, 20000, 5);
  auto ingest = Spawn("a.log", {"ingest", "--case", cases_[0], (dir_ / "a").string()});
  // Stopped mid-batch: objects on disk that no committed row names yet.
  ASSERT_TRUE(Eventually([&] { return ObjectFiles().size() >= 20 || !ingest->Running(); }));
  ::kill(ingest->pid(), SIGSTOP);
  const auto uncommitted = ObjectFiles();
  ASSERT_EQ(CommittedDocuments(), 0) << "the ingest committed before it was stopped";
  ASSERT_GE(uncommitted.size(), 20u);

  // A second process opens (and sweeps) beside it, then waits for the stopped batch's write
  // lock to record its listing, saying so.
  auto docs = Spawn("docs.log", {"docs", "--case", cases_[0]});
  const std::string waiting = "dossier: waiting for another dossier process (pid " +
                              std::to_string(ingest->pid()) + ") to finish writing to the vault…\n";
  ASSERT_TRUE(Eventually([&] {
    return docs->Err().find("to finish writing") != std::string::npos || !docs->Running();
  })) << docs->Err();
  EXPECT_EQ(docs->Err(), waiting);
  for (const auto& id : uncommitted) {
    EXPECT_TRUE(ObjectFiles().count(id)) << "swept another process's object " << id;
  }
  ::kill(ingest->pid(), SIGCONT);
  EXPECT_EQ(docs->Wait(), 0) << docs->Err();
  EXPECT_EQ(ingest->Wait(), 0) << ingest->Err();
  EXPECT_EQ(DocNames(cases_[0]).size(), 300u);
  ExpectClean();
}

// The failed unlocks are put on record once, though two processes unlock at the same time.
TEST_F(ConcurrencyTest, FailedUnlocksAreFoldedOnceByProcessesOpeningTogether) {
  const fs::path wrong = dir_ / "wrong";
  testing::WriteFile(wrong, "not the passphrase\n");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(testing::RunDossier(vault_, wrong, {"case", "list"}).exit_code, 4);
  }
  auto one = Spawn("one.log", {"case", "list"});
  auto two = Spawn("two.log", {"patient", "list"});
  EXPECT_EQ(one->Wait(), 0) << one->Err();
  EXPECT_EQ(two->Wait(), 0) << two->Err();
  EXPECT_FALSE(fs::exists(vault_ / "unlock-failures"));
  const auto events = Json({"audit", "log", "--action", "vault.unlock_failed"});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["purpose"].get<std::string>().rfind("count=3 ", 0), 0u);
}

// While other processes have the vault open, an unreferenced object is deleted only once it
// is an hour old (a younger one may be theirs, not committed yet); alone, every one is.
TEST_F(ConcurrencyTest, OrphansBesideOtherProcessesAreSweptOnlyOnceOld) {
  auto other = Open();  // another Vault: to the lock, another process
  ASSERT_TRUE(other);
  const std::string old_id = "ff00000000000000000000000000000f";
  const std::string young_id = "ee00000000000000000000000000000e";
  for (const auto& id : {old_id, young_id}) {
    testing::WriteFile(vault_ / "objects" / id.substr(0, 2) / id, "left by a crash");
  }
  fs::last_write_time(vault_ / "objects" / "ff" / old_id, fs::file_time_type::clock::now() - 2h);
  testing::WriteFile(vault_ / "tmp" / "aa.tmp", "a write of another process");
  testing::WriteFile(vault_ / "tmp" / "bb.tmp", "an old leftover");
  fs::last_write_time(vault_ / "tmp" / "bb.tmp", fs::file_time_type::clock::now() - 2h);
  {
    auto check = Open({}, vault::OpenMode::kVerify);
    ASSERT_TRUE(check);
    auto report = check->Verify(true);
    ASSERT_TRUE(report.ok());
    ASSERT_EQ(report->orphans.size(), 1u);
    EXPECT_EQ(report->orphans[0].object_id, old_id);
  }
  {
    auto v = Open();
    ASSERT_TRUE(v);
    EXPECT_EQ(v->swept_orphans(), std::vector<std::string>{old_id});
    EXPECT_TRUE(fs::exists(vault_ / "objects" / "ee" / young_id));
    EXPECT_TRUE(fs::exists(vault_ / "tmp" / "aa.tmp"));
    EXPECT_FALSE(fs::exists(vault_ / "tmp" / "bb.tmp"));
  }
  other.reset();
  auto alone = Open();
  ASSERT_TRUE(alone);
  EXPECT_EQ(alone->swept_orphans(), std::vector<std::string>{young_id});
  EXPECT_FALSE(fs::exists(vault_ / "tmp" / "aa.tmp"));
}

// A document being written when another process erases its patient, or closes its case, is
// refused at its commit: nothing is filed under a destroyed key or in a closed case.
TEST_F(ConcurrencyTest, AWriteInFlightIsRefusedWhenAnotherProcessErasesOrClosesMeanwhile) {
  auto writer_vault = Open();
  auto other = Open();  // to the lock and to SQLite, another process
  ASSERT_TRUE(writer_vault && other);
  const std::string bytes = testing::PseudoRandom(100000, 9);
  auto begin = [&](const std::string& case_id) {
    auto w = writer_vault->BeginDocument({.case_id = case_id, .name = "scan.pdf", .kind = "pdf"});
    EXPECT_TRUE(w.ok()) << w.status().message();
    EXPECT_TRUE((*w)->Write(AsBytes(bytes)).ok());
    return std::move(w).value();
  };

  auto to_closed = begin(cases_[1]);
  ASSERT_TRUE(other->CloseCase(cases_[1]).ok());
  auto closed = to_closed->Commit();
  ASSERT_FALSE(closed.ok());
  EXPECT_EQ(closed.status().message(),
            "case " + cases_[1] + " is closed: nothing can be added to it (`dossier case reopen " +
                cases_[1] + "` opens it again)");

  ASSERT_TRUE(writer_vault->GetPatient(patient_).ok());  // its key is cached now
  auto to_erased = begin(cases_[0]);
  ASSERT_TRUE(other->ErasePatient(patient_).ok());
  auto erased = to_erased->Commit();
  ASSERT_FALSE(erased.ok());
  EXPECT_EQ(erased.status().code(), StatusCode::kRejected);
  EXPECT_EQ(erased.status().message(), "case " + cases_[0] + " belongs to an erased patient");
  auto edited = writer_vault->EditPatient(patient_, {.name = "Другое Имя"});
  EXPECT_EQ(edited.status().code(), StatusCode::kRejected);
  auto docs = writer_vault->ListDocuments(cases_[0]);
  ASSERT_TRUE(docs.ok());
  EXPECT_TRUE(docs->empty());
}

// A writer that waits too long fails saying who holds the vault, never "database is locked".
TEST_F(ConcurrencyTest, AWriterThatWaitsPastTheLimitSaysWhatHoldsTheVault) {
  auto holder = Open();
  ASSERT_TRUE(holder);
  ASSERT_TRUE(holder->BeginBatch().ok());
  // The batch's transaction begins with its first write, and holds the catalog's write lock.
  ASSERT_TRUE(holder->AddPatient({"Сидоров Олег", "1971-01-02", "", ""}).ok());
  vault::VaultOptions options;
  options.busy_limit_ms = 300;
  auto v = Open(options);
  ASSERT_TRUE(v);
  auto added = v->AddPatient({"Петрова Анна", "1990-03-04", "", ""});
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.status().code(), StatusCode::kIoError);
  EXPECT_EQ(added.status().message(),
            "the catalog " + (vault_ / "catalog.db").string() +
                " stayed locked by other dossier processes for 300 ms: let it finish, or stop "
                "it, then run this command again");
  ASSERT_TRUE(holder->CommitBatch().ok());
  EXPECT_TRUE(v->AddPatient({"Петрова Анна", "1990-03-04", "", ""}).ok());
}

}  // namespace
}  // namespace dossier
