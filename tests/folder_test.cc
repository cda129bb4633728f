// The vault folder against whoever can write it (doc/SECURITY.md, Security 3/3 §1): symbolic
// links, loose modes, another owner; and the modes a new vault gets whatever the umask.
#include <fmt/format.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "common/encoding.h"
#include "tests/test_util.h"
#include "vault/audit.h"
#include "vault/vault.h"

namespace dossier::vault {
namespace {

using testing::kPassphrase;

mode_t ModeOf(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

class FolderTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    vault_ = dir_ / "vault";
    const mode_t old = ::umask(022);  // the usual umask: modes must not depend on it
    ASSERT_TRUE(Vault::Create(vault_, kPassphrase, actor_).ok());
    auto v = Vault::Open(vault_, kPassphrase, actor_);
    ASSERT_TRUE(v.ok()) << v.status().message();
    patient_ = *(*v)->AddPatient({"Сидоров Сидор", "1960-01-01", "", ""});
    case_ = *(*v)->OpenCase(patient_, "consultation");
    auto w = (*v)->BeginDocument({.case_id = case_, .name = "note.txt", .kind = "text"});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write(AsBytes(std::string("a note"))).ok());
    ASSERT_TRUE((*w)->Commit().ok());
    ::umask(old);
  }

  Status OpenStatus() { return Vault::Open(vault_, kPassphrase, actor_).status(); }

  // Stores a note in the case: what a command in progress writes.
  Result<StoreOutcome> StoreNote(Vault& v, const std::string& text) {
    DOSSIER_ASSIGN_OR_RETURN(auto w,
                             v.BeginDocument({.case_id = case_, .name = "n.txt", .kind = "text"}));
    DOSSIER_RETURN_IF_ERROR(w->Write(AsBytes(text)));
    return w->Commit();
  }

  static std::vector<std::string> Names(const fs::path& dir) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path vault_;
  std::string patient_, case_;
  Actor actor_{"alice", "operator"};
};

TEST_F(FolderTest, ANewVaultIsTheOwnersOnlyWhateverTheUmask) {
  EXPECT_EQ(ModeOf(vault_), 0700u);
  for (const char* f : {"vault.key", "catalog.db", "audit.pub", "lock"}) {
    EXPECT_EQ(ModeOf(vault_ / f), 0600u) << f;
  }
  EXPECT_EQ(ModeOf(vault_ / "objects"), 0700u);
  EXPECT_EQ(ModeOf(vault_ / "tmp"), 0700u);
  int objects = 0;
  for (const auto& e : fs::recursive_directory_iterator(vault_ / "objects")) {
    EXPECT_EQ(ModeOf(e.path()), e.is_directory() ? 0700u : 0600u) << e.path();
    objects += e.is_regular_file();
  }
  EXPECT_EQ(objects, 1);
}

// The review's attack: tmp/ replaced by a link made the next command delete every file in
// the link's target while sweeping leftovers.
TEST_F(FolderTest, TmpReplacedByALinkIsRefusedAndItsTargetUntouched) {
  const fs::path victim = dir_ / "victim";
  fs::create_directory(victim);
  testing::WriteFile(victim / "keep.txt", "precious");
  fs::remove_all(vault_ / "tmp");
  fs::create_directory_symlink(victim, vault_ / "tmp");
  const Status st = OpenStatus();
  EXPECT_EQ(st.code(), StatusCode::kCorrupt);
  EXPECT_EQ(st.message(), (vault_ / "tmp").string() +
                              " is a symbolic link: Dossier reaches nothing in a vault through a "
                              "link; put the real entry back from a backup");
  EXPECT_TRUE(fs::exists(victim / "keep.txt"));
  EXPECT_EQ(VerifyAuditLog(vault_).status().code(), StatusCode::kCorrupt);
}

// The checks at open cannot see what changes while a command runs: every entry is reached
// from the vault folder's descriptor, one component at a time with O_NOFOLLOW, so a link
// swapped in mid-command is refused at the next step, not written through.
TEST_F(FolderTest, TmpSwappedForALinkWhileACommandRunsReceivesNothing) {
  auto v = Vault::Open(vault_, kPassphrase, actor_);
  ASSERT_TRUE(v.ok()) << v.status().message();
  const fs::path victim = dir_ / "victim";
  fs::create_directory(victim);
  testing::WriteFile(victim / "keep.txt", "precious");
  fs::remove_all(vault_ / "tmp");
  fs::create_directory_symlink(victim, vault_ / "tmp");

  auto stored = StoreNote(**v, "written after the swap");
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(stored.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(stored.status().message(),
            (vault_ / "tmp").string() +
                " is a symbolic link: Dossier reaches nothing in a vault through a link; put the "
                "real entry back from a backup");
  EXPECT_EQ(Names(victim), std::vector<std::string>{"keep.txt"});
  EXPECT_EQ(testing::ReadFile(victim / "keep.txt"), "precious");
}

TEST_F(FolderTest, ObjectsSwappedForALinkWhileACommandRunsReceivesNothing) {
  auto v = Vault::Open(vault_, kPassphrase, actor_);
  ASSERT_TRUE(v.ok()) << v.status().message();
  const fs::path elsewhere = dir_ / "elsewhere";
  fs::rename(vault_ / "objects", elsewhere);
  fs::create_directory_symlink(elsewhere, vault_ / "objects");
  const auto before = Names(elsewhere);

  auto stored = StoreNote(**v, "written after the swap");
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(stored.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(stored.status().message(),
            (vault_ / "objects").string() +
                " is a symbolic link: Dossier reaches nothing in a vault through a link; put the "
                "real entry back from a backup");
  EXPECT_EQ(Names(elsewhere), before);
  EXPECT_EQ(Names(elsewhere / before.at(0)).size(), 1u);  // the note of SetUp only
}

// Erasure deletes files by their object ids: through a shard swapped for a link it would
// delete a file of that name anywhere the link points.
TEST_F(FolderTest, ErasureThroughAShardSwappedForALinkDeletesNothingOutside) {
  auto v = Vault::Open(vault_, kPassphrase, actor_);
  ASSERT_TRUE(v.ok()) << v.status().message();
  const fs::path shard = fs::directory_iterator(vault_ / "objects")->path();
  const std::string object = fs::directory_iterator(shard)->path().filename();
  const fs::path victim = dir_ / "victim";
  fs::create_directory(victim);
  testing::WriteFile(victim / object, "not the vault's");
  fs::rename(shard, dir_ / "moved-shard");
  fs::create_directory_symlink(victim, shard);

  const Status st = (*v)->ErasePatient(patient_);
  EXPECT_EQ(st.code(), StatusCode::kCorrupt);
  EXPECT_EQ(st.message(), fmt::format("patient {} is erased, but some of their object files could "
                                      "not be deleted yet (the next dossier command deletes "
                                      "them): {} is a symbolic link: Dossier reaches nothing in a "
                                      "vault through a link; put the real entry back from a backup",
                                      patient_, shard.string()));
  EXPECT_EQ(testing::ReadFile(victim / object), "not the vault's");
}

TEST_F(FolderTest, LinkedCatalogShardAndFolderAreRefused) {
  fs::rename(vault_ / "catalog.db", dir_ / "elsewhere.db");
  fs::create_symlink(dir_ / "elsewhere.db", vault_ / "catalog.db");
  EXPECT_EQ(OpenStatus().message(),
            (vault_ / "catalog.db").string() +
                " is a symbolic link: Dossier reaches nothing in a vault through a link; put "
                "the real entry back from a backup");
  fs::remove(vault_ / "catalog.db");
  fs::rename(dir_ / "elsewhere.db", vault_ / "catalog.db");
  ASSERT_TRUE(OpenStatus().ok());

  // A shard redirected elsewhere would receive the next objects outside the vault.
  const fs::path shard = fs::directory_iterator(vault_ / "objects")->path();
  fs::rename(shard, dir_ / "shard");
  fs::create_directory_symlink(dir_ / "shard", shard);
  EXPECT_EQ(OpenStatus().code(), StatusCode::kCorrupt);
  fs::remove(shard);
  fs::rename(dir_ / "shard", shard);

  fs::create_directory_symlink(vault_, dir_ / "link");
  auto v = Vault::Open(dir_ / "link", kPassphrase, actor_);
  EXPECT_EQ(v.status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(v.status().message(), (dir_ / "link").string() +
                                      " is a symbolic link: give --vault the real folder, so "
                                      "nobody can redirect the vault by replacing the link");
}

TEST_F(FolderTest, AnObjectFileReplacedByALinkIsNotRead) {
  fs::path object;
  for (const auto& e : fs::recursive_directory_iterator(vault_ / "objects")) {
    if (e.is_regular_file()) object = e.path();
  }
  ASSERT_FALSE(object.empty());
  fs::rename(object, dir_ / "elsewhere");
  fs::create_symlink(dir_ / "elsewhere", object);
  auto v = Vault::Open(vault_, kPassphrase, actor_);
  ASSERT_TRUE(v.ok()) << v.status().message();
  auto report = (*v)->Verify(false);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->issues.size(), 1u);
  EXPECT_EQ(report->issues[0].problem, "corrupt");
  EXPECT_EQ(report->issues[0].detail, "object " + object.filename().string() +
                                          " is a symbolic link or not a regular file: Dossier "
                                          "reads nothing in a vault through a link; restore it "
                                          "from a backup");
}

TEST_F(FolderTest, WritableByOthersIsRefusedLooseReadModesAreNarrowed) {
  ASSERT_EQ(::chmod((vault_ / "catalog.db").c_str(), 0660), 0);
  const Status st = OpenStatus();
  EXPECT_EQ(st.code(), StatusCode::kCorrupt);
  EXPECT_EQ(st.message(), fmt::format("{0} is writable by group or others (660): someone else "
                                      "could change the vault; run `chmod go-w {0}` and check "
                                      "who changed it",
                                      (vault_ / "catalog.db").string()));
  // A vault made before this check had a world-readable catalog and folders: a writer
  // narrows them.
  ASSERT_EQ(::chmod((vault_ / "catalog.db").c_str(), 0644), 0);
  ASSERT_EQ(::chmod((vault_ / "objects").c_str(), 0755), 0);
  ASSERT_TRUE(OpenStatus().ok());
  EXPECT_EQ(ModeOf(vault_ / "catalog.db"), 0600u);
  EXPECT_EQ(ModeOf(vault_ / "objects"), 0700u);
}

TEST_F(FolderTest, AVaultOfAnotherUserIsNotWrittenButStillVerifies) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give the folder away";
  ASSERT_EQ(::chown(vault_.c_str(), 65534, static_cast<gid_t>(-1)), 0);
  const Status st = OpenStatus();
  EXPECT_EQ(st.code(), StatusCode::kCorrupt);
  EXPECT_EQ(st.message(), vault_.string() +
                              " belongs to another user (uid 65534): run dossier as that user; "
                              "a vault is written by its owner only");
  auto report = VerifyAuditLog(vault_);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_TRUE(report->intact());
}

TEST_F(FolderTest, AGroupVaultLetsTheGroupReadTheLogOnly) {
  const struct group* g = ::getgrnam("daemon");
  if (g == nullptr) GTEST_SKIP() << "no group `daemon` here";
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give files to another group";
  const fs::path shared = dir_ / "shared";
  VaultOptions options;
  options.share_with_group = g->gr_gid;
  ASSERT_TRUE(Vault::Create(shared, kPassphrase, actor_, options).ok());
  EXPECT_EQ(ModeOf(shared), 02750u);
  EXPECT_EQ(ModeOf(shared / "catalog.db"), 0640u);
  EXPECT_EQ(ModeOf(shared / "audit.pub"), 0640u);
  EXPECT_EQ(ModeOf(shared / "vault.key"), 0600u);
  EXPECT_EQ(ModeOf(shared / "objects"), 0700u);
  struct stat st {};
  ASSERT_EQ(::stat((shared / "catalog.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, g->gr_gid);
  ASSERT_TRUE(Vault::Open(shared, kPassphrase, actor_).ok());  // a writer keeps the sharing
  EXPECT_EQ(ModeOf(shared / "catalog.db"), 0640u);
  EXPECT_EQ(ModeOf(shared), 02750u);
}

}  // namespace
}  // namespace dossier::vault
