// Analysis workers: child processes that parse untrusted bytes, so that a crash, a hang or a
// take-over by a hostile file costs one item — never the process that holds the keys.
//
// A worker is a program (by default this very executable, /proc/self/exe) re-executed with
// one argument, its role ("__unpack-worker"), an environment of its own, and limits set
// before exec: address space, CPU seconds, descriptors, file size, no core dumps, no new
// privileges, killed with its parent. Its stdin is a Unix socket for requests (and the
// descriptors that ride with them, frame.h); its stdout a pipe for replies; stderr goes to
// /dev/null. The worker confines itself (confine.h) before reading its first request and
// says so in its start-up frame; Start() waits for that frame, so a worker that cannot be
// confined never receives a byte of a document.
//
// Parent:                                   Worker (its entry point):
//   auto w = Worker::Start(options);          if (!EnterWorker(-1).ok()) return 5;
//   WriteFrame(w->request_fd(), 'U', …);      for (;;) { ReadFrame(STDIN_FILENO, …); … }
//   ReadFrame(w->reply_fd(), 60'000, f);
//
// The parent trusts nothing a worker says: it checks every frame (the module that runs the
// worker does, ingest/ for the unpack worker) and kills a worker that stays silent too long.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "common/file_io.h"
#include "common/status.h"

namespace dossier::sandbox {

// What a worker does when it cannot confine itself (no Landlock, no seccomp).
enum class Confinement {
  kRequired,    // it refuses to start: Start() fails with the reason (the default)
  kBestEffort,  // it runs with what it has (--allow-unconfined-workers): Worker::unconfined()
  kOff,         // it does not even try; for tests that must see what a free worker can do
};

// The descriptor a worker finds its writable folder on (WorkerOptions::writable_dir_fd).
inline constexpr int kWritableDirFd = 3;

struct WorkerOptions {
  // Program to run as the worker; empty means this very executable (/proc/self/exe).
  std::string program;
  // Its only argument, which tells the program to be a worker.
  std::string role = "__unpack-worker";
  // Address-space limit (RLIMIT_AS). Default 2 GiB: an unpack worker holds a nested archive
  // in memory (ingest::UnpackLimits::nested_archive_bytes) and 7z dictionaries can be large.
  uint64_t memory_bytes = uint64_t{2} << 30;
  // CPU seconds a worker may use in its whole life (RLIMIT_CPU), a backstop: default 1 hour.
  uint64_t cpu_seconds = 3600;
  // Descriptors it may hold (RLIMIT_NOFILE). Default 64: its three standard ones, a folder,
  // one document at a time, and what Poppler and Tesseract open under /usr.
  uint64_t open_files = 64;
  // Largest file it may write (RLIMIT_FSIZE). Default 0: a worker writes no files, so even a
  // file it could open it could not fill. The export worker sets kNoFileLimit.
  uint64_t file_bytes = 0;
  // A folder (descriptor) the worker may create and write files in, passed to it as
  // kWritableDirFd and opened to it by Landlock; -1 (default): none.
  int writable_dir_fd = -1;
  // Default kRequired; `dossier --allow-unconfined-workers` makes it kBestEffort.
  Confinement confinement = Confinement::kRequired;
  // How long Start() waits for the start-up frame (default 30 s).
  int start_seconds = 30;
};

inline constexpr uint64_t kNoFileLimit = ~uint64_t{0};

// One running worker, owned by the parent. Move-only; kills the child on destruction.
// Starting the first worker sets SIGPIPE to be ignored in the calling process.
class Worker {
 public:
  // Starts the worker and waits until it is confined. kInternal when it cannot start or
  // refused to start unconfined (the message says why and what the operator can do).
  static Result<Worker> Start(const WorkerOptions& options);
  Worker(Worker&& other) noexcept;
  Worker& operator=(Worker&& other) noexcept;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker();

  pid_t pid() const { return pid_; }
  int request_fd() const { return to_worker_.fd(); }  // a Unix socket: frames and descriptors
  int reply_fd() const { return from_worker_.fd(); }  // a pipe: frames
  // Why this worker runs unconfined (Confinement::kBestEffort or kOff), or "" when it is
  // confined.
  const std::string& unconfined() const { return unconfined_; }
  // Kills the child (SIGKILL) unless it already ended, reaps it, and says how it ended:
  // "stopped by signal 11", "exited with code 1".
  std::string Stop();

 private:
  Worker() = default;
  pid_t pid_ = -1;
  File to_worker_;
  File from_worker_;
  std::string unconfined_;
};

// Called by a worker's entry point after its start-up (locale, libraries that read their
// configuration) and before its first request: confines the process as its parent asked
// (Confine(writable_dir)) and sends the start-up frame on stdout. An error means the worker
// must exit (it could not be confined and the parent did not allow that, or the parent is
// gone); the parent has been told why.
[[nodiscard]] Status EnterWorker(int writable_dir);

}  // namespace dossier::sandbox
