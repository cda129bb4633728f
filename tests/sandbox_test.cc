// The sandbox for real: a worker started by sandbox::Worker (tests/sandbox_probe_worker.cc,
// confined exactly as `dossier __unpack-worker` is) tries what a hostile file that took it over
// would try; each attempt is refused, the worker says which, and the parent carries on. The
// same worker unconfined succeeds, so the test can fail. Also the start-up contract: a worker
// that cannot be confined refuses to start unless the operator allowed it.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sandbox/frame.h"
#include "sandbox/worker.h"
#include "tests/test_util.h"

namespace dossier::sandbox {
namespace {

namespace fs = std::filesystem;

class SandboxTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    options_.program = DOSSIER_PROBE_WORKER;
    options_.role = "__probe-worker";
    // A listening port the worker may try to reach.
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(listener_, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(::listen(listener_, 4), 0);
    socklen_t len = sizeof(addr);
    ASSERT_EQ(::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
  }
  void TearDown() override {
    if (listener_ >= 0) ::close(listener_);
    TempDirTest::TearDown();
  }

  // Sends the probe; returns the worker's answer ("" when it could do everything), or
  // "worker lost: …" when it did not answer.
  std::string Probe(Worker& w, const fs::path& file) {
    const std::string payload = std::to_string(port_) + std::string(1, '\0') + file.string();
    if (!WriteFrame(w.request_fd(), 'T', payload).ok()) return "worker lost: cannot send";
    Frame f;
    const Status got = ReadFrame(w.reply_fd(), 20000, f);
    if (!got.ok() || f.type != 'F') return "worker lost: " + w.Stop();
    const auto parts = SplitNul(f.payload);
    return parts.size() == 2 ? parts[1] : "";
  }

  WorkerOptions options_;
  int listener_ = -1;
  int port_ = 0;
};

TEST_F(SandboxTest, AConfinedWorkerCannotReachTheNetworkStartProgramsOrWriteFiles) {
  auto w = Worker::Start(options_);
  ASSERT_TRUE(w.ok()) << w.status().message();
  if (!w->unconfined().empty()) GTEST_SKIP() << "this kernel cannot confine: " << w->unconfined();
  EXPECT_EQ(Probe(*w, dir_ / "leak"),
            "refused: tcp socket (Operation not permitted); file create (Permission denied); "
            "fork (Operation not permitted); exec (Operation not permitted)");
  EXPECT_FALSE(fs::exists(dir_ / "leak"));
  // The worker is still there and still answers: a refused call is an error, not a kill.
  EXPECT_EQ(Probe(*w, dir_ / "leak2"),
            "refused: tcp socket (Operation not permitted); file create (Permission denied); "
            "fork (Operation not permitted); exec (Operation not permitted)");
  EXPECT_EQ(::kill(w->pid(), 0), 0);
  EXPECT_EQ(w->Stop(), "exited with code 0");  // it ends cleanly when its requests end
}

TEST_F(SandboxTest, TheSameWorkerUnconfinedCanDoAllOfIt) {
  options_.confinement = Confinement::kOff;
  options_.file_bytes = kNoFileLimit;
  auto w = Worker::Start(options_);
  ASSERT_TRUE(w.ok()) << w.status().message();
  EXPECT_EQ(w->unconfined(), "confinement turned off by the parent");
  EXPECT_EQ(Probe(*w, dir_ / "leak"), "");
  EXPECT_TRUE(fs::exists(dir_ / "leak"));
}

TEST_F(SandboxTest, WithoutLandlockAWorkerCannotWriteAFileItCouldOpen) {
  // RLIMIT_FSIZE 0 on its own (confinement off, the default file_bytes): the file can be
  // created, but not one byte written — and the worker is not killed by SIGXFSZ.
  options_.confinement = Confinement::kOff;
  auto w = Worker::Start(options_);
  ASSERT_TRUE(w.ok()) << w.status().message();
  EXPECT_EQ(Probe(*w, dir_ / "leak"), "refused: file write (File too large)");
  EXPECT_EQ(fs::file_size(dir_ / "leak"), 0u);
}

TEST_F(SandboxTest, AWorkerThatCannotBeConfinedRefusesToStartUnlessAllowed) {
  options_.role = "__probe-worker-bad-folder";  // its Landlock rule cannot be made
  auto refused = Worker::Start(options_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInternal);
  EXPECT_EQ(refused.status().message(),
            "the analysis workers cannot be confined, so none was started: Landlock refused the "
            "rule for the worker's folder: Bad file descriptor — fix that, or run with "
            "--allow-unconfined-workers (not recommended: a hostile file could then reach the "
            "network)");

  options_.confinement = Confinement::kBestEffort;
  auto allowed = Worker::Start(options_);
  ASSERT_TRUE(allowed.ok()) << allowed.status().message();
  EXPECT_EQ(allowed->unconfined(),
            "Landlock refused the rule for the worker's folder: Bad file "
            "descriptor");
  // Landlock failed, but the seccomp filter was still installed.
  EXPECT_EQ(Probe(*allowed, dir_ / "leak"),
            "refused: tcp socket (Operation not permitted); file write (File too large); fork "
            "(Operation not permitted); exec (Operation not permitted)");
}

TEST_F(SandboxTest, AWorkerThatDoesNotStartIsAnError) {
  options_.program = "/nonexistent/worker";
  auto w = Worker::Start(options_);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().message(),
            "the analysis worker (/nonexistent/worker __probe-worker) did not start (exited with "
            "code 127)");
}

}  // namespace
}  // namespace dossier::sandbox
