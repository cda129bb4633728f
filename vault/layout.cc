#include "vault/internal/layout.h"

#include <fmt/format.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dossier::vault::internal {

Status CheckIsVault(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(KeyFilePath(dir), ec) || !fs::exists(CatalogPath(dir), ec)) {
    return NotFound("no vault at " + dir.string() +
                    " (create one with `dossier init`, or point --vault / $DOSSIER_VAULT at it)");
  }
  return Status::Ok();
}

namespace {

// The entries of the vault folder Dossier opens, creates or deletes, and whether each may be
// shared with the compliance group.
struct Entry {
  const char* name;
  bool dir;
  bool group_readable;
};
constexpr Entry kEntries[] = {
    {"vault.key", false, false},     {"catalog.db", false, true}, {"catalog.db-wal", false, true},
    {"catalog.db-shm", false, true}, {"audit.pub", false, true},  {"lock", false, false},
    {"objects", true, false},        {"tmp", true, false},        {"unlock-failures", false, false},
    {"vault.key.new", false, false},
};

Status CheckEntry(const fs::path& path, const struct stat& st) {
  if (S_ISLNK(st.st_mode)) {
    return Corrupt(fmt::format(
        "{} is a symbolic link: Dossier reaches nothing in a vault through a link; put the "
        "real entry back from a backup",
        path.string()));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return Corrupt(fmt::format(
        "{} is writable by group or others ({:o}): someone else could change the vault; run "
        "`chmod go-w {}` and check who changed it",
        path.string(), st.st_mode & 07777, path.string()));
  }
  return Status::Ok();
}

// What `path` should be at most, for the folder's sharing.
mode_t Allowed(Sharing sharing, bool dir, bool group_readable) {
  if (sharing == Sharing::kGroupReadable && group_readable) {
    return dir ? kGroupDirMode : kGroupFileMode;
  }
  return dir ? kDirMode : kFileMode;
}

Status Narrow(const fs::path& path, const struct stat& st, mode_t allowed) {
  if ((st.st_mode & 07777 & ~allowed) == 0) return Status::Ok();
  if (::chmod(path.c_str(), st.st_mode & 07777 & allowed) != 0) {
    return ErrnoError("cannot narrow the permissions of", path.string(), errno);
  }
  return Status::Ok();
}

}  // namespace

Result<Sharing> CheckFolder(const fs::path& dir, bool for_write) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return ErrnoError("cannot read", dir.string(), errno);
  if (S_ISLNK(st.st_mode)) {
    return Corrupt(fmt::format(
        "{} is a symbolic link: give --vault the real folder, so nobody can redirect the vault "
        "by replacing the link",
        dir.string()));
  }
  DOSSIER_RETURN_IF_ERROR(CheckEntry(dir, st));
  if (for_write && st.st_uid != ::geteuid()) {
    return Corrupt(fmt::format(
        "{} belongs to another user (uid {}): run dossier as that user; a vault is written by "
        "its owner only",
        dir.string(), st.st_uid));
  }
  const Sharing sharing =
      (st.st_mode & S_IRGRP) != 0 ? Sharing::kGroupReadable : Sharing::kOwnerOnly;
  auto visit = [&](const fs::path& path, bool is_dir, bool group_readable) -> Status {
    struct stat e {};
    if (::lstat(path.c_str(), &e) != 0) {
      return errno == ENOENT ? Status::Ok() : ErrnoError("cannot read", path.string(), errno);
    }
    DOSSIER_RETURN_IF_ERROR(CheckEntry(path, e));
    if (is_dir != S_ISDIR(e.st_mode)) {
      return Corrupt(fmt::format("{} should be a {} but is not: restore the vault from a backup",
                                 path.string(), is_dir ? "folder" : "file"));
    }
    return for_write ? Narrow(path, e, Allowed(sharing, is_dir, group_readable)) : Status::Ok();
  };
  for (const Entry& entry : kEntries) {
    DOSSIER_RETURN_IF_ERROR(visit(dir / entry.name, entry.dir, entry.group_readable));
  }
  // objects/<2 hex>/: the shards objects are renamed into.
  std::error_code ec;
  for (fs::directory_iterator it(dir / "objects", ec), end; !ec && it != end; it.increment(ec)) {
    struct stat e {};
    if (::lstat(it->path().c_str(), &e) != 0) continue;
    if (S_ISDIR(e.st_mode) || S_ISLNK(e.st_mode)) {
      DOSSIER_RETURN_IF_ERROR(visit(it->path(), true, false));
    }
  }
  return sharing;
}

Status ApplySharing(const fs::path& dir, Sharing sharing, std::optional<gid_t> gid) {
  auto apply = [&](const fs::path& path, bool is_dir, bool group_readable) -> Status {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
      return errno == ENOENT ? Status::Ok() : ErrnoError("cannot read", path.string(), errno);
    }
    if (gid && ::lchown(path.c_str(), static_cast<uid_t>(-1), *gid) != 0) {
      return ErrnoError("cannot give the group to", path.string(), errno);
    }
    if (::chmod(path.c_str(), Allowed(sharing, is_dir, group_readable)) != 0) {
      return ErrnoError("cannot set the permissions of", path.string(), errno);
    }
    return Status::Ok();
  };
  DOSSIER_RETURN_IF_ERROR(apply(dir, true, true));
  for (const Entry& entry : kEntries) {
    DOSSIER_RETURN_IF_ERROR(apply(dir / entry.name, entry.dir, entry.group_readable));
  }
  return Status::Ok();
}

Result<Db> OpenCatalogReadOnly(const fs::path& dir) {
  DOSSIER_RETURN_IF_ERROR(CheckIsVault(dir));
  DOSSIER_RETURN_IF_ERROR(CheckFolder(dir, false).status());
  DOSSIER_ASSIGN_OR_RETURN(Db db, Db::Open(CatalogPath(dir), Db::Mode::kReadOnly));
  DOSSIER_RETURN_IF_ERROR(db.Exec("PRAGMA query_only = ON"));
  return db;
}

Result<std::string> ReadMeta(Db& db, const std::string& key) {
  DOSSIER_ASSIGN_OR_RETURN(Stmt s, db.Prepare("SELECT value FROM meta WHERE key = ?"));
  s.Bind(1, key);
  DOSSIER_ASSIGN_OR_RETURN(bool found, s.Step());
  if (!found) return Corrupt("the catalog has no `" + key + "` entry");
  return s.Text(0);
}

}  // namespace dossier::vault::internal
