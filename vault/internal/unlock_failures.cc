#include "vault/internal/unlock_failures.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/file_io.h"

namespace dossier::vault::internal {

namespace {

// "2026-11-22T09:00:00Z" and nothing else.
bool IsUtcTime(const std::string& s) {
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:ddZ";
  if (s.size() != kShape.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool ok = kShape[i] == 'd' ? (s[i] >= '0' && s[i] <= '9') : s[i] == kShape[i];
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string UnlockFailures::Describe() const {
  return "count=" + std::to_string(count) + " first=" + (first.empty() ? "?" : first) +
         " last=" + (last.empty() ? "?" : last);
}

namespace {

// Whether `f` is still the record, not one a fold removed after it was opened.
bool StillLinked(const File& f) {
  struct stat st {};
  return ::fstat(f.fd(), &st) == 0 && st.st_nlink > 0;
}

int Flock(const File& f, int op) {
  for (;;) {
    if (::flock(f.fd(), op) == 0) return 0;
    if (errno != EINTR) return errno;
  }
}

}  // namespace

Status RecordUnlockFailure(const VaultDir& dir, const std::string& at) {
  File f;
  for (int attempt = 0;; ++attempt) {
    DOSSIER_ASSIGN_OR_RETURN(f, dir.OpenOrCreate(kUnlockFailures, O_WRONLY | O_APPEND));
    if (int err = Flock(f, LOCK_EX); err != 0) {
      return ErrnoError("cannot lock", dir.PathOf(kUnlockFailures).string(), err);
    }
    if (StillLinked(f) || attempt == 3) break;  // folded and removed meanwhile: a new record
  }
  const std::string line = at + "\n";  // one write: appends of concurrent failures never mix
  DOSSIER_RETURN_IF_ERROR(f.WriteAll({reinterpret_cast<const uint8_t*>(line.data()), line.size()}));
  DOSSIER_RETURN_IF_ERROR(f.Sync());
  return f.Close();
}

namespace {

Result<std::optional<UnlockFailures>> Summarize(File& f) {
  UnlockFailures u;
  std::string line;  // the current line, kept only while it may still be a time
  bool too_long = false;
  auto end_line = [&] {
    ++u.count;
    if (!too_long && IsUtcTime(line)) {
      if (u.first.empty()) u.first = line;
      u.last = line;
    }
    line.clear();
    too_long = false;
  };
  uint8_t buf[8192];
  for (;;) {
    DOSSIER_ASSIGN_OR_RETURN(size_t n, f.Read(buf));
    if (n == 0) break;
    for (size_t i = 0; i < n; ++i) {
      if (buf[i] == '\n') {
        end_line();
      } else if (line.size() < 32) {
        line += static_cast<char>(buf[i]);
      } else {
        too_long = true;
      }
    }
  }
  if (!line.empty() || too_long) end_line();  // a last line cut short by a crash
  if (u.count == 0) return std::optional<UnlockFailures>();
  return std::optional<UnlockFailures>(u);
}

}  // namespace

Result<std::optional<UnlockFailures>> ReadUnlockFailures(const VaultDir& dir) {
  auto opened = dir.OpenRegular(kUnlockFailures);
  if (!opened.ok()) {
    if (opened.status().code() == StatusCode::kNotFound) return std::optional<UnlockFailures>();
    return opened.status();
  }
  return Summarize(*opened);
}

Result<std::optional<UnlockFailuresClaim>> UnlockFailuresClaim::Take(const VaultDir& dir) {
  auto opened = dir.OpenRegular(kUnlockFailures);
  if (!opened.ok()) {
    if (opened.status().code() == StatusCode::kNotFound) {
      return std::optional<UnlockFailuresClaim>();
    }
    return opened.status();
  }
  UnlockFailuresClaim claim;
  claim.file_ = std::move(opened).value();
  if (int err = Flock(claim.file_, LOCK_EX | LOCK_NB); err != 0) {
    if (err == EWOULDBLOCK) return std::optional<UnlockFailuresClaim>();
    return ErrnoError("cannot lock", dir.PathOf(kUnlockFailures).string(), err);
  }
  if (!StillLinked(claim.file_)) return std::optional<UnlockFailuresClaim>();  // just folded
  DOSSIER_ASSIGN_OR_RETURN(claim.failures_, Summarize(claim.file_));
  return std::optional<UnlockFailuresClaim>(std::move(claim));
}

Status UnlockFailuresClaim::Remove(const VaultDir& dir) {
  DOSSIER_RETURN_IF_ERROR(RemoveUnlockFailures(dir));
  file_ = File();  // lets go of the flock; a recorder that waited finds the file unlinked
  return Status::Ok();
}

Status RemoveUnlockFailures(const VaultDir& dir) {
  DOSSIER_RETURN_IF_ERROR(dir.Remove(kUnlockFailures));
  return dir.SyncDir();
}

}  // namespace dossier::vault::internal
