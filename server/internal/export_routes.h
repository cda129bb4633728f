// Exports over HTTP (doc/API.md §Exports): an export to a clinic runs as a job that writes its
// encrypted parts into the server's exports folder; the manager downloads them (Range
// resumes a cut download) and sends them; 14 days after the export its parts are deleted,
// which the audit log records. Private to server/.
#pragma once

#include <chrono>
#include <filesystem>

#include "common/status.h"
#include "server/internal/routes.h"
#include "vault/vault.h"

namespace dossier::server::internal {

struct ServerState;

Status StartExport(Call& c);
Status ShowExport(Call& c);
Status ExportPart(Call& c);

// Deletes the parts of every export older than the server's `export_keep`, each deletion on
// record as `export.expired` (objects: the export and its request). Run by the janitor.
void ExpireExports(vault::Vault& vault, ServerState& state);
// At start: makes the exports folder (0700), deletes what an unfinished export job left, and
// learns from the ledger when each kept export was made (one `export.list` event, only when
// exports are kept).
Status KeepExports(vault::Vault& vault, ServerState& state);

}  // namespace dossier::server::internal
