#include "vault/internal/vault_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>

#include "common/encoding.h"

namespace dossier::vault::internal {
namespace {

constexpr int kFolderFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

// The components of `rel`; "" and "." give none.
std::vector<std::string> Split(std::string_view rel) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= rel.size()) {
    const size_t end = std::min(rel.find('/', start), rel.size());
    const std::string_view part = rel.substr(start, end - start);
    if (!part.empty() && part != ".") parts.emplace_back(part);
    start = end + 1;
  }
  return parts;
}

}  // namespace

Status LinkRefused(const fs::path& path) {
  return Corrupt(fmt::format(
      "{} is a symbolic link: Dossier reaches nothing in a vault through a link; put the real "
      "entry back from a backup",
      path.string()));
}

Result<VaultDir> VaultDir::Open(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), kFolderFlags);
  if (fd < 0) {
    const int err = errno;
    struct stat st {};
    if ((err == ELOOP || err == ENOTDIR) && ::lstat(dir.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      return Corrupt(fmt::format(
          "{} is a symbolic link: give --vault the real folder, so nobody can redirect the vault "
          "by replacing the link",
          dir.string()));
    }
    if (err == ENOENT) return NotFound("no vault at " + dir.string());
    return ErrnoError("cannot open the vault folder", dir.string(), err);
  }
  VaultDir d;
  d.fd_ = std::make_shared<File>(fd, dir.string());
  d.path_ = dir;
  return d;
}

Status VaultDir::Failed(const char* what, std::string_view rel, int err) const {
  if (err == ELOOP) return LinkRefused(PathOf(rel));
  if (err == ENOENT) return NotFound(fmt::format("{}: no such file: {}", what, PathOf(rel).string()));
  return ErrnoError(what, PathOf(rel).string(), err);
}

Result<std::shared_ptr<File>> VaultDir::OpenFolder(std::string_view rel) const {
  if (!fd_) return Internal("the vault folder is not open");
  std::shared_ptr<File> cur = fd_;
  fs::path walked;
  for (const std::string& part : Split(rel)) {
    walked /= part;
    const int fd = ::openat(cur->fd(), part.c_str(), kFolderFlags);
    if (fd < 0) {
      const int err = errno;
      struct stat st {};
      if ((err == ELOOP || err == ENOTDIR) &&
          ::fstatat(cur->fd(), part.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISLNK(st.st_mode)) {
        return LinkRefused(path_ / walked);
      }
      if (err == ENOTDIR) {
        return Corrupt(fmt::format("{} should be a folder but is not: restore the vault from a "
                                   "backup",
                                   (path_ / walked).string()));
      }
      return Failed("cannot open folder", walked.string(), err);
    }
    cur = std::make_shared<File>(fd, (path_ / walked).string());
  }
  return cur;
}

Result<VaultDir::Parent> VaultDir::ParentOf(std::string_view rel) const {
  std::vector<std::string> parts = Split(rel);
  if (parts.empty()) return Internal("no entry named in the vault folder");
  Parent p;
  p.leaf = parts.back();
  parts.pop_back();
  std::string folder;
  for (const auto& part : parts) folder += (folder.empty() ? "" : "/") + part;
  DOSSIER_ASSIGN_OR_RETURN(p.dir, OpenFolder(folder));
  return p;
}

Result<File> VaultDir::OpenRegular(std::string_view rel) const {
  DOSSIER_ASSIGN_OR_RETURN(Parent p, ParentOf(rel));
  auto f = File::OpenRegularAt(p.dir->fd(), p.leaf.c_str(), PathOf(rel).string());
  if (!f.ok() && f.status().code() == StatusCode::kRejected) {
    struct stat st {};
    if (::fstatat(p.dir->fd(), p.leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISLNK(st.st_mode)) {
      return LinkRefused(PathOf(rel));
    }
    return Corrupt(PathOf(rel).string() +
                   " is not a regular file: restore the vault from a backup");
  }
  return f;
}

Result<std::string> VaultDir::ReadSmall(std::string_view rel, size_t max_bytes) const {
  DOSSIER_ASSIGN_OR_RETURN(File f, OpenRegular(rel));
  return ReadSmallFile(f, max_bytes);
}

Result<File> VaultDir::CreateExclusive(std::string_view rel) const {
  DOSSIER_ASSIGN_OR_RETURN(Parent p, ParentOf(rel));
  return File::CreateExclusiveAt(p.dir->fd(), p.leaf.c_str(), PathOf(rel).string());
}

Result<DirectFile> VaultDir::CreateDirect(std::string_view rel) const {
  DOSSIER_ASSIGN_OR_RETURN(Parent p, ParentOf(rel));
  return DirectFile::CreateAt(p.dir->fd(), p.leaf.c_str(), PathOf(rel).string());
}

Result<File> VaultDir::OpenOrCreate(std::string_view rel, int flags) const {
  DOSSIER_ASSIGN_OR_RETURN(Parent p, ParentOf(rel));
  const int fd = ::openat(p.dir->fd(), p.leaf.c_str(), flags | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
                          0600);
  if (fd < 0) return Failed("cannot open", rel, errno);
  File f(fd, PathOf(rel).string());
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Failed("cannot stat", rel, errno);
  if (!S_ISREG(st.st_mode)) {
    return Corrupt(PathOf(rel).string() + " is not a regular file: restore the vault from a backup");
  }
  return f;
}

Status VaultDir::WriteDurably(std::string_view rel, std::span<const uint8_t> data) const {
  DOSSIER_ASSIGN_OR_RETURN(Parent p, ParentOf(rel));
  const std::string tmp = p.leaf + "." + RandomId("tmp", 6);
  const int dfd = p.dir->fd();
  {
    DOSSIER_ASSIGN_OR_RETURN(File f,
                             File::CreateExclusiveAt(dfd, tmp.c_str(), PathOf(rel).string()));
    Status st = f.WriteAll(data);
    if (st.ok()) st = f.Sync();
    if (st.ok()) st = f.Close();
    if (!st.ok()) {
      ::unlinkat(dfd, tmp.c_str(), 0);
      return st;
    }
  }
  if (::renameat(dfd, tmp.c_str(), dfd, p.leaf.c_str()) != 0) {
    const int err = errno;
    ::unlinkat(dfd, tmp.c_str(), 0);
    return Failed("cannot rename into", rel, err);
  }
  return p.dir->Sync();
}

Result<bool> VaultDir::MakeDir(std::string_view rel) const {
  DOSSIER_ASSIGN_OR_RETURN(Parent p, ParentOf(rel));
  if (::mkdirat(p.dir->fd(), p.leaf.c_str(), 0700) == 0) return true;
  if (errno != EEXIST) return Failed("cannot create", rel, errno);
  DOSSIER_RETURN_IF_ERROR(OpenFolder(rel).status());  // a folder, not a link or a file
  return false;
}

Status VaultDir::Rename(std::string_view from, std::string_view to) const {
  DOSSIER_ASSIGN_OR_RETURN(Parent a, ParentOf(from));
  DOSSIER_ASSIGN_OR_RETURN(Parent b, ParentOf(to));
  // renameat never follows a link in either last component: a link in `to`'s place is
  // replaced, not written through.
  if (::renameat(a.dir->fd(), a.leaf.c_str(), b.dir->fd(), b.leaf.c_str()) != 0) {
    return Failed("cannot rename into", to, errno);
  }
  return Status::Ok();
}

Status VaultDir::Remove(std::string_view rel) const {
  DOSSIER_ASSIGN_OR_RETURN(Parent p, ParentOf(rel));
  if (::unlinkat(p.dir->fd(), p.leaf.c_str(), 0) != 0 && errno != ENOENT) {
    return Failed("cannot remove", rel, errno);
  }
  return Status::Ok();
}

Status VaultDir::SyncDir(std::string_view rel) const {
  DOSSIER_ASSIGN_OR_RETURN(std::shared_ptr<File> dir, OpenFolder(rel));
  return dir->Sync();
}

Status VaultDir::SyncFilesystem() const {
  if (!fd_) return Internal("the vault folder is not open");
  if (::syncfs(fd_->fd()) != 0) {
    return ErrnoError("cannot sync the filesystem of", path_.string(), errno);
  }
  return Status::Ok();
}

Result<std::vector<std::string>> VaultDir::List(std::string_view rel) const {
  DOSSIER_ASSIGN_OR_RETURN(std::shared_ptr<File> dir, OpenFolder(rel));
  // fdopendir takes the descriptor: give it its own.
  const int fd = ::openat(dir->fd(), ".", kFolderFlags);
  if (fd < 0) return Failed("cannot list", rel, errno);
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    const int err = errno;
    ::close(fd);
    return Failed("cannot list", rel, err);
  }
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  const int err = errno;
  ::closedir(d);
  if (err != 0) return Failed("cannot list", rel, err);
  return names;
}

Result<std::optional<struct stat>> VaultDir::Stat(std::string_view rel) const {
  struct stat st {};
  if (Split(rel).empty()) {
    if (!fd_ || ::fstat(fd_->fd(), &st) != 0) return Failed("cannot read", rel, errno);
    return std::optional<struct stat>(st);
  }
  DOSSIER_ASSIGN_OR_RETURN(Parent p, ParentOf(rel));
  if (::fstatat(p.dir->fd(), p.leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return std::optional<struct stat>();
    return Failed("cannot read", rel, errno);
  }
  return std::optional<struct stat>(st);
}

Status VaultDir::SetMode(std::string_view rel, mode_t mode, std::optional<gid_t> gid) const {
  // Opened with O_PATH|O_NOFOLLOW, checked not to be a link, then changed through
  // /proc/self/fd: the entry changed is the one checked, whatever is renamed meanwhile.
  int fd = -1;
  if (Split(rel).empty()) {
    fd = ::openat(fd_ ? fd_->fd() : -1, ".", O_PATH | O_CLOEXEC);
  } else {
    DOSSIER_ASSIGN_OR_RETURN(Parent p, ParentOf(rel));
    fd = ::openat(p.dir->fd(), p.leaf.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd < 0) return Failed("cannot open", rel, errno);
  File f(fd, PathOf(rel).string());
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Failed("cannot read", rel, errno);
  if (S_ISLNK(st.st_mode)) return LinkRefused(PathOf(rel));
  const std::string proc = "/proc/self/fd/" + std::to_string(fd);
  if (gid && ::chown(proc.c_str(), static_cast<uid_t>(-1), *gid) != 0) {
    return Failed("cannot give the group to", rel, errno);
  }
  if (::chmod(proc.c_str(), mode) != 0) return Failed("cannot set the permissions of", rel, errno);
  return Status::Ok();
}

bool VaultDir::OpensTheSameFolder() const {
  struct stat a {}, b {};
  return fd_ && ::fstat(fd_->fd(), &a) == 0 && ::stat(path_.c_str(), &b) == 0 &&
         a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace dossier::vault::internal
