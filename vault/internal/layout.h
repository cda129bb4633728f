// Where things live inside a vault directory (doc/FORMAT.md §Layout). Private to vault/.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

#include "common/status.h"
#include "vault/internal/sqlite.h"
#include "vault/internal/vault_dir.h"

namespace dossier::vault::internal {

namespace fs = std::filesystem;

// Entries of the vault folder, named relative to it (vault_dir.h).
inline constexpr const char* kKeyFile = "vault.key";
inline constexpr const char* kCatalog = "catalog.db";
inline constexpr const char* kAuditKey = "audit.pub";
inline constexpr const char* kLock = "lock";
inline fs::path KeyFilePath(const fs::path& dir) { return dir / kKeyFile; }
inline fs::path CatalogPath(const fs::path& dir) { return dir / kCatalog; }

// kNotFound "no vault at DIR" unless DIR holds a key file and a catalog.
Status CheckIsVault(const fs::path& dir);

// Who may read a vault folder: its owner only (0700 folders, 0600 files), or also a group of
// compliance officers who verify the audit log without the passphrase (`init --group`: the
// folder 02750, the catalog and audit.pub 0640). Never group- or world-writable.
enum class Sharing { kOwnerOnly, kGroupReadable };
inline constexpr mode_t kFileMode = 0600, kDirMode = 0700;
inline constexpr mode_t kGroupFileMode = 0640, kGroupDirMode = 02750;

// Checks the vault folder and every entry Dossier reaches in it (the key file, the catalog
// and its WAL, audit.pub, lock, objects/ and its shards, tmp/) before anything is opened:
// kCorrupt naming the path and the fix when one is a symbolic link or is writable by group
// or others, and, `for_write`, when the folder belongs to another user. For a writer, it
// also narrows entries made with looser modes (vaults made before this check) to the
// folder's sharing. Returns the folder's sharing (doc/SECURITY.md).
Result<Sharing> CheckFolder(const VaultDir& dir, bool for_write);
// Sets the modes of a new vault's entries for `sharing` (and their group to `gid`, when set).
Status ApplySharing(const VaultDir& dir, Sharing sharing, std::optional<gid_t> gid);
// The catalog of `dir`, opened by path with SQLITE_OPEN_NOFOLLOW (no link anywhere in the
// path), and then checked to be in the very folder `dir` holds open: kCorrupt otherwise.
Result<Db> OpenCatalog(const VaultDir& dir, Db::Mode mode);
// The vault folder checked and its catalog opened read-only (verification and log reading
// without a passphrase).
struct ReadOnlyVault {
  VaultDir dir;
  Db db;
};
Result<ReadOnlyVault> OpenVaultReadOnly(const fs::path& dir);
Result<std::string> ReadMeta(Db& db, const std::string& key);

}  // namespace dossier::vault::internal
