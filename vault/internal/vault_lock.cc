#include "vault/internal/vault_lock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "vault/internal/layout.h"

namespace dossier::vault::internal {

namespace {

using std::chrono::milliseconds;

// The bytes whose OFD record locks carry the signals (far from the note, which they never
// touch: record locks are advisory).
constexpr off_t kWriterWaitingByte = 1;
constexpr off_t kPresentByte = 2;
// How long a wait stays silent: an open that finds itself alone holds the lock exclusively
// for a few milliseconds, and nobody needs to hear about that.
constexpr milliseconds kQuietWait{500};
constexpr size_t kMaxNote = 200;

int Flock(int fd, int op) {
  for (;;) {
    if (::flock(fd, op) == 0) return 0;
    if (errno != EINTR) return errno;
  }
}

// An OFD record lock of `type` (F_RDLCK, F_UNLCK) on one byte; never waits.
int SetByteLock(int fd, off_t byte, short type) {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = byte;
  fl.l_len = 1;
  return ::fcntl(fd, F_OFD_SETLK, &fl) == 0 ? 0 : errno;
}

// Whether an open file description other than ours holds a lock on `byte`.
bool ByteHeldByOthers(int fd, off_t byte) {
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = byte;
  fl.l_len = 1;
  if (::fcntl(fd, F_OFD_GETLK, &fl) != 0) return false;
  return fl.l_type != F_UNLCK;
}

}  // namespace

Result<VaultLock> VaultLock::Open(const VaultDir& dir, WaitFn on_wait) {
  VaultLock lock;
  DOSSIER_ASSIGN_OR_RETURN(lock.file_, dir.OpenOrCreate(kLock, O_RDWR));
  lock.path_ = dir.PathOf(kLock).string();
  lock.on_wait_ = std::move(on_wait);
  return lock;
}

void VaultLock::Say(const std::string& message) const {
  if (on_wait_) on_wait_(message);
}

Status VaultLock::MarkPresent() {
  if (present_) return Status::Ok();
  if (int err = SetByteLock(file_.fd(), kPresentByte, F_RDLCK); err != 0) {
    return ErrnoError("cannot lock", path_, err);
  }
  present_ = true;
  return Status::Ok();
}

Status VaultLock::Shared() {
  DOSSIER_RETURN_IF_ERROR(MarkPresent());
  const int fd = file_.fd();
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    const int err = Flock(fd, LOCK_SH | LOCK_NB);
    if (err == 0) break;
    if (err != EWOULDBLOCK) return ErrnoError("cannot lock", path_, err);
    if (std::chrono::steady_clock::now() - start < kQuietWait) {
      std::this_thread::sleep_for(milliseconds(10));
      continue;
    }
    const std::string note = ReadNote();
    Say(note.empty() ? "waiting for another dossier process to close the vault…"
                     : "waiting for another dossier process (" + note + ") to finish…");
    if (int e = Flock(fd, LOCK_SH); e != 0) return ErrnoError("cannot lock", path_, e);
    break;
  }
  held_ = true;
  exclusive_ = false;
  return Status::Ok();
}

Result<bool> VaultLock::TryExclusive(const std::string& note) {
  DOSSIER_RETURN_IF_ERROR(MarkPresent());
  const int err = Flock(file_.fd(), LOCK_EX | LOCK_NB);
  if (err == 0) {
    held_ = exclusive_ = true;
    DOSSIER_RETURN_IF_ERROR(WriteNote(note));
    return true;
  }
  if (err != EWOULDBLOCK) return ErrnoError("cannot lock", path_, err);
  // Linux removes the shared lock before it finds the conflict: take it again.
  held_ = false;
  DOSSIER_RETURN_IF_ERROR(Shared());
  return false;
}

Status VaultLock::Exclusive(const std::string& note, const std::string& why) {
  DOSSIER_RETURN_IF_ERROR(MarkPresent());
  const int fd = file_.fd();
  if (exclusive_) return WriteNote(note);
  if (held_) {
    (void)Flock(fd, LOCK_UN);
    held_ = false;
  }
  const auto start = std::chrono::steady_clock::now();
  bool said = false;
  for (milliseconds pause{5};; pause = std::min(pause * 2, milliseconds(250))) {
    const int err = Flock(fd, LOCK_EX | LOCK_NB);
    if (err == 0) break;
    if (err != EWOULDBLOCK) return ErrnoError("cannot lock", path_, err);
    if (!said && std::chrono::steady_clock::now() - start >= kQuietWait) {
      Say(fmt::format("waiting for {} to close the vault: {}", DescribeProcesses(OtherHolders()),
                      why));
      said = true;
    }
    std::this_thread::sleep_for(pause);
  }
  held_ = exclusive_ = true;
  return WriteNote(note);
}

Status VaultLock::Downgrade() {
  if (!exclusive_) return Status::Ok();
  (void)::ftruncate(file_.fd(), 0);  // the note: nobody holds the vault alone any more
  if (int err = Flock(file_.fd(), LOCK_SH); err != 0) return ErrnoError("cannot lock", path_, err);
  exclusive_ = false;
  return Status::Ok();
}

Status VaultLock::WriteNote(const std::string& note) {
  const std::string line = fmt::format("pid {}: {}\n", ::getpid(), note);
  const int fd = file_.fd();
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, line.data(), line.size(), 0) != static_cast<ssize_t>(line.size())) {
    return ErrnoError("cannot write", path_, errno);
  }
  return Status::Ok();
}

std::string VaultLock::ReadNote() const {
  char buf[kMaxNote + 1];
  const ssize_t n = ::pread(file_.fd(), buf, kMaxNote, 0);
  if (n <= 0) return "";
  std::string note(buf, static_cast<size_t>(n));
  if (auto nl = note.find('\n'); nl != std::string::npos) note.resize(nl);
  // The file is the vault owner's; still, nothing but plain text reaches a terminal.
  for (char c : note) {
    if (c < 0x20 || c > 0x7e) return "";
  }
  return note;
}

Result<bool> VaultLock::OthersPresent() const { return ByteHeldByOthers(file_.fd(), kPresentByte); }

void VaultLock::BeginWriteWait() {
  std::lock_guard<std::mutex> guard(*wait_mu_);
  if (write_waiters_++ == 0) (void)SetByteLock(file_.fd(), kWriterWaitingByte, F_RDLCK);
}

void VaultLock::EndWriteWait() {
  std::lock_guard<std::mutex> guard(*wait_mu_);
  if (write_waiters_ > 0 && --write_waiters_ == 0) {
    (void)SetByteLock(file_.fd(), kWriterWaitingByte, F_UNLCK);
  }
}

bool VaultLock::WritersWaiting() const { return ByteHeldByOthers(file_.fd(), kWriterWaitingByte); }

std::vector<int> VaultLock::OtherHolders() const {
  struct stat st {};
  std::vector<int> pids;
  if (::fstat(file_.fd(), &st) != 0) return pids;
  // "1: FLOCK  ADVISORY  READ 28922 fe:00:10952970 0 EOF"; a waiter's line has "->" after
  // the number.
  const std::string inode =
      fmt::format("{:02x}:{:02x}:{}", major(st.st_dev), minor(st.st_dev), st.st_ino);
  std::ifstream locks("/proc/locks");
  std::string line;
  while (std::getline(locks, line)) {
    std::istringstream in(line);
    std::string number, type, advisory, mode, pid, where;
    if (!(in >> number >> type >> advisory >> mode >> pid >> where)) continue;
    if (type != "FLOCK" || where != inode) continue;
    const int p = std::atoi(pid.c_str());
    if (p > 0 && p != ::getpid()) pids.push_back(p);
  }
  std::sort(pids.begin(), pids.end());
  pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
  return pids;
}

std::string VaultLock::DescribeProcesses(const std::vector<int>& pids) {
  if (pids.empty()) return "other dossier processes";
  if (pids.size() == 1) return fmt::format("another dossier process (pid {})", pids[0]);
  return fmt::format("{} other dossier processes (pids {})", pids.size(), fmt::join(pids, ", "));
}

}  // namespace dossier::vault::internal
