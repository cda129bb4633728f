#include "vault/internal/layout.h"

#include <sqlite3.h>

namespace dossier::vault::internal {

Status CheckIsVault(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(KeyFilePath(dir), ec) || !fs::exists(CatalogPath(dir), ec)) {
    return NotFound("no vault at " + dir.string() +
                    " (create one with `dossier init`, or point --vault / $DOSSIER_VAULT at it)");
  }
  return Status::Ok();
}

Result<Db> OpenCatalogReadOnly(const fs::path& dir) {
  DOSSIER_RETURN_IF_ERROR(CheckIsVault(dir));
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
