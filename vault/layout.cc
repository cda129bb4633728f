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
  if (S_ISLNK(st.st_mode)) return LinkRefused(path);
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

}  // namespace

Result<Sharing> CheckFolder(const VaultDir& dir, bool for_write) {
  DOSSIER_ASSIGN_OR_RETURN(auto folder, dir.Stat(""));
  const struct stat& st = *folder;
  DOSSIER_RETURN_IF_ERROR(CheckEntry(dir.path(), st));
  if (for_write && st.st_uid != ::geteuid()) {
    return Corrupt(fmt::format(
        "{} belongs to another user (uid {}): run dossier as that user; a vault is written by "
        "its owner only",
        dir.path().string(), st.st_uid));
  }
  const Sharing sharing =
      (st.st_mode & S_IRGRP) != 0 ? Sharing::kGroupReadable : Sharing::kOwnerOnly;
  auto visit = [&](const std::string& rel, bool is_dir, bool group_readable) -> Status {
    DOSSIER_ASSIGN_OR_RETURN(auto e, dir.Stat(rel));
    if (!e) return Status::Ok();
    DOSSIER_RETURN_IF_ERROR(CheckEntry(dir.PathOf(rel), *e));
    if (is_dir != S_ISDIR(e->st_mode)) {
      return Corrupt(fmt::format("{} should be a {} but is not: restore the vault from a backup",
                                 dir.PathOf(rel).string(), is_dir ? "folder" : "file"));
    }
    // A writer narrows entries made with looser modes (vaults made before this check).
    const mode_t allowed = Allowed(sharing, is_dir, group_readable);
    if (!for_write || (e->st_mode & 07777 & ~allowed) == 0) return Status::Ok();
    return dir.SetMode(rel, e->st_mode & 07777 & allowed);
  };
  for (const Entry& entry : kEntries) {
    DOSSIER_RETURN_IF_ERROR(visit(entry.name, entry.dir, entry.group_readable));
  }
  // objects/<2 hex>/: the shards objects are renamed into.
  DOSSIER_ASSIGN_OR_RETURN(auto objects, dir.Stat("objects"));
  if (!objects) return sharing;
  DOSSIER_ASSIGN_OR_RETURN(std::vector<std::string> shards, dir.List("objects"));
  for (const std::string& shard : shards) {
    DOSSIER_ASSIGN_OR_RETURN(auto e, dir.Stat("objects/" + shard));
    if (e && (S_ISDIR(e->st_mode) || S_ISLNK(e->st_mode))) {
      DOSSIER_RETURN_IF_ERROR(visit("objects/" + shard, true, false));
    }
  }
  return sharing;
}

Status ApplySharing(const VaultDir& dir, Sharing sharing, std::optional<gid_t> gid) {
  auto apply = [&](const std::string& rel, bool is_dir, bool group_readable) -> Status {
    DOSSIER_ASSIGN_OR_RETURN(auto st, dir.Stat(rel));
    if (!st) return Status::Ok();
    return dir.SetMode(rel, Allowed(sharing, is_dir, group_readable), gid);
  };
  DOSSIER_RETURN_IF_ERROR(apply("", true, true));
  for (const Entry& entry : kEntries) {
    DOSSIER_RETURN_IF_ERROR(apply(entry.name, entry.dir, entry.group_readable));
  }
  return Status::Ok();
}

Result<Db> OpenCatalog(const VaultDir& dir, Db::Mode mode) {
  DOSSIER_ASSIGN_OR_RETURN(Db db, Db::Open(dir.PathOf(kCatalog), mode));
  if (!dir.OpensTheSameFolder()) {
    return Corrupt(fmt::format(
        "{} was replaced by another folder while Dossier opened it: check who changed it",
        dir.path().string()));
  }
  return db;
}

Result<ReadOnlyVault> OpenVaultReadOnly(const fs::path& dir) {
  DOSSIER_RETURN_IF_ERROR(CheckIsVault(dir));
  ReadOnlyVault v;
  DOSSIER_ASSIGN_OR_RETURN(v.dir, VaultDir::Open(dir));
  DOSSIER_RETURN_IF_ERROR(CheckFolder(v.dir, false).status());
  DOSSIER_ASSIGN_OR_RETURN(v.db, OpenCatalog(v.dir, Db::Mode::kReadOnly));
  DOSSIER_RETURN_IF_ERROR(v.db.Exec("PRAGMA query_only = ON"));
  return v;
}

Result<std::string> ReadMeta(Db& db, const std::string& key) {
  DOSSIER_ASSIGN_OR_RETURN(Stmt s, db.Prepare("SELECT value FROM meta WHERE key = ?"));
  s.Bind(1, key);
  DOSSIER_ASSIGN_OR_RETURN(bool found, s.Step());
  if (!found) return Corrupt("the catalog has no `" + key + "` entry");
  return s.Text(0);
}

}  // namespace dossier::vault::internal
