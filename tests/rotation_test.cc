// Key rotation (Security 3/3 §3, doc/FORMAT.md §Key rotation): `vault passwd` makes a new
// master key and rewraps every patient key and vault-wide secret under it, so a leaked
// passphrase — with or without an old copy of vault.key — is revoked; secrets that stored data
// depends on are sealed (not derived) and survive it; a kill at any step leaves a vault that
// opens with exactly one of the two passphrases.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <set>

#include "common/encoding.h"
#include "tests/test_util.h"
#include "vault/audit.h"
#include "vault/vault.h"

namespace dossier::vault {
namespace {

using testing::kPassphrase;
constexpr const char* kNewPassphrase = "a brand new passphrase";

// Every row of `sql` (first column as text, second as hex or text), read with SQLite directly.
std::map<std::string, std::string> Query(const fs::path& vault, const std::string& sql) {
  std::map<std::string, std::string> out;
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2((vault / "catalog.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
            SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  while (sqlite3_step(s) == SQLITE_ROW) {
    const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(s, 1));
    const std::string value =
        sqlite3_column_type(s, 1) == SQLITE_BLOB
            ? ToHex(std::span<const uint8_t>(p, static_cast<size_t>(sqlite3_column_bytes(s, 1))))
            : reinterpret_cast<const char*>(sqlite3_column_text(s, 1));
    out[reinterpret_cast<const char*>(sqlite3_column_text(s, 0))] = value;
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

void Tamper(const fs::path& vault, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((vault / "catalog.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
}

std::vector<AuditEvent> Events(const fs::path& vault, const std::string& action) {
  auto log = ReadAuditLog(vault, {});
  EXPECT_TRUE(log.ok()) << log.status().message();
  std::vector<AuditEvent> out;
  for (const auto& e : *log) {
    if (e.action == action) out.push_back(e);
  }
  return out;
}

class RotationTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    vault_ = dir_ / "vault";
  }

  // A vault with two patients and a document each (the second one's in a case of its own).
  void Make() {
    ASSERT_TRUE(Vault::Create(vault_, kPassphrase, actor_, options_).ok());
    auto v = Open(kPassphrase);
    ASSERT_NE(v, nullptr);
    for (const char* name : {"Кузнецова Анна", "Петров Пётр"}) {
      const std::string pid = *v->AddPatient({name, "1971-03-08", "", ""});
      cases_.push_back(*v->OpenCase(pid, "consultation"));
      content_.push_back(std::string("%PDF-1.4 of ") + name);
      docs_[Store(*v, cases_.back(), content_.back())] = content_.back();
    }
  }

  std::unique_ptr<Vault> Open(const std::string& passphrase) {
    auto v = Vault::Open(vault_, passphrase, actor_, options_);
    EXPECT_TRUE(v.ok()) << v.status().message();
    return v.ok() ? std::move(v).value() : nullptr;
  }

  std::string Store(Vault& v, const std::string& case_id, const std::string& bytes,
                    bool* duplicate = nullptr) {
    auto w = v.BeginDocument({.case_id = case_id, .name = "scan.pdf", .kind = "pdf"});
    EXPECT_TRUE(w.ok()) << w.status().message();
    EXPECT_TRUE((*w)->Write(AsBytes(bytes)).ok());
    auto out = (*w)->Commit();
    EXPECT_TRUE(out.ok()) << out.status().message();
    if (duplicate != nullptr) *duplicate = out->duplicate;
    return out->doc_id;
  }

  // Every document reads back, the objects authenticate, and the signed log is intact.
  void ExpectWhole(Vault& v) {
    for (const auto& [doc, bytes] : docs_) {
      testing::StringSink sink;
      ASSERT_TRUE(v.ReadDocument(doc, sink).ok()) << doc;
      EXPECT_EQ(sink.data, bytes);
    }
    auto report = v.Verify(false);
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_TRUE(report->intact());
    EXPECT_EQ(report->checked, static_cast<int64_t>(docs_.size()));
  }

  void ExpectLogIntact() {
    auto audit = VerifyAuditLog(vault_);
    ASSERT_TRUE(audit.ok()) << audit.status().message();
    EXPECT_TRUE(audit->intact());
  }

  Actor actor_{"rotation", "operator"};
  VaultOptions options_;
  fs::path vault_;
  std::vector<std::string> cases_;
  std::vector<std::string> content_;         // of the document in cases_[i]
  std::map<std::string, std::string> docs_;  // doc id -> bytes
};

TEST_F(RotationTest, PasswdRotatesTheMasterKeyAndAnOldKeyFileNoLongerOpensTheVault) {
  Make();
  const std::string old_key_file = testing::ReadFile(vault_ / "vault.key");
  const auto keys_before = Query(vault_, "SELECT id, wrapped_key FROM patients");
  const auto meta_before = Query(vault_, "SELECT key, value FROM meta");
  const auto objects_before = testing::Snapshot(vault_ / "objects");
  const std::string audit_key = testing::ReadFile(vault_ / "audit.pub");
  Bytes uid_key_before;
  {
    auto v = Open(kPassphrase);
    ASSERT_NE(v, nullptr);
    auto uid_key = v->ExportUidKey(cases_[0]);
    ASSERT_TRUE(uid_key.ok());
    uid_key_before = Bytes(uid_key->span().begin(), uid_key->span().end());
    ASSERT_TRUE(v->ChangePassphrase(kNewPassphrase).ok());
    // The open vault goes on with the new master key.
    ExpectWhole(*v);
  }

  // Every patient key and every sealed secret is rewrapped; objects are untouched.
  const auto keys_after = Query(vault_, "SELECT id, wrapped_key FROM patients");
  ASSERT_EQ(keys_after.size(), 2u);
  for (const auto& [id, wrapped] : keys_after) EXPECT_NE(wrapped, keys_before.at(id)) << id;
  const auto meta_after = Query(vault_, "SELECT key, value FROM meta");
  for (const char* key : {"audit_signing_key", "row_mac_key", "content_mac_key", "master_key_id"}) {
    ASSERT_EQ(meta_after.count(key), 1u) << key;
    EXPECT_NE(meta_after.at(key), meta_before.at(key)) << key;
  }
  EXPECT_EQ(meta_after.count("pending_key_file"), 0u);
  EXPECT_EQ(meta_after.at("audit_public_key"), meta_before.at("audit_public_key"));
  EXPECT_EQ(testing::ReadFile(vault_ / "audit.pub"), audit_key);
  EXPECT_EQ(testing::Snapshot(vault_ / "objects"), objects_before);

  // The old passphrase is refused; the new one opens, and what was keyed before still keys
  // the same: duplicates are found, the DICOM export UIDs stay the same.
  auto old = Vault::Open(vault_, kPassphrase, actor_, options_);
  EXPECT_EQ(old.status().code(), StatusCode::kAuthFailed);
  EXPECT_EQ(old.status().message(), "wrong passphrase for the vault at " + vault_.string());
  {
    auto v = Open(kNewPassphrase);
    ASSERT_NE(v, nullptr);
    ExpectWhole(*v);
    bool duplicate = false;
    Store(*v, cases_[1], content_[1], &duplicate);
    EXPECT_TRUE(duplicate);
    auto uid_key = v->ExportUidKey(cases_[0]);
    ASSERT_TRUE(uid_key.ok());
    EXPECT_EQ(Bytes(uid_key->span().begin(), uid_key->span().end()), uid_key_before);
  }
  const auto passwd = Events(vault_, "vault.passwd");
  ASSERT_EQ(passwd.size(), 1u);
  EXPECT_EQ(passwd[0].purpose, "master key rotated");
  ExpectLogIntact();

  // A copy of vault.key made before `passwd`, with the passphrase it was made for, no longer
  // opens the vault (a leaked passphrase is revoked), and the attempt is put on record.
  const std::string new_key_file = testing::ReadFile(vault_ / "vault.key");
  testing::WriteFile(vault_ / "vault.key", old_key_file);
  auto stale = Vault::Open(vault_, kPassphrase, actor_, options_);
  EXPECT_EQ(stale.status().code(), StatusCode::kAuthFailed);
  EXPECT_EQ(stale.status().message(),
            (vault_ / "vault.key").string() +
                " is older than the catalog: the master key it holds was rotated by `dossier "
                "vault passwd`, so this key file and its passphrase no longer open the vault");
  EXPECT_EQ(Vault::Open(vault_, kNewPassphrase, actor_, options_).status().code(),
            StatusCode::kAuthFailed);
  EXPECT_TRUE(fs::exists(vault_ / "unlock-failures"));
  testing::WriteFile(vault_ / "vault.key", new_key_file);
  ASSERT_NE(Open(kNewPassphrase), nullptr);
  const auto failed = Events(vault_, "vault.unlock_failed");
  ASSERT_EQ(failed.size(), 2u);  // the old passphrase above, then these two
  EXPECT_EQ(failed[1].purpose.rfind("count=2 ", 0), 0u) << failed[1].purpose;
  ExpectLogIntact();

  // The fingerprint that tells key files apart cannot be removed to have any key file accepted.
  Tamper(vault_, "DELETE FROM meta WHERE key = 'master_key_id'");
  auto no_id = Vault::Open(vault_, kNewPassphrase, actor_, options_);
  EXPECT_EQ(no_id.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(no_id.status().message(), "the catalog has no `master_key_id` entry");
}

TEST_F(RotationTest, DerivedSecretsOfAnOlderVaultAreSealedOnceWithTheirValues) {
  // A vault as versions before the sealed secrets made it: content MACs under the derived key.
  options_.legacy_derived_secrets = true;
  Make();
  const std::string audit_key = testing::ReadFile(vault_ / "audit.pub");
  EXPECT_EQ(Query(vault_, "SELECT key, value FROM meta WHERE key = 'content_mac_key'").size(), 0u);
  {
    auto v = Open(kPassphrase);
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->ChangePassphrase(kNewPassphrase).code(), StatusCode::kInternal);
  }
  options_.legacy_derived_secrets = false;
  {
    auto v = Open(kPassphrase);  // the first unlock upgrades
    ASSERT_NE(v, nullptr);
    bool duplicate = false;
    Store(*v, cases_[1], content_[1], &duplicate);
    EXPECT_TRUE(duplicate) << "the content-MAC key kept its value";
    ExpectWhole(*v);
  }
  ASSERT_NE(Open(kPassphrase), nullptr);  // and only once
  const auto upgrades = Events(vault_, "vault.upgrade");
  ASSERT_EQ(upgrades.size(), 1u);
  EXPECT_EQ(upgrades[0].purpose, "sealed-secrets v1");
  const auto meta = Query(vault_, "SELECT key, value FROM meta");
  EXPECT_EQ(meta.count("content_mac_key"), 1u);
  EXPECT_EQ(meta.count("master_key_id"), 1u);
  EXPECT_EQ(testing::ReadFile(vault_ / "audit.pub"), audit_key);  // the same signing key
  ExpectLogIntact();

  // Now it survives a rotation too.
  {
    auto v = Open(kPassphrase);
    ASSERT_TRUE(v->ChangePassphrase(kNewPassphrase).ok());
  }
  {
    auto v = Open(kNewPassphrase);
    ASSERT_NE(v, nullptr);
    bool duplicate = false;
    Store(*v, cases_[0], content_[0], &duplicate);
    EXPECT_TRUE(duplicate);
    ExpectWhole(*v);
  }

  // Removing the sealed content-MAC key, to have the vault "upgraded" anew, is refused.
  Tamper(vault_, "DELETE FROM meta WHERE key = 'content_mac_key'");
  auto v = Vault::Open(vault_, kNewPassphrase, actor_, options_);
  EXPECT_EQ(v.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(v.status().message(),
            "the content-MAC key was removed from the catalog outside Dossier (the audit signing "
            "key is sealed as only vaults that had one seal it): restore the vault from a backup");
}

TEST_F(RotationTest, AVaultBeforeRowMacsAndSealedSecretsIsUpgradedInOneEvent) {
  options_.legacy_derived_secrets = true;
  options_.legacy_without_row_macs = true;
  Make();
  options_.legacy_derived_secrets = false;
  options_.legacy_without_row_macs = false;
  {
    auto v = Open(kPassphrase);
    ASSERT_NE(v, nullptr);
    ExpectWhole(*v);
    bool duplicate = false;
    Store(*v, cases_[0], content_[0], &duplicate);
    EXPECT_TRUE(duplicate);
  }
  const auto upgrades = Events(vault_, "vault.upgrade");
  ASSERT_EQ(upgrades.size(), 1u);
  EXPECT_EQ(upgrades[0].purpose, "row-macs v1; sealed-secrets v1");
  const auto create = Events(vault_, "vault.create");
  ASSERT_EQ(create.size(), 1u);
  EXPECT_EQ(create[0].purpose, "");
  ExpectLogIntact();
}

// The rotation killed (SIGKILL, in a child process) at each of its steps: before the commit
// only the old passphrase opens the vault, from the commit on only the new one — and then an
// old copy of vault.key does not.
TEST_F(RotationTest, AKillAtEachStepLeavesAVaultThatOpensWithExactlyOnePassphrase) {
  Make();
  const std::vector<std::pair<std::string, bool>> steps = {{"sealed", false},
                                                           {"rewrapped", false},
                                                           {"committed", true},
                                                           {"key file written", true},
                                                           {"done", true}};
  std::string current = kPassphrase, other = kNewPassphrase;
  for (const auto& [step, rotated] : steps) {
    SCOPED_TRACE("killed at " + step);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      VaultOptions o = options_;
      const std::string at = step;
      o.rotation_step = [at](std::string_view s) {
        if (s == at) ::raise(SIGKILL);
      };
      auto v = Vault::Open(vault_, current, actor_, o);
      if (!v.ok()) ::_exit(2);
      (void)(*v)->ChangePassphrase(other);
      ::_exit(3);  // not reached: the hook kills first
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
    if (rotated) std::swap(current, other);

    EXPECT_EQ(Vault::Open(vault_, other, actor_, options_).status().code(),
              StatusCode::kAuthFailed);
    auto v = Open(current);
    ASSERT_NE(v, nullptr);
    ExpectWhole(*v);
    v.reset();
    EXPECT_EQ(Query(vault_, "SELECT key, value FROM meta WHERE key = 'pending_key_file'").size(),
              0u);
    EXPECT_FALSE(fs::exists(vault_ / "vault.key.new"));
    ExpectLogIntact();
  }
  EXPECT_EQ(Events(vault_, "vault.passwd").size(), 3u);
}

}  // namespace
}  // namespace dossier::vault
