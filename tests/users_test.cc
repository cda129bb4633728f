// Accounts (Server 2/4): the vault's user API on a real vault, and `dossier user` through the
// real binary — exact messages and exit codes, Argon2id hashes, no login name or password in
// any vault file, at most two hashes at once, ActingAs, tampered rows, erasure.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/ids.h"
#include "tests/test_util.h"
#include "vault/audit.h"
#include "vault/vault.h"

namespace dossier {
namespace {

namespace fs = std::filesystem;
using testing::RunResult;
using vault::Rights;
using vault::Role;
using vault::UserRecord;
using vault::Vault;

constexpr const char* kPassword = "purple-otter-harbour";
constexpr const char* kName = "anna.petrova@example.org";

std::vector<vault::AuditEvent> Events(const fs::path& dir, const std::string& action) {
  auto events = vault::ReadAuditLog(dir, {.action = action});
  EXPECT_TRUE(events.ok()) << events.status().message();
  return events.ok() ? *events : std::vector<vault::AuditEvent>{};
}

void ExpectAuditIntact(const fs::path& dir) {
  auto report = vault::VerifyAuditLog(dir);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_TRUE(report->intact()) << (report->problems.empty() ? "" : report->problems.front());
}

// --- The library ------------------------------------------------------------------------------

class UsersTest : public testing::VaultTestBase {
 protected:
  fs::path vault_dir() const { return dir_ / "vault"; }
  fs::path catalog() const { return vault_dir() / "catalog.db"; }
};

TEST_F(UsersTest, AddListAndGetKeepTheLinkTheRightsAndTheNameLowerCased) {
  auto pid = v_->AddUser("Anna.Petrova@Example.ORG", Role::kPatient, kPassword, patient_);
  ASSERT_TRUE(pid.ok()) << pid.status().message();
  EXPECT_EQ(KindOfId(*pid), IdKind::kUser);
  auto rid = v_->AddUser("boris", Role::kRepresentative, kPassword, patient_,
                         Rights{.view = true, .replies = true});
  ASSERT_TRUE(rid.ok()) << rid.status().message();
  auto mid = v_->AddUser("olga", Role::kManager, kPassword);
  ASSERT_TRUE(mid.ok()) << mid.status().message();

  auto users = v_->ListUsers();
  ASSERT_TRUE(users.ok()) << users.status().message();
  ASSERT_EQ(users->size(), 3u);
  EXPECT_EQ((*users)[0].id, *pid);
  EXPECT_EQ((*users)[0].name, kName);
  EXPECT_EQ((*users)[0].role, Role::kPatient);
  EXPECT_EQ((*users)[0].patient_id, patient_);
  EXPECT_FALSE((*users)[0].disabled);
  EXPECT_EQ((*users)[1].name, "boris");
  EXPECT_EQ((*users)[1].rights, (Rights{.view = true, .upload = false, .replies = true}));
  EXPECT_EQ((*users)[2].role, Role::kManager);
  EXPECT_EQ((*users)[2].patient_id, "");

  auto got = v_->GetUser(*rid);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->name, "boris");
  EXPECT_EQ(got->role, Role::kRepresentative);

  auto add = Events(vault_dir(), "user.add");
  ASSERT_EQ(add.size(), 3u);
  EXPECT_EQ(add[0].objects, std::vector<std::string>{*pid});
  EXPECT_EQ(add[0].patient, patient_);
  EXPECT_EQ(add[0].details.at("role"), "patient");
  EXPECT_EQ(add[1].details.at("role"), "representative");
  EXPECT_EQ(add[1].details.at("rights"), "view,replies");
  EXPECT_EQ(add[2].patient, "");
  EXPECT_EQ(add[2].details.at("role"), "manager");
  EXPECT_EQ(Events(vault_dir(), "user.list").size(), 1u);
  ExpectAuditIntact(vault_dir());
}

TEST_F(UsersTest, EveryBadAdditionIsRefusedWithItsMessageAndStoresNothing) {
  auto expect = [&](Result<std::string> r, StatusCode code, const std::string& message) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), code) << r.status().message();
    EXPECT_EQ(r.status().message(), message);
  };
  expect(v_->AddUser(kName, Role::kManager, "short pass1"), StatusCode::kInvalidArgument,
         "the password is too short: use at least 12 characters");
  // Characters, not bytes: 11 Cyrillic letters are 22 bytes.
  expect(v_->AddUser(kName, Role::kManager, "пароль-abcd"), StatusCode::kInvalidArgument,
         "the password is too short: use at least 12 characters");
  expect(v_->AddUser(kName, Role::kManager, std::string(1025, 'x')), StatusCode::kInvalidArgument,
         "the password is too long: use at most 1024 bytes");
  expect(v_->AddUser("", Role::kManager, kPassword), StatusCode::kInvalidArgument,
         "the user name is empty: give the name they log in with");
  expect(v_->AddUser(" anna", Role::kManager, kPassword), StatusCode::kInvalidArgument,
         "the user name must not begin or end with a space");
  expect(v_->AddUser("anna\nroot", Role::kManager, kPassword), StatusCode::kInvalidArgument,
         "the user name must be one line of text without control characters");
  expect(v_->AddUser(kName, Role::kPatient, kPassword), StatusCode::kInvalidArgument,
         "a patient account needs the patient it belongs to (pat_…)");
  expect(v_->AddUser(kName, Role::kRepresentative, kPassword), StatusCode::kInvalidArgument,
         "a representative account needs the patient it belongs to (pat_…)");
  expect(v_->AddUser(kName, Role::kCompliance, kPassword, patient_), StatusCode::kInvalidArgument,
         "a compliance account belongs to no patient: give no patient id");
  expect(v_->AddUser(kName, Role::kPatient, kPassword, patient_, Rights{.view = true}),
         StatusCode::kInvalidArgument,
         "only a representative account has rights; this one is a patient account");
  expect(v_->AddUser(kName, Role::kPatient, kPassword, "case_abc"), StatusCode::kInvalidArgument,
         "the patient of an account must be a patient id (pat_…): `dossier patient list` shows "
         "them");
  expect(v_->AddUser(kName, Role::kPatient, kPassword, "pat_nosuch"), StatusCode::kNotFound,
         "no patient pat_nosuch (see `dossier patient list`)");
  EXPECT_EQ(testing::QueryText(catalog(), "SELECT count(*) FROM users"), "0");
  // No key is made until an account is.
  EXPECT_EQ(testing::QueryText(catalog(), "SELECT count(*) FROM meta WHERE key = 'user_name_key'"),
            "0");

  ASSERT_TRUE(v_->AddUser(kName, Role::kAdmin, kPassword).ok());
  // The same name in other case is the same name; the message does not repeat it.
  expect(v_->AddUser("ANNA.PETROVA@EXAMPLE.ORG", Role::kManager, kPassword), StatusCode::kRejected,
         "a user with that name already exists");
  EXPECT_EQ(testing::QueryText(catalog(), "SELECT count(*) FROM users"), "1");
  EXPECT_EQ(Events(vault_dir(), "user.add").size(), 1u);
}

TEST_F(UsersTest, PasswordsAreArgon2idAtTheInteractiveCostAndNoNameOrPasswordIsInTheFolder) {
  auto id = v_->AddUser("Anna.Petrova@Example.org", Role::kPatient, kPassword, patient_);
  ASSERT_TRUE(id.ok()) << id.status().message();
  ASSERT_TRUE(v_->SetUserPassword(kName, "another-long-password").ok());
  const std::string hash =
      testing::QueryText(catalog(), "SELECT password_hash FROM users WHERE id = '" + *id + "'");
  EXPECT_EQ(hash.rfind("$argon2id$v=19$m=65536,t=2,p=1$", 0), 0u) << hash;
  for (const char* secret :
       {kName, "Anna.Petrova@Example.org", "anna.petrova", kPassword, "another-long-password"}) {
    EXPECT_EQ(testing::FilesContaining(vault_dir(), secret), std::vector<std::string>{}) << secret;
  }
  v_.reset();  // closed: the WAL is checkpointed into the catalog
  for (const char* secret : {kName, "anna.petrova", kPassword, "another-long-password"}) {
    EXPECT_EQ(testing::FilesContaining(vault_dir(), secret), std::vector<std::string>{}) << secret;
  }
}

TEST_F(UsersTest, AuthenticateAcceptsOnlyTheRightPasswordOfAnActiveAccount) {
  auto id = v_->AddUser(kName, Role::kPatient, kPassword, patient_);
  ASSERT_TRUE(id.ok());
  auto ok = v_->Authenticate("ANNA.petrova@example.org", kPassword);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->id, *id);
  EXPECT_EQ(ok->role, Role::kPatient);
  EXPECT_EQ(ok->patient_id, patient_);

  auto expect_refused = [&](const std::string& name, const std::string& password) {
    auto r = v_->Authenticate(name, password);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.status().code(), StatusCode::kAuthFailed);
    EXPECT_EQ(r.status().message(), "wrong user name or password");
  };
  expect_refused(kName, "purple-otter-harbouR");
  expect_refused("nobody@example.org", kPassword);
  expect_refused("", kPassword);
  ASSERT_TRUE(v_->DisableUser(kName).ok());
  expect_refused(kName, kPassword);
  // Authenticate records nothing itself.
  EXPECT_EQ(Events(vault_dir(), "session.").size(), 0u);
}

TEST_F(UsersTest, AnUnknownNameOnAVaultWithoutAccountsStillCostsAHash) {
  std::atomic<int> hashes{0};
  // Through the hook of a vault of its own, so that only this vault's hashes count.
  v_.reset();
  vault::VaultOptions options;
  options.password_hash_hook = [&] { hashes.fetch_add(1); };
  auto v = Vault::Open(vault_dir(), testing::kPassphrase, {"t", "operator"}, options);
  ASSERT_TRUE(v.ok()) << v.status().message();
  auto r = (*v)->Authenticate("nobody@example.org", kPassword);
  EXPECT_EQ(r.status().code(), StatusCode::kAuthFailed);
  EXPECT_EQ(hashes.load(), 1);
}

TEST_F(UsersTest, AtMostTwoHashesRunAtOnceTheOthersWait) {
  std::vector<std::string> names = {"u1@example.org", "u2@example.org", "u3@example.org",
                                    "u4@example.org"};
  v_.reset();
  std::mutex mu;
  std::condition_variable cv;
  bool hold = false, released = false;
  vault::VaultOptions options;
  options.password_hash_hook = [&] {
    std::unique_lock<std::mutex> lock(mu);
    if (hold) cv.wait(lock, [&] { return released; });
  };
  auto opened = Vault::Open(vault_dir(), testing::kPassphrase, {"t", "operator"}, options);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  Vault& v = **opened;
  for (const auto& n : names) ASSERT_TRUE(v.AddUser(n, Role::kManager, kPassword).ok());
  {
    std::lock_guard<std::mutex> lock(mu);
    hold = true;
  }
  std::vector<std::thread> threads;
  std::atomic<int> accepted{0};
  for (const auto& n : names) {
    threads.emplace_back([&, n] {
      if (v.Authenticate(n, kPassword).ok()) accepted.fetch_add(1);
    });
  }
  // Every thread is either hashing (held in the hook) or waiting for a slot.
  vault::PasswordHashLoad load;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    load = vault::CurrentPasswordHashLoad();
  } while (load.running + load.waiting < 4 && std::chrono::steady_clock::now() < give_up);
  EXPECT_EQ(load.running, 2);
  EXPECT_EQ(load.waiting, 2);
  {
    std::lock_guard<std::mutex> lock(mu);
    released = true;
  }
  cv.notify_all();
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted.load(), 4);
  EXPECT_EQ(vault::CurrentPasswordHashLoad().peak, 2);
  EXPECT_EQ(vault::CurrentPasswordHashLoad().running, 0);
}

TEST_F(UsersTest, PasswdDisableAndRightsAreAuditedWithIdsOnly) {
  auto rid = v_->AddUser("boris@example.org", Role::kRepresentative, kPassword, patient_,
                         Rights{.view = true});
  auto mid = v_->AddUser("olga", Role::kManager, kPassword);
  ASSERT_TRUE(rid.ok() && mid.ok());

  ASSERT_TRUE(v_->SetUserPassword("Boris@example.org", "a-brand-new-password").ok());
  EXPECT_FALSE(v_->Authenticate("boris@example.org", kPassword).ok());
  EXPECT_TRUE(v_->Authenticate("boris@example.org", "a-brand-new-password").ok());

  ASSERT_TRUE(v_->SetRights(*rid, Rights{.view = true, .upload = true}).ok());
  ASSERT_TRUE(v_->SetRights(*rid, Rights{.view = true, .upload = true}).ok());  // no change
  ASSERT_TRUE(v_->SetRights(*rid, Rights{}).ok());
  EXPECT_EQ(v_->GetUser(*rid)->rights, Rights{});
  auto rights = Events(vault_dir(), "user.rights");
  ASSERT_EQ(rights.size(), 2u);
  EXPECT_EQ(rights[0].objects, std::vector<std::string>{*rid});
  EXPECT_EQ(rights[0].patient, patient_);
  EXPECT_EQ(rights[0].details.at("before"), "view");
  EXPECT_EQ(rights[0].details.at("after"), "view,upload");
  EXPECT_EQ(rights[1].details.at("before"), "view,upload");
  EXPECT_EQ(rights[1].details.at("after"), "none");

  auto st = v_->SetRights(*mid, Rights{.view = true});
  EXPECT_EQ(st.code(), StatusCode::kRejected);
  EXPECT_EQ(st.message(),
            "user " + *mid + " is a manager account: only representatives have rights");
  st = v_->SetRights("usr_nosuch", Rights{});
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "no user usr_nosuch (see `dossier user list`)");
  st = v_->SetRights(patient_, Rights{});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "not a user id (usr_…): `dossier user list` shows them");

  ASSERT_TRUE(v_->DisableUser("BORIS@example.org").ok());
  EXPECT_TRUE(v_->GetUser(*rid)->disabled);
  st = v_->DisableUser("boris@example.org");
  EXPECT_EQ(st.code(), StatusCode::kRejected);
  EXPECT_EQ(st.message(),
            "user " + *rid + " is already disabled (since " + v_->GetUser(*rid)->disabled_at + ")");
  st = v_->SetUserPassword("boris@example.org", "a-brand-new-password");
  EXPECT_EQ(st.code(), StatusCode::kRejected);
  EXPECT_EQ(st.message(), "user " + *rid + " is disabled: its password cannot be changed");
  st = v_->SetRights(*rid, Rights{.view = true});
  EXPECT_EQ(st.code(), StatusCode::kRejected);
  EXPECT_EQ(st.message(), "user " + *rid + " is disabled");
  st = v_->DisableUser("nobody");
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "no user with that name (see `dossier user list`)");
  st = v_->SetUserPassword("nobody", kPassword);
  EXPECT_EQ(st.code(), StatusCode::kNotFound);

  auto passwd = Events(vault_dir(), "user.passwd");
  ASSERT_EQ(passwd.size(), 1u);
  EXPECT_EQ(passwd[0].objects, std::vector<std::string>{*rid});
  auto disable = Events(vault_dir(), "user.disable");
  ASSERT_EQ(disable.size(), 1u);
  EXPECT_EQ(disable[0].objects, std::vector<std::string>{*rid});
  EXPECT_EQ(disable[0].patient, patient_);
  // No event anywhere carries a login name.
  const auto all = vault::ReadAuditLog(vault_dir(), {});
  ASSERT_TRUE(all.ok());
  for (const auto& e : *all) {
    for (const auto& o : e.objects) EXPECT_EQ(o.find("boris"), std::string::npos) << e.action;
    for (const auto& [k, d] : e.details) EXPECT_EQ(d.find("boris"), std::string::npos) << k;
    EXPECT_EQ(e.purpose.find("boris"), std::string::npos);
  }
  ExpectAuditIntact(vault_dir());
}

TEST_F(UsersTest, ActingAsStampsTheUsersIdAndRoleOnThisThreadOnly) {
  auto uid = v_->AddUser(kName, Role::kPatient, kPassword, patient_);
  auto mid = v_->AddUser("olga", Role::kManager, kPassword);
  ASSERT_TRUE(uid.ok() && mid.ok());
  {
    vault::ActingAs as(*v_, {*uid, "patient"});
    ASSERT_TRUE(v_->GetPatient(patient_).ok());  // a lone event, group-committed
    std::thread other([&] { ASSERT_TRUE(v_->ListPatients().ok()); });
    other.join();
    {
      vault::ActingAs inner(*v_, {*mid, "manager"});
      ASSERT_TRUE(v_->OpenCase(patient_, "second opinion").ok());  // an event in a transaction
    }
    ASSERT_TRUE(v_->RecordAccessEvent("session.logout", {*uid}, patient_, "ok").ok());
  }
  ASSERT_TRUE(v_->ListConsents(std::nullopt).ok());

  auto events = *vault::ReadAuditLog(vault_dir(), {});
  auto find = [&](const std::string& action) -> vault::AuditEvent {
    for (const auto& e : events) {
      if (e.action == action) return e;
    }
    ADD_FAILURE() << "no " << action;
    return {};
  };
  EXPECT_EQ(find("patient.read").actor, *uid);
  EXPECT_EQ(find("patient.read").role, "patient");
  EXPECT_EQ(find("patient.list").actor, "t");
  EXPECT_EQ(find("patient.list").role, "operator");
  EXPECT_EQ(find("case.open").actor, *mid);
  EXPECT_EQ(find("case.open").role, "manager");
  EXPECT_EQ(find("session.logout").actor, *uid);
  EXPECT_EQ(find("session.logout").patient, patient_);
  EXPECT_EQ(find("consent.list").actor, "t");
  ExpectAuditIntact(vault_dir());
}

TEST_F(UsersTest, AccessEventsTakeOnlySessionAndAccessActionsAndIds) {
  ASSERT_TRUE(v_->RecordAccessEvent("session.login_failed", {"usr_abc", "Anna Petrova"}, "",
                                    "refused", "kAuthFailed")
                  .ok());
  auto failed = Events(vault_dir(), "session.login_failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].objects, (std::vector<std::string>{"usr_abc", "(not an id)"}));
  EXPECT_EQ(failed[0].outcome, "refused");
  EXPECT_EQ(failed[0].reason, "kAuthFailed");
  ASSERT_TRUE(v_->RecordAccessEvent("access.refused", {"case_x"}, "Anna", "refused").ok());
  EXPECT_EQ(Events(vault_dir(), "access.refused").at(0).patient, "");

  auto st = v_->RecordAccessEvent("document.read", {}, "", "ok");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "`document.read` is not an access event: they begin with session., access., server. or "
            "audit. (or are export.download, export.expired)");
  st = v_->RecordAccessEvent("session.login", {}, "", "maybe");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "an access event's outcome is ok, refused or failed");
}

TEST_F(UsersTest, ARoleChangedOutsideDossierIsCaughtOnRead) {
  auto uid = v_->AddUser(kName, Role::kPatient, kPassword, patient_);
  ASSERT_TRUE(uid.ok());
  testing::RunSql(catalog(), "UPDATE users SET role = 'manager', patient_id = NULL");
  const std::string message = "user " + *uid +
                              " was changed outside Dossier: its catalog row no longer matches "
                              "its MAC; restore the vault from a backup";
  auto got = v_->GetUser(*uid);
  EXPECT_EQ(got.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(got.status().message(), message);
  auto login = v_->Authenticate(kName, kPassword);
  EXPECT_EQ(login.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(login.status().message(), message);
  EXPECT_EQ(v_->ListUsers().status().code(), StatusCode::kCorrupt);
}

TEST_F(UsersTest, AnotherAccountsPasswordHashCopiedInIsCaught) {
  auto a = v_->AddUser("a@example.org", Role::kAdmin, kPassword);
  auto b = v_->AddUser("b@example.org", Role::kManager, "a-different-password");
  ASSERT_TRUE(a.ok() && b.ok());
  testing::RunSql(catalog(),
                  "UPDATE users SET password_hash = (SELECT password_hash FROM users "
                  "WHERE id = '" +
                      *b + "') WHERE id = '" + *a + "'");
  auto login = v_->Authenticate("a@example.org", "a-different-password");
  EXPECT_EQ(login.status().code(), StatusCode::kCorrupt);
}

TEST_F(UsersTest, ARemovedNameKeyIsCaughtAndNotMadeAgain) {
  ASSERT_TRUE(v_->AddUser(kName, Role::kAdmin, kPassword).ok());
  v_.reset();
  testing::RunSql(catalog(), "DELETE FROM meta WHERE key = 'user_name_key'");
  auto v = Vault::Open(vault_dir(), testing::kPassphrase, {"t", "operator"});
  ASSERT_TRUE(v.ok()) << v.status().message();
  auto r = (*v)->AddUser("other", Role::kAdmin, kPassword);
  EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(r.status().message(),
            "the user-name key was removed from the catalog outside Dossier (accounts use it): "
            "restore the vault from a backup");
}

TEST_F(UsersTest, ErasingAPatientDisablesTheirAccountsAndForgetsTheNames) {
  auto pid = v_->AddUser(kName, Role::kPatient, kPassword, patient_);
  auto rid = v_->AddUser("boris", Role::kRepresentative, kPassword, patient_, {.view = true});
  auto mid = v_->AddUser("olga", Role::kManager, kPassword);
  ASSERT_TRUE(pid.ok() && rid.ok() && mid.ok());
  ASSERT_TRUE(v_->ErasePatient(patient_).ok());

  for (const auto& id : {*pid, *rid}) {
    auto u = v_->GetUser(id);
    ASSERT_TRUE(u.ok()) << u.status().message();
    EXPECT_TRUE(u->disabled);
    EXPECT_EQ(u->name, "");
  }
  EXPECT_FALSE(v_->GetUser(*mid)->disabled);
  EXPECT_EQ(v_->Authenticate(kName, kPassword).status().code(), StatusCode::kAuthFailed);
  EXPECT_EQ(v_->Authenticate("boris", kPassword).status().code(), StatusCode::kAuthFailed);
  EXPECT_TRUE(v_->Authenticate("olga", kPassword).ok());
  EXPECT_EQ(testing::QueryText(catalog(),
                               "SELECT count(*) FROM users WHERE name_enc IS NOT NULL OR "
                               "name_mac IS NOT NULL OR password_hash IS NOT NULL"),
            "1");

  auto disabled = Events(vault_dir(), "user.disable");
  ASSERT_EQ(disabled.size(), 2u);
  EXPECT_EQ(disabled[0].objects, std::vector<std::string>{*pid});
  EXPECT_EQ(disabled[1].objects, std::vector<std::string>{*rid});
  EXPECT_EQ(disabled[0].purpose, "patient erased");
  // In the erasure's transaction: just before its event.
  auto erase = Events(vault_dir(), "patient.erase");
  ASSERT_EQ(erase.size(), 1u);
  EXPECT_EQ(disabled[1].seq + 1, erase[0].seq);

  auto again = v_->AddUser("new-name", Role::kPatient, kPassword, patient_);
  EXPECT_EQ(again.status().code(), StatusCode::kRejected);
  EXPECT_EQ(again.status().message().rfind("patient " + patient_ + " was erased on ", 0), 0u)
      << again.status().message();
  ExpectAuditIntact(vault_dir());
}

TEST_F(UsersTest, AccountsSurviveAPassphraseChange) {
  ASSERT_TRUE(v_->AddUser(kName, Role::kPatient, kPassword, patient_).ok());
  ASSERT_TRUE(v_->ChangePassphrase("a new vault passphrase").ok());
  v_.reset();
  auto v = Vault::Open(vault_dir(), "a new vault passphrase", {"t", "operator"});
  ASSERT_TRUE(v.ok()) << v.status().message();
  auto u = (*v)->Authenticate(kName, kPassword);
  ASSERT_TRUE(u.ok()) << u.status().message();
  EXPECT_EQ(u->name, kName);
}

// --- The command ------------------------------------------------------------------------------

class UserCliTest : public testing::CliTestBase {
 protected:
  void SetUp() override {
    CliTestBase::SetUp();
    ASSERT_EQ(Run({"init"}).exit_code, 0);
    patient_ =
        Line(Run({"patient", "add", "--name", "Петрова Анна", "--birth-date", "1969-04-12"}));
    pw_ = dir_ / "pw";
    testing::WriteFile(pw_, std::string(kPassword) + "\n");
  }
  static std::string Line(const RunResult& r) {
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.empty() ? "" : r.out.substr(0, r.out.size() - 1);
  }
  RunResult Add(std::vector<std::string> args) {
    std::vector<std::string> a = {"user", "add"};
    a.insert(a.end(), args.begin(), args.end());
    a.push_back("--password-file");
    a.push_back(pw_.string());
    return Run(a);
  }
  void ExpectError(const RunResult& r, int code, const std::string& message) {
    EXPECT_EQ(r.exit_code, code) << r.err;
    EXPECT_EQ(r.err, "dossier: " + message + "\n");
    EXPECT_EQ(r.out, "");
  }
  std::string patient_;
  fs::path pw_;
};

TEST_F(UserCliTest, AddThenListShowsEveryAccount) {
  const std::string pid =
      Line(Add({"Anna@Example.org", "--role", "patient", "--patient", patient_}));
  EXPECT_EQ(KindOfId(pid), IdKind::kUser) << pid;
  const std::string rid = Line(Add({"boris@example.org", "--role", "representative", "--patient",
                                    patient_, "--rights", "view,replies"}));
  const std::string mid = Line(Add({"olga", "--role", "manager"}));

  auto j = Json({"user", "list"});
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0]["id"], pid);
  EXPECT_EQ(j[0]["name"], "anna@example.org");
  EXPECT_EQ(j[0]["role"], "patient");
  EXPECT_EQ(j[0]["patient"], patient_);
  EXPECT_EQ(j[0]["rights"], nlohmann::json::array());
  EXPECT_EQ(j[0]["status"], "active");
  EXPECT_EQ(j[1]["rights"], (nlohmann::json{"view", "replies"}));
  EXPECT_EQ(j[2]["id"], mid);
  EXPECT_EQ(j[2]["patient"], "");

  RunResult text = Run({"user", "list"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("USER"), std::string::npos);
  EXPECT_NE(text.out.find(rid), std::string::npos);
  EXPECT_NE(text.out.find("view,replies"), std::string::npos);
  EXPECT_NE(text.out.find("boris@example.org"), std::string::npos);

  // The audit log names ids and roles, never the login names.
  RunResult log = Run({"--json", "audit", "log", "--action", "user."});
  ASSERT_EQ(log.exit_code, 0) << log.err;
  EXPECT_NE(log.out.find(pid), std::string::npos);
  for (const char* name : {"anna@example.org", "Anna@Example.org", "boris", "olga"}) {
    EXPECT_EQ(log.out.find(name), std::string::npos) << name;
    EXPECT_EQ(testing::FilesContaining(vault_, name), std::vector<std::string>{}) << name;
  }
  EXPECT_EQ(testing::FilesContaining(vault_, kPassword), std::vector<std::string>{});
  EXPECT_EQ(Run({"audit", "verify"}).exit_code, 0);
}

TEST_F(UserCliTest, BadAdditionsSayWhatToDoWithTheirExitCode) {
  testing::WriteFile(dir_ / "short", "too short\n");
  ExpectError(Run({"user", "add", "olga", "--role", "manager", "--password-file",
                   (dir_ / "short").string()}),
              1, "the password is too short: use at least 12 characters");
  ExpectError(Add({"olga", "--role", "boss"}), 1,
              "--role: give one of patient|representative|manager|compliance|admin");
  ExpectError(Add({"olga", "--role", "patient"}), 1,
              "a patient account needs the patient it belongs to (pat_…)");
  ExpectError(Add({"olga", "--role", "manager", "--patient", patient_}), 1,
              "a manager account belongs to no patient: give no patient id");
  ExpectError(Add({"olga", "--role", "manager", "--rights", "view"}), 1,
              "only a representative account has rights; this one is a manager account");
  ExpectError(
      Add({"boris", "--role", "representative", "--patient", patient_, "--rights", "view,delete"}),
      1, "--rights: give one or more of view, upload and replies, comma-separated, or none");
  ExpectError(Add({"olga", "--role", "patient", "--patient", "pat_nosuch"}), 2,
              "no patient pat_nosuch (see `dossier patient list`)");
  ExpectError(Run({"user", "add", "olga", "--role", "manager"}), 1,
              "no password: give --password-file FILE (there is no terminal to ask on)");
  ExpectError(Run({"user", "add", "olga", "--role", "manager", "--password-file",
                   (dir_ / "missing").string()}),
              2, "no such password file: " + (dir_ / "missing").string());
  ASSERT_EQ(Add({"olga", "--role", "manager"}).exit_code, 0);
  ExpectError(Add({"OLGA", "--role", "admin"}), 2, "a user with that name already exists");
  EXPECT_EQ(Json({"user", "list"}).size(), 1u);
  // Refusals after unlocking are on record, with no name.
  auto events = Json({"audit", "log", "--action", "user.add"});
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back()["outcome"], "refused");
  EXPECT_EQ(events.back()["objects"], nlohmann::json::array());
  int ok = 0;
  for (const auto& e : events) ok += e["outcome"] == "ok" ? 1 : 0;
  EXPECT_EQ(ok, 1);

  ASSERT_EQ(Run({"patient", "erase", patient_, "--confirm"}).exit_code, 0);
  ExpectError(Add({"anna", "--role", "patient", "--patient", patient_}), 2,
              "patient " + patient_ + " was erased on " +
                  Json({"patient", "show", patient_})["erased_at"].get<std::string>() +
                  ": no account can be linked to them");
}

TEST_F(UserCliTest, PasswdDisableAndRights) {
  const std::string rid = Line(Add({"boris", "--role", "representative", "--patient", patient_}));
  const std::string mid = Line(Add({"olga", "--role", "manager"}));
  testing::WriteFile(dir_ / "new", "a-brand-new-password\n");
  RunResult r = Run({"user", "passwd", "Boris", "--password-file", (dir_ / "new").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "password changed\n");
  ExpectError(Run({"user", "passwd", "nobody", "--password-file", (dir_ / "new").string()}), 2,
              "no user with that name (see `dossier user list`)");

  r = Run({"user", "rights", rid, "--rights", "view,upload"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, rid + ": view,upload (was none)\n");
  r = Run({"user", "rights", rid, "--rights", "none"});
  EXPECT_EQ(r.out, rid + ": none (was view,upload)\n");
  ExpectError(Run({"user", "rights", mid, "--rights", "view"}), 2,
              "user " + mid + " is a manager account: only representatives have rights");
  ExpectError(Run({"user", "rights", patient_, "--rights", "view"}), 1,
              patient_ + " is a patient, not a user: `dossier user list` shows user ids");
  ExpectError(Run({"user", "rights", "usr_nosuch", "--rights", "view"}), 2,
              "no user usr_nosuch (see `dossier user list`)");
  ExpectError(Run({"user", "rights", rid, "--rights", ""}), 1,
              "--rights: give one or more of view, upload and replies, comma-separated, or none");

  r = Run({"user", "disable", "boris"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "account disabled: it can no longer log in\n");
  auto j = Json({"user", "list"});
  EXPECT_EQ(j[0]["status"], "disabled");
  ExpectError(Run({"user", "disable", "boris"}), 2,
              "user " + rid + " is already disabled (since " +
                  j[0]["disabled_at"].get<std::string>() + ")");
  ExpectError(Run({"user", "disable", "nobody"}), 2,
              "no user with that name (see `dossier user list`)");
  // 2 granted, 2 refused after unlocking (the manager, the unknown id)
  EXPECT_EQ(Json({"audit", "log", "--action", "user.rights"}).size(), 4u);
  EXPECT_EQ(Run({"audit", "verify"}).exit_code, 0);
}

TEST_F(UserCliTest, AWrongVaultPassphraseIsExitFour) {
  testing::WriteFile(dir_ / "wrong", "not the passphrase\n");
  RunResult r = testing::RunDossier(vault_, dir_ / "wrong", {"user", "list"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
}

TEST_F(UserCliTest, HelpTeachesWithExamples) {
  RunResult r = Run({"user", "add", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("dossier user add anna@example.org --role patient --patient pat_…"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("--password-file"), std::string::npos);
  for (const char* cmd : {"list", "passwd", "disable", "rights"}) {
    r = Run({"user", cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(
        r.out.find(std::string("dossier ") +
                   (std::string(cmd) == "list" ? "--json user list" : "user " + std::string(cmd))),
        std::string::npos)
        << r.out;
  }
}

}  // namespace
}  // namespace dossier
