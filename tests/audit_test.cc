// The audit log: every kind of tampering done directly in SQLite (triggers dropped), and
// checkpoints that catch a rolled-back or forked history signed with the real key.
#include "vault/audit.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "common/encoding.h"
#include "tests/test_util.h"
#include "vault/internal/audit_log.h"
#include "vault/vault.h"

namespace dossier::vault {
namespace {

using testing::kPassphrase;

class AuditTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    vault_ = dir_ / "vault";
    ASSERT_TRUE(Vault::Create(vault_, kPassphrase, {"alice", "operator"}).ok());
    auto v = Open();
    patient_ = *v->AddPatient({"Петров Пётр", "1975-06-30", "", ""});
    case_ = *v->OpenCase(patient_, "consultation");
    ASSERT_TRUE(v->ListPatients().ok());
    ASSERT_TRUE(v->ListCases(std::nullopt).ok());
    // events: vault.create, patient.add, case.open, patient.list, case.list
  }

  std::unique_ptr<Vault> Open() {
    auto v = Vault::Open(vault_, kPassphrase, {"alice", "operator"});
    EXPECT_TRUE(v.ok()) << v.status().message();
    return std::move(v).value();
  }

  // Runs SQL on the catalog as an attacker with file access would: triggers dropped first.
  void Tamper(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((vault_ / "catalog.db").c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    const std::string all =
        "DROP TRIGGER IF EXISTS audit_events_no_update;"
        "DROP TRIGGER IF EXISTS audit_events_no_delete;" +
        sql;
    EXPECT_EQ(sqlite3_exec(db, all.c_str(), nullptr, nullptr, &err), SQLITE_OK) << err;
    sqlite3_free(err);
    sqlite3_close(db);
  }

  std::vector<std::string> Problems(const std::string* checkpoint = nullptr) {
    auto r = VerifyAuditLog(vault_, checkpoint);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r->problems : std::vector<std::string>{"unreadable"};
  }

  fs::path vault_;
  std::string patient_, case_;
};

TEST_F(AuditTest, AnUntouchedLogVerifies) {
  auto r = VerifyAuditLog(vault_, nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->intact());
  EXPECT_EQ(r->events, 5);
  EXPECT_EQ(r->public_key_hex, *ReadAuditPublicKey(vault_));
  EXPECT_EQ(testing::ReadFile(vault_ / "audit.pub"), r->public_key_hex + "\n");
  auto events = ReadAuditLog(vault_, {});
  ASSERT_EQ(events->size(), 5u);
  EXPECT_EQ((*events)[1].action, "patient.add");
  EXPECT_EQ((*events)[1].objects, std::vector<std::string>{patient_});
  EXPECT_EQ((*events)[1].patient, patient_);
  EXPECT_EQ((*events)[1].actor, "alice");
  EXPECT_EQ((*events)[1].role, "operator");
}

TEST_F(AuditTest, TriggersRefuseUpdatesAndDeletesThroughSqlite) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((vault_ / "catalog.db").c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, "UPDATE audit_events SET actor='x'", nullptr, nullptr, nullptr),
            SQLITE_CONSTRAINT);
  EXPECT_EQ(sqlite3_exec(db, "DELETE FROM audit_events", nullptr, nullptr, nullptr),
            SQLITE_CONSTRAINT);
  sqlite3_close(db);
}

TEST_F(AuditTest, AModifiedEventIsNamed) {
  Tamper("UPDATE audit_events SET actor = 'mallory' WHERE seq = 3");
  EXPECT_EQ(Problems(), (std::vector<std::string>{
                            "event 3 was modified after it was written: its content no longer "
                            "matches its recorded hash",
                            "the recomputed root does not match the signed head: the log was "
                            "rewritten"}));
}

TEST_F(AuditTest, ADeletedEventIsNamed) {
  Tamper("DELETE FROM audit_events WHERE seq = 2");
  const auto p = Problems();
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0], "events 2..2 are missing: deleted from the log");
  EXPECT_EQ(p[1],
            "the signed head covers 5 events but the log holds 4: events were added or "
            "removed outside Dossier");
}

TEST_F(AuditTest, DeletingTheLastEventBreaksTheSignedHead) {
  Tamper("DELETE FROM audit_events WHERE seq = 5");
  EXPECT_EQ(Problems(), std::vector<std::string>{
                            "the signed head covers 5 events but the log holds 4: events were "
                            "added or removed outside Dossier"});
}

TEST_F(AuditTest, AnInsertedEventIsCaught) {
  // Shift events 3.. up by one (highest first) and slip a forged event in at 3.
  Tamper(
      "UPDATE audit_events SET seq = -seq WHERE seq >= 3;"
      "UPDATE audit_events SET seq = 1 - seq WHERE seq < 0;"
      "INSERT INTO audit_events SELECT 3, at, actor, role, 'document.read', objects, patient, "
      "outcome, purpose, leaf_hash, root_after FROM audit_events WHERE seq = 2;");
  const auto p = Problems();
  ASSERT_GE(p.size(), 1u);
  EXPECT_EQ(p[0],
            "event 3 was modified after it was written: its content no longer matches "
            "its recorded hash");
  EXPECT_EQ(p.back(),
            "the signed head covers 5 events but the log holds 6: events were added "
            "or removed outside Dossier");
}

TEST_F(AuditTest, ReorderedEventsAreCaught) {
  Tamper(
      "UPDATE audit_events SET seq = 100 WHERE seq = 2;"
      "UPDATE audit_events SET seq = 2 WHERE seq = 3;"
      "UPDATE audit_events SET seq = 3 WHERE seq = 100;");
  const auto p = Problems();
  ASSERT_GE(p.size(), 2u);
  EXPECT_EQ(p[0],
            "event 2 was modified after it was written: its content no longer matches "
            "its recorded hash");
  EXPECT_EQ(p[1],
            "event 3 was modified after it was written: its content no longer matches "
            "its recorded hash");
}

TEST_F(AuditTest, RecomputingEveryHashStillFailsTheSignature) {
  // An attacker who knows the format rewrites event 2, recomputes every leaf, every tree
  // head and the stored head — everything but the signature, which needs the vault's key.
  auto events = *ReadAuditLog(vault_, {});
  events[1].actor = "mallory";
  internal::MerkleFrontier tree;
  std::string sql;
  for (const auto& e : events) {
    const Bytes leaf = internal::LeafHash(e);
    tree.Push(leaf);
    sql += fmt::format(
        "UPDATE audit_events SET actor = '{}', leaf_hash = x'{}', root_after = "
        "x'{}' WHERE seq = {};",
        e.actor, ToHex(leaf), ToHex(tree.Root()), e.seq);
  }
  sql += fmt::format("UPDATE audit_head SET root = x'{}', frontier = x'{}';", ToHex(tree.Root()),
                     ToHex(tree.Serialize()));
  Tamper(sql);
  EXPECT_EQ(Problems(), std::vector<std::string>{"the signature on the log head does not verify "
                                                 "with the vault's audit key"});
}

TEST_F(AuditTest, ACheckpointCatchesARolledBackLog) {
  const fs::path backup = dir_ / "catalog.backup";
  fs::copy_file(vault_ / "catalog.db", backup);  // closed vault: no WAL, a consistent copy
  std::string checkpoint;
  {
    auto v = Open();
    ASSERT_TRUE(v->ListPatients().ok());
    checkpoint = *v->Checkpoint();  // covers 7 events
  }
  EXPECT_EQ(Problems(&checkpoint), std::vector<std::string>{});
  fs::copy_file(backup, vault_ / "catalog.db", fs::copy_options::overwrite_existing);
  // Alone, the restored log is self-consistent and validly signed ...
  EXPECT_EQ(Problems(), std::vector<std::string>{});
  // ... but it no longer extends what the compliance officer saved.
  EXPECT_EQ(Problems(&checkpoint),
            std::vector<std::string>{
                "the log holds 5 events but the checkpoint covered 7: history was truncated"});
}

TEST_F(AuditTest, ACheckpointCatchesAForkedHistorySignedWithTheRealKey) {
  const fs::path backup = dir_ / "catalog.backup";
  fs::copy_file(vault_ / "catalog.db", backup);
  std::string checkpoint;
  {
    auto v = Open();
    ASSERT_TRUE(v->GetPatient(patient_).ok());  // the access someone wants to hide
    checkpoint = *v->Checkpoint();
  }
  fs::copy_file(backup, vault_ / "catalog.db", fs::copy_options::overwrite_existing);
  {
    auto v = Open();  // an insider with the passphrase writes a different history
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(v->ListCases(std::nullopt).ok());
  }
  EXPECT_EQ(Problems(), std::vector<std::string>{});
  EXPECT_EQ(Problems(&checkpoint),
            std::vector<std::string>{
                "the log no longer extends the checkpoint: its first 7 events were rewritten"});
}

TEST_F(AuditTest, AReplacedSigningKeyIsNoticed) {
  testing::WriteFile(vault_ / "audit.pub", std::string(64, 'a') + "\n");
  EXPECT_EQ(Problems(), std::vector<std::string>{"the audit key in the catalog differs from "
                                                 "audit.pub: the signing key was replaced"});
}

TEST_F(AuditTest, AnAlteredOrForeignCheckpointIsRefused) {
  std::string checkpoint = *Open()->Checkpoint();
  std::string altered = checkpoint;
  altered.replace(altered.find("size 6"), 6, "size 3");
  EXPECT_EQ(Problems(&altered),
            std::vector<std::string>{"the checkpoint's signature does not "
                                     "verify: the checkpoint file was altered"});

  const fs::path other = dir_ / "other";
  ASSERT_TRUE(Vault::Create(other, kPassphrase, {"bob", "operator"}).ok());
  auto v = Vault::Open(other, kPassphrase, {"bob", "operator"});
  const std::string foreign = *(*v)->Checkpoint();
  const auto p = Problems(&foreign);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].rfind("the checkpoint belongs to vault vlt_", 0), 0u) << p[0];

  // Lines appended after the signature must not change what is verified.
  const std::string appended = checkpoint + "size 1\nroot " + std::string(64, '0') + "\n";
  EXPECT_EQ(VerifyAuditLog(vault_, &appended).status().code(), StatusCode::kInvalidArgument);

  const std::string junk = "hello";
  auto r = VerifyAuditLog(vault_, &junk);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(AuditTest, EventsCanBeFilteredByPatientAndDate) {
  auto mine = ReadAuditLog(vault_, {.patient = patient_, .since = std::nullopt});
  ASSERT_EQ(mine->size(), 2u);
  EXPECT_EQ((*mine)[0].action, "patient.add");
  EXPECT_EQ((*mine)[1].action, "case.open");
  EXPECT_EQ(ReadAuditLog(vault_, {.patient = std::nullopt, .since = "2999-01-01"})->size(), 0u);
  EXPECT_EQ(ReadAuditLog(vault_, {.patient = std::nullopt, .since = "2000-01-01"})->size(), 5u);
}

}  // namespace
}  // namespace dossier::vault
