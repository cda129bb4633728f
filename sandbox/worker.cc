#include "sandbox/worker.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string_view>
#include <utility>

#include "common/encoding.h"
#include "sandbox/confine.h"
#include "sandbox/frame.h"

namespace dossier::sandbox {
namespace {

constexpr const char* kConfinementVar = "DOSSIER_WORKER_CONFINEMENT";

const char* ConfinementName(Confinement c) {
  switch (c) {
    case Confinement::kRequired:
      return "required";
    case Confinement::kBestEffort:
      return "best-effort";
    case Confinement::kOff:
      return "off";
  }
  return "required";
}

// A reason from the start-up frame, as it may be shown: the worker wrote it before reading
// any untrusted byte, but it is bounded and made printable all the same.
std::string Printable(std::string s) {
  if (s.size() > 300) s.resize(300);
  if (!IsValidUtf8(s)) return "(an unreadable reason)";
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
  }
  return s;
}

void SetLimit(int resource, uint64_t value) {
  const rlim_t v = value == kNoFileLimit ? RLIM_INFINITY : static_cast<rlim_t>(value);
  const rlimit limit{v, v};
  ::setrlimit(resource, &limit);
}

}  // namespace

Result<Worker> Worker::Start(const WorkerOptions& options) {
  // A worker that died must show up as a failed write, not kill its parent with SIGPIPE.
  static const bool sigpipe_ignored = (::signal(SIGPIPE, SIG_IGN), true);
  (void)sigpipe_ignored;
  int to_fds[2], from_fds[2];
  // Requests go over a Unix socket: it carries the upload's descriptor with each request.
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, to_fds) != 0)
    return ErrnoError("cannot create a socket for", "the analysis worker", errno);
  File to[2] = {File(to_fds[0], "worker requests"), File(to_fds[1], "worker requests")};
  if (::pipe2(from_fds, O_CLOEXEC) != 0) {
    return ErrnoError("cannot create a pipe for", "the analysis worker", errno);
  }
  File from[2] = {File(from_fds[0], "worker replies"), File(from_fds[1], "worker replies")};
  const std::string program = options.program.empty() ? "/proc/self/exe" : options.program;
  // Everything the child needs is made before fork: it only calls async-signal-safe functions.
  std::string fault = "DOSSIER_WORKER_FAULT=";
  if (const char* f = std::getenv("DOSSIER_WORKER_FAULT")) fault += f;  // tests only
  std::string confinement =
      std::string(kConfinementVar) + "=" + ConfinementName(options.confinement);
  char env0[] = "LC_ALL=C.UTF-8";
  char env1[] = "OMP_THREAD_LIMIT=1";
  char* envp[] = {env0, env1, fault.data(), confinement.data(), nullptr};
  char arg0[] = "dossier";
  std::string arg1 = options.role;
  char* argv[] = {arg0, arg1.data(), nullptr};
  const pid_t pid = ::fork();
  if (pid < 0) return ErrnoError("cannot start", "the analysis worker", errno);
  if (pid == 0) {
    // The child: dies with its parent, can never gain privileges, and starts with an
    // environment of its own — nothing of the parent's (no passphrase file, no vault path).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    ::dup2(to[0].fd(), STDIN_FILENO);
    ::dup2(from[1].fd(), STDOUT_FILENO);
    // Parsers and Tesseract chatter on stderr about what they read ("Too few characters");
    // the parent reports what matters, so the user's terminal gets none of it.
    if (const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC); null >= 0) {
      ::dup2(null, STDERR_FILENO);
    }
    if (options.writable_dir_fd == kWritableDirFd) {
      ::fcntl(kWritableDirFd, F_SETFD, 0);  // already in place: keep it across exec
    } else if (options.writable_dir_fd >= 0) {
      ::dup2(options.writable_dir_fd, kWritableDirFd);
    }
    SetLimit(RLIMIT_AS, options.memory_bytes);
    SetLimit(RLIMIT_CPU, options.cpu_seconds);
    SetLimit(RLIMIT_CORE, 0);
    SetLimit(RLIMIT_NOFILE, options.open_files);
    SetLimit(RLIMIT_FSIZE, options.file_bytes);
    // A write past RLIMIT_FSIZE fails with EFBIG instead of killing (kept across exec).
    ::signal(SIGXFSZ, SIG_IGN);
    ::execve(program.c_str(), argv, envp);
    ::_exit(127);
  }
  to[0] = File();  // the child's ends
  from[1] = File();
  // A pipe as large as a data frame: the worker keeps unpacking while the parent encrypts,
  // instead of waking it every 64 KiB (best effort; the default still works).
  ::fcntl(from[0].fd(), F_SETPIPE_SZ, 1 << 20);
  Worker w;
  w.pid_ = pid;
  w.to_worker_ = std::move(to[1]);
  w.from_worker_ = std::move(from[0]);

  Frame hello;
  const Status got = ReadFrame(w.from_worker_.fd(), options.start_seconds * 1000, hello);
  if (!got.ok() || (hello.type != 'O' && hello.type != 'N')) {
    const std::string how = w.Stop();
    return Internal(
        fmt::format("the analysis worker ({} {}) did not start ({})", program, options.role, how));
  }
  if (hello.type == 'N') {
    const std::string why = Printable(hello.payload);
    w.Stop();
    return Internal(fmt::format(
        "the analysis workers cannot be confined, so none was started: {} — fix that, or "
        "run with --allow-unconfined-workers (not recommended: a hostile file could then "
        "reach the network)",
        why));
  }
  const auto parts = SplitNul(hello.payload);
  if (parts.size() == 2 && parts[0] == "unconfined") {
    w.unconfined_ = Printable(parts[1]);
  } else if (!hello.payload.empty()) {
    w.Stop();
    return Internal(
        fmt::format("the analysis worker ({} {}) did not start (a malformed "
                    "start-up frame)",
                    program, options.role));
  }
  return w;
}

Worker::Worker(Worker&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)),
      to_worker_(std::move(o.to_worker_)),
      from_worker_(std::move(o.from_worker_)),
      unconfined_(std::move(o.unconfined_)) {}

Worker& Worker::operator=(Worker&& o) noexcept {
  if (this != &o) {
    Stop();
    pid_ = std::exchange(o.pid_, -1);
    to_worker_ = std::move(o.to_worker_);
    from_worker_ = std::move(o.from_worker_);
    unconfined_ = std::move(o.unconfined_);
  }
  return *this;
}

Worker::~Worker() { Stop(); }

std::string Worker::Stop() {
  to_worker_ = File();  // closing the requests tells a live worker to end
  from_worker_ = File();
  if (pid_ < 0) return "not running";
  // A worker that crashed is reaped as it ended; one that is still running is killed.
  int status = 0;
  pid_t done = 0;
  for (int i = 0; i < 20 && (done = ::waitpid(pid_, &status, WNOHANG)) == 0; ++i) ::usleep(10000);
  if (done == 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  if (WIFSIGNALED(status)) return fmt::format("stopped by signal {}", WTERMSIG(status));
  return fmt::format("exited with code {}", WEXITSTATUS(status));
}

Status EnterWorker(int writable_dir) {
  const char* mode = std::getenv(kConfinementVar);
  const std::string_view m = mode != nullptr ? mode : "required";
  if (m == "off")
    return WriteFrame(STDOUT_FILENO, 'O',
                      std::string("unconfined\0confinement turned off by the parent", 47));
  const Status confined = Confine(writable_dir);
  if (confined.ok()) return WriteFrame(STDOUT_FILENO, 'O', std::string_view());
  if (m == "best-effort") {
    return WriteFrame(STDOUT_FILENO, 'O', "unconfined" + std::string(1, '\0') + confined.message());
  }
  (void)WriteFrame(STDOUT_FILENO, 'N', confined.message());
  return confined;
}

}  // namespace dossier::sandbox
