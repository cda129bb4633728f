// The catalog's schema: migrations and the check that nothing else is in it. Private to vault/.
#pragma once

#include "common/status.h"
#include "vault/internal/sqlite.h"

namespace dossier::vault::internal {

// Runs the migrations (vault/schema/NNN_*.sql) the catalog has not had yet, each in its own
// transaction with its version. kRejected when the catalog is newer than this build.
Status Migrate(Db& db);
// Whether Migrate has something to do (kRejected when the catalog is newer than this build).
// A migration runs only while the vault is held exclusively (vault_lock.h).
Result<bool> SchemaBehind(Db& db);

// Compares every table, index, trigger and view in the catalog's sqlite_schema with what the
// migrations up to its `user_version` create, SQL text included. kCorrupt naming the first
// unexpected, missing or altered object: someone who can write the vault folder planted or
// changed it (doc/SECURITY.md, finding 2). Runs on every open, read-only ones too.
Status CheckSchema(Db& db);

}  // namespace dossier::vault::internal
