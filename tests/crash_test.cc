// Crash safety: `dossier ingest` of many files is killed with SIGKILL at 20+ random moments.
// After every kill the vault verifies; at the end every stored document is whole and equal to
// its source, nothing is stored twice, and no temp file or orphan object survives an open.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "tests/test_util.h"
#include "vault/audit.h"
#include "vault/vault.h"

namespace dossier {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

class CrashTest : public testing::TempDirTest {};

TEST_F(CrashTest, SigkillDuringIngestNeverLeavesHalfStoredState) {
  constexpr int kFiles = 150;
  constexpr int kKills = 22;
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);

  const fs::path src = dir_ / "upload", vault = dir_ / "vault", pass = dir_ / "pass";
  testing::WriteFile(pass, testing::kPassphrase);
  std::map<std::string, std::string> sources;  // stored name -> content
  for (int i = 0; i < kFiles; ++i) {
    const std::string name = "note" + std::to_string(1000 + i) + ".txt";
    const size_t size = 1000 + rng() % 400000;
    std::string content = testing::PseudoRandom(size, seed + i);
    for (char& c : content) c = static_cast<char>('a' + static_cast<unsigned char>(c) % 26);
    testing::WriteFile(src / name, content);
    sources["upload/" + name] = std::move(content);
  }
  const vault::Actor actor{"crash", "operator"};
  ASSERT_TRUE(vault::Vault::Create(vault, testing::kPassphrase, actor).ok());
  std::vector<std::string> cases;
  {
    auto v = vault::Vault::Open(vault, testing::kPassphrase, actor);
    ASSERT_TRUE(v.ok());
    const std::string pid = *(*v)->AddPatient({"Crash Test", "1970-01-01", "", ""});
    for (int i = 0; i <= kKills * 3; ++i) cases.push_back(*(*v)->OpenCase(pid, "case"));
  }

  // One undisturbed run sets the time scale for the kills.
  const auto t0 = Clock::now();
  auto full = testing::RunDossier(vault, pass, {"ingest", "--case", cases[0], src.string()});
  ASSERT_EQ(full.exit_code, 0) << full.err;
  const auto full_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();

  int interrupted = 0;
  // Kills land at a random point of [0, window); a run that finished first (the machine got
  // faster, or less loaded) shrinks the window.
  int64_t window = full_ms;
  for (size_t c = 1; c < cases.size() && interrupted < kKills; ++c) {
    const int delay = static_cast<int>(window * (5 + rng() % 91) / 100);
    const int pid = testing::SpawnDossier(vault, pass, {"ingest", "--case", cases[c], src.string()},
                                          dir_ / "ingest.log");
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      ++interrupted;
    } else {
      window = window * 3 / 4;
    }
    auto verify = testing::RunDossier(vault, pass, {"vault", "verify"});
    ASSERT_EQ(verify.exit_code, 0)
        << "after a kill at " << delay << " ms: " << verify.out << verify.err;
  }
  ASSERT_GE(interrupted, 20) << "the ingest finished before most kills (" << full_ms << " ms)";

  auto v = vault::Vault::Open(vault, testing::kPassphrase, actor);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(fs::is_empty(vault / "tmp"));
  size_t stored = 0;
  for (const auto& case_id : cases) {
    auto docs = (*v)->ListDocuments(case_id);
    ASSERT_TRUE(docs.ok());
    std::set<std::string> names;
    for (const auto& d : *docs) {
      ASSERT_EQ(sources.count(d.name), 1u) << d.name;
      EXPECT_TRUE(names.insert(d.name).second) << "stored twice: " << d.name;
      testing::StringSink sink;
      ASSERT_TRUE((*v)->ReadDocument(d.id, sink).ok()) << d.id;
      EXPECT_EQ(sink.data, sources[d.name]) << d.name;
      EXPECT_EQ(d.size, sources[d.name].size());
      ++stored;
    }
  }
  EXPECT_GE(stored, static_cast<size_t>(kFiles));
  auto report = (*v)->Verify(false);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->intact());
  EXPECT_TRUE(report->orphans.empty());
  EXPECT_EQ(report->checked, static_cast<int64_t>(stored));
  v->reset();
  auto audit = vault::VerifyAuditLog(vault);
  ASSERT_TRUE(audit.ok());
  EXPECT_TRUE(audit->intact());

  // Interrupted cases complete on a second try: what was stored is reported as duplicate.
  auto rerun = testing::RunDossier(vault, pass, {"ingest", "--case", cases[1], src.string()});
  EXPECT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_NE(rerun.out.find(" duplicate, 0 skipped, 0 rejected"), std::string::npos);
}

// The descriptor through which process `pid` writes a file in `dir`, and that file's size;
// (-1, 0) when it has none open there.
std::pair<int, uint64_t> OpenFileIn(int pid, const fs::path& dir) {
  std::error_code ec;
  const fs::path fds = "/proc/" + std::to_string(pid) + "/fd";
  for (const auto& e : fs::directory_iterator(fds, ec)) {
    char target[4096];
    const ssize_t n = ::readlink(e.path().c_str(), target, sizeof(target) - 1);
    if (n <= 0) continue;
    const std::string t(target, static_cast<size_t>(n));
    if (t.rfind(dir.string() + "/", 0) != 0) continue;
    struct stat st {};
    if (::stat(e.path().c_str(), &st) != 0) continue;
    return {std::stoi(e.path().filename().string()), static_cast<uint64_t>(st.st_size)};
  }
  return {-1, 0};
}

// `dossier get -o` killed while the plaintext is half written leaves no file at all: the
// bytes go to an unnamed O_TMPFILE that the kernel frees with the process (before issue 12,
// `doc.bin.part_…` stayed behind, holding plaintext).
TEST_F(CrashTest, SigkillDuringGetLeavesNoFileInTheTargetFolder) {
  const fs::path vault = dir_ / "vault", pass = dir_ / "pass", out = dir_ / "out";
  testing::WriteFile(pass, testing::kPassphrase);
  fs::create_directories(out);
  constexpr size_t kMiB = 1 << 20, kSize = 192 * kMiB;
  const vault::Actor actor{"crash", "operator"};
  ASSERT_TRUE(vault::Vault::Create(vault, testing::kPassphrase, actor).ok());
  std::string doc;
  {
    auto v = vault::Vault::Open(vault, testing::kPassphrase, actor);
    ASSERT_TRUE(v.ok());
    const std::string pid = *(*v)->AddPatient({"Crash Test", "1970-01-01", "", ""});
    const std::string case_id = *(*v)->OpenCase(pid, "case");
    auto w = (*v)->BeginDocument({.case_id = case_id, .name = "big.bin", .kind = "other"});
    ASSERT_TRUE(w.ok());
    const std::string block = testing::PseudoRandom(kMiB, 7);
    for (size_t i = 0; i < kSize / kMiB; ++i) ASSERT_TRUE((*w)->Write(AsBytes(block)).ok());
    auto stored = (*w)->Commit();
    ASSERT_TRUE(stored.ok());
    doc = stored->doc_id;
  }
  const fs::path target = out / "doc.bin";
  const int pid =
      testing::SpawnDossier(vault, pass, {"get", doc, "-o", target.string()}, dir_ / "get.log");
  bool killed = false;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    const auto [fd, size] = OpenFileIn(pid, out);
    if (fd >= 0 && size >= 16 * kMiB && size < kSize) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      killed = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  ASSERT_TRUE(killed) << "`dossier get` finished before it could be killed";
  EXPECT_TRUE(fs::is_empty(out)) << fs::directory_iterator(out)->path();

  // Undisturbed, it writes the exact bytes and then refuses to overwrite them.
  auto get = testing::RunDossier(vault, pass, {"get", doc, "-o", target.string()});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(fs::file_size(target), kSize);
  const std::string block = testing::PseudoRandom(kMiB, 7);
  {
    std::ifstream f(target, std::ios::binary);
    std::string chunk(kMiB, '\0');
    for (size_t i = 0; i < kSize / kMiB; ++i) {
      f.read(chunk.data(), static_cast<std::streamsize>(kMiB));
      ASSERT_EQ(chunk, block) << "MiB " << i;
    }
  }
  EXPECT_EQ(std::distance(fs::directory_iterator(out), fs::directory_iterator()), 1);
  auto again = testing::RunDossier(vault, pass, {"get", doc, "-o", target.string()});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_EQ(again.err, "dossier: " + target.string() +
                           " already exists: choose another name or add --force\n");
}

// `vault passwd` killed with SIGKILL at random moments of its rotation (a child process that
// signals when the new key file is sealed, i.e. after Argon2id, and is killed a random time
// into the rewrap, commit and key-file replacement that follow). After every kill the vault
// opens with exactly one of the two passphrases, verifies, its log verifies, and every
// document reads back.
TEST_F(CrashTest, SigkillDuringPasswdLeavesAVaultThatOpensWithOnePassphrase) {
  constexpr int kKills = 20;
  constexpr int kPatients = 1000;
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  const fs::path vault = dir_ / "vault";
  const vault::Actor actor{"crash", "operator"};
  ASSERT_TRUE(vault::Vault::Create(vault, testing::kPassphrase, actor).ok());
  std::map<std::string, std::string> docs;
  {
    auto v = vault::Vault::Open(vault, testing::kPassphrase, actor);
    ASSERT_TRUE(v.ok());
    ASSERT_TRUE((*v)->BeginBatch().ok());
    for (int i = 0; i < kPatients; ++i) {
      const std::string pid = *(*v)->AddPatient({"Crash Test", "1970-01-01", "", ""});
      if (i % 400 != 0) continue;
      const std::string case_id = *(*v)->OpenCase(pid, "case");
      const std::string content = testing::PseudoRandom(5000 + i, seed + i);
      auto w = (*v)->BeginDocument({.case_id = case_id, .name = "doc.bin", .kind = "other"});
      ASSERT_TRUE(w.ok());
      ASSERT_TRUE((*w)->Write(AsBytes(content)).ok());
      auto stored = (*w)->Commit();
      ASSERT_TRUE(stored.ok()) << stored.status().message();
      docs[stored->doc_id] = content;
    }
    ASSERT_TRUE((*v)->CommitBatch().ok());
  }

  // Runs `passwd` from `from` to `to` in a child; returns its pid once the child is past
  // Argon2id (about to stage the new key file). `done_fd` gets a byte when it finishes.
  auto start_passwd = [&](const std::string& from, const std::string& to, int* done_fd) {
    int ready[2], done[2];
    EXPECT_EQ(::pipe(ready), 0);
    EXPECT_EQ(::pipe(done), 0);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(ready[0]);
      ::close(done[0]);
      vault::VaultOptions o;
      o.rotation_step = [&](std::string_view step) {
        if (step == "sealed") (void)!::write(ready[1], "s", 1);
        if (step == "done") (void)!::write(done[1], "d", 1);
      };
      auto v = vault::Vault::Open(vault, from, actor, o);
      if (!v.ok()) ::_exit(2);
      ::_exit((*v)->ChangePassphrase(to).ok() ? 0 : 3);
    }
    ::close(ready[1]);
    ::close(done[1]);
    char c = 0;
    EXPECT_EQ(::read(ready[0], &c, 1), 1) << "the child failed before rotating";
    ::close(ready[0]);
    *done_fd = done[0];
    return pid;
  };

  // One undisturbed rotation sets the time scale of the kills.
  std::string current = testing::kPassphrase, other = "another long passphrase";
  int done_fd = -1;
  int pid = start_passwd(current, other, &done_fd);
  const auto t0 = Clock::now();
  char c = 0;
  ASSERT_EQ(::read(done_fd, &c, 1), 1);
  const auto window_us =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
  ::close(done_fd);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  std::swap(current, other);

  int rotated = 0, finished = 0;
  for (int kill = 0; kill < kKills; ++kill) {
    const auto delay = std::chrono::microseconds(rng() % (window_us + 1));
    SCOPED_TRACE("kill " + std::to_string(kill) + " at " + std::to_string(delay.count()) +
                 " us of " + std::to_string(window_us));
    pid = start_passwd(current, other, &done_fd);
    std::this_thread::sleep_for(delay);
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    ::close(done_fd);
    if (WIFEXITED(status)) ++finished;

    // Exactly one of the two passphrases opens the vault.
    bool other_opens = false;
    {
      auto w = vault::Vault::Open(vault, other, actor);
      other_opens = w.ok();
      if (!other_opens) {
        EXPECT_EQ(w.status().code(), StatusCode::kAuthFailed) << w.status().message();
      }
    }
    if (other_opens) {
      std::swap(current, other);
      ++rotated;
      auto w = vault::Vault::Open(vault, other, actor);
      EXPECT_EQ(w.status().code(), StatusCode::kAuthFailed) << "both passphrases open the vault";
    }
    auto v = vault::Vault::Open(vault, current, actor);
    ASSERT_TRUE(v.ok()) << "neither passphrase opens the vault: " << v.status().message();
    EXPECT_FALSE(fs::exists(vault / "vault.key.new"));
    for (const auto& [doc, content] : docs) {
      testing::StringSink sink;
      ASSERT_TRUE((*v)->ReadDocument(doc, sink).ok()) << doc;
      ASSERT_EQ(sink.data, content) << doc;
    }
    auto report = (*v)->Verify(true);
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->intact());
    v->reset();
    auto audit = vault::VerifyAuditLog(vault);
    ASSERT_TRUE(audit.ok());
    EXPECT_TRUE(audit->intact());
  }
  std::printf(
      "[ measure  ] rotation of %d patient keys: %lld us; of %d kills, %d left the vault "
      "rotated, %d came after the end\n",
      kPatients, static_cast<long long>(window_us), kKills, rotated, finished);
}

}  // namespace
// `dossier export` killed at points spread over its run: whatever it had written, the vault
// and the audit log verify, no request is recorded for an export that did not finish, and a
// later export to the same folder removes the stale `.partial` and succeeds.
TEST_F(CrashTest, SigkillDuringExportLeavesNoLedgerRowAndACleanVault) {
  const fs::path vault = dir_ / "vault", pass = dir_ / "pass", pw = dir_ / "pw";
  testing::WriteFile(pass, testing::kPassphrase);
  testing::WriteFile(pw, "correct horse battery staple\n");
  constexpr size_t kMiB = 1 << 20;
  const vault::Actor actor{"crash", "operator"};
  ASSERT_TRUE(vault::Vault::Create(vault, testing::kPassphrase, actor).ok());
  std::string case_id;
  {
    auto v = vault::Vault::Open(vault, testing::kPassphrase, actor);
    ASSERT_TRUE(v.ok());
    const std::string pid = *(*v)->AddPatient({"Crash Test", "1970-01-01", "", ""});
    case_id = *(*v)->OpenCase(pid, "case");
    const std::string clinic = *(*v)->AddClinic({"Crash Clinic", "DE", "", ""});
    vault::NewConsent c;
    c.patient_id = pid;
    c.clinic_id = clinic;
    c.purposes = {Purpose::kSecondOpinion};
    c.categories = {Category::kOther};
    c.valid_until = "2099-12-31";
    ASSERT_TRUE((*v)->AddConsent(c).ok());
    for (int d = 0; d < 12; ++d) {
      auto w = (*v)->BeginDocument(
          {.case_id = case_id, .name = "scan" + std::to_string(d) + ".bin", .kind = "other"});
      ASSERT_TRUE(w.ok());
      const std::string block = testing::PseudoRandom(kMiB, 100 + d);
      for (int i = 0; i < 8; ++i) ASSERT_TRUE((*w)->Write(AsBytes(block)).ok());
      ASSERT_TRUE((*w)->Commit().ok());
    }
  }
  auto export_args = [&](const fs::path& out) {
    return std::vector<std::string>{"export", "--case", case_id, "--recipient", "Crash Clinic",
                                    "--out", out.string(), "--password-file", pw.string(),
                                    "--max-part", "20MB"};
  };
  auto ledger = [&] {
    auto r = testing::RunDossier(vault, pass, {"--json", "export", "list"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out).size();
  };
  std::mt19937 rng(20261129);
  size_t finished = 0, cut_short = 0;
  for (int round = 0; round < 6; ++round) {
    const fs::path out = dir_ / ("out" + std::to_string(round));
    const int pid = testing::SpawnDossier(vault, pass, export_args(out),
                                          dir_ / ("export" + std::to_string(round) + ".log"));
    // Unlocking takes ~0.5 s, the export ~1–3 s more: kill somewhere in between.
    std::this_thread::sleep_for(std::chrono::milliseconds(400 + rng() % 2500));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    const bool completed = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (completed || fs::exists(out)) {
      ++finished;
      EXPECT_TRUE(fs::exists(out / "SHA256SUMS")) << round;
    } else if (fs::exists(out.string() + ".partial")) {
      ++cut_short;  // killed while writing parts
    }
    EXPECT_FALSE(fs::exists(out) && fs::exists(out.string() + ".partial")) << round;
    // A request is recorded only for a finished export (a kill between the rename and the
    // record may leave a finished folder without one).
    EXPECT_LE(ledger(), finished) << round;
    auto verify = testing::RunDossier(vault, pass, {"vault", "verify"});
    EXPECT_EQ(verify.exit_code, 0) << round << ": " << verify.out << verify.err;
    auto audit = testing::RunDossier(vault, pass, {"audit", "verify"});
    EXPECT_EQ(audit.exit_code, 0) << round << ": " << audit.out << audit.err;
  }
  EXPECT_GE(cut_short, 1u) << "no kill landed while parts were being written";
  // Undisturbed, an export into the first folder succeeds, removing any stale `.partial`.
  const fs::path first = dir_ / "out0";
  if (!fs::exists(first)) {
    auto r = testing::RunDossier(vault, pass, export_args(first));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_FALSE(fs::exists(first.string() + ".partial"));
    auto [rc, text] = testing::Shell("cd " + first.string() + " && sha256sum -c SHA256SUMS");
    EXPECT_EQ(rc, 0) << text;
  }
}

}  // namespace dossier
