// Where things live inside a vault directory (doc/FORMAT.md §Layout). Private to vault/.
#pragma once

#include <filesystem>
#include <string>

#include "common/status.h"
#include "vault/internal/sqlite.h"

namespace dossier::vault::internal {

namespace fs = std::filesystem;

inline fs::path KeyFilePath(const fs::path& dir) { return dir / "vault.key"; }
inline fs::path CatalogPath(const fs::path& dir) { return dir / "catalog.db"; }
inline fs::path AuditKeyPath(const fs::path& dir) { return dir / "audit.pub"; }
inline fs::path LockPath(const fs::path& dir) { return dir / "lock"; }

// kNotFound "no vault at DIR" unless DIR holds a key file and a catalog.
Status CheckIsVault(const fs::path& dir);
// The catalog opened read-only (verification and log reading without a passphrase).
Result<Db> OpenCatalogReadOnly(const fs::path& dir);
Result<std::string> ReadMeta(Db& db, const std::string& key);

}  // namespace dossier::vault::internal
