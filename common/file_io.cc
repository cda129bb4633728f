#include "common/file_io.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "common/encoding.h"

namespace dossier {

File::~File() {
  if (fd_ >= 0) ::close(fd_);
}

File::File(File&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

File& File::operator=(File&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

Result<File> File::OpenRead(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return NotFound("no such file: " + path.string());
    return ErrnoError("cannot open", path.string(), err);
  }
  return File(fd, path.string());
}

Result<File> File::OpenRegular(const fs::path& path) {
  return OpenRegularAt(AT_FDCWD, path.c_str(), path.string());
}

Result<File> File::OpenRegularAt(int dirfd, const char* name, const std::string& shown) {
  const int fd = ::openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    if (err == ELOOP) return Rejected("symbolic link: not followed — upload the file it points to");
    if (err == ENOENT) return NotFound("no such file: " + shown);
    return ErrnoError("cannot open", shown, err);
  }
  File f(fd, shown);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return ErrnoError("cannot stat", shown, errno);
  if (!S_ISREG(st.st_mode)) return Rejected("not a regular file (device, pipe or socket)");
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return f;
}

Result<File> File::Reopen() const {
  const std::string proc = "/proc/self/fd/" + std::to_string(fd_);
  const int fd = ::open(proc.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot reopen", path_, errno);
  return File(fd, path_);
}

Result<File> File::CreateExclusive(const fs::path& path) {
  return CreateExclusiveAt(AT_FDCWD, path.c_str(), path.string());
}

Result<File> File::CreateExclusiveAt(int dirfd, const char* name, const std::string& shown) {
  // O_EXCL never follows a link in the last component; O_NOFOLLOW says so again.
  const int fd = ::openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("cannot create", shown, errno);
  return File(fd, shown);
}

Result<size_t> File::Read(std::span<uint8_t> buf) {
  for (;;) {
    const ssize_t n = ::read(fd_, buf.data(), buf.size());
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return ErrnoError("cannot read", path_, errno);
  }
}

Result<size_t> File::ReadFull(std::span<uint8_t> buf) {
  size_t total = 0;
  while (total < buf.size()) {
    DOSSIER_ASSIGN_OR_RETURN(size_t n, Read(buf.subspan(total)));
    if (n == 0) break;
    total += n;
  }
  return total;
}

Status File::WriteAll(std::span<const uint8_t> data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot write", path_, errno);
    }
    data = data.subspan(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status File::Sync() {
  if (::fsync(fd_) != 0) return ErrnoError("cannot fsync", path_, errno);
  return Status::Ok();
}

Status File::Close() {
  if (fd_ < 0) return Status::Ok();
  const int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) return ErrnoError("cannot close", path_, errno);
  return Status::Ok();
}

Result<uint64_t> File::Size() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return ErrnoError("cannot stat", path_, errno);
  return static_cast<uint64_t>(st.st_size);
}

void DirectFile::FreeDeleter::operator()(uint8_t* p) const { std::free(p); }

DirectFile::Buffer DirectFile::AllocateBuffer(size_t size) {
  Buffer b(
      static_cast<uint8_t*>(std::aligned_alloc(kAlign, (size + kAlign - 1) / kAlign * kAlign)));
  if (!b) throw std::bad_alloc();
  return b;
}

Result<DirectFile> DirectFile::Create(const fs::path& path) {
  return CreateAt(AT_FDCWD, path.c_str(), path.string());
}

Result<DirectFile> DirectFile::CreateAt(int dirfd, const char* name, const std::string& shown) {
  DOSSIER_ASSIGN_OR_RETURN(File f, File::CreateExclusiveAt(dirfd, name, shown));
  // Set after creating: a filesystem without O_DIRECT refuses the flag here (EINVAL), while
  // an open() with it would fail only after creating the file.
  const int flags = ::fcntl(f.fd(), F_GETFL);
  const bool direct = flags >= 0 && ::fcntl(f.fd(), F_SETFL, flags | O_DIRECT) == 0;
  return DirectFile(std::move(f), direct);
}

Result<std::optional<DirectFile>> DirectFile::CreateUnnamed(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    if (err == EOPNOTSUPP || err == EISDIR) return std::optional<DirectFile>();
    return ErrnoError("cannot create a file in", dir.string(), err);
  }
  File f(fd, dir.string());
  const int flags = ::fcntl(fd, F_GETFL);
  const bool direct = flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_DIRECT) == 0;
  return std::optional<DirectFile>(DirectFile(std::move(f), direct));
}

void DirectFile::LeaveDirectMode() {
  ::fcntl(file_.fd(), F_SETFL, ::fcntl(file_.fd(), F_GETFL) & ~O_DIRECT);
  direct_ = false;
}

Status DirectFile::Append(std::span<const uint8_t> data) {
  if (direct_ && data.size() % kAlign != 0) {
    const size_t aligned = data.size() / kAlign * kAlign;
    DOSSIER_RETURN_IF_ERROR(PWrite(data.first(aligned)));
    LeaveDirectMode();  // the file's last partial block goes through the page cache
    data = data.subspan(aligned);
  }
  return PWrite(data);
}

Status DirectFile::PWrite(std::span<const uint8_t> data) {
  while (!data.empty()) {
    const ssize_t w = ::pwrite(file_.fd(), data.data(), data.size(), static_cast<off_t>(written_));
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EINVAL && direct_) {  // the flag was accepted, this alignment is not
        LeaveDirectMode();
        continue;
      }
      return ErrnoError("cannot write", file_.path(), errno);
    }
    data = data.subspan(static_cast<size_t>(w));
    written_ += static_cast<uint64_t>(w);
  }
  return Status::Ok();
}

Status SyncFilesystem(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open", path.string(), errno);
  File f(fd, path.string());
  if (::syncfs(fd) != 0) return ErrnoError("cannot sync the filesystem of", path.string(), errno);
  return Status::Ok();
}

Status SyncDir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open directory", dir.string(), errno);
  File f(fd, dir.string());
  return f.Sync();
}

namespace {

// The folder a new file goes into must exist: kNotFound naming it, as every missing file is.
Status CheckFolderOf(const fs::path& path) {
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    return NotFound("no such folder: " + dir.string() + " (create it first, or choose another)");
  }
  return Status::Ok();
}

}  // namespace

Status WriteFileDurably(const fs::path& path, std::span<const uint8_t> data) {
  DOSSIER_RETURN_IF_ERROR(CheckFolderOf(path));
  fs::path tmp = path;
  tmp += "." + RandomId("tmp", 6);
  {
    DOSSIER_ASSIGN_OR_RETURN(File f, File::CreateExclusive(tmp));
    Status st = f.WriteAll(data);
    if (st.ok()) st = f.Sync();
    if (st.ok()) st = f.Close();
    if (!st.ok()) {
      ::unlink(tmp.c_str());
      return st;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoError("cannot rename into", path.string(), err);
  }
  return SyncDir(path.has_parent_path() ? path.parent_path() : fs::path("."));
}

Result<std::string> ReadSmallFile(const fs::path& path, size_t max_bytes) {
  DOSSIER_ASSIGN_OR_RETURN(File f, File::OpenRead(path));
  return ReadSmallFile(f, max_bytes);
}

Result<std::string> ReadSmallFile(File& f, size_t max_bytes) {
  std::string out;
  uint8_t buf[8192];
  for (;;) {
    DOSSIER_ASSIGN_OR_RETURN(size_t n, f.Read(buf));
    if (n == 0) break;
    out.append(reinterpret_cast<char*>(buf), n);
    if (out.size() > max_bytes) {
      return LimitExceeded(f.path() + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
  return out;
}

namespace {
bool force_named_temp = false;  // tests only
}  // namespace

void DurableFileSink::ForceNamedTempForTesting(bool force) { force_named_temp = force; }

DurableFileSink::DurableFileSink(DirectFile file, fs::path target, fs::path temp, Existing existing)
    : file_(std::move(file)),
      buffer_(DirectFile::AllocateBuffer(kBufferSize)),
      target_(std::move(target)),
      temp_(std::move(temp)),
      existing_(existing) {}

Result<DurableFileSink> DurableFileSink::Create(const fs::path& path, Existing existing) {
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  DOSSIER_RETURN_IF_ERROR(CheckFolderOf(path));
  if (!force_named_temp) {
    DOSSIER_ASSIGN_OR_RETURN(std::optional<DirectFile> unnamed, DirectFile::CreateUnnamed(dir));
    if (unnamed) return DurableFileSink(std::move(*unnamed), path, fs::path(), existing);
  }
  fs::path tmp = path;
  tmp += "." + RandomId("part", 6);
  DOSSIER_ASSIGN_OR_RETURN(DirectFile f, DirectFile::Create(tmp));
  return DurableFileSink(std::move(f), path, tmp, existing);
}

DurableFileSink::~DurableFileSink() {
  if (buffer_) sodium_memzero(buffer_.get(), kBufferSize);  // plaintext
  if (!committed_ && !temp_.empty()) {
    file_.reset();
    ::unlink(temp_.c_str());
  }
}

Status DurableFileSink::Write(std::span<const uint8_t> data) {
  while (!data.empty()) {
    const size_t n = std::min(data.size(), kBufferSize - used_);
    std::memcpy(buffer_.get() + used_, data.data(), n);
    used_ += n;
    data = data.subspan(n);
    if (used_ == kBufferSize) {
      DOSSIER_RETURN_IF_ERROR(file_->Append({buffer_.get(), used_}));
      used_ = 0;
    }
  }
  return Status::Ok();
}

Status DurableFileSink::LinkIntoPlace() {
  auto exists = [&] { return Rejected(target_.string() + " already exists"); };
  if (temp_.empty()) {
    // AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH; the /proc link needs no capability.
    const std::string proc = "/proc/self/fd/" + std::to_string(file_->file().fd());
    if (existing_ == Existing::kRefuse) {
      if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, target_.c_str(), AT_SYMLINK_FOLLOW) == 0) {
        return Status::Ok();
      }
      if (errno == EEXIST) return exists();
      return ErrnoError("cannot link into", target_.string(), errno);
    }
    // Replacing: link under a fresh name beside the target, then rename over it, so readers
    // see the old file or the new one. The name exists only for the moment between the two.
    fs::path named = target_;
    named += "." + RandomId("part", 6);
    if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, named.c_str(), AT_SYMLINK_FOLLOW) != 0) {
      return ErrnoError("cannot link into", target_.string(), errno);
    }
    if (::rename(named.c_str(), target_.c_str()) != 0) {
      const int err = errno;
      ::unlink(named.c_str());
      return ErrnoError("cannot rename into", target_.string(), err);
    }
    return Status::Ok();
  }
  if (existing_ == Existing::kRefuse) {
    // link(2) refuses an existing name, which rename(2) would replace.
    if (::link(temp_.c_str(), target_.c_str()) != 0) {
      if (errno == EEXIST) return exists();
      return ErrnoError("cannot link into", target_.string(), errno);
    }
    ::unlink(temp_.c_str());
    return Status::Ok();
  }
  if (::rename(temp_.c_str(), target_.c_str()) != 0) {
    return ErrnoError("cannot rename into", target_.string(), errno);
  }
  return Status::Ok();
}

Status DurableFileSink::Commit() {
  if (committed_) return Internal("the sink for " + target_.string() + " was already committed");
  DOSSIER_RETURN_IF_ERROR(file_->Append({buffer_.get(), used_}));
  used_ = 0;
  DOSSIER_RETURN_IF_ERROR(file_->file().Sync());
  DOSSIER_RETURN_IF_ERROR(LinkIntoPlace());
  committed_ = true;
  file_.reset();  // closes the descriptor; the data is synced and now has its name
  return SyncDir(target_.has_parent_path() ? target_.parent_path() : fs::path("."));
}

Result<MemoryFileSink> MemoryFileSink::Create() {
  const int fd = ::memfd_create("dossier-doc", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return ErrnoError("cannot create", "an in-memory file", errno);
  return MemoryFileSink(File(fd, "document in memory"));
}

Status MemoryFileSink::Write(std::span<const uint8_t> data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(file_.fd(), data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot fill", "an in-memory file", errno);
    }
    done += static_cast<size_t>(n);
  }
  size_ += data.size();
  return Status::Ok();
}

Result<File> MemoryFileSink::Seal() && {
  if (::fcntl(file_.fd(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) !=
      0) {
    return ErrnoError("cannot seal", "an in-memory file", errno);
  }
  return std::move(file_);
}

Result<File> SealedMemoryFile(std::span<const uint8_t> bytes) {
  DOSSIER_ASSIGN_OR_RETURN(MemoryFileSink sink, MemoryFileSink::Create());
  DOSSIER_RETURN_IF_ERROR(sink.Write(bytes));
  return std::move(sink).Seal();
}

}  // namespace dossier
