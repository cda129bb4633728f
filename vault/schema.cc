#include "vault/internal/schema.h"

#include <fmt/format.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace dossier::vault::internal {

extern const std::vector<std::pair<std::string, std::string>> kMigrations;

namespace {

struct SchemaObject {
  std::string type, table, sql;
  bool operator==(const SchemaObject&) const = default;
};

// name → object; SQLite's own internal tables (sqlite_sequence, sqlite_stat*) count too:
// the migrations create sqlite_sequence where they use AUTOINCREMENT, never the others.
Result<std::map<std::string, SchemaObject>> ReadSchema(Db& db) {
  DOSSIER_ASSIGN_OR_RETURN(Stmt s,
                           db.Prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema"));
  std::map<std::string, SchemaObject> out;
  for (;;) {
    DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    out[s.Text(1)] = SchemaObject{s.Text(0), s.Text(2), s.Text(3)};
  }
}

Status Apply(Db& db, size_t from, size_t to) {
  for (size_t i = from; i < to; ++i) {
    DOSSIER_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(db));
    DOSSIER_RETURN_IF_ERROR(
        db.Exec(kMigrations[i].second).WithContext("migration " + kMigrations[i].first));
    DOSSIER_RETURN_IF_ERROR(db.Exec(fmt::format("PRAGMA user_version = {}", i + 1)));
    DOSSIER_RETURN_IF_ERROR(tx->Commit());
  }
  return Status::Ok();
}

Result<size_t> Version(Db& db) {
  DOSSIER_ASSIGN_OR_RETURN(int64_t version, db.QueryInt("PRAGMA user_version"));
  if (version < 0 || version > static_cast<int64_t>(kMigrations.size())) {
    return Rejected(
        fmt::format("the catalog has schema version {}, newer than this dossier "
                    "understands ({}): upgrade dossier",
                    version, kMigrations.size()));
  }
  return static_cast<size_t>(version);
}

}  // namespace

Status Migrate(Db& db) {
  DOSSIER_ASSIGN_OR_RETURN(size_t version, Version(db));
  return Apply(db, version, kMigrations.size());
}

Result<bool> SchemaBehind(Db& db) {
  DOSSIER_ASSIGN_OR_RETURN(size_t version, Version(db));
  return version < kMigrations.size();
}

Status CheckSchema(Db& db) {
  DOSSIER_ASSIGN_OR_RETURN(size_t version, Version(db));
  DOSSIER_ASSIGN_OR_RETURN(Db reference, Db::Open(":memory:", Db::Mode::kReadWriteCreate));
  DOSSIER_RETURN_IF_ERROR(Apply(reference, 0, version));
  DOSSIER_ASSIGN_OR_RETURN(auto expected, ReadSchema(reference));
  DOSSIER_ASSIGN_OR_RETURN(auto actual, ReadSchema(db));
  auto changed = [](const std::string& what) {
    return Corrupt("the catalog's schema was changed outside Dossier: " + what +
                   "; restore the vault from a backup");
  };
  for (const auto& [name, object] : actual) {
    auto it = expected.find(name);
    if (it == expected.end()) {
      return changed(fmt::format("unexpected {} `{}` on `{}`", object.type, name, object.table));
    }
    if (!(it->second == object))
      return changed(fmt::format("{} `{}` was altered", object.type, name));
  }
  for (const auto& [name, object] : expected) {
    if (actual.count(name) == 0)
      return changed(fmt::format("{} `{}` is missing", object.type, name));
  }
  return Status::Ok();
}

}  // namespace dossier::vault::internal
