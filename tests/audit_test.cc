// The audit log: every kind of tampering done directly in SQLite (triggers dropped), and
// checkpoints that catch a rolled-back or forked history signed with the real key.
#include "vault/audit.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sodium.h>
#include <pwd.h>
#include <sqlite3.h>
#include <unistd.h>

#include "common/encoding.h"
#include "tests/test_util.h"
#include "vault/internal/audit_log.h"
#include "vault/internal/layout.h"
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

  // Runs SQL on the catalog as an attacker with file access would: the audit log's triggers
  // dropped first and put back exactly as they were, so the schema check has nothing to see.
  void Tamper(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((vault_ / "catalog.db").c_str(), &db), SQLITE_OK);
    std::string restore;
    sqlite3_exec(
        db, "SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'audit_events'",
        [](void* out, int, char** values, char**) {
          *static_cast<std::string*>(out) += std::string(values[0]) + ";";
          return 0;
        },
        &restore, nullptr);
    ASSERT_FALSE(restore.empty());
    char* err = nullptr;
    const std::string all =
        "DROP TRIGGER IF EXISTS audit_events_no_update;"
        "DROP TRIGGER IF EXISTS audit_events_no_delete;" +
        sql + ";" + restore;
    EXPECT_EQ(sqlite3_exec(db, all.c_str(), nullptr, nullptr, &err), SQLITE_OK) << err;
    sqlite3_free(err);
    sqlite3_close(db);
  }

  std::vector<std::string> Problems(const AuditAnchors& anchors = {}) {
    auto r = VerifyAuditLog(vault_, anchors);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r->problems : std::vector<std::string>{"unreadable"};
  }
  std::vector<std::string> Problems(const std::string& checkpoint) {
    return Problems(AuditAnchors{.checkpoint = checkpoint});
  }

  std::string Checkpoint(const fs::path& vault) {
    auto cp = WriteCheckpoint(vault, "2026-11-29T10:00:00Z");
    EXPECT_TRUE(cp.ok()) << cp.status().message();
    return cp.ok() ? *cp : "";
  }

  fs::path vault_;
  std::string patient_, case_;
};

TEST_F(AuditTest, AnUntouchedLogVerifies) {
  auto r = VerifyAuditLog(vault_);
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
      "outcome, purpose, leaf_hash, root_after, encoding, os_user, reason, details "
      "FROM audit_events WHERE seq = 2;");
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
  // Whoever unlocks the vault next is stopped before doing anything else.
  auto v = Vault::Open(vault_, kPassphrase, {"alice", "operator"});
  EXPECT_EQ(v.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(v.status().message(),
            "the signed head of the audit log does not verify: it was changed outside Dossier; "
            "run `dossier audit verify` and restore the vault from a backup");
}

TEST_F(AuditTest, ACheckpointCatchesARolledBackLog) {
  const fs::path backup = dir_ / "catalog.backup";
  fs::copy_file(vault_ / "catalog.db", backup);  // closed vault: no WAL, a consistent copy
  std::string checkpoint;
  {
    auto v = Open();
    ASSERT_TRUE(v->ListPatients().ok());
    ASSERT_TRUE(v->ListCases(std::nullopt).ok());
  }
  checkpoint = Checkpoint(vault_);  // covers 7 events, written without the passphrase
  EXPECT_EQ(Problems(checkpoint), std::vector<std::string>{});
  fs::copy_file(backup, vault_ / "catalog.db", fs::copy_options::overwrite_existing);
  // Alone, the restored log is self-consistent and validly signed ...
  EXPECT_EQ(Problems(), std::vector<std::string>{});
  // ... but it no longer extends what the compliance officer saved.
  EXPECT_EQ(Problems(checkpoint),
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
    ASSERT_TRUE(v->ListCases(std::nullopt).ok());
  }
  checkpoint = Checkpoint(vault_);
  fs::copy_file(backup, vault_ / "catalog.db", fs::copy_options::overwrite_existing);
  {
    auto v = Open();  // an insider with the passphrase writes a different history
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(v->ListCases(std::nullopt).ok());
  }
  EXPECT_EQ(Problems(), std::vector<std::string>{});
  EXPECT_EQ(Problems(checkpoint),
            std::vector<std::string>{
                "the log no longer extends the checkpoint: its first 7 events were rewritten"});
}

TEST_F(AuditTest, AReplacedSigningKeyIsNoticed) {
  testing::WriteFile(vault_ / "audit.pub", std::string(64, 'a') + "\n");
  EXPECT_EQ(Problems(), std::vector<std::string>{"the audit key in the catalog differs from "
                                                 "audit.pub: the signing key was replaced"});
}

TEST_F(AuditTest, AnAlteredOrForeignCheckpointIsRefused) {
  std::string checkpoint = Checkpoint(vault_);
  std::string altered = checkpoint;
  altered.replace(altered.find("size 5"), 6, "size 3");
  EXPECT_EQ(Problems(altered), std::vector<std::string>{"the checkpoint's signature does not "
                                                        "verify: the checkpoint file was altered"});

  const fs::path other = dir_ / "other";
  ASSERT_TRUE(Vault::Create(other, kPassphrase, {"bob", "operator"}).ok());
  const std::string foreign = Checkpoint(other);
  const auto p = Problems(foreign);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].rfind("the checkpoint belongs to vault vlt_", 0), 0u) << p[0];

  // Lines appended after the signature must not change what is verified.
  const std::string appended = checkpoint + "size 1\nroot " + std::string(64, '0') + "\n";
  EXPECT_EQ(VerifyAuditLog(vault_, {.checkpoint = appended}).status().code(),
            StatusCode::kInvalidArgument);

  auto r = VerifyAuditLog(vault_, {.checkpoint = "hello"});
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

// The review's attack (finding 1): the latest read and the erasure are cut from the log, the
// head recomputed and signed with a fresh key, which replaces the vault's public key in the
// catalog and in audit.pub. The log is then consistent with itself, so only an anchor from
// outside the vault (the pinned key, a checkpoint) or the sealed signing key can catch it.
TEST_F(AuditTest, ALogRewrittenAndResignedWithANewKeyIsCaughtByThePinnedKeyAndOnUnlock) {
  const std::string pinned = *ReadAuditPublicKey(vault_);
  const std::string checkpoint = Checkpoint(vault_);  // 5 events
  {
    auto v = Open();
    ASSERT_TRUE(v->GetPatient(patient_).ok());    // event 6: the read someone wants to hide
    ASSERT_TRUE(v->ErasePatient(patient_).ok());  // event 7
  }
  auto events = *ReadAuditLog(vault_, {});
  ASSERT_EQ(events.size(), 7u);
  ASSERT_EQ(events[5].action, "patient.read");
  ASSERT_EQ(events[6].action, "patient.erase");

  internal::MerkleFrontier tree;
  for (size_t i = 0; i < 5; ++i) tree.Push(internal::LeafHash(events[i]));
  Bytes pk(crypto_sign_PUBLICKEYBYTES), sk(crypto_sign_SECRETKEYBYTES), sig(crypto_sign_BYTES);
  crypto_sign_keypair(pk.data(), sk.data());
  auto catalog = internal::OpenVaultReadOnly(vault_);
  ASSERT_TRUE(catalog.ok());
  const std::string vault_id = *internal::ReadMeta(catalog->db, "vault_id");
  const std::string statement = internal::HeadStatement(vault_id, 5, tree.Root());
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const uint8_t*>(statement.data()),
                       statement.size(), sk.data());
  Tamper(fmt::format(
      "DELETE FROM audit_events WHERE seq > 5;"
      "UPDATE audit_head SET tree_size = 5, root = x'{}', frontier = x'{}', signature = x'{}';"
      "UPDATE meta SET value = '{}' WHERE key = 'audit_public_key';",
      ToHex(tree.Root()), ToHex(tree.Serialize()), ToHex(sig), ToHex(pk)));
  testing::WriteFile(vault_ / "audit.pub", ToHex(pk) + "\n");

  // Alone, the forged log verifies: this is what the review saw, and why it needs an anchor.
  auto alone = VerifyAuditLog(vault_);
  ASSERT_TRUE(alone.ok());
  EXPECT_TRUE(alone->intact());
  EXPECT_FALSE(alone->anchored);
  EXPECT_EQ(alone->events, 5);

  auto with_pin = VerifyAuditLog(vault_, {.pinned_key_hex = pinned});
  ASSERT_TRUE(with_pin.ok());
  EXPECT_TRUE(with_pin->anchored);
  EXPECT_EQ(with_pin->problems,
            std::vector<std::string>{fmt::format("the audit log is signed by key {} but you "
                                                 "pinned {}",
                                                 ToHex(pk).substr(0, 16), pinned.substr(0, 16))});
  // The checkpoint taken before still matches the first five events, but not the key.
  EXPECT_EQ(Problems(checkpoint),
            std::vector<std::string>{"the vault's audit key is not the key that signed the "
                                     "checkpoint: the log was re-keyed"});

  auto v = Vault::Open(vault_, kPassphrase, {"alice", "operator"});
  EXPECT_EQ(v.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(v.status().message(),
            fmt::format("the audit log was re-keyed outside Dossier: the catalog names audit key "
                        "{} but the vault's sealed signing key is {}; restore the vault from a "
                        "backup",
                        ToHex(pk).substr(0, 16), pinned.substr(0, 16)));
}

TEST_F(AuditTest, AMalformedPinnedKeyIsAnInvalidArgument) {
  EXPECT_EQ(VerifyAuditLog(vault_, {.pinned_key_hex = "abc"}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(Problems(AuditAnchors{.pinned_key_hex = *ReadAuditPublicKey(vault_)}).empty());
}

TEST_F(AuditTest, NoCheckpointIsWrittenOfALogThatFailsVerification) {
  Tamper("DELETE FROM audit_events WHERE seq = 2");
  auto cp = WriteCheckpoint(vault_, "2026-11-29T10:00:00Z");
  EXPECT_EQ(cp.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(cp.status().message(),
            "the audit log fails verification (2 problem(s)), so no checkpoint was written: run "
            "`dossier audit verify` to see them");
}

// Finding 2: a trigger planted on `patients` copied every row aside before the erasure
// overwrote it, so the erased name came back from the copy. The schema is now compared with
// the migrations' on every open: nothing planted runs, nothing reads past it.
// Encoding 1 is what every event written before the operating-system user was recorded
// hashed: its bytes, and so its leaf, must never change, or no old log would verify.
TEST(AuditEncodingTest, EncodingOneIsPinnedAndEncodingTwoAddsItsFields) {
  AuditEvent e;
  e.seq = 7;
  e.at = "2026-11-22T09:00:00Z";
  e.actor = "alice";
  e.role = "operator";
  e.action = "document.read";
  e.objects = {"doc_0123456789"};
  e.patient = "pat_0123456789";
  e.encoding = 1;
  EXPECT_EQ(internal::CanonicalEncoding(e),
            R"({"action":"document.read","actor":"alice","at":"2026-11-22T09:00:00Z",)"
            R"("objects":["doc_0123456789"],"outcome":"ok","patient":"pat_0123456789",)"
            R"("purpose":"","role":"operator","seq":7})");
  EXPECT_EQ(ToHex(internal::LeafHash(e)),
            "a7d489881ff9b3cdacf9df03837db98140e99cb94a813a76729dbcaf7f780ebf");

  e.encoding = 2;
  e.seq = 8;
  e.action = "document.export_file";
  e.os_user = "alice";
  e.details = {{"name_note", "note_0123456789"}};
  EXPECT_EQ(internal::CanonicalEncoding(e),
            R"({"action":"document.export_file","actor":"alice","at":"2026-11-22T09:00:00Z",)"
            R"("details":{"name_note":"note_0123456789"},"objects":["doc_0123456789"],)"
            R"("os_user":"alice","outcome":"ok","patient":"pat_0123456789","purpose":"",)"
            R"("reason":"","role":"operator","seq":8,"v":2})");
  EXPECT_EQ(ToHex(internal::LeafHash(e)),
            "fc78b139f82b1ec3eb8031bc6ec016cc5b40a6c60b4ca5e2ded4daf3eb380c96");
  e.encoding = 3;  // no such encoding: matches no stored hash
  EXPECT_TRUE(internal::LeafHash(e).empty());
}

TEST(AuditEncodingTest, ActorNamesAnEventCannotCarryAreRefused) {
  EXPECT_TRUE(CheckActorName("alice").ok());
  EXPECT_TRUE(CheckActorName("Анна Петрова").ok());
  EXPECT_TRUE(CheckActorName(std::string(64, 'a')).ok());
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "the actor name is empty"},
      {std::string(65, 'a'), "the actor name is longer than 64 bytes"},
      {"al\tice", "the actor name holds a control character"},
      {"alice\n", "the actor name holds a control character"},
      {"al\x7f", "the actor name holds a control character"},
      {"al\xc2\x85", "the actor name holds a control character"},  // U+0085, next line
      {"\xff\xfe", "the actor name is not UTF-8"},
  };
  for (const auto& [name, message] : bad) {
    const Status st = CheckActorName(name);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << message;
    EXPECT_EQ(st.message(), message);
  }
}

// Who: the claimed actor and, beside it, the operating-system user the vault finds itself.
TEST_F(AuditTest, EveryNewEventRecordsTheOperatingSystemUser) {
  const passwd* pw = ::getpwuid(::geteuid());
  ASSERT_NE(pw, nullptr);
  auto events = *ReadAuditLog(vault_, {});
  ASSERT_EQ(events.size(), 5u);
  for (const auto& e : events) {
    EXPECT_EQ(e.actor, "alice");
    EXPECT_EQ(e.os_user, pw->pw_name) << e.action;
    EXPECT_EQ(e.encoding, 2);
  }
  EXPECT_EQ(Vault::Open(vault_, kPassphrase, {"", "operator"}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Vault::Open(vault_, kPassphrase, {"a\nb", "operator"}).status().message(),
            "the actor name holds a control character");
  EXPECT_EQ(ReadAuditLog(vault_, {})->size(), 5u);  // refused before anything was recorded
}

// A log written before encoding 2 (here by a vault told to write as old versions did) still
// verifies as it is, and goes on verifying once new events are appended after it.
TEST_F(AuditTest, ALogWrittenBeforeEncodingTwoStillVerifiesAndGrows) {
  const fs::path old_vault = dir_ / "old";
  VaultOptions legacy;
  legacy.legacy_audit_encoding_v1 = true;
  ASSERT_TRUE(Vault::Create(old_vault, kPassphrase, {"alice", "operator"}, legacy).ok());
  {
    auto v = Vault::Open(old_vault, kPassphrase, {"alice", "operator"}, legacy);
    ASSERT_TRUE(v.ok());
    const std::string p = *(*v)->AddPatient({"Петров Пётр", "1975-06-30", "", ""});
    ASSERT_TRUE((*v)->OpenCase(p, "consultation").ok());
  }
  auto before = ReadAuditLog(old_vault, {});
  ASSERT_EQ(before->size(), 3u);
  for (const auto& e : *before) {
    EXPECT_EQ(e.encoding, 1);
    EXPECT_EQ(e.os_user, "");
  }
  EXPECT_TRUE(VerifyAuditLog(old_vault)->intact());
  const std::string checkpoint = *WriteCheckpoint(old_vault, "2026-11-29T10:00:00Z");

  {
    auto v = Vault::Open(old_vault, kPassphrase, {"alice", "operator"});
    ASSERT_TRUE(v.ok());
    ASSERT_TRUE((*v)->ListPatients().ok());
  }
  auto after = ReadAuditLog(old_vault, {});
  ASSERT_EQ(after->size(), 4u);
  EXPECT_EQ((*after)[3].action, "patient.list");
  EXPECT_EQ((*after)[3].encoding, 2);
  EXPECT_EQ((*after)[3].os_user, ::getpwuid(::geteuid())->pw_name);
  auto r = VerifyAuditLog(old_vault, {.checkpoint = checkpoint});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->intact()) << r->problems[0];
  EXPECT_EQ(r->events, 4);

  // An old event's new columns are not hashed: a value put there is a modification. So is a
  // new event passed off as an old one.
  vault_ = old_vault;
  Tamper("UPDATE audit_events SET os_user = 'root' WHERE seq = 2");
  EXPECT_EQ(Problems()[0],
            "event 2 was modified after it was written: its content no longer matches its "
            "recorded hash");
  Tamper("UPDATE audit_events SET os_user = '' WHERE seq = 2; "
         "UPDATE audit_events SET encoding = 1, os_user = '' WHERE seq = 4");
  EXPECT_EQ(Problems()[0],
            "event 4 was modified after it was written: its content no longer matches its "
            "recorded hash");
}

TEST_F(AuditTest, TheReasonAndDetailsOfANewEventAreHashed) {
  for (const char* sql : {"UPDATE audit_events SET reason = 'kNotFound' WHERE seq = 3",
                          "UPDATE audit_events SET details = '{\"via\":\"text\"}' WHERE seq = 3",
                          "UPDATE audit_events SET details = '[]' WHERE seq = 3"}) {
    Tamper(sql);
    EXPECT_EQ(Problems()[0],
              "event 3 was modified after it was written: its content no longer matches its "
              "recorded hash")
        << sql;
    Tamper("UPDATE audit_events SET reason = '', details = '{}' WHERE seq = 3");
    EXPECT_TRUE(Problems().empty());
  }
}

TEST_F(AuditTest, EventsCanBeFilteredByActorActionAndUntil) {
  {
    auto v = Vault::Open(vault_, kPassphrase, {"bob", "operator"});
    ASSERT_TRUE(v.ok());
    ASSERT_TRUE((*v)->ListCases(patient_).ok());
  }
  auto bob = ReadAuditLog(vault_, {.actor = "bob"});
  ASSERT_EQ(bob->size(), 1u);
  EXPECT_EQ((*bob)[0].action, "case.list");
  auto cases = ReadAuditLog(vault_, {.action = "case."});
  ASSERT_EQ(cases->size(), 3u);  // case.open, case.list, case.list
  EXPECT_EQ(ReadAuditLog(vault_, {.action = "case"})->size(), 0u);  // exact without the dot
  EXPECT_EQ(ReadAuditLog(vault_, {.action = "case.list"})->size(), 2u);
  EXPECT_EQ(ReadAuditLog(vault_, {.action = "%."})->size(), 0u);  // no wildcards
  EXPECT_EQ(ReadAuditLog(vault_, {.until = "2000-01-01"})->size(), 0u);
  const std::string today = (*bob)[0].at.substr(0, 10);
  EXPECT_EQ(ReadAuditLog(vault_, {.until = today})->size(), 6u);  // the whole day counts
  EXPECT_EQ(ReadAuditLog(vault_, {.since = today, .until = today, .actor = "alice",
                                  .action = "patient."})
                ->size(),
            2u);
}

// `get`'s file name is personal (it may name the patient): sealed under the patient's key in
// an audit note the event names, readable with the passphrase, gone with the patient.
TEST_F(AuditTest, TheFileNameOfAnExportIsSealedInANote) {
  const std::string name = "/home/op/Петров-выписка.pdf";
  std::string doc;
  {
    auto v = Open();
    auto begun = v->BeginDocument({.case_id = case_, .name = "scan.pdf", .kind = "pdf"});
    ASSERT_TRUE(begun.ok());
    auto w = std::move(begun).value();
    ASSERT_TRUE(w->Write(AsBytes("%PDF-1.4 the plaintext")).ok());
    doc = w->Commit()->doc_id;
    testing::StringSink sink;
    ASSERT_TRUE(v->ExportDocumentToFile(doc, name, sink).ok());
    EXPECT_EQ(sink.data, "%PDF-1.4 the plaintext");
  }
  auto events = *ReadAuditLog(vault_, {.action = "document.export_file"});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].objects, std::vector<std::string>{doc});
  EXPECT_EQ(events[0].patient, patient_);
  ASSERT_EQ(events[0].details.count("name_note"), 1u);
  const std::string note = events[0].details.at("name_note");
  EXPECT_EQ(note.substr(0, 5), "note_");
  EXPECT_TRUE(testing::FilesContaining(vault_, "Петров-выписка").empty());
  {
    auto v = Open();
    EXPECT_EQ(*v->ReadAuditNote(note), name);
    EXPECT_EQ(v->ReadAuditNote("note_nosuch0000").status().code(), StatusCode::kNotFound);
    ASSERT_TRUE(v->ErasePatient(patient_).ok());
    auto gone = v->ReadAuditNote(note);
    EXPECT_EQ(gone.status().code(), StatusCode::kRejected);
    EXPECT_EQ(gone.status().message(),
              "audit note " + note + " was erased together with patient " + patient_);
  }
  auto reads = *ReadAuditLog(vault_, {.action = "audit.note.read"});
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].objects, std::vector<std::string>{note});
}

// A command that fails after unlocking puts the failure on record with its reason — once.
TEST_F(AuditTest, AFailureIsRecordedWithItsReasonOnce) {
  auto v = Open();
  ASSERT_TRUE(v->RecordFailure("document.export_file", {"doc_nosuch0000"},
                               NotFound("no document doc_nosuch0000")).ok());
  ASSERT_TRUE(v->RecordFailure("document.read", {"Петров Пётр", case_},
                               Corrupt("damaged")).ok());
  // The call that failed recorded it itself: not twice.
  ASSERT_TRUE(v->RecordFailure("document.read", {case_}, Corrupt("damaged")).ok());
  v.reset();
  auto events = *ReadAuditLog(vault_, {});
  ASSERT_EQ(events.size(), 7u);
  const AuditEvent& refused = events[5];
  EXPECT_EQ(refused.action, "document.export_file");
  EXPECT_EQ(refused.outcome, "refused");
  EXPECT_EQ(refused.reason, "kNotFound");
  EXPECT_EQ(refused.objects, std::vector<std::string>{"doc_nosuch0000"});
  EXPECT_EQ(refused.patient, "");
  const AuditEvent& failed = events[6];
  EXPECT_EQ(failed.action, "document.read");
  EXPECT_EQ(failed.outcome, "failed");
  EXPECT_EQ(failed.reason, "kCorrupt");
  EXPECT_EQ(failed.objects, (std::vector<std::string>{"(not an id)", case_}));
  EXPECT_EQ(failed.patient, patient_);  // the case's owner
  EXPECT_TRUE(testing::FilesContaining(vault_, "Петров Пётр").empty());
}

class SchemaTest : public AuditTest {
 protected:
  void Plant(const std::string& sql) { testing::RunSql(vault_ / "catalog.db", sql); }
  void ExpectRefused(const std::string& what) {
    const std::string message = "the catalog's schema was changed outside Dossier: " + what +
                                "; restore the vault from a backup";
    auto v = Vault::Open(vault_, kPassphrase, {"alice", "operator"});
    EXPECT_EQ(v.status().code(), StatusCode::kCorrupt);
    EXPECT_EQ(v.status().message(), message);
    auto log = ReadAuditLog(vault_, {});
    EXPECT_EQ(log.status().code(), StatusCode::kCorrupt);
    EXPECT_EQ(log.status().message(), message);
    // Verification still reads the log, and names the change first.
    auto problems = Problems();
    ASSERT_FALSE(problems.empty());
    EXPECT_EQ(problems[0], message);
  }
};

TEST_F(SchemaTest, APlantedTriggerThatWouldKeepAnErasedPatientIsRefused) {
  Plant(
      "CREATE TABLE stash AS SELECT * FROM patients WHERE 0;"
      "CREATE TRIGGER keep_patients BEFORE UPDATE ON patients "
      "BEGIN INSERT INTO stash SELECT * FROM patients WHERE id = old.id; END;");
  ExpectRefused("unexpected trigger `keep_patients` on `patients`");
}

TEST_F(SchemaTest, APlantedViewAMissingIndexAndAnAlteredTriggerAreRefused) {
  Plant("CREATE VIEW names AS SELECT * FROM patients;");
  ExpectRefused("unexpected view `names` on `names`");
  Plant("DROP VIEW names;");
  ASSERT_TRUE(Vault::Open(vault_, kPassphrase, {"alice", "operator"}).ok());

  Plant("DROP INDEX cases_patient;");
  ExpectRefused("index `cases_patient` is missing");
  Plant("CREATE INDEX cases_patient ON cases(patient_id);");
  ASSERT_TRUE(Vault::Open(vault_, kPassphrase, {"alice", "operator"}).ok());

  Plant(
      "DROP TRIGGER audit_events_no_delete;"
      "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
      "WHEN 0 BEGIN SELECT RAISE(ABORT, 'no'); END;");
  ExpectRefused("trigger `audit_events_no_delete` was altered");
}

}  // namespace
}  // namespace dossier::vault
